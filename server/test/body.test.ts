import { describe, expect, it } from "vitest";
import { parseJson, readBody } from "../src/body.ts";
import { ApiError } from "../src/errors.ts";

function streamed(chunks: number, size: number, pulled: { n: number }): Request {
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(ctrl) {
      if (sent === chunks) return ctrl.close();
      sent++;
      pulled.n++;
      ctrl.enqueue(new Uint8Array(size).fill(0x20));
    },
  });
  return new Request("http://x/", { method: "POST", body, duplex: "half" } as RequestInit);
}

describe("request bodies", () => {
  it("reads a body within the limit", async () => {
    const req = new Request("http://x/", { method: "POST", body: '{"a":1}' });
    expect((await readBody(req, 100)).toString()).toBe('{"a":1}');
  });

  it("stops reading as soon as the limit is passed, whatever the length", async () => {
    const pulled = { n: 0 };
    const err = await readBody(streamed(10_000, 1024, pulled), 8 * 1024).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(413);
    expect(pulled.n).toBeLessThanOrEqual(10);
  });

  it("refuses a declared Content-Length over the limit without reading", async () => {
    const pulled = { n: 0 };
    const req = streamed(1, 10, pulled);
    const withLength = new Request(req, { headers: { "content-length": "999999" } });
    await expect(readBody(withLength, 1000)).rejects.toMatchObject({ status: 413, code: "payload_too_large" });
  });

  it("parses JSON, or says where it is not", () => {
    expect(parseJson(Buffer.from('{"a":[1,2]}'))).toEqual({ a: [1, 2] });
    expect(() => parseJson(Buffer.alloc(0))).toThrow("request body is not valid JSON: the body is empty");
    try {
      parseJson(Buffer.from('{"secret": "abc", oops}'));
    } catch (err) {
      expect(err).toMatchObject({ status: 400, code: "invalid_request" });
      expect((err as Error).message).not.toContain("secret");
    }
  });
});
