import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { RequestIdVariables } from "hono/request-id";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { DatabaseUnavailableError } from "../db/index.ts";
import type { Identity } from "../identity.ts";
import { TokenConflictError, TokenNotFoundError, TokenValidationError } from "./errors.ts";
import type { RevocationFeed } from "./feed.ts";
import { TOKEN_PREFIX } from "./format.ts";
import { decodeJwtClaims, revokeAtKeycloak, type KeycloakRevocationResult } from "./oidc.ts";
import type { TokenService } from "./service.ts";

export const TOKEN_MANAGE_ROLE = "token:manage";
export const ADMIN_ROLE = "model:admin";

export interface TokenRoutesDeps {
  service: TokenService;
  feed: RevocationFeed;
  /** The caller's identity as asserted by the gateway (and verified, when the app checks signatures). */
  getIdentity(c: Context): Identity | undefined;
  /** HTTP Basic credentials the filter presents to POST /internal/v1/introspect. */
  introspectionClient: { id: string; secret: string };
  /** Where POST /v1/revoke forwards Keycloak access tokens; without it only the gateway-side revocation happens. */
  keycloak?: {
    revocationEndpoint: string;
    /** Secrets of confidential clients whose tokens may be revoked at Keycloak; public clients need none. */
    clientSecrets?: Record<string, string>;
  };
}

type Env = { Variables: Partial<RequestIdVariables> };

const createBody = z
  .object({
    name: z.string(),
    lifetime_s: z.number().int().optional(),
    roles: z.array(z.string()).min(1).max(32),
    scopes: z.array(z.string()).max(32).optional(),
  })
  .strict();

const renewBody = z.object({ lifetime_s: z.number().int().optional() }).strict();

class HttpProblem extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly error: string,
    readonly description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
  }
}

const bearerChallenge = (error?: string) => ({ "www-authenticate": error ? `Bearer error="${error}"` : "Bearer" });

function requestIdOf(c: Context<Env>): string {
  return c.get("requestId") ?? c.req.header("x-request-id") ?? randomUUID();
}

function problemResponse(c: Context<Env>, p: HttpProblem): Response {
  for (const [name, value] of Object.entries(p.headers)) c.header(name, value);
  return c.json({ error: p.error, error_description: p.description, request_id: requestIdOf(c) }, p.status);
}

function toProblem(err: unknown): HttpProblem {
  if (err instanceof HttpProblem) return err;
  if (err instanceof TokenNotFoundError) return new HttpProblem(404, "not_found", "no such token");
  if (err instanceof TokenValidationError) return new HttpProblem(422, "invalid_request", err.message);
  if (err instanceof TokenConflictError) return new HttpProblem(409, err.code, err.message);
  if (err instanceof DatabaseUnavailableError) {
    return new HttpProblem(503, "temporarily_unavailable", "the token database is unavailable; retry shortly", { "retry-after": "1" });
  }
  return new HttpProblem(500, "server_error", "internal error");
}

function zodProblem(error: z.ZodError): HttpProblem {
  const issue = error.issues[0]!;
  const field = issue.code === "unrecognized_keys" ? issue.keys.join(", ") : issue.path.join(".") || "body";
  const message = issue.code === "unrecognized_keys" ? "unknown field" : issue.message;
  return new HttpProblem(422, "invalid_request", `${field}: ${message}`);
}

async function jsonBody<T>(c: Context, schema: z.ZodType<T>, optional = false): Promise<T> {
  const text = await c.req.text();
  let raw: unknown = {};
  if (text.trim() !== "" || !optional) {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new HttpProblem(400, "invalid_request", "the body must be a JSON object");
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw zodProblem(parsed.error);
  return parsed.data;
}

async function formToken(c: Context): Promise<string> {
  const type = c.req.header("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
    throw new HttpProblem(400, "invalid_request", "the body must be application/x-www-form-urlencoded");
  }
  const token = new URLSearchParams(await c.req.text()).getAll("token");
  if (token.length !== 1 || !token[0]) throw new HttpProblem(400, "invalid_request", "exactly one token parameter is required");
  return token[0];
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

function basicCredentialsMatch(header: string | undefined, expected: { id: string; secret: string }): boolean {
  const m = header === undefined ? null : /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!m) return false;
  const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return false;
  const formDecode = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, " "));
    } catch {
      return s;
    }
  };
  // Compare digests so that neither the length nor the content leaks through timing.
  const idOk = timingSafeEqual(digest(formDecode(decoded.slice(0, colon))), digest(expected.id));
  const secretOk = timingSafeEqual(digest(formDecode(decoded.slice(colon + 1))), digest(expected.secret));
  return idOk && secretOk;
}

/**
 * The token service's HTTP surface, mountable with `app.route("/", createTokenRoutes(deps))`.
 *
 * Caller routes (identity from the gateway): POST/GET /v1/tokens, POST /v1/tokens/:id/renew,
 * DELETE /v1/tokens/:id, POST /v1/revoke. Admin routes (model:admin): GET /v1/admin/tokens,
 * DELETE /v1/admin/tokens/:id. Filter routes: POST /internal/v1/introspect (HTTP Basic),
 * GET /internal/v1/revocations.
 */
export function createTokenRoutes(deps: TokenRoutesDeps): Hono<Env> {
  const app = new Hono<Env>();
  const limit = bodyLimit({
    maxSize: 64 * 1024,
    onError: (c) => problemResponse(c, new HttpProblem(413, "invalid_request", "the body is larger than 64 KiB")),
  });

  app.onError((err, c) => problemResponse(c, toProblem(err)));

  const identity = (c: Context): Identity => {
    const id = deps.getIdentity(c);
    if (!id) throw new HttpProblem(401, "invalid_token", "no authenticated identity", bearerChallenge("invalid_token"));
    return id;
  };
  const requireRole = (id: Identity, role: string): void => {
    if (!id.roles.includes(role)) throw new HttpProblem(403, "insufficient_scope", `requires the role ${role}`, bearerChallenge("insufficient_scope"));
  };
  // A leaked API token must not be able to mint fresh tokens that outlive its own revocation.
  const requireInteractive = (id: Identity): void => {
    if (id.tokenKind === "api-token") {
      throw new HttpProblem(403, "insufficient_scope", "API tokens cannot create or renew API tokens; sign in", bearerChallenge("insufficient_scope"));
    }
  };
  const owner = (id: Identity) => ({ subject: id.subject, username: id.username, roles: id.roles, scopes: id.scopes });

  app.post("/v1/tokens", limit, async (c) => {
    const id = identity(c);
    requireRole(id, TOKEN_MANAGE_ROLE);
    requireInteractive(id);
    const body = await jsonBody(c, createBody);
    const { token, record } = await deps.service.create(owner(id), body);
    c.header("cache-control", "no-store");
    c.header("location", `/v1/tokens/${record.id}`);
    return c.json({ token, ...record }, 201);
  });

  app.get("/v1/tokens", async (c) => c.json({ tokens: await deps.service.list(identity(c)) }));

  app.post("/v1/tokens/:id/renew", limit, async (c) => {
    const id = identity(c);
    requireRole(id, TOKEN_MANAGE_ROLE);
    requireInteractive(id);
    const body = await jsonBody(c, renewBody, true);
    return c.json(await deps.service.renew(id, c.req.param("id"), body));
  });

  app.delete("/v1/tokens/:id", async (c) => c.json(await deps.service.revoke(identity(c), c.req.param("id"))));

  app.get("/v1/admin/tokens", async (c) => {
    requireRole(identity(c), ADMIN_ROLE);
    const owner = c.req.query("owner");
    return c.json({ tokens: await deps.service.adminList(owner ? { owner } : {}) });
  });

  app.delete("/v1/admin/tokens/:id", async (c) => {
    const id = identity(c);
    requireRole(id, ADMIN_ROLE);
    return c.json(await deps.service.adminRevoke(id, c.req.param("id")));
  });

  // RFC 7009. An API token may be revoked by whoever holds it. A Keycloak access token is decoded
  // without verification, so its claims only say what to record: the caller must be its subject
  // (per the gateway's identity headers) or an admin. Invalid tokens get 200, as RFC 7009 says.
  app.post("/v1/revoke", limit, async (c) => {
    const id = identity(c);
    const token = await formToken(c);
    c.header("cache-control", "no-store");
    if (token.startsWith(TOKEN_PREFIX)) {
      const record = await deps.service.revokeByToken(token, id.subject);
      return c.json({ revoked: record !== undefined, kind: "api-token" });
    }
    const claims = decodeJwtClaims(token);
    if (!claims) return c.json({ revoked: false });
    if (claims.sub !== id.subject && !id.roles.includes(ADMIN_ROLE)) {
      throw new HttpProblem(403, "insufficient_scope", `only your own tokens can be revoked without ${ADMIN_ROLE}`, bearerChallenge("insufficient_scope"));
    }
    const recorded = await deps.service.recordOidcRevocation(claims.jti, claims.exp);
    let keycloak: KeycloakRevocationResult | undefined;
    if (deps.keycloak && claims.azp && claims.exp * 1000 > Date.now()) {
      keycloak = await revokeAtKeycloak(deps.keycloak.revocationEndpoint, claims.azp, deps.keycloak.clientSecrets?.[claims.azp], token);
    }
    // recorded is false when the jti was already in the feed or the token had expired: revoked either way.
    return c.json({ revoked: true, kind: "oidc", newly_recorded: recorded, keycloak: keycloak ?? null });
  });

  app.post("/internal/v1/introspect", limit, async (c) => {
    if (!basicCredentialsMatch(c.req.header("authorization"), deps.introspectionClient)) {
      throw new HttpProblem(401, "invalid_client", "client authentication failed", { "www-authenticate": 'Basic realm="altgate-introspection"' });
    }
    const token = await formToken(c);
    c.header("cache-control", "no-store");
    return c.json(await deps.service.introspect(token));
  });

  app.get("/internal/v1/revocations", (c) => {
    const result = deps.feed.read(c.req.query("since"));
    c.header("cache-control", "no-store");
    if (result.status === 304) return c.body(null, 304);
    if (result.status === 503) throw new HttpProblem(503, "temporarily_unavailable", "the revocation feed has not loaded yet", { "retry-after": "1" });
    return c.json(result.body);
  });

  return app;
}
