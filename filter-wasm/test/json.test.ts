import { beforeAll, describe, expect, it } from "vitest";
import type { ASUtil } from "@assemblyscript/loader";
import { loadEntry } from "./asc.ts";
import { rng, withBuffers, withStrings } from "./wasm-values.ts";
import { acceptableJson, jsParse, mutateText, randomJsonText, sameJson } from "./json-oracle.ts";

type Exports = {
  parse(src: number, maxDepth: number, maxLength: number): number;
  parseBytes(buf: number, maxDepth: number, maxLength: number): number;
  describeMember(src: number, key: number): number;
  probeAccessors(src: number): number;
};

let mod: ASUtil & Exports;
beforeAll(async () => {
  mod = await loadEntry<Exports>("filter-wasm/test/entries/json.ts");
});

const DEPTH = 32;
const LENGTH = 1 << 20;
const parse = (src: string, depth = DEPTH, length = LENGTH) =>
  withStrings(mod, [src], ([p]) => mod.__getString(mod.parse(p!, depth, length)));
const parseBytes = (b: Uint8Array, depth = DEPTH, length = LENGTH) =>
  withBuffers(mod, [b], ([p]) => mod.__getString(mod.parseBytes(p!, depth, length)));
const describeMember = (src: string, key: string) =>
  withStrings(mod, [src, key], ([s, k]) => mod.__getString(mod.describeMember(s!, k!)));

/** The wasm parse of `src` read back as a JS value, or the error text. */
function wasmValue(out: string): { value: unknown } | { error: string } {
  if (out.startsWith("ok ")) return { value: JSON.parse(out.slice(3)) as unknown };
  expect(out.startsWith("error ")).toBe(true);
  return { error: out.slice(6) };
}

describe("JSON: valid documents read as JSON.parse reads them", () => {
  const docs = [
    "null", "true", "false", "0", "-0", "1", "-12.5e-3", "1E+2", "\"\"", "[]", "{}", " \t\r\n[ 1 , 2 ] \n",
    '{"a":{"b":[1,{"c":null}]},"d":"e"}',
    '"\\"\\\\\\/\\b\\f\\n\\r\\t"',
    '"\\u0041\\u00e9\\u20AC\\ud83d\\ude00"',
    '"raw é 日本 😀 \u2028"',
    '{"__proto__":1,"constructor":2,"":3}',
    "1e308", "5e-324", "9007199254740991", "-9007199254740991", "0.1", "123.456e7",
    '[[[[[[[[[[["deep"]]]]]]]]]]]',
  ];
  for (const doc of docs) {
    it(JSON.stringify(doc), () => {
      const got = wasmValue(parse(doc));
      expect("value" in got, JSON.stringify(got)).toBe(true);
      expect(sameJson(jsParse(doc)!.value, (got as { value: unknown }).value)).toBe(true);
    });
  }

  it("reads numbers past the f64 range as ±Infinity", () => {
    expect(parse("1e999")).toBe("ok 1e999");
    expect(parse("-1e999999999999")).toBe("ok -1e999");
    expect(parse("[" + "9".repeat(400) + "]")).toBe("ok [1e999]");
  });

  it("reads long literals with the right power of ten (AssemblyScript's parseFloat does not)", () => {
    for (const lit of ["123456789012345678901234890112348901234567890", "1" + "0".repeat(30) + "e5", "0." + "0".repeat(30) + "123456789012345678901"]) {
      expect(sameJson(Number(lit), (wasmValue(parse(lit)) as { value: unknown }).value), lit).toBe(true);
    }
  });

  it("reads a 10,000-digit number and a 100,000-character string", () => {
    const got = wasmValue(parse("0." + "0".repeat(5000) + "1" + "2".repeat(5000)));
    expect(got).toEqual({ value: 0 });
    const long = "x".repeat(100_000);
    expect(parse(JSON.stringify(long))).toBe("ok " + JSON.stringify(long));
  });

  it("typed accessors: kind, size, integer", () => {
    // kinds: 0 null, 1 bool, 2 number, 3 string, 4 array, 5 object
    const doc = '{"n":60,"f":1.5,"big":1e999,"s":"x","a":[1,2,3],"o":{"k":1},"z":null,"b":true,"e":1e2}';
    expect(describeMember(doc, "n")).toBe("2 0 int");
    expect(describeMember(doc, "e")).toBe("2 0 int");
    expect(describeMember(doc, "f")).toBe("2 0 non-int");
    expect(describeMember(doc, "big")).toBe("2 0 non-int");
    expect(describeMember(doc, "s")).toBe("3 0 non-int");
    expect(describeMember(doc, "a")).toBe("4 3 non-int");
    expect(describeMember(doc, "o")).toBe("5 1 non-int");
    expect(describeMember(doc, "z")).toBe("0 0 non-int");
    expect(describeMember(doc, "b")).toBe("1 0 non-int");
    expect(describeMember(doc, "missing")).toBe("absent");
    expect(describeMember("[1]", "0")).toBe("absent");
  });

  it("accessors out of range answer null or empty instead of aborting", () => {
    for (const doc of ["[]", "[1,2]", "{}", '{"a":1}', "1", '"s"', "null"]) {
      expect(withStrings(mod, [doc], ([p]) => mod.__getString(mod.probeAccessors(p!)))).toBe("ok");
    }
  });
});

describe("JSON: malformed documents are errors, never aborts", () => {
  const cases: [string, string][] = [
    ["", "offset 0: unexpected end of input"],
    ["   ", "offset 3: unexpected end of input"],
    ["{", "offset 1: unterminated object"],
    ['{"a"', "offset 4: expected ':'"],
    ['{"a":', "offset 5: unexpected end of input"],
    ['{"a":1', "offset 6: unterminated object"],
    ["[1,", "offset 3: unexpected end of input"],
    ["[1", "offset 2: unterminated array"],
    ['"abc', "offset 4: unterminated string"],
    ["tru", "offset 3: invalid literal"],
    ["nul", "offset 3: invalid literal"],
    ["truex", "offset 4: unexpected data after the JSON value"],
    ["-", "offset 1: invalid number"],
    ["1.", "offset 2: invalid number"],
    ["1e", "offset 2: invalid number"],
    ["1e+", "offset 3: invalid number"],
    ["01", "offset 1: unexpected data after the JSON value"],
    ["+1", "offset 0: unexpected character"],
    [".5", "offset 0: unexpected character"],
    ["NaN", "offset 0: unexpected character"],
    ["Infinity", "offset 0: unexpected character"],
    ["0x10", "offset 1: unexpected data after the JSON value"],
    ["{a:1}", "offset 1: expected a member name"],
    ["{'a':1}", "offset 1: expected a member name"],
    ["[1,]", "offset 3: unexpected character"],
    ['{"a":1,}', "offset 7: expected a member name"],
    ['{"a":1 "b":2}', "offset 7: expected ',' or '}'"],
    ["[1 2]", "offset 3: expected ',' or ']'"],
    ['"\\x"', "offset 2: invalid escape"],
    ['"\\', "offset 2: invalid escape"],
    ['"\\u12"', "offset 5: invalid \\u escape"],
    ['"\\u12G4"', "offset 5: invalid \\u escape"],
    ['"a\nb"', "offset 2: control character in string"],
    ['"a\u0000b"', "offset 2: control character in string"],
    ['"\\ud800"', "unpaired surrogate in string"],
    ['"\\udc00"', "unpaired surrogate in string"],
    ['"\\ud800\\u0041"', "unpaired surrogate in string"],
    ['"\\ud800x"', "unpaired surrogate in string"],
    ['"\ud800"', "unpaired surrogate in string"],
    ['"\udc00\ud800"', "unpaired surrogate in string"],
    ['{"a":1,"a":2}', "offset 7: duplicate member name"],
    ['{"a":1,"\\u0061":2}', "offset 7: duplicate member name"],
    ['{"x":{"active":false,"active":true}}', "duplicate member name"],
    ['{"a":1}{}', "offset 7: unexpected data after the JSON value"],
    ["\ufeff{}", "offset 0: unexpected character"],
    ["[\u00a0]", "offset 1: unexpected character"],
  ];
  for (const [doc, error] of cases) {
    it(JSON.stringify(doc), () => {
      const out = parse(doc);
      expect(out.startsWith("error invalid JSON at "), out).toBe(true);
      expect(out).toContain(error);
    });
  }

  it("refuses nesting deeper than the limit, at any depth of input", () => {
    expect(parse("[".repeat(32) + "]".repeat(32))).toMatch(/^ok /);
    expect(parse("[".repeat(33) + "]".repeat(33))).toBe("error invalid JSON at offset 32: nesting deeper than 32");
    expect(parse('{"a":'.repeat(33) + "1" + "}".repeat(33))).toContain("nesting deeper than 32");
    for (const n of [1000, 100_000, 500_000]) {
      expect(parse("[".repeat(n), DEPTH, 4 << 20)).toContain("nesting deeper than 32");
      expect(parse('{"a":['.repeat(n), DEPTH, 4 << 20)).toContain("nesting deeper than 32");
    }
    expect(parse("[[1]]", 1)).toContain("nesting deeper than 1");
    expect(parse("1", 0)).toBe("ok 1.0");
    expect(parse("[]", 0)).toContain("nesting deeper than 0");
  });

  it("refuses documents over the length limit before parsing", () => {
    expect(parse("[1,2]", DEPTH, 5)).toMatch(/^ok /);
    expect(parse("[1,2] ", DEPTH, 5)).toBe("error document longer than 5 characters");
  });
});

describe("JSON from bytes: strict UTF-8", () => {
  const bad: [string, number[]][] = [
    ["overlong quote", [0x22, 0xc0, 0xa2, 0x22]],
    ["overlong 3-byte", [0x22, 0xe0, 0x80, 0xaf, 0x22]],
    ["overlong 4-byte", [0x22, 0xf0, 0x80, 0x80, 0xaf, 0x22]],
    ["UTF-8 encoded surrogate", [0x22, 0xed, 0xa0, 0x80, 0x22]],
    ["above U+10FFFF", [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]],
    ["truncated sequence", [0x22, 0xe2, 0x82]],
    ["truncated before the quote", [0x22, 0xe2, 0x82, 0x22]],
    ["stray continuation byte", [0x22, 0x80, 0x22]],
    ["0xFF", [0x22, 0xff, 0x22]],
    ["5-byte lead", [0x22, 0xf8, 0x88, 0x80, 0x80, 0x80, 0x22]],
  ];
  for (const [name, bytes] of bad) {
    it(`refuses ${name}`, () => {
      expect(parseBytes(new Uint8Array(bytes))).toMatch(/^error invalid UTF-8 at byte \d+$/);
    });
  }

  it("reads valid multi-byte text as TextDecoder does", () => {
    const doc = '{"k":"é € 😀 \u{10ffff} \u0800 \u07ff"}';
    expect(sameJson(JSON.parse(doc), (wasmValue(parseBytes(new TextEncoder().encode(doc))) as { value: unknown }).value)).toBe(true);
  });
});

describe("JSON: differential fuzz against JSON.parse", () => {
  it("20,000 random and mutated documents: accepted exactly when I-JSON within limits, read alike", () => {
    const next = rng(7662);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const base = randomJsonText(next);
      const doc = next() < 0.6 ? mutateText(next, base) : base;
      const depth = next() < 0.1 ? Math.floor(next() * 4) : DEPTH;
      const out = parse(doc, depth);
      const got = wasmValue(out);
      const want = acceptableJson(doc, depth, LENGTH);
      const label = `case ${i}: ${JSON.stringify(doc)} -> ${out}`;
      if (want) {
        expect("value" in got, label).toBe(true);
        expect(sameJson(want.value, (got as { value: unknown }).value), label).toBe(true);
        accepted++;
      } else {
        expect("error" in got, label).toBe(true);
      }
    }
    // Both sides of the oracle are exercised.
    expect(accepted).toBeGreaterThan(5_000);
    expect(accepted).toBeLessThan(15_000);
  });

  it("5,000 random byte strings and mutated UTF-8 documents: no abort, UTF-8 judged as by a fatal TextDecoder", () => {
    const next = rng(3629);
    const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    for (let i = 0; i < 5_000; i++) {
      let bytes: Uint8Array;
      if (next() < 0.5) {
        bytes = new Uint8Array(Math.floor(next() * 40)).map(() => Math.floor(next() * 256));
      } else {
        bytes = new TextEncoder().encode(randomJsonText(next));
        for (let k = 0; k < 2; k++) if (bytes.length > 0) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
      }
      const out = parseBytes(bytes);
      let text: string | undefined;
      try {
        text = fatal.decode(bytes);
      } catch {
        text = undefined;
      }
      const label = `case ${i}: ${Buffer.from(bytes).toString("hex")} -> ${out}`;
      if (text === undefined) expect(out, label).toMatch(/^error invalid UTF-8 at byte \d+$/);
      else expect(out, label).toBe(parse(text));
    }
  });
});
