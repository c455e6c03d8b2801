import { describe, expect, it } from "vitest";
import { ApiError, classifyTransportError, invalidInput, problemBody, problemHeaders, upstreamError } from "../src/errors.ts";

describe("errors", () => {
  it("carries the contract's fields in an RFC 9457 problem", () => {
    const err = new ApiError(404, "not_found", 'no model named "x"');
    expect(problemBody(err, "rid-1")).toEqual({
      type: "about:blank",
      title: "Not Found",
      status: 404,
      detail: 'no model named "x"',
      error: "not_found",
      error_description: 'no model named "x"',
      request_id: "rid-1",
    });
    expect(problemHeaders(err)).toEqual({ "content-type": "application/problem+json" });
  });

  it("adds the RFC 6750 challenge and Retry-After", () => {
    expect(problemHeaders(new ApiError(401, "invalid_token", 'say "hi"'))["www-authenticate"]).toBe(`Bearer error="invalid_token", error_description="say 'hi'"`);
    expect(problemHeaders(new ApiError(403, "insufficient_scope", "no"))["www-authenticate"]).toMatch(/^Bearer error="insufficient_scope"/);
    expect(problemHeaders(upstreamError("m", { kind: "unavailable", detail: "ECONNREFUSED" }))["retry-after"]).toBe("1");
  });

  it("summarises input problems", () => {
    expect(invalidInput([{ field: "a", message: "bad" }]).description).toBe("a: bad");
    expect(invalidInput([{ field: "a", message: "bad" }, { field: "b", message: "worse" }]).description).toBe("a: bad (and 1 other problem)");
    expect(invalidInput([{ field: "a", message: "bad" }, { field: "b", message: "x" }, { field: "c", message: "y" }]).description).toBe("a: bad (and 2 other problems)");
    expect(invalidInput([{ field: "a", message: "bad" }], true).description).toBe("a: bad (and more other problems)");
  });

  it("maps model call failures to 502, 503 and 504 without the upstream's words", () => {
    const t = upstreamError("iris", { kind: "timeout", afterMs: 250 });
    expect([t.status, t.code, t.description]).toEqual([504, "gateway_timeout", 'model "iris" did not answer within 250 ms']);
    const u = upstreamError("iris", { kind: "unavailable", detail: "connect ECONNREFUSED 127.0.0.1:1" });
    expect([u.status, u.code]).toEqual([503, "temporarily_unavailable"]);
    expect(u.description).not.toContain("ECONNREFUSED");
    const o = upstreamError("iris", { kind: "overloaded", queued: 5 });
    expect([o.status, o.description]).toEqual([503, 'model "iris" is overloaded; retry later']);
    const b = upstreamError("iris", { kind: "bad_response", detail: "HTTP 500: Traceback" });
    expect([b.status, b.code, b.description]).toEqual([502, "bad_gateway", 'model "iris" returned an invalid answer']);
    expect(b.extra.logDetail).toBe("HTTP 500: Traceback");
  });

  it("sorts transport errors", () => {
    const kind = (e: unknown) => classifyTransportError(e);
    expect(kind(Object.assign(new Error("connect"), { code: "ECONNREFUSED" }))).toMatchObject({ failure: { kind: "unavailable" }, retry: false });
    expect(kind({ message: "x", cause: { code: "ENOTFOUND" } })).toMatchObject({ failure: { kind: "unavailable" } });
    expect(kind(Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }))).toMatchObject({ failure: { kind: "bad_response" }, retry: true });
    expect(kind(Object.assign(new Error("reset"), { code: "ECONNRESET" }))).toMatchObject({ retry: true });
    expect(kind(Object.assign(new Error("Expected HTTP/"), { code: "HPE_INVALID_CONSTANT" }))).toMatchObject({ failure: { kind: "bad_response" }, retry: false });
    expect(kind("weird")).toMatchObject({ failure: { kind: "bad_response" } });
  });
});
