// Test entry for base64.ts and utf8.ts.
import { base64Encode, base64UrlDecode } from "../../assembly/base64";
import { decodeUtf8, encodeUtf8 } from "../../assembly/utf8";

export function encode(data: ArrayBuffer): string {
  return base64Encode(Uint8Array.wrap(data));
}

/** "ok <hex bytes>" or "error <message>". */
export function urlDecode(text: string): string {
  const r = base64UrlDecode(text);
  if (!r.ok) return "error " + r.error;
  let hex = "";
  for (let i = 0; i < r.bytes.length; i++) {
    const b = r.bytes[i];
    hex += (b < 16 ? "0" : "") + b.toString(16);
  }
  return "ok " + hex;
}

/** "ok <text>" or "error <message>". */
export function utf8Decode(data: ArrayBuffer): string {
  const r = decodeUtf8(data);
  return r.ok ? "ok " + r.text : "error " + r.error;
}

export function utf8Encode(s: string): ArrayBuffer {
  return encodeUtf8(s).buffer;
}
