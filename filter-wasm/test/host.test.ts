import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../test/harness/paths.ts";
import {
  compileModule,
  Proxy,
  WasmResult,
  type HeaderPair,
  type HeaderPairs,
  type HttpStream,
  type WasmModule,
  type Worker,
} from "../host/index.ts";

/**
 * The fixture is built with the root build's options (WASI shim, abort=abort_proc_exit, incremental
 * runtime) through a config of its own: the root asconfig.json would add the filter's entry file.
 */
async function buildFixture(): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), "altgate-host-fixture-"));
  try {
    const outFile = join(dir, "host-fixture.wasm");
    const asc = resolve(repoRoot, "node_modules/assemblyscript/bin/asc.js");
    const args = ["filter-wasm/test/fixtures/host-fixture.ts", "--config", "filter-wasm/test/fixtures/asconfig.json"];
    await promisify(execFile)(process.execPath, [asc, ...args, "--outFile", outFile], { cwd: repoRoot });
    return await readFile(outFile);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function get(path: string, extra: HeaderPairs = []): HeaderPairs {
  return [[":method", "GET"], [":path", path], [":authority", "api.test"], [":scheme", "https"], ...extra];
}

function headerOf(pairs: readonly HeaderPair[] | undefined, name: string): string | undefined {
  return pairs?.find(([k]) => k === name)?.[1];
}

function upstream(stream: HttpStream, name: string): string | undefined {
  return headerOf(stream.upstreamRequest?.headers, name);
}

describe("test host running its fixture module", () => {
  let fixture: WasmModule;
  beforeAll(async () => {
    fixture = compileModule(await buildFixture());
  }, 60_000);

  function start(proxy: Proxy, configuration = "", extra: { vmId?: string; failOpen?: boolean } = {}): Worker {
    const worker = proxy.createWorker(fixture, { configuration, rootId: "fixture-root", ...extra });
    expect([worker.started, worker.configured, worker.trapped]).toEqual([true, true, undefined]);
    return worker;
  }

  describe("VM lifecycle", () => {
    it("starts the VM with its VM configuration and reports a rejected plugin configuration", () => {
      const proxy = new Proxy();
      start(proxy);
      proxy.createWorker(fixture, { vmConfiguration: "vm-1" });
      expect(proxy.logs.lines).toContainEqual({
        level: "info",
        message: "[INFO]: vm configuration: vm-1",
        source: "stdout",
        workerId: 2,
      });

      const rejected = proxy.createWorker(fixture, { configuration: "reject" });
      expect([rejected.started, rejected.configured]).toEqual([true, false]);
      expect(() => rejected.request({ headers: get("/") })).toThrow(/failed to start or configure/);

      const refused = proxy.createWorker(fixture, { vmConfiguration: "refuse-start" });
      expect([refused.started, refused.configured]).toEqual([false, false]);
    });

    it("refuses a module importing a hostcall Envoy lacks, as Envoy refuses to load it", () => {
      const name = [..."proxy_dictionary_get"].map((c) => c.charCodeAt(0));
      const importSection = [1, 3, ..."env"].map((c) => (typeof c === "string" ? c.charCodeAt(0) : c));
      const imports = [...importSection, name.length, ...name, 0, 0];
      const bytes = new Uint8Array([
        ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
        ...[0x01, 0x04, 0x01, 0x60, 0x00, 0x00],
        ...[0x02, imports.length, ...imports],
      ]);
      expect(() => new Proxy().createWorker(bytes)).toThrow(/env\.proxy_dictionary_get/);
    });

    it("keeps each worker's linear memory separate and reports its size", () => {
      const proxy = new Proxy();
      const [a, b] = [start(proxy), start(proxy)];
      for (let i = 0; i < 50; i++) a.request({ headers: get("/headers", [["x-dup", "x".repeat(2000)]]) });
      expect(proxy.workers).toEqual([a, b]);
      expect(a.memoryBytes % 65536).toBe(0);
      expect(a.memoryBytes).toBeGreaterThan(b.memoryBytes);
    });
  });

  describe("HTTP streams", () => {
    it("gives the module Envoy's header-map semantics", () => {
      const worker = start(new Proxy());
      const requestHeaders = get("/headers", [
        ["X-Dup", "first"],
        ["x-dup", "second"],
        ["x-replace-me", "1"],
        ["x-replace-me", "2"],
        ["x-remove-me", "gone"],
      ]);
      const stream = worker.request({ headers: requestHeaders });

      expect(stream.state).toBe("continued");
      const headers = stream.upstreamRequest!.headers;
      expect(headers.slice(0, 4).map(([k]) => k)).toEqual([":method", ":path", ":authority", ":scheme"]);
      expect(headers.filter(([k]) => k === "x-dup")).toEqual([
        ["x-dup", "first"],
        ["x-dup", "second"],
      ]);
      expect(upstream(stream, "x-first-dup")).toBe("first");
      expect(headers.filter(([k]) => k === "x-replace-me")).toEqual([["x-replace-me", "replaced"]]);
      expect(upstream(stream, "x-remove-me")).toBeUndefined();
      expect(upstream(stream, "x-count")).toBe("9");
      expect(upstream(stream, "x-pairs")).toBe("9");
      const byteSize = requestHeaders.reduce((n, [k, v]) => n + k.length + v.length, 0);
      expect(upstream(stream, "x-size")).toBe(String(byteSize));
      expect(upstream(stream, "x-call-map-size-result")).toBe(String(WasmResult.BadArgument));
    });

    it("sends a local response the way Envoy does, through the response callbacks", () => {
      const proxy = new Proxy();
      const worker = start(proxy);
      const stream = worker.request({ headers: get("/local") });

      expect(stream.state).toBe("local-response");
      expect(stream.upstreamRequest).toBeUndefined();
      expect(stream.localResponse).toMatchObject({
        status: 403,
        headers: [["x-fixture-local", "1"]],
        bodyText: "nope",
        details: "fixture_denied_here",
        grpcStatus: undefined,
      });
      expect(stream.downstreamResponse).toMatchObject({
        status: 403,
        headers: [
          [":status", "403"],
          ["x-fixture-local", "1"],
          ["content-length", "4"],
          ["content-type", "text/plain"],
          ["x-fixture-response", "seen"],
        ],
      });
      expect(stream.closed).toBe(true);
      expect(proxy.sharedData.getText("last-log-path")).toBe("/local");
    });

    it("passes the request body to the module, which may rewrite or refuse it", () => {
      const worker = start(new Proxy());
      const post = (body: string) => worker.request({ headers: [...get("/upload"), ["content-length", "5"]], body });

      expect(post("hello").upstreamRequest?.bodyText).toBe("HELLO");
      const denied = post("deny");
      expect(denied.state).toBe("local-response");
      expect(denied.localResponse).toMatchObject({ status: 400, bodyText: "bad body" });
    });

    it("sends an upstream response through the response callbacks and finishes the stream", () => {
      const worker = start(new Proxy());
      const stream = worker.request({ headers: get("/anything") });
      stream.respond({ status: 200, headers: [["content-type", "text/plain"]], body: "ok" });

      expect(stream.downstreamResponse).toMatchObject({ status: 200, bodyText: "ok" });
      expect(headerOf(stream.downstreamResponse?.headers, "x-fixture-response")).toBe("seen");
      expect(stream.closed).toBe(true);
      expect(() => stream.respond({ status: 200 })).toThrow();
    });

    it("resets a stream the module closes", () => {
      const worker = start(new Proxy());
      const stream = worker.request({ headers: get("/close") });
      expect([stream.state, stream.resetDetails, stream.closed]).toEqual(["reset", "wasm_close_stream", true]);
    });

    it("serves plugin and stream properties, and reads back what the module sets", () => {
      const worker = start(new Proxy());
      const stream = worker.request({ headers: get("/property"), properties: { "source.address": "10.0.0.7:5555" } });
      expect(upstream(stream, "x-root-id")).toBe("fixture-root");
      expect(upstream(stream, "x-source")).toBe("10.0.0.7:5555");
      expect(upstream(stream, "x-note")).toBe("set by the module");
    });
  });

  describe("shared data", () => {
    function shared(worker: Worker, op: "get" | "set", key: string, value = "", cas = 0) {
      const args: HeaderPair[] = [["x-op", op], ["x-key", key], ["x-value", value], ["x-cas", String(cas)]];
      const stream = worker.request({ headers: get("/shared", args) });
      return {
        result: Number(upstream(stream, "x-result")),
        value: upstream(stream, "x-got-value"),
        cas: Number(upstream(stream, "x-got-cas")),
      };
    }

    it("is shared by the workers of one vm_id with Envoy's CAS rules", () => {
      const proxy = new Proxy();
      const [a, b] = [start(proxy), start(proxy)];

      expect(shared(a, "get", "k").result).toBe(WasmResult.NotFound);
      expect(shared(a, "set", "k", "v1").result).toBe(WasmResult.Ok);
      const seen = shared(b, "get", "k");
      expect(seen).toMatchObject({ result: WasmResult.Ok, value: "v1" });

      expect(shared(a, "set", "k", "v2", seen.cas).result).toBe(WasmResult.Ok);
      expect(shared(b, "set", "k", "v3", seen.cas).result).toBe(WasmResult.CasMismatch);
      expect(proxy.sharedData.getText("k")).toBe("v2");
      expect(proxy.sharedData.get("k")!.cas).toBeGreaterThan(seen.cas);

      // A write to a missing key succeeds whatever its CAS; the test can seed data too.
      expect(proxy.sharedData.set("fresh", "x", 12345)).toBe(WasmResult.Ok);
      expect(shared(b, "get", "fresh").value).toBe("x");
      expect(proxy.sharedData.keys()).toEqual(expect.arrayContaining(["k", "fresh"]));
    });

    it("is separate per vm_id", () => {
      const proxy = new Proxy();
      const a = start(proxy, "", { vmId: "one" });
      const b = start(proxy, "", { vmId: "two" });
      shared(a, "set", "k", "from-one");
      expect(shared(b, "get", "k").result).toBe(WasmResult.NotFound);
      expect(proxy.sharedData.getText("k", "one")).toBe("from-one");
      expect(proxy.sharedData.keys("one")).toContain("k");
      expect(proxy.sharedData.keys("two")).not.toContain("k");
    });
  });

  describe("HTTP calls", () => {
    // Arguments go first: the module, like any Envoy filter, reads the first value of a header.
    const call = (worker: Worker, args: HeaderPairs = []) =>
      worker.request({
        headers: get("/call", [...args, ["x-cluster", "backend"], ["x-payload", "ping"], ["x-timeout", "500"]]),
      });

    it("records the call, pauses the stream, and resumes it on the answer", () => {
      const proxy = new Proxy({ clusters: ["backend"] });
      const worker = start(proxy);
      const stream = call(worker);

      expect(stream.state).toBe("paused");
      expect(proxy.pendingHttpCalls).toHaveLength(1);
      const pending = proxy.pendingHttpCalls[0]!;
      expect(pending).toMatchObject({ cluster: "backend", timeoutMs: 500, token: 4, bodyText: "ping" });
      expect(pending.worker).toBe(worker);
      expect(pending.header(":AUTHORITY")).toBe("backend.local");
      expect(pending.headers).toEqual([
        [":method", "POST"],
        [":path", "/check"],
        [":authority", "backend.local"],
        ["content-type", "text/plain"],
        ["content-length", "4"],
      ]);

      pending.respond({ status: 200, headers: [["content-type", "text/plain"]], body: "pong" });

      expect(pending.state).toBe("answered");
      expect(stream.state).toBe("continued");
      expect(upstream(stream, "x-call-status")).toBe("200");
      expect(upstream(stream, "x-call-body")).toBe("pong");
      expect(() => pending.respond()).toThrow(/already answered/);
      expect(call(worker) && proxy.httpCalls.at(-1)!.token).toBe(8);
    });

    it("lets a late answer reach a module whose stream the client already closed", () => {
      const proxy = new Proxy();
      const worker = start(proxy);
      const stream = call(worker);
      stream.close();

      expect([stream.state, stream.resetDetails, stream.closed]).toEqual(["reset", "downstream_remote_disconnect", true]);
      expect(proxy.sharedData.getText("last-log-path")).toBe("/call");
      expect(proxy.metrics.gauge("fixture.inflight")).toBe(0);
      // The module's callback cannot switch to the deleted context (BadArgument) and must cope.
      proxy.pendingHttpCalls[0]!.respond({ body: "late" });
      expect(worker.trapped).toBeUndefined();
    });

    it("reports a failed call as Envoy does: no headers, no body", () => {
      const proxy = new Proxy();
      const stream = call(start(proxy));
      proxy.pendingHttpCalls[0]!.fail();
      expect(stream.localResponse).toMatchObject({ status: 503, bodyText: "upstream unavailable" });
    });

    it("times a call out on the virtual clock with Envoy's 504 response", () => {
      const proxy = new Proxy();
      const stream = call(start(proxy));
      const pending = proxy.pendingHttpCalls[0]!;

      proxy.advance(499);
      expect(pending.state).toBe("pending");
      proxy.advance(1);

      expect(pending.state).toBe("timed-out");
      expect(stream.localResponse).toMatchObject({ status: 502, details: "call_status_504", bodyText: "upstream request timeout" });
    });

    it("refuses a call to an unknown cluster, or one without :authority, with BadArgument", () => {
      const proxy = new Proxy({ clusters: ["backend"] });
      const worker = start(proxy);
      const unknown = call(worker, [["x-cluster", "nowhere"]]);
      const incomplete = call(worker, [["x-no-authority", "1"]]);

      for (const stream of [unknown, incomplete]) {
        expect(stream.localResponse).toMatchObject({ status: 500, bodyText: `dispatch result ${WasmResult.BadArgument}` });
      }
      expect(proxy.httpCalls).toHaveLength(0);
    });
  });

  describe("time, ticks, metrics, queues, logs", () => {
    it("ticks every worker at its tick period as the clock advances", () => {
      const proxy = new Proxy({ startTimeMs: 1_700_000_000_000 });
      start(proxy, "tick=100");
      start(proxy, "tick=100");

      proxy.advance(99);
      expect(proxy.metrics.counter("fixture.ticks")).toBe(0);
      proxy.advance(151);
      expect(proxy.nowMs).toBe(1_700_000_000_250);

      expect(proxy.metrics.counter("fixture.ticks")).toBe(4);
      expect(proxy.sharedData.getText("ticks")).toBe("4");
      expect(proxy.sharedData.getText("last-tick-ms")).toBe(String(1_700_000_000_200));
      expect(proxy.sharedData.getText("last-tick-date-now")).toBe(String(1_700_000_000_200));
    });

    it("reads the virtual clock through proxy_get_current_time_nanoseconds and WASI", () => {
      const proxy = new Proxy({ startTimeMs: 1_000_000 });
      const worker = start(proxy);
      proxy.advance(1234);
      const stream = worker.request({ headers: get("/time") });
      expect([upstream(stream, "x-now-ms"), upstream(stream, "x-date-now")]).toEqual(["1001234", "1001234"]);
    });

    it("keeps stats per name across workers, with ids per VM", () => {
      const proxy = new Proxy();
      const [a, b] = [start(proxy), start(proxy)];
      const streams = [a, b, a].map((w) => w.request({ headers: get("/anything") }));
      const probe = b.request({ headers: get("/headers") });

      expect(proxy.metrics.counter("fixture.requests")).toBe(4);
      expect(upstream(probe, "x-requests")).toBe("4");
      expect(proxy.metrics.histogram("fixture.header_counts")).toEqual([4, 4, 4, 4]);
      expect(proxy.metrics.gauge("fixture.inflight")).toBe(4);
      for (const s of [...streams, probe]) s.respond({ status: 204 });
      expect(proxy.metrics.gauge("fixture.inflight")).toBe(0);
    });

    it("notifies the last registrant of a shared queue when the clock next moves", () => {
      const proxy = new Proxy();
      const [a] = [start(proxy, "queue=1"), start(proxy, "queue=1")];
      const stream = a.request({ headers: get("/enqueue", [["x-item", "hello"]]) });

      expect([upstream(stream, "x-resolve-result"), upstream(stream, "x-enqueue-result")]).toEqual(["0", "0"]);
      expect(proxy.sharedData.getText("queue-last")).toBeUndefined();
      proxy.advance(0);
      expect(proxy.sharedData.getText("queue-last")).toBe("hello");
    });

    it("captures proxy_log lines and WASI stdout lines with their levels", () => {
      const proxy = new Proxy();
      start(proxy).request({ headers: get("/log") });
      expect(proxy.logs.lines).toEqual(
        expect.arrayContaining([
          { level: "warn", message: "fixture proxy_log line", source: "proxy_log", workerId: 1 },
          { level: "info", message: "[INFO]: fixture stdout line", source: "stdout", workerId: 1 },
        ]),
      );
    });
  });

  describe("VM failures", () => {
    it("fails the VM on a trap; fail-closed streams get Envoy's 503, other workers carry on", () => {
      const proxy = new Proxy();
      const [broken, healthy] = [start(proxy), start(proxy)];

      const trapping = broken.request({ headers: get("/anything", [["x-trap", "1"]]) });

      expect(broken.trapped).toEqual({ callback: "proxy_on_request_headers", message: "unreachable" });
      expect(proxy.logs.messages("critical")).toContain(
        "Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable",
      );
      expect(trapping.localResponse).toMatchObject({ status: 503, details: "wasm_fail_stream", grpcStatus: 14 });
      expect(trapping.downstreamResponse?.headers).toEqual([[":status", "503"]]);

      const requestsBefore = proxy.metrics.counter("fixture.requests");
      const next = broken.request({ headers: get("/anything") });
      expect(next.localResponse).toMatchObject({ status: 503, details: "wasm_fail_stream" });
      expect(proxy.metrics.counter("fixture.requests")).toBe(requestsBefore);
      expect(healthy.request({ headers: get("/anything") }).state).toBe("continued");
    });

    it("lets streams through a failed VM when the plugin fails open", () => {
      const worker = start(new Proxy(), "", { failOpen: true });
      const stream = worker.request({ headers: get("/anything", [["x-trap", "1"]]) });
      expect(worker.trapped).toBeDefined();
      expect(stream.state).toBe("continued");
    });

    it("records an AssemblyScript abort: its message on stderr, then proc_exit", () => {
      const proxy = new Proxy();
      const worker = start(proxy);
      worker.request({ headers: get("/anything", [["x-throw", "1"]]) });

      expect(worker.trapped).toEqual({ callback: "proxy_on_request_headers", message: "proc_exit(255)" });
      const stderr = proxy.logs.lines.filter((l) => l.source === "stderr");
      expect(stderr).toHaveLength(1);
      expect(stderr[0]).toMatchObject({ level: "error", message: expect.stringContaining("fixture abort") });
    });
  });
});
