/**
 * The Hono application: middleware (request id, metrics and access log), the routes, and the
 * error mapping. Routes are defined with @hono/zod-openapi: each definition both registers the
 * handler and documents it, so /openapi.json and /docs are generated from the same definitions
 * that serve requests (a test checks that every registered route is documented). Chosen over
 * hono-openapi because zod is the schema language used elsewhere in the server (manifests,
 * registry) and @hono/zod-openapi is maintained in the Hono middleware monorepo.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { matchedRoutes } from "hono/route";
import type { Context, Hono } from "hono";
import type { ReadyModels } from "./config.ts";
import type { AppEnv, Deps, ModelHandle } from "./context.ts";
import { ApiError, invalidInput, problemBody, problemHeaders, type ErrorCode } from "./errors.ts";
import { silentLogger, type Logger } from "./logging.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { zodIssues } from "./routes/common.ts";
import { registerModelRoutes } from "./routes/models.ts";
import { registerOipRoutes } from "./routes/oip.ts";
import { registerOpsRoutes } from "./routes/ops.ts";
import { registerTokenRoutes, tokenServiceError, type TokenDeps } from "./routes/tokens.ts";

export type { ModelHandle };

export interface AppDeps {
  /** Resolves when the database answers; rejects with the reason otherwise. */
  checkDatabase(): Promise<void>;
  models?: ModelHandle[];
  /** The token service and the revocation feed; without them the token routes are not served. */
  tokens?: TokenDeps;
  /** The portal's static pages (createPortalRoutes), mounted as they are: files, not API. */
  portal?: Hono;
  /** Readiness of a model container (GET /v2/health/ready); by default every container is ready. */
  probe?(endpoint: string, timeoutMs: number): Promise<void>;
  /** The filter's identity HMAC key: when set, identities must carry a valid signature. */
  hmacKey?: Buffer;
  maxSkewSeconds?: number;
  maxBodyBytes?: number;
  readyModels?: ReadyModels;
  readyTimeoutMs?: number;
  logger?: Logger;
  metrics?: Metrics;
  /** The clock for signature checks (tests). */
  nowSeconds?(): number;
}

const CODES: Record<number, ErrorCode> = {
  400: "invalid_request",
  401: "invalid_token",
  403: "insufficient_scope",
  404: "not_found",
  413: "payload_too_large",
  422: "invalid_input",
  502: "bad_gateway",
  503: "temporarily_unavailable",
  504: "gateway_timeout",
};

/** The route pattern that answered ("/v1/models/:name/predict"), never the raw path. */
function routeOf(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i]!.method !== "ALL") return routes[i]!.path;
  return "unmatched";
}

const QUIET = new Set(["/healthz", "/readyz", "/metrics"]);

export function createApp(input: AppDeps): OpenAPIHono<AppEnv> {
  const models = new Map<string, ModelHandle>();
  for (const m of input.models ?? []) models.set(m.manifest.name, m);
  const deps: Deps = {
    checkDatabase: input.checkDatabase,
    models,
    probe: input.probe ?? (async () => undefined),
    hmacKey: input.hmacKey,
    maxSkewSeconds: input.maxSkewSeconds ?? 60,
    maxBodyBytes: input.maxBodyBytes ?? 1024 * 1024,
    readyModels: input.readyModels ?? "all",
    readyTimeoutMs: input.readyTimeoutMs ?? 1000,
    logger: input.logger ?? silentLogger(),
    metrics: input.metrics ?? createMetrics(),
    nowSeconds: input.nowSeconds ?? (() => Math.floor(Date.now() / 1000)),
  };
  const { logger, metrics } = deps;

  const app = new OpenAPIHono<AppEnv>({
    // Parameters checked by a zod validator (a query parameter given twice, say) fail like bodies do.
    defaultHook: (result) => {
      if (!result.success) {
        const { issues, more } = zodIssues(result.error);
        throw invalidInput(issues, more);
      }
    },
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "An OIDC access token from Keycloak or an altgate API token (agt_…), checked by the gateway.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "introspectionClient", {
    type: "http",
    scheme: "basic",
    description: "The gateway's introspection client (ALTGATE_INTROSPECTION_CLIENT_ID and _SECRET).",
  });

  app.use(requestId({ headerName: "x-request-id" }));

  // Metrics and the access log: one line per request, with the request id, and nothing from the
  // headers (no Authorization, no identity signature).
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = routeOf(c);
    const status = c.res.status;
    const labels = { method: c.req.method, route, status: String(status) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, seconds);
    const err = c.get("error");
    const identity = c.get("identity");
    const line = {
      request_id: c.get("requestId"),
      method: c.req.method,
      path: c.req.path,
      route,
      status,
      duration_ms: Math.round(seconds * 1e5) / 100,
      ...(identity ? { subject: identity.subject, client: identity.client } : {}),
      ...(c.get("model") !== undefined ? { model: c.get("model") } : {}),
      ...(err ? { error: err.code, error_description: err.description, ...(err.extra.logDetail ? { upstream: err.extra.logDetail } : {}) } : {}),
    };
    if (status >= 500) logger.warn(line, "request");
    else if (status < 400 && QUIET.has(route)) logger.debug(line, "request");
    else logger.info(line, "request");
  });

  // Set before the handler runs: headers added to a response after it exists cost a full
  // Response object under @hono/node-server.
  app.use(async (c, next) => {
    c.header("x-content-type-options", "nosniff");
    if (c.req.path.startsWith("/v1/") || c.req.path.startsWith("/v2/")) c.header("cache-control", "no-store");
    await next();
  });

  registerOpsRoutes(app, deps);
  registerModelRoutes(app, deps);
  registerOipRoutes(app, deps);
  if (input.tokens) registerTokenRoutes(app, deps, input.tokens);
  if (input.portal) app.route("/", input.portal);

  const problem = (c: Context<AppEnv>, err: ApiError) => {
    c.set("error", err);
    return c.body(JSON.stringify(problemBody(err, c.get("requestId") ?? "")), err.status as 400, problemHeaders(err));
  };

  app.notFound((c) => {
    const path = c.req.path.length > 200 ? `${c.req.path.slice(0, 200)}…` : c.req.path;
    return problem(c, new ApiError(404, "not_found", `no route for ${c.req.method} ${path}`));
  });

  app.onError((err, c) => {
    const known = err instanceof ApiError ? err : tokenServiceError(err);
    if (known) return problem(c, known);
    if (err instanceof HTTPException && err.status < 500) {
      return problem(c, new ApiError(err.status, CODES[err.status] ?? "invalid_request", err.message || "bad request"));
    }
    logger.error({ request_id: c.get("requestId"), err: { message: (err as Error).message, stack: (err as Error).stack } }, "unhandled error");
    return problem(c, new ApiError(500, "server_error", "internal error"));
  });

  return app;
}
