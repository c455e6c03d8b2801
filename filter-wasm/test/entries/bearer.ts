// Test entry for bearer.ts: the first `count` of a, b, c are the Authorization header values; the
// first is given to the extractor as its UTF-8 bytes. Every non-ASCII character becomes bytes of
// 0x80 and above, all outside the token syntax, as it would arrive in a header.
import { BearerKind, BAD_TOKEN_SYNTAX, hasTokenSyntax, locateBearer } from "../../assembly/bearer";

/** Both steps, as the filter takes them for a token its memo does not know. */
export function bearer(count: i32, a: string, _b: string, _c: string): string {
  const bytes = String.UTF8.encode(a);
  const r = locateBearer(count, changetype<usize>(bytes), bytes.byteLength);
  if (r.kind == BearerKind.Missing) return "missing";
  if (r.kind == BearerKind.Malformed) return "malformed:" + r.reason;
  if (!hasTokenSyntax(changetype<usize>(bytes) + <usize>r.offset, r.length)) return "malformed:" + BAD_TOKEN_SYNTAX;
  // Everything before an accepted token is ASCII, so byte offsets are character offsets.
  return "ok:" + a.substring(r.offset, r.offset + r.length);
}
