// Test entry for json.ts: results out as text, "ok <canonical JSON>" or "error <message>".
import { JsonKind, JsonValue, parseJson } from "../../assembly/json";
import { decodeUtf8 } from "../../assembly/utf8";
import { jsonString as quote } from "../../assembly/filter/denial";

// Non-finite numbers come back as 1e999 so that JSON.parse on the JS side reads them as ±Infinity.
function dump(v: JsonValue): string {
  switch (v.kind) {
    case JsonKind.Null: return "null";
    case JsonKind.Bool: return v.boolValue ? "true" : "false";
    case JsonKind.Number:
      if (isFinite(v.numValue)) return v.numValue.toString();
      return v.numValue > 0 ? "1e999" : "-1e999";
    case JsonKind.String: return quote(v.strValue);
    case JsonKind.Array: {
      const parts = new Array<string>();
      for (let i = 0; i < v.size; i++) {
        const e = v.at(i);
        parts.push(e === null ? "?" : dump(e));
      }
      return "[" + parts.join(",") + "]";
    }
    case JsonKind.Object: {
      const parts = new Array<string>();
      for (let i = 0; i < v.size; i++) {
        const key = v.keyAt(i);
        const e = v.get(key);
        parts.push(quote(key) + ":" + (e === null ? "?" : dump(e)));
      }
      return "{" + parts.join(",") + "}";
    }
  }
  return "?";
}

export function parse(src: string, maxDepth: i32, maxLength: i32): string {
  const r = parseJson(src, maxDepth, maxLength);
  const v = r.value;
  if (!r.ok || v === null) return "error " + r.error;
  return "ok " + dump(v);
}

export function parseBytes(buf: ArrayBuffer, maxDepth: i32, maxLength: i32): string {
  const text = decodeUtf8(buf);
  if (!text.ok) return "error " + text.error;
  return parse(text.text, maxDepth, maxLength);
}

/** Accessors on the member `key` of a parsed object: "kind size isInteger". */
export function describeMember(src: string, key: string): string {
  const r = parseJson(src, 64, 1 << 20);
  const v = r.value;
  if (v === null) return "error " + r.error;
  const m = v.get(key);
  if (m === null) return "absent";
  return m.kind.toString() + " " + m.size.toString() + " " + (m.isInteger() ? "int" : "non-int");
}

/** Out-of-range accessor use on the root value: must answer, not abort. */
export function probeAccessors(src: string): string {
  const r = parseJson(src, 64, 1 << 20);
  const v = r.value;
  if (v === null) return "error";
  const a = v.at(-1) === null && v.at(v.size) === null && v.at(i32.MAX_VALUE) === null;
  const k = v.keyAt(-1) == "" && v.keyAt(v.size) == "";
  const g = v.get("\u0000no such key") === null;
  return a && k && g ? "ok" : "bad";
}
