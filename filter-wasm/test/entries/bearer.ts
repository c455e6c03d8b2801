// Test entry for bearer.ts: the first `count` of a, b, c are the Authorization header values.
import { BearerKind, extractBearer } from "../../assembly/bearer";

export function bearer(count: i32, a: string, b: string, c: string): string {
  const values: string[] = [];
  if (count > 0) values.push(a);
  if (count > 1) values.push(b);
  if (count > 2) values.push(c);
  const r = extractBearer(values);
  if (r.kind == BearerKind.Missing) return "missing";
  if (r.kind == BearerKind.Malformed) return "malformed:" + r.reason;
  return "ok:" + r.token;
}
