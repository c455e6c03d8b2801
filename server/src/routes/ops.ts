/** Operations: liveness, readiness, metrics, the OpenAPI document and its docs page, whoami. */
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { trustedIdentity } from "../auth.ts";
import type { Context } from "hono";
import type { AppEnv, Deps } from "../context.ts";
import { renderDocs } from "../docs.ts";
import { IDENTITY_PREFIX } from "../identity.ts";
import { SIGNATURE_HEADER } from "../signature.ts";
import { HealthSchema, NotReadySchema, ReadySchema, WhoamiSchema } from "../schemas.ts";
import { PROBLEM_CONTENT_TYPE } from "../errors.ts";
import { bearer } from "./common.ts";

export const OPENAPI_CONFIG = {
  openapi: "3.1.0",
  info: {
    title: "altgate API",
    version: "0.1.0",
    description:
      "Machine-learning models behind one authenticated REST API. Requests reach this server through the altgate " +
      "gateway (Envoy with the altgate filter), which checks the bearer token and forwards the caller's identity; " +
      "each model's manifest names the roles allowed to use it. Users manage personal API tokens here, and the gateway " +
      "introspects them and polls their revocations. Errors are RFC 9457 problem documents that also " +
      "carry `error`, `error_description` and `request_id`.",
  },
  tags: [
    { name: "models", description: "Models in plain JSON" },
    { name: "open inference protocol", description: "The KServe v2 / Open Inference Protocol REST API" },
    { name: "tokens", description: "Personal API tokens: create, list, renew, revoke" },
    { name: "gateway", description: "For the altgate filter: API token introspection and the revocation feed" },
    { name: "operations", description: "Health, readiness, metrics, documentation" },
  ],
};

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function registerOpsRoutes(app: OpenAPIHono<AppEnv>, deps: Deps): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/healthz",
      tags: ["operations"],
      summary: "Liveness",
      description: "200 whenever the process serves requests.",
      responses: { 200: { description: "Alive", content: { "application/json": { schema: HealthSchema } } } },
    }),
    (c) => c.json({ status: "ok" as const }, 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/readyz",
      tags: ["operations"],
      summary: "Readiness: the database and the model containers",
      description:
        "Checks the database (`select 1`) and each model container's `GET /v2/health/ready`, in parallel, each with a timeout. " +
        "Which containers must be ready is configured (ALTGATE_READY_MODELS: all, any, none).",
      responses: {
        200: { description: "Ready", content: { "application/json": { schema: ReadySchema } } },
        503: { description: "Not ready; `checks` says what is not", content: { [PROBLEM_CONTENT_TYPE]: { schema: NotReadySchema } } },
      },
    }),
    async (c) => {
      const t = deps.readyTimeoutMs;
      const endpoints = [...new Set([...deps.models.values()].map((m) => m.endpoint))];
      const [database, ...probes] = await Promise.all([
        withTimeout(deps.checkDatabase(), t).then(
          () => "ok",
          (err: Error) => err.message || "failed",
        ),
        ...endpoints.map((e) =>
          deps.probe(e, t).then(
            () => "ok",
            (err: Error) => `not ready: ${err.message}`,
          ),
        ),
      ]);
      const byEndpoint = new Map(endpoints.map((e, i) => [e, probes[i]!]));
      const models: Record<string, string> = {};
      for (const [name, m] of deps.models) models[name] = byEndpoint.get(m.endpoint)!;
      const states = Object.values(models);
      const modelsOk =
        deps.readyModels === "none" || states.length === 0 || (deps.readyModels === "all" ? states.every((s) => s === "ok") : states.includes("ok"));
      const checks = { database, models };
      if (database === "ok" && modelsOk) return c.json({ status: "ready" as const, checks }, 200);
      const why = [
        ...(database === "ok" ? [] : [`database: ${database}`]),
        ...Object.entries(models)
          .filter(([, s]) => s !== "ok")
          .map(([n, s]) => `model ${n}: ${s}`),
      ].join("; ");
      const body = {
        type: "about:blank",
        title: "Service Unavailable",
        status: 503,
        detail: why,
        error: "not_ready",
        error_description: why,
        request_id: c.get("requestId"),
        checks,
      };
      return c.json(body, 503, { "content-type": PROBLEM_CONTENT_TYPE });
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/metrics",
      tags: ["operations"],
      summary: "Prometheus metrics",
      description:
        "Request counts and latency by route pattern and status (altgate_http_*), model call counts and latency by model " +
        "and outcome, calls in flight and queued (altgate_model_*), and the Node.js process metrics.",
      responses: { 200: { description: "Prometheus text exposition format", content: { "text/plain": { schema: z.string() } } } },
    }),
    async (c) => c.text(await deps.metrics.registry.metrics(), 200, { "content-type": deps.metrics.registry.contentType }),
  );

  let document: Record<string, unknown> | undefined;
  const getDocument = () => (document ??= app.getOpenAPI31Document(OPENAPI_CONFIG) as unknown as Record<string, unknown>);

  app.openapi(
    createRoute({
      method: "get",
      path: "/openapi.json",
      tags: ["operations"],
      summary: "This OpenAPI document",
      responses: { 200: { description: "OpenAPI 3.1", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } } },
    }),
    (c) => c.json(getDocument(), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/docs",
      tags: ["operations"],
      summary: "API documentation (HTML)",
      description: "Rendered from the OpenAPI document; no scripts, nothing loaded from elsewhere.",
      responses: { 200: { description: "HTML", content: { "text/html": { schema: z.string() } } } },
    }),
    (c) => {
      c.header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
      return c.html(renderDocs(getDocument() as Parameters<typeof renderDocs>[0]), 200);
    },
  );

  // Echoes what the gateway asserted about the caller: the quickest way to see whether a token
  // works and which roles it carries. The public twin shows that a forged identity header sent
  // to a route without authentication never arrives. Identity headers only, never Authorization,
  // and never the signature (it could be replayed within the skew window).
  const whoamiRoute = (path: string, isPublic: boolean) =>
    createRoute({
      method: "get",
      path,
      tags: ["operations"],
      summary: isPublic ? "Who am I, on a public route (shows that forged identity headers never arrive)" : "Who am I",
      description: "The identity the gateway asserted. With an HMAC key configured, `identity` is null unless the signature verifies.",
      ...(isPublic ? {} : { security: bearer }),
      responses: { 200: { description: "The asserted identity", content: { "application/json": { schema: WhoamiSchema } } } },
    });
  const whoami = (c: Context<AppEnv>) => {
    const { identity, signature } = trustedIdentity(deps, (n) => c.req.header(n));
    const asserted = Object.fromEntries(
      Object.entries(c.req.header()).filter(([name]) => name.startsWith(IDENTITY_PREFIX) && name !== SIGNATURE_HEADER),
    );
    return {
      identity: identity ?? null,
      headers: asserted,
      authorization_forwarded: c.req.header("authorization") !== undefined,
      identity_signature: signature,
    };
  };
  app.openapi(whoamiRoute("/v1/whoami", false), (c) => c.json(whoami(c), 200));
  app.openapi(whoamiRoute("/v1/public/whoami", true), (c) => c.json(whoami(c), 200));
}
