// A small JSON parser that never aborts, for the plugin configuration and issuer responses.
//
// Why not a library: in AssemblyScript a throw is an abort, and an abort kills the Wasm VM inside
// Envoy for every request on that worker. Both candidates abort on malformed input by design
// (checked with AssemblyScript 0.28.20): json-as 1.6.0's JSON.parse throws on `{`, `{"active":tru`,
// an empty body or an invalid escape such as `"\x"` in a string field (its errors can only be
// caught with the try-as transform), and accepts duplicate names and lone surrogates;
// assemblyscript-json 1.1.0 asserts on truncated input and invalid escapes, and recurses without a
// depth limit: 100,000 nested arrays overrun its stack and corrupt memory. A validation pass in
// front of either would be a JSON parser anyway, so this module is one, and returns a result.
//
// The grammar is RFC 8259's. On top of it, the I-JSON restrictions (RFC 7493) apply, because a
// document that two parsers read differently is a way around an auth check: duplicate member names
// and unpaired surrogates (raw or escaped) are errors. Length and nesting are limited by the caller,
// so a hostile body bounds both recursion depth and memory.

export enum JsonKind {
  Null,
  Bool,
  Number,
  String,
  Array,
  Object,
}

export class JsonValue {
  boolValue: bool = false;
  numValue: f64 = 0;
  strValue: string = "";
  /** Array elements, or object member values in document order. */
  items: Array<JsonValue> | null = null;
  /** Object member names, parallel to `items`. */
  keys: Array<string> | null = null;
  private index: Map<string, i32> | null = null;

  constructor(readonly kind: JsonKind) {}

  /** Number of array elements or object members; 0 for scalars. */
  get size(): i32 {
    const items = this.items;
    return items === null ? 0 : items.length;
  }

  /** The element (or member value) at `i`, or null when there is none. */
  at(i: i32): JsonValue | null {
    const items = this.items;
    if (items === null || i < 0 || i >= items.length) return null;
    return unchecked(items[i]);
  }

  /** The member name at `i` of an object, or "" when there is none. */
  keyAt(i: i32): string {
    const keys = this.keys;
    if (keys === null || i < 0 || i >= keys.length) return "";
    return unchecked(keys[i]);
  }

  /** The value of member `key` of an object, or null when it is absent or this is no object. */
  get(key: string): JsonValue | null {
    const index = this.index;
    if (index === null || !index.has(key)) return null;
    return this.at(index.get(key));
  }

  /** A finite number with no fractional part. */
  isInteger(): bool {
    const n = this.numValue;
    return this.kind == JsonKind.Number && isFinite(n) && Math.floor(n) == n;
  }

  static object(keys: Array<string>, items: Array<JsonValue>, index: Map<string, i32>): JsonValue {
    const v = new JsonValue(JsonKind.Object);
    v.keys = keys;
    v.items = items;
    v.index = index;
    return v;
  }
}

export class JsonResult {
  constructor(
    readonly ok: bool,
    /** "invalid JSON at offset N: what was wrong"; "" when ok. */
    readonly error: string,
    readonly value: JsonValue | null,
  ) {}
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isWhitespace(c: i32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}

function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/**
 * mantissa × 10^exp10 as an f64. Correctly rounded when the mantissa is at most 2^53 and
 * |exp10| <= 22 (both factors exact, one rounding), which covers every integer up to 2^53 and every
 * short decimal; otherwise within a few units in the last place (Math.pow is musl's, within 0.52
 * ulp), so a literal within an ulp or two of the largest f64 may read as Infinity.
 * AssemblyScript's own parseFloat is not used: in 0.28.20 it loses a power of ten for literals with
 * more than 15 significant digits and an exponent between 23 and 37 (it reads 1e44 spelt out in 45
 * digits as 1e40).
 */
function scale(mantissa: u64, exp10: i32): f64 {
  const v = <f64>mantissa;
  if (mantissa == 0 || exp10 == 0) return v;
  if (exp10 > 0) return v * Math.pow(10, exp10);
  if (exp10 >= -308) return v / Math.pow(10, -exp10);
  // 10^-exp10 itself would overflow: divide in two steps into the subnormal range.
  return v / 1e308 / Math.pow(10, -exp10 - 308);
}

class Parser {
  pos: i32 = 0;
  error: string = "";
  readonly len: i32;

  constructor(readonly src: string, readonly maxDepth: i32) {
    this.len = src.length;
  }

  /** The code unit at `pos`, or -1 past the end (String#charCodeAt is bounds-checked). */
  peek(): i32 {
    return this.src.charCodeAt(this.pos);
  }

  fail(what: string): JsonValue | null {
    if (this.error.length == 0) this.error = "invalid JSON at offset " + this.pos.toString() + ": " + what;
    return null;
  }

  skipWhitespace(): void {
    while (isWhitespace(this.peek())) this.pos++;
  }

  parseValue(depth: i32): JsonValue | null {
    this.skipWhitespace();
    const c = this.peek();
    if (c == 0x7b || c == 0x5b) {
      if (depth >= this.maxDepth) return this.fail("nesting deeper than " + this.maxDepth.toString());
      return c == 0x7b ? this.parseObject(depth + 1) : this.parseArray(depth + 1);
    }
    if (c == QUOTE) {
      const s = this.parseString();
      if (s === null) return null;
      const v = new JsonValue(JsonKind.String);
      v.strValue = s;
      return v;
    }
    if (c == 0x74) return this.parseLiteral("true", JsonKind.Bool, true);
    if (c == 0x66) return this.parseLiteral("false", JsonKind.Bool, false);
    if (c == 0x6e) return this.parseLiteral("null", JsonKind.Null, false);
    if (c == 0x2d || isDigit(c)) return this.parseNumber();
    if (c < 0) return this.fail("unexpected end of input");
    return this.fail("unexpected character");
  }

  parseLiteral(word: string, kind: JsonKind, value: bool): JsonValue | null {
    for (let i = 0; i < word.length; i++) {
      if (this.peek() != word.charCodeAt(i)) return this.fail("invalid literal");
      this.pos++;
    }
    const v = new JsonValue(kind);
    v.boolValue = value;
    return v;
  }

  parseNumber(): JsonValue | null {
    // The digits are converted while the grammar is checked: up to 19 significant digits in a u64,
    // the rest only moving the decimal exponent (their weight is below f64 precision).
    let negative = false;
    let mantissa: u64 = 0;
    let significant = 0;
    let exp10 = 0;
    if (this.peek() == 0x2d) {
      negative = true;
      this.pos++;
    }
    if (this.peek() == 0x30) {
      this.pos++;
    } else if (isDigit(this.peek())) {
      while (isDigit(this.peek())) {
        if (significant < 19) {
          mantissa = mantissa * 10 + <u64>(this.peek() - 0x30);
          significant++;
        } else {
          exp10++;
        }
        this.pos++;
      }
    } else {
      return this.fail("invalid number");
    }
    if (this.peek() == 0x2e) {
      this.pos++;
      if (!isDigit(this.peek())) return this.fail("invalid number");
      while (isDigit(this.peek())) {
        const d = this.peek() - 0x30;
        if (significant < 19) {
          if (mantissa != 0 || d != 0) {
            mantissa = mantissa * 10 + <u64>d;
            significant++;
          }
          exp10--;
        }
        this.pos++;
      }
    }
    const e = this.peek();
    if (e == 0x65 || e == 0x45) {
      this.pos++;
      let expNegative = false;
      const sign = this.peek();
      if (sign == 0x2b || sign == 0x2d) {
        expNegative = sign == 0x2d;
        this.pos++;
      }
      if (!isDigit(this.peek())) return this.fail("invalid number");
      let explicit = 0;
      while (isDigit(this.peek())) {
        // Past 100,000 the value is 0 or Infinity anyway; the cap keeps the i32 from overflowing.
        if (explicit < 100000) explicit = explicit * 10 + (this.peek() - 0x30);
        this.pos++;
      }
      exp10 += expNegative ? -explicit : explicit;
    }
    const v = new JsonValue(JsonKind.Number);
    const magnitude = scale(mantissa, exp10);
    v.numValue = negative ? -magnitude : magnitude;
    return v;
  }

  /** Reads a string literal at `pos` (which holds the opening quote); null on error. */
  parseString(): string | null {
    this.pos++;
    const start = this.pos;
    // Fast path: no escapes, so the literal is a slice of the source.
    let c = this.peek();
    while (c != QUOTE && c != BACKSLASH && c >= 0x20) {
      this.pos++;
      c = this.peek();
    }
    const plainEnd = this.pos;
    const units = new Array<i32>();
    if (c == BACKSLASH) {
      for (let i = start; i < plainEnd; i++) units.push(this.src.charCodeAt(i));
    }
    while (c != QUOTE) {
      if (c < 0) {
        this.fail("unterminated string");
        return null;
      }
      if (c < 0x20) {
        this.fail("control character in string");
        return null;
      }
      if (c == BACKSLASH) {
        this.pos++;
        const esc = this.peek();
        let unit = -1;
        if (esc == QUOTE || esc == BACKSLASH || esc == 0x2f) unit = esc;
        else if (esc == 0x62) unit = 0x08;
        else if (esc == 0x66) unit = 0x0c;
        else if (esc == 0x6e) unit = 0x0a;
        else if (esc == 0x72) unit = 0x0d;
        else if (esc == 0x74) unit = 0x09;
        else if (esc == 0x75) {
          unit = 0;
          for (let k = 0; k < 4; k++) {
            this.pos++;
            const h = hexValue(this.peek());
            if (h < 0) {
              this.fail("invalid \\u escape");
              return null;
            }
            unit = (unit << 4) | h;
          }
        }
        if (unit < 0) {
          this.fail("invalid escape");
          return null;
        }
        units.push(unit);
      } else {
        units.push(c);
      }
      this.pos++;
      c = this.peek();
    }
    this.pos++;
    const text = units.length == 0 ? this.src.substring(start, plainEnd) : String.fromCharCodes(units);
    if (!wellFormed(text)) {
      this.fail("unpaired surrogate in string");
      return null;
    }
    return text;
  }

  parseArray(depth: i32): JsonValue | null {
    this.pos++;
    const items = new Array<JsonValue>();
    this.skipWhitespace();
    if (this.peek() == 0x5d) {
      this.pos++;
    } else {
      while (true) {
        const item = this.parseValue(depth);
        if (item === null) return null;
        items.push(item);
        this.skipWhitespace();
        const c = this.peek();
        this.pos++;
        if (c == 0x5d) break;
        if (c != 0x2c) {
          this.pos--;
          return this.fail(c < 0 ? "unterminated array" : "expected ',' or ']'");
        }
      }
    }
    const v = new JsonValue(JsonKind.Array);
    v.items = items;
    return v;
  }

  parseObject(depth: i32): JsonValue | null {
    this.pos++;
    const keys = new Array<string>();
    const items = new Array<JsonValue>();
    const index = new Map<string, i32>();
    this.skipWhitespace();
    if (this.peek() == 0x7d) {
      this.pos++;
    } else {
      while (true) {
        this.skipWhitespace();
        if (this.peek() != QUOTE) return this.fail(this.peek() < 0 ? "unterminated object" : "expected a member name");
        const keyStart = this.pos;
        const key = this.parseString();
        if (key === null) return null;
        if (index.has(key)) {
          this.pos = keyStart;
          return this.fail("duplicate member name");
        }
        this.skipWhitespace();
        if (this.peek() != 0x3a) return this.fail("expected ':'");
        this.pos++;
        const value = this.parseValue(depth);
        if (value === null) return null;
        index.set(key, items.length);
        keys.push(key);
        items.push(value);
        this.skipWhitespace();
        const c = this.peek();
        this.pos++;
        if (c == 0x7d) break;
        if (c != 0x2c) {
          this.pos--;
          return this.fail(c < 0 ? "unterminated object" : "expected ',' or '}'");
        }
      }
    }
    return JsonValue.object(keys, items, index);
  }
}

/** Every high surrogate is followed by a low one and every low one preceded by a high one. */
function wellFormed(s: string): bool {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next < 0xdc00 || next > 0xdfff) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/**
 * Parses one JSON document. Documents longer than `maxLength` UTF-16 code units, or with arrays and
 * objects nested deeper than `maxDepth`, are refused before they can cost memory or stack.
 */
export function parseJson(src: string, maxDepth: i32, maxLength: i32): JsonResult {
  if (src.length > maxLength) {
    return new JsonResult(false, "document longer than " + maxLength.toString() + " characters", null);
  }
  const p = new Parser(src, maxDepth);
  const value = p.parseValue(0);
  if (value !== null) {
    p.skipWhitespace();
    if (p.pos < p.len) p.fail("unexpected data after the JSON value");
  }
  if (value === null || p.error.length > 0) return new JsonResult(false, p.error, null);
  return new JsonResult(true, "", value);
}
