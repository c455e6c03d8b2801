import type { Timer, VirtualClock } from "./clock.ts";
import { HeaderMap, type HeaderPair, type HeaderPairs } from "./header-map.ts";
import { decodeUtf8, encodeUtf8 } from "./memory.ts";

/** An HTTP call's response as the module sees it: headers include `:status`. */
export interface CallResponse {
  readonly headers: HeaderMap;
  readonly body: Uint8Array;
  readonly trailers: HeaderMap;
}

export interface CallResponseInit {
  status?: number;
  headers?: HeaderPairs;
  body?: string | Uint8Array;
  trailers?: HeaderPairs;
}

export type HttpCallState = "pending" | "answered" | "failed" | "timed-out";

/** The worker side of a call: delivers proxy_on_http_call_response to the VM that made it. */
export interface HttpCallOrigin {
  readonly id: number;
  deliverHttpCallResponse(token: number, response: CallResponse | undefined): void;
}

export function toBytes(body: string | Uint8Array | undefined): Uint8Array {
  return typeof body === "string" ? encodeUtf8(body) : (body?.slice() ?? new Uint8Array());
}

/**
 * Envoy's async client turns a request timeout into the router's local reply (a 504 with this
 * body) delivered as a successful response, not as a failure.
 */
const TIMEOUT_RESPONSE: CallResponseInit = {
  status: 504,
  headers: [
    ["content-length", "24"],
    ["content-type", "text/plain"],
  ],
  body: "upstream request timeout",
};

/**
 * One proxy_http_call as recorded by the host, for the test to inspect and answer. `respond`
 * delivers a response; `fail` is Envoy's onFailure (a reset: 0 headers, 0 body); a call with a
 * timeout answers itself with Envoy's 504 when the clock passes its deadline. A connection
 * failure reaches the module as a 503 response in Envoy; answer one with `respond`.
 */
export class HttpCall {
  private current: HttpCallState = "pending";
  private readonly timer: Timer | undefined;

  constructor(
    readonly worker: HttpCallOrigin,
    readonly token: number,
    readonly cluster: string,
    readonly headers: readonly HeaderPair[],
    readonly body: Uint8Array,
    readonly trailers: readonly HeaderPair[],
    readonly timeoutMs: number,
    clock: VirtualClock,
  ) {
    this.timer = timeoutMs > 0 ? clock.schedule(timeoutMs, () => this.settle("timed-out", TIMEOUT_RESPONSE)) : undefined;
  }

  get state(): HttpCallState {
    return this.current;
  }

  header(name: string): string | undefined {
    return new HeaderMap(this.headers).get(name);
  }

  get bodyText(): string {
    return decodeUtf8(this.body);
  }

  respond(init: CallResponseInit = {}): void {
    this.settle("answered", init);
  }

  fail(): void {
    this.settle("failed", undefined);
  }

  private settle(state: HttpCallState, init: CallResponseInit | undefined): void {
    if (this.current !== "pending") throw new Error(`http call ${this.token} to ${this.cluster} is already ${this.current}`);
    this.current = state;
    this.timer?.cancel();
    const response = init && {
      headers: new HeaderMap([[":status", String(init.status ?? 200)], ...(init.headers ?? [])]),
      body: toBytes(init.body),
      trailers: new HeaderMap(init.trailers),
    };
    this.worker.deliverHttpCallResponse(this.token, response);
  }
}
