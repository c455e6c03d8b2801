/**
 * Every error the server answers with, in one place: the contract's body
 * `{"error", "error_description", "request_id"}` (ARCHITECTURE.md, "Errors"), sent as an RFC 9457
 * problem document (`application/problem+json`, with `type`, `title`, `status`, `detail`) so that
 * both kinds of client find what they look for. Pure: no Hono, no I/O.
 */

/** OAuth-style error codes (RFC 6749/6750 where one fits) and the server's own. */
export type ErrorCode =
  | "invalid_request" // 400: the body is not JSON
  | "invalid_token" // 401: no trusted identity, or its signature does not verify
  | "invalid_client" // 401: the gateway's introspection client credentials are wrong (RFC 7662)
  | "insufficient_scope" // 403: the identity's roles do not include one the route or model needs
  | "not_found" // 404: no such model, token or route
  | "token_not_renewable" // 409: the token is revoked or expired
  | "too_many_tokens" // 409: the owner holds the maximum number of active tokens
  | "payload_too_large" // 413
  | "invalid_input" // 422: JSON, but not what the model or the route takes
  | "server_error" // 500: a bug
  | "bad_gateway" // 502: the model container answered with something that is not a valid answer
  | "temporarily_unavailable" // 503: the container cannot be reached, or the model's queue is full
  | "gateway_timeout"; // 504: the container did not answer in time

export interface Issue {
  /** Where in the request body, e.g. `inputs.features[2]` or `instances[0].sepal_length_cm`. */
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    /** Safe to show to the caller: never token material, never an upstream's raw answer. */
    readonly description: string,
    readonly extra: {
      headers?: Record<string, string>;
      issues?: Issue[];
      /** For the log only. */
      logDetail?: string;
      /** Set on failed model calls. */
      upstream?: UpstreamFailure["kind"];
    } = {},
  ) {
    super(description);
    this.name = "ApiError";
  }
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  413: "Content Too Large",
  422: "Unprocessable Content",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  error: ErrorCode;
  error_description: string;
  request_id: string;
  /** 422 only: every problem found in the input (at most MAX_ISSUES). */
  issues?: Issue[];
}

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export function problemBody(err: ApiError, requestId: string): Problem {
  const body: Problem = {
    type: "about:blank",
    title: TITLES[err.status] ?? "Error",
    status: err.status,
    detail: err.description,
    error: err.code,
    error_description: err.description,
    request_id: requestId,
  };
  if (err.extra.issues) body.issues = err.extra.issues;
  return body;
}

/**
 * Headers that go with an error: the RFC 6750 challenge on 401/403 (unless the error brings its
 * own, as HTTP Basic client authentication does), Retry-After on 503.
 */
export function problemHeaders(err: ApiError): Record<string, string> {
  const h: Record<string, string> = { "content-type": PROBLEM_CONTENT_TYPE, ...err.extra.headers };
  const quoted = err.description.replace(/["\\]/g, "'");
  if (err.status === 401 && !h["www-authenticate"]) h["www-authenticate"] = `Bearer error="invalid_token", error_description="${quoted}"`;
  if (err.status === 403) h["www-authenticate"] = `Bearer error="insufficient_scope", error_description="${quoted}"`;
  if (err.status === 503 && !h["retry-after"]) h["retry-after"] = "1";
  return h;
}

// Constructors, so that every message for the same situation reads the same.

export const unparsable = (why: string) => new ApiError(400, "invalid_request", `request body is not valid JSON: ${why}`);
export const noIdentity = (why: string) => new ApiError(401, "invalid_token", why);
export const forbiddenModel = (model: string) =>
  new ApiError(403, "insufficient_scope", `your roles do not allow model "${model}"`);
export const unknownModel = (model: string) => new ApiError(404, "not_found", `no model named "${model}"`);
export const tooLarge = (limit: number) =>
  new ApiError(413, "payload_too_large", `request body exceeds the limit of ${limit} bytes`);

export function invalidInput(issues: Issue[], more = false): ApiError {
  const first = issues[0]!;
  const rest = issues.length - 1;
  const tail = rest > 0 || more ? ` (and ${more ? "more" : rest} other problem${rest === 1 && !more ? "" : "s"})` : "";
  return new ApiError(422, "invalid_input", `${first.field}: ${first.message}${tail}`, { issues });
}

/** What went wrong with a call to a model container, before it becomes an HTTP status. */
export type UpstreamFailure =
  | { kind: "timeout"; afterMs: number }
  | { kind: "unavailable"; detail: string }
  | { kind: "overloaded"; queued: number }
  | { kind: "bad_response"; detail: string };

/**
 * The mapping from a failed model call to the answer (the table is in the report and the OpenAPI
 * document): the caller learns which of the three it was, never the upstream's raw answer, which
 * goes to the log instead.
 */
export function upstreamError(model: string, f: UpstreamFailure): ApiError {
  switch (f.kind) {
    case "timeout":
      return new ApiError(504, "gateway_timeout", `model "${model}" did not answer within ${f.afterMs} ms`, { upstream: f.kind });
    case "unavailable":
      return new ApiError(503, "temporarily_unavailable", `model "${model}" is unavailable`, {
        headers: { "retry-after": "1" },
        logDetail: f.detail,
        upstream: f.kind,
      });
    case "overloaded":
      return new ApiError(503, "temporarily_unavailable", `model "${model}" is overloaded; retry later`, {
        headers: { "retry-after": "1" },
        logDetail: `queue full (${f.queued} waiting)`,
        upstream: f.kind,
      });
    case "bad_response":
      return new ApiError(502, "bad_gateway", `model "${model}" returned an invalid answer`, { logDetail: f.detail, upstream: f.kind });
  }
}

/**
 * Transport errors (undici, Node sockets) sorted into what they mean for the caller. `retry` marks
 * failures on a connection that may simply have been closed by the container while idle: model
 * inference is idempotent, so the client tries once more on a fresh connection.
 */
export function classifyTransportError(err: unknown): { failure: UpstreamFailure; retry: boolean } {
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  const code = e?.code ?? e?.cause?.code ?? "";
  const detail = `${code || "error"}: ${e?.message ?? String(err)}`;
  switch (code) {
    case "ECONNREFUSED":
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EADDRNOTAVAIL":
    case "UND_ERR_CONNECT_TIMEOUT":
    case "UND_ERR_CLOSED":
    case "UND_ERR_DESTROYED":
      return { failure: { kind: "unavailable", detail }, retry: false };
    case "ECONNRESET":
    case "EPIPE":
    case "UND_ERR_SOCKET":
      return { failure: { kind: "bad_response", detail }, retry: true };
    default:
      // Parser errors (HPE_*: the container spoke something that is not HTTP), oversized
      // headers, anything else: the answer is unusable.
      return { failure: { kind: "bad_response", detail }, retry: false };
  }
}

/** Bound a string that came from elsewhere before it goes into a log line. */
export function truncate(s: string, max = 300): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}
