// JS-side oracles and input generators for the fuzz tests of the AssemblyScript JSON consumers
// (json.ts, config.ts, introspection.ts).

/** JSON.parse, or undefined for text it rejects. */
export function jsParse(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

/** Whether valid JSON `text` repeats a member name within one object (JSON.parse keeps the last). */
export function hasDuplicateKeys(text: string): boolean {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(key)) return true;
        top.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === "{") {
      stack.push(new Set());
      expectKey = true;
    } else if (c === "[") {
      stack.push(null);
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === ",") {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return false;
}

/** Deepest nesting of arrays and objects in a parsed value. */
export function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
  if (v !== null && typeof v === "object") return 1 + Math.max(0, ...Object.values(v).map(depthOf));
  return 0;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether every string and member name in a parsed value is well-formed UTF-16 (no lone surrogates). */
export function allWellFormed(v: unknown): boolean {
  if (typeof v === "string") return !LONE_SURROGATE.test(v);
  if (Array.isArray(v)) return v.every(allWellFormed);
  if (v !== null && typeof v === "object") return Object.entries(v).every(([k, e]) => !LONE_SURROGATE.test(k) && allWellFormed(e));
  return true;
}

/** What an I-JSON (RFC 7493) parser with these limits must accept. */
export function acceptableJson(text: string, maxDepth: number, maxLength: number): { value: unknown } | undefined {
  if (text.length > maxLength) return undefined;
  const parsed = jsParse(text);
  if (!parsed || hasDuplicateKeys(text) || !allWellFormed(parsed.value) || depthOf(parsed.value) > maxDepth) return undefined;
  return parsed;
}

/**
 * Structural equality of parsed values (`a` read by V8, `b` by json.ts), member order ignored.
 * Numbers agree exactly where json.ts promises it (safe integers); elsewhere within the few units in
 * the last place it allows, which may take a literal at the very top of the f64 range to Infinity.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") {
    if (Number.isSafeInteger(a) || !Number.isFinite(a)) return Object.is(a, b) || (a === 0 && b === 0);
    if (!Number.isFinite(b)) return Math.sign(a) === Math.sign(b) && Math.abs(a) >= Number.MAX_VALUE * (1 - 1e-15);
    return Math.abs(a - b) <= Math.max(Math.abs(a) * 1e-15, Number.MIN_VALUE * 4);
  }
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((e, i) => sameJson(e, b[i]));
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object" && !Array.isArray(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    const ob = b as Record<string, unknown>;
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(ob, k) && sameJson((a as Record<string, unknown>)[k], ob[k]));
  }
  return a === b;
}

type Rng = () => number;

const pick = <T>(next: Rng, items: readonly T[]): T => items[Math.floor(next() * items.length)]!;

const STRING_PIECES = [
  "a", "Z", "0", " ", "é", "日本", "😀", "\u0000", "\n", "\t", "\"", "\\", "/", "\u2028", "\ud800", "\udc00",
  "\u007f", "\u0085", ",", ":", "{", "]", "model:read", "agt_", "x-altgate-",
];

export function randomString(next: Rng, maxPieces = 6): string {
  let s = "";
  const n = Math.floor(next() * maxPieces);
  for (let i = 0; i < n; i++) s += pick(next, STRING_PIECES);
  return s;
}

const NUMBERS = [
  "0", "-0", "1", "-1", "60", "1500", "1.5", "0.1", "1e3", "1E+2", "2e-3", "-0.0", "1e308", "1e309", "-1e999",
  "5e-324", "4.9e-325", "9007199254740993", "123456789012345678901234567890", "0.000000000000000000001",
  "1.7976931348623157e308", "86400", "86401", "4102444800", "1e-7",
];

/** A random JSON value as text, with random whitespace and escape spellings. */
export function randomJsonText(next: Rng, depth = 0): string {
  const ws = () => (next() < 0.2 ? pick(next, [" ", "\n", "\t", "\r\n  "]) : "");
  const r = next();
  if (depth < 5 && r < 0.2) {
    const n = Math.floor(next() * 5);
    const keys = Array.from({ length: n }, () => (next() < 0.5 ? pick(next, ["active", "exp", "sub", "a", "roles"]) : randomString(next, 3)));
    return "{" + ws() + keys.map((k) => quoteJson(next, k) + ws() + ":" + ws() + randomJsonText(next, depth + 1)).join("," + ws()) + ws() + "}";
  }
  if (depth < 5 && r < 0.35) {
    const n = Math.floor(next() * 5);
    return "[" + ws() + Array.from({ length: n }, () => randomJsonText(next, depth + 1)).join(ws() + "," + ws()) + ws() + "]";
  }
  if (r < 0.6) return quoteJson(next, randomString(next));
  if (r < 0.85) return pick(next, NUMBERS);
  return pick(next, ["true", "false", "null"]);
}

/** JSON string literal for `s`, spelling characters as escapes at random (lone surrogates included). */
export function quoteJson(next: Rng, s: string): string {
  let out = '"';
  for (const unit of Array.from({ length: s.length }, (_, i) => s.charCodeAt(i))) {
    const c = String.fromCharCode(unit);
    if (unit < 0x20 || c === '"' || c === "\\" || (unit >= 0xd800 && unit <= 0xdfff && next() < 0.5) || next() < 0.05) {
      const short: Record<string, string> = { '"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f" };
      out += short[c] && next() < 0.7 ? short[c] : "\\u" + unit.toString(16).padStart(4, "0")[next() < 0.5 ? "toUpperCase" : "toLowerCase"]();
    } else if (c === "/" && next() < 0.5) {
      out += "\\/";
    } else {
      out += c;
    }
  }
  return out + '"';
}

const NOISE = ['"', "\\", "{", "}", "[", "]", ":", ",", "0", "-", ".", "e", "t", "n", "u", " ", "\u0000", "\ud800", "é", "x"];

/** Applies 1 to 3 random text edits: delete, insert, replace, duplicate a slice, or truncate. */
export function mutateText(next: Rng, text: string): string {
  let s = text;
  const edits = 1 + Math.floor(next() * 3);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(next() * (s.length + 1));
    const r = next();
    if (r < 0.25) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(next() * 3));
    else if (r < 0.5) s = s.slice(0, at) + pick(next, NOISE) + s.slice(at);
    else if (r < 0.7) s = s.slice(0, at) + pick(next, NOISE) + s.slice(at + 1);
    else if (r < 0.85) {
      const len = Math.floor(next() * 20);
      s = s.slice(0, at) + s.slice(at, at + len) + s.slice(at);
    } else s = s.slice(0, at);
  }
  return s;
}
