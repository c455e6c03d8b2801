import { beforeAll, describe, expect, it } from "vitest";
import type { ASUtil } from "@assemblyscript/loader";
import { loadEntry } from "./asc.ts";
import { rng, withBuffers, withStrings } from "./wasm-values.ts";

type Exports = {
  encode(data: number): number;
  urlDecode(text: number): number;
  utf8Decode(data: number): number;
  utf8Encode(s: number): number;
};

let mod: ASUtil & Exports;
beforeAll(async () => {
  mod = await loadEntry<Exports>("filter-wasm/test/entries/codec.ts");
});

const encode = (b: Uint8Array) => withBuffers(mod, [b], ([p]) => mod.__getString(mod.encode(p!)));
const urlDecode = (s: string) => withStrings(mod, [s], ([p]) => mod.__getString(mod.urlDecode(p!)));
const utf8Decode = (b: Uint8Array) => withBuffers(mod, [b], ([p]) => mod.__getString(mod.utf8Decode(p!)));
const utf8Encode = (s: string) => withStrings(mod, [s], ([p]) => new Uint8Array(mod.__getArrayBuffer(mod.utf8Encode(p!))));
const ascii = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

describe("base64 encoding", () => {
  it("RFC 4648 section 10 vectors", () => {
    const vectors: [string, string][] = [
      ["", ""], ["f", "Zg=="], ["fo", "Zm8="], ["foo", "Zm9v"], ["foob", "Zm9vYg=="], ["fooba", "Zm9vYmE="], ["foobar", "Zm9vYmFy"],
    ];
    for (const [plain, encoded] of vectors) expect(encode(ascii(plain))).toBe(encoded);
  });

  it("agrees with Node for 2,000 random byte strings", () => {
    const next = rng(4648);
    for (let i = 0; i < 2000; i++) {
      const b = new Uint8Array(Math.floor(next() * 100)).map(() => Math.floor(next() * 256));
      expect(encode(b)).toBe(Buffer.from(b).toString("base64"));
    }
  });
});

describe("base64url decoding", () => {
  it("RFC 4648 vectors, with and without padding", () => {
    const hex = (s: string) => "ok " + Buffer.from(s, "latin1").toString("hex");
    for (const [plain, encoded] of [["", ""], ["f", "Zg"], ["fo", "Zm8"], ["foo", "Zm9v"], ["foob", "Zm9vYg"], ["fooba", "Zm9vYmE"]]) {
      expect(urlDecode(encoded!)).toBe(hex(plain!));
    }
    expect(urlDecode("Zg==")).toBe(hex("f"));
    expect(urlDecode("Zm8=")).toBe(hex("fo"));
    expect(urlDecode("-_-_")).toBe("ok fbffbf");
  });

  it("refuses text that is not canonical base64url", () => {
    const cases: [string, string][] = [
      ["Z", "error invalid base64url length"],
      ["Zm9vY", "error invalid base64url length"],
      ["Zm+v", "error invalid base64url character at offset 2"],
      ["Zm/v", "error invalid base64url character at offset 2"],
      ["Zm9 ", "error invalid base64url character at offset 3"],
      ["Zg=", "error invalid base64url character at offset 2"],
      ["Z===", "error invalid base64url character at offset 1"],
      ["====", "error invalid base64url character at offset 0"],
      ["Zg=A", "error invalid base64url character at offset 2"],
      ["Zh", "error non-zero padding bits in base64url"],
      ["Zm9=", "error non-zero padding bits in base64url"],
      ["é", "error invalid base64url length"],
      ["éé", "error invalid base64url character at offset 0"],
    ];
    for (const [text, want] of cases) expect(urlDecode(text), text).toBe(want);
  });

  it("fuzz: 20,000 random strings decode exactly when Node's canonical re-encoding gives them back", () => {
    const next = rng(7515);
    const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .\u00e9\ud800";
    let decoded = 0;
    for (let i = 0; i < 20_000; i++) {
      let s: string;
      if (next() < 0.5) {
        s = Buffer.from(new Uint8Array(Math.floor(next() * 30)).map(() => Math.floor(next() * 256))).toString("base64url");
        if (next() < 0.5 && s.length > 0) {
          const at = Math.floor(next() * s.length);
          s = s.slice(0, at) + chars[Math.floor(next() * chars.length)] + s.slice(at + 1);
        }
      } else {
        s = Array.from({ length: Math.floor(next() * 12) }, () => chars[Math.floor(next() * chars.length)]).join("");
      }
      const out = urlDecode(s);
      const unpadded = s.length % 4 === 0 ? s.replace(/={1,2}$/, "") : s;
      const canonical = /^[A-Za-z0-9_-]*$/.test(unpadded) && Buffer.from(unpadded, "base64url").toString("base64url") === unpadded;
      if (canonical) {
        expect(out, s).toBe("ok " + Buffer.from(unpadded, "base64url").toString("hex"));
        decoded++;
      } else {
        expect(out.startsWith("error "), `${s} -> ${out}`).toBe(true);
      }
    }
    expect(decoded).toBeGreaterThan(5000);
  });
});

describe("UTF-8", () => {
  it("encodes like Node, unpaired surrogates as U+FFFD", () => {
    const next = rng(3629);
    const samples = ["", "abc", "é", "€", "😀", "\u{10ffff}", "\ud800", "a\udc00b", "\ude00\ud83d", "\u0000\u007f\u0080\u07ff\u0800\uffff"];
    for (let i = 0; i < 2000; i++) {
      samples.push(String.fromCharCode(...Array.from({ length: Math.floor(next() * 20) }, () => Math.floor(next() * 0x10000))));
    }
    for (const s of samples) expect(Buffer.from(utf8Encode(s)).toString("hex"), JSON.stringify(s)).toBe(Buffer.from(s, "utf8").toString("hex"));
  });

  it("decodes exactly what a fatal TextDecoder decodes, for 20,000 random byte strings", () => {
    const next = rng(20);
    const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    const leads = [0x00, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x90, 0xa0];
    for (let i = 0; i < 20_000; i++) {
      const b = new Uint8Array(Math.floor(next() * 12)).map(() => (next() < 0.5 ? leads[Math.floor(next() * leads.length)]! : Math.floor(next() * 256)));
      let want: string;
      try {
        want = "ok " + fatal.decode(b);
      } catch {
        want = "error";
      }
      const got = utf8Decode(b);
      expect(got.startsWith("error invalid UTF-8 at byte ") ? "error" : got, Buffer.from(b).toString("hex")).toBe(want);
    }
  });
});
