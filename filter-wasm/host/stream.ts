import {
  FilterDataStatus,
  FilterHeadersStatus,
  GRPC_STATUS_UNAVAILABLE,
  HeaderMapType,
  StreamType,
} from "./abi-constants.ts";
import { HeaderMap, type HeaderPair, type HeaderPairs } from "./header-map.ts";
import { toBytes } from "./http-call.ts";
import { decodeUtf8 } from "./memory.ts";

export interface RequestInit {
  /** Pseudo-headers (`:method`, `:path`, `:authority`, `:scheme`) go here too; names may repeat. */
  headers: HeaderPairs;
  body?: string | Uint8Array;
  /**
   * Values the module can read with proxy_get_property, keyed by dotted path ("source.address"
   * is what the module asks for as the segments "source", "address").
   */
  properties?: Record<string, string | Uint8Array>;
}

export interface ResponseInit {
  status: number;
  headers?: HeaderPairs;
  body?: string | Uint8Array;
}

export interface HttpMessage {
  readonly headers: HeaderPair[];
  readonly body: Uint8Array;
  readonly bodyText: string;
}

/** What the module passed to proxy_send_local_response (header names lowercased, as Envoy does). */
export interface LocalResponse extends HttpMessage {
  readonly status: number;
  /** Envoy replaces whitespace in the details with underscores. */
  readonly details: string;
  readonly grpcStatus: number | undefined;
}

/** What the client received, after Envoy's additions and the module's response callbacks. */
export interface DownstreamResponse extends HttpMessage {
  readonly status: number;
}

/**
 * `paused`: the module stopped the request (waiting on a call, say). `continued`: the whole
 * request went upstream. `local-response`: the module (or a failed VM) answered it. `reset`: the
 * stream was reset (proxy_close_stream, or the client went away) with no response.
 */
export type StreamState = "paused" | "continued" | "local-response" | "reset";

/** What a stream needs from the worker whose VM runs its callbacks. */
export interface StreamHost {
  readonly rootContextId: number;
  readonly failOpen: boolean;
  readonly failed: boolean;
  /** Runs a module callback; undefined when the module lacks it or the VM failed in it. */
  invoke(contextId: number, name: string, args: number[]): number | undefined;
  /** Whether the callback just run called proxy_send_local_response (Envoy's stopNextIteration). */
  nextIterationStopped(): boolean;
  flushAfterCall(): void;
  removeStream(contextId: number): void;
}

interface LocalReply {
  status: number;
  headers: HeaderPair[];
  body: Uint8Array;
  details: string;
  grpcStatus: number | undefined;
}

/**
 * One direction of the stream (request or response) moving through the filter: headers, then the
 * body if any. The module may read and modify the headers while their callback runs and for as
 * long as it keeps them stopped; likewise the body.
 */
class Direction {
  stage: "headers" | "body" | "done" = "headers";
  stopped = false;
  headersOpen = false;
  bodyOpen = false;
  pumping = false;
  forwarded = false;

  constructor(
    readonly headers: HeaderMap,
    public body: Uint8Array,
    readonly callbacks: { headers: string; body: string },
    readonly bypassFilter = false,
  ) {}

  snapshot(): HttpMessage {
    return { headers: this.headers.pairs(), body: this.body.slice(), bodyText: decodeUtf8(this.body) };
  }
}

const REQUEST_CALLBACKS = { headers: "proxy_on_request_headers", body: "proxy_on_request_body" };
const RESPONSE_CALLBACKS = { headers: "proxy_on_response_headers", body: "proxy_on_response_body" };
const EMPTY = new Uint8Array();

/**
 * An HTTP stream through one worker's filter, following Envoy's wasm filter: the context is
 * created at request headers, header and body callbacks run in order, a stop holds everything
 * after it until proxy_continue_stream (Envoy turns a StopIteration from headers into
 * StopAllIterationAndWatermark for ABI 0.2.x, so the body waits too), a local response goes
 * downstream through the module's response callbacks, and a finished stream gets proxy_on_log,
 * proxy_on_done and proxy_on_delete.
 */
export class HttpStream {
  private sentUpstream: HttpMessage | undefined;
  private localReply: LocalResponse | undefined;
  private delivered: DownstreamResponse | undefined;
  private resetReason: string | undefined;
  private finished = false;

  /** @internal Keyed by the ABI's property path: segments joined by NUL. */
  readonly properties = new Map<string, Uint8Array>();
  /** @internal */ logPhase = false;

  private readonly request: Direction;
  private response: Direction | undefined;
  private streamFailed = false;

  constructor(
    private readonly host: StreamHost,
    readonly contextId: number,
    init: RequestInit,
  ) {
    this.request = new Direction(new HeaderMap(init.headers), toBytes(init.body), REQUEST_CALLBACKS);
    for (const [path, value] of Object.entries(init.properties ?? {})) {
      this.properties.set(path.split(".").join("\0"), toBytes(value));
    }
  }

  /** The request as it went upstream (headers as the module left them), once all of it did. */
  get upstreamRequest(): HttpMessage | undefined {
    return this.sentUpstream;
  }

  get localResponse(): LocalResponse | undefined {
    return this.localReply;
  }

  get downstreamResponse(): DownstreamResponse | undefined {
    return this.delivered;
  }

  /** Why the stream was reset: `wasm_close_stream`, or `downstream_remote_disconnect` from close(). */
  get resetDetails(): string | undefined {
    return this.resetReason;
  }

  /** The context is gone: proxy_on_log, proxy_on_done and proxy_on_delete have run. */
  get closed(): boolean {
    return this.finished;
  }

  get state(): StreamState {
    if (this.resetDetails !== undefined) return "reset";
    if (this.localResponse) return "local-response";
    if (this.upstreamRequest) return "continued";
    return "paused";
  }

  /** @internal */
  start(): void {
    if (!this.host.failed) {
      this.host.invoke(this.contextId, "proxy_on_context_create", [this.contextId, this.host.rootContextId]);
      this.host.flushAfterCall();
    }
    this.pump(this.request);
  }

  /** The upstream's response to a request that went upstream. */
  respond(init: ResponseInit): void {
    if (this.state !== "continued" || this.response) {
      throw new Error(`stream ${this.contextId} is ${this.state}; only a request that went upstream gets an upstream response`);
    }
    const headers = new HeaderMap([[":status", String(init.status)], ...(init.headers ?? [])]);
    this.response = new Direction(headers, toBytes(init.body), RESPONSE_CALLBACKS);
    this.pump(this.response);
  }

  /** The client goes away: an unfinished stream is reset, then the context is torn down. */
  close(): void {
    if (this.closed) return;
    if (!this.delivered) this.resetReason ??= "downstream_remote_disconnect";
    this.finish();
  }

  /** @internal The module's view of a header map, or undefined where Envoy has none. */
  headerMap(type: number, forWrite: boolean): HeaderMap | undefined {
    const readInLog = this.logPhase && !forWrite;
    if (type === HeaderMapType.RequestHeaders) {
      return readInLog || this.request.headersOpen ? this.request.headers : undefined;
    }
    if (type === HeaderMapType.ResponseHeaders) {
      return readInLog || this.response?.headersOpen ? this.response?.headers : undefined;
    }
    return undefined;
  }

  /** @internal The body buffer the module may read and modify now, if any. */
  openBody(type: "request" | "response"): { bytes: Uint8Array; replace(bytes: Uint8Array): void } | undefined {
    const dir = type === "request" ? this.request : this.response;
    if (!dir?.bodyOpen) return undefined;
    return { bytes: dir.body, replace: (bytes) => void (dir.body = bytes) };
  }

  /**
   * @internal proxy_continue_stream: Envoy stops exposing the request's headers and body at once
   * (for either direction) and resumes the stream after the callback returns.
   */
  continueRequested(type: number): () => void {
    this.request.headersOpen = false;
    this.request.bodyOpen = false;
    return () => {
      const dir = type === StreamType.Request ? this.request : this.response;
      if (!dir || this.closed || !dir.stopped) return;
      dir.stopped = false;
      this.pump(dir);
    };
  }

  /** @internal proxy_send_local_response, run after the callback returns. */
  sendLocalReply(reply: LocalReply, bypassFilter = false): void {
    if (this.finished || this.localReply || this.resetReason !== undefined) return;
    this.localReply = { ...reply, bodyText: decodeUtf8(reply.body) };
    const headers = new HeaderMap([[":status", String(reply.status)], ...reply.headers]);
    if (reply.body.length > 0) {
      headers.replace("content-length", String(reply.body.length));
      if (headers.get("content-type") === undefined) headers.add("content-type", "text/plain");
    }
    this.response = new Direction(headers, reply.body, RESPONSE_CALLBACKS, bypassFilter);
    this.pump(this.response);
  }

  /** @internal proxy_close_stream, run after the callback returns. */
  reset(details: string): void {
    if (this.finished) return;
    this.resetReason = details;
    this.finish();
  }

  private halted(dir: Direction): boolean {
    if (this.closed || this.resetDetails !== undefined) return true;
    return dir === this.request ? this.localResponse !== undefined : dir !== this.response;
  }

  /** Runs the direction's callbacks until it stops or completes; re-entry just resumes the loop. */
  private pump(dir: Direction): void {
    if (dir.pumping) return;
    dir.pumping = true;
    try {
      while (!this.halted(dir) && !dir.stopped && dir.stage !== "done") {
        const onHeaders = dir.stage === "headers";
        const hasBody = dir.body.length > 0;
        if (onHeaders) dir.headersOpen = true;
        else dir.bodyOpen = true;
        const proceed = onHeaders
          ? this.runFilter(dir, dir.callbacks.headers, [dir.headers.count, hasBody ? 0 : 1], "headers")
          : this.runFilter(dir, dir.callbacks.body, [dir.body.length, 1], "data");
        dir.stage = onHeaders && hasBody ? "body" : "done";
        if (!proceed) dir.stopped = true;
        else if (onHeaders) dir.headersOpen = false;
        else dir.bodyOpen = false;
        this.host.flushAfterCall();
      }
      if (!this.halted(dir) && !dir.stopped && dir.stage === "done" && !dir.forwarded) this.forward(dir);
    } finally {
      dir.pumping = false;
    }
  }

  /** Envoy's CHECK_FAIL_HTTP around a filter callback; true when the filter lets the data go on. */
  private runFilter(dir: Direction, callback: string, args: number[], kind: "headers" | "data"): boolean {
    if (dir.bypassFilter) return true;
    if (!this.host.failed) {
      const status = this.host.invoke(this.contextId, callback, [this.contextId, ...args]);
      if (!this.host.failed) {
        if (status === undefined) return true;
        if (this.host.nextIterationStopped()) return false;
        if (kind === "data") return status === FilterDataStatus.Continue;
        return status === FilterHeadersStatus.Continue || status === FilterHeadersStatus.ContinueAndEndStream;
      }
    }
    if (this.host.failOpen) return true;
    if (!this.streamFailed) {
      this.streamFailed = true;
      // A local reply already on its way cannot be replaced; the stream can only be reset.
      if (this.localReply) this.reset("wasm_fail_stream");
      else {
        const failure = { status: 503, headers: [], body: EMPTY, details: "wasm_fail_stream", grpcStatus: GRPC_STATUS_UNAVAILABLE };
        this.sendLocalReply(failure, true);
      }
    }
    return false;
  }

  private forward(dir: Direction): void {
    dir.forwarded = true;
    if (dir === this.request) {
      this.sentUpstream = dir.snapshot();
      return;
    }
    this.delivered = { ...dir.snapshot(), status: Number(dir.headers.get(":status")) };
    this.finish();
  }

  /** Envoy logs a finished stream, then destroys its filter: on_log, on_done, on_delete. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.logPhase = true;
    this.lifecycle("proxy_on_log");
    this.logPhase = false;
    this.lifecycle("proxy_on_done");
    this.lifecycle("proxy_on_delete");
    this.host.removeStream(this.contextId);
  }

  private lifecycle(callback: string): void {
    if (this.host.failed) return;
    this.host.invoke(this.contextId, callback, [this.contextId]);
    this.host.flushAfterCall();
  }
}
