import { beforeAll, describe, expect, it } from "vitest";
import { createHash, createHmac } from "node:crypto";
import type { ASUtil } from "@assemblyscript/loader";
import { loadEntry } from "./asc.ts";
import { rng, withBuffers, withStrings } from "./wasm-values.ts";

type Exports = {
  hashBytes(data: number): number;
  hashBuffer(data: number): number;
  hashString(s: number): number;
  hashChunked(data: number, chunk: number): number;
  hashRepeated(data: number, times: number): number;
  hashEach(data: number, times: number): number;
  hmac(key: number, message: number): number;
  hmacTwice(key: number, first: number, second: number): number;
};

let mod: ASUtil & Exports;
beforeAll(async () => {
  mod = await loadEntry<Exports>("filter-wasm/test/entries/sha256.ts");
});

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
const fill = (byte: number, n: number) => new Uint8Array(n).fill(byte);
const hashBytes = (b: Uint8Array) => withBuffers(mod, [b], ([p]) => mod.__getString(mod.hashBytes(p!)));
const hashBuffer = (b: Uint8Array) => withBuffers(mod, [b], ([p]) => mod.__getString(mod.hashBuffer(p!)));
const hashString = (s: string) => withStrings(mod, [s], ([p]) => mod.__getString(mod.hashString(p!)));
const hmac = (k: Uint8Array, m: Uint8Array) => withBuffers(mod, [k, m], ([kp, mp]) => mod.__getString(mod.hmac(kp!, mp!)));
const nodeSha = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

describe("SHA-256 of bytes in place (how the filter hashes a token in the header)", () => {
  it("equals Node's digest for every length from 0 to 300 bytes and for a Keycloak-sized token, hashed again and again", () => {
    const next = rng(5);
    for (const n of [...Array.from({ length: 301 }, (_, i) => i), 1226, 8192]) {
      const data = new Uint8Array(n).map(() => Math.floor(next() * 256));
      expect(withBuffers(mod, [data], ([p]) => mod.__getString(mod.hashEach(p!, 3))), `length ${n}`).toBe(nodeSha(data));
    }
  });
});

describe("SHA-256: NIST FIPS 180-4 examples", () => {
  const vectors: [string, string][] = [
    ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
    [
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    ],
    [
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
    ],
  ];
  for (const [msg, digest] of vectors) {
    it(`"${msg.slice(0, 16)}…" (${msg.length * 8} bits)`, () => {
      expect(hashBytes(bytes(msg))).toBe(digest);
      expect(hashBuffer(bytes(msg))).toBe(digest);
      expect(hashString(msg)).toBe(digest);
    });
  }

  it("one million 'a'", () => {
    const digest = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    expect(hashBytes(fill(0x61, 1_000_000))).toBe(digest);
    expect(withBuffers(mod, [fill(0x61, 1000)], ([p]) => mod.__getString(mod.hashRepeated(p!, 1000)))).toBe(digest);
  });
});

describe("SHA-256: padding boundaries and incremental updates", () => {
  it("agrees with Node for every length from 0 to 300 bytes, in one piece and in chunks", () => {
    const next = rng(1);
    for (let n = 0; n <= 300; n++) {
      const data = new Uint8Array(n).map(() => Math.floor(next() * 256));
      const want = nodeSha(data);
      expect(hashBytes(data)).toBe(want);
      for (const chunk of [1, 7, 63, 64, 65]) {
        expect(withBuffers(mod, [data], ([p]) => mod.__getString(mod.hashChunked(p!, chunk)))).toBe(want);
      }
    }
  });
});

describe("SHA-256 over a string's UTF-8", () => {
  it("encodes 1-, 2-, 3- and 4-byte characters like Node", () => {
    for (const s of ["é", "ü€", "日本語", "😀 emoji", "a\u0000b", "\u07ff\u0800\uffff", "\u{10ffff}"]) {
      expect(hashString(s)).toBe(nodeSha(s));
    }
  });

  it("encodes unpaired surrogates as U+FFFD, like Node", () => {
    for (const s of ["\ud800", "a\udc00b", "\ud83d", "\ude00\ud83d", "x\ud800\ud800"]) {
      expect(hashString(s)).toBe(nodeSha(s));
    }
  });
});

describe("SHA-256: random cross-check against Node", () => {
  it("2,000 random byte strings and 2,000 random UTF-16 strings", () => {
    const next = rng(42);
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(next() * (next() < 0.1 ? 5000 : 200));
      const data = new Uint8Array(len).map(() => Math.floor(next() * 256));
      expect(hashBytes(data), `bytes case ${i}`).toBe(nodeSha(data));
      const units = Array.from({ length: Math.floor(next() * 100) }, () =>
        next() < 0.5 ? Math.floor(next() * 128) : Math.floor(next() * 0x10000),
      );
      const s = String.fromCharCode(...units);
      expect(hashString(s), `string case ${i}`).toBe(nodeSha(s));
    }
  });
});

describe("HMAC-SHA256: RFC 4231 test cases", () => {
  const text = (s: string) => bytes(s);
  const range = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const cases: [string, Uint8Array, Uint8Array, string][] = [
    ["1", fill(0x0b, 20), text("Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"],
    ["2", text("Jefe"), text("what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"],
    ["3", fill(0xaa, 20), fill(0xdd, 50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"],
    ["4", range(0x01, 0x19), fill(0xcd, 50), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"],
    [
      "6",
      fill(0xaa, 131),
      text("Test Using Larger Than Block-Size Key - Hash Key First"),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ],
    [
      "7",
      fill(0xaa, 131),
      text(
        "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
      ),
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ],
  ];
  for (const [name, key, data, mac] of cases) {
    it(`test case ${name}`, () => {
      expect(hmac(key, data)).toBe(mac);
    });
  }

  it("test case 5 (output truncated to 128 bits)", () => {
    expect(hmac(fill(0x0c, 20), text("Test With Truncation")).slice(0, 32)).toBe("a3b6167473100ee06e0c796c2955552b");
  });
});

describe("HMAC-SHA256: cross-check against Node", () => {
  it("random keys (0 to 200 bytes, around the block size) and messages", () => {
    const next = rng(7);
    for (let i = 0; i < 500; i++) {
      const klen = [0, 1, 32, 63, 64, 65, 200][i % 7]!;
      const key = new Uint8Array(klen).map(() => Math.floor(next() * 256));
      const msg = new Uint8Array(Math.floor(next() * 300)).map(() => Math.floor(next() * 256));
      expect(hmac(key, msg), `case ${i}`).toBe(createHmac("sha256", key).update(msg).digest("hex"));
    }
  });

  it("a keyed instance gives the same MAC on reuse", () => {
    const key = bytes("shared secret");
    const [a, b] = withBuffers(mod, [key], ([kp]) =>
      withStrings(mod, ["first message", "second ✓ message"], ([m1, m2]) => mod.__getString(mod.hmacTwice(kp!, m1!, m2!))),
    ).split(" ");
    expect(a).toBe(createHmac("sha256", key).update("first message").digest("hex"));
    expect(b).toBe(createHmac("sha256", key).update("second ✓ message").digest("hex"));
  });
});
