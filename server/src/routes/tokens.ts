/**
 * The token service's HTTP surface (server/src/tokens/README.md has the decisions behind it).
 *
 * Caller routes (identity from the gateway, signature-checked like every other route):
 * POST/GET /v1/tokens, POST /v1/tokens/{id}/renew, DELETE /v1/tokens/{id}, POST /v1/revoke.
 * Admin routes (model:admin): GET /v1/admin/tokens, DELETE /v1/admin/tokens/{id}.
 * Gateway routes: POST /internal/v1/introspect (HTTP Basic), GET /internal/v1/revocations.
 *
 * Bodies are read by the handlers (openapiRawBody), as on the model routes: the caller is
 * authenticated and authorized before a body is read, and a body that is not JSON is a 400
 * whatever its Content-Type claims.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireIdentity } from "../auth.ts";
import { parseJson, readBody } from "../body.ts";
import type { TokenConfig } from "../config.ts";
import type { AppEnv, Deps } from "../context.ts";
import { DatabaseUnavailableError } from "../db/index.ts";
import { ApiError, invalidInput } from "../errors.ts";
import type { Identity } from "../identity.ts";
import {
  AdminTokenQuery,
  CreatedTokenSchema,
  CreateTokenRequestSchema,
  IntrospectionSchema,
  IntrospectRequestSchema,
  RenewTokenRequestSchema,
  RevocationFeedQuery,
  RevocationFeedSchema,
  RevokeRequestSchema,
  RevokeResultSchema,
  TokenIdParam,
  TokenListSchema,
  TokenRecordSchema,
} from "../schemas.ts";
import { TokenConflictError, TokenNotFoundError, TokenValidationError } from "../tokens/errors.ts";
import type { RevocationFeed } from "../tokens/feed.ts";
import { TOKEN_PREFIX } from "../tokens/format.ts";
import { decodeJwtClaims, revokeAtKeycloak, type KeycloakRevocationResult } from "../tokens/oidc.ts";
import type { TokenService } from "../tokens/service.ts";
import { bearer, gatewayClient, openapiRawBody, problemResponses, zodIssues } from "./common.ts";

export const TOKEN_MANAGE_ROLE = "token:manage";
export const ADMIN_ROLE = "model:admin";

/** Token bodies are a few hundred bytes; the model routes' limit is for tensors. */
const BODY_LIMIT = 64 * 1024;

export interface TokenDeps {
  service: TokenService;
  feed: RevocationFeed;
  introspectionClient: TokenConfig["introspectionClient"];
  keycloak?: TokenConfig["keycloak"];
}

/** The token service's failures as answers; undefined for anything else (a bug: 500). */
export function tokenServiceError(err: unknown): ApiError | undefined {
  if (err instanceof TokenNotFoundError) return new ApiError(404, "not_found", "no such token");
  if (err instanceof TokenValidationError) return invalidInput([{ field: err.field, message: err.problem }]);
  if (err instanceof TokenConflictError) return new ApiError(409, err.code, err.message);
  if (err instanceof DatabaseUnavailableError) {
    return new ApiError(503, "temporarily_unavailable", "the token database is unavailable; retry shortly", { logDetail: err.reason });
  }
  return undefined;
}

const forbidden = (description: string) => new ApiError(403, "insufficient_scope", description);

function requireRole(identity: Identity, role: string): void {
  if (!identity.roles.includes(role)) throw forbidden(`requires the role ${role}`);
}

// A leaked API token must not be able to mint fresh tokens that outlive its own revocation.
function requireInteractive(identity: Identity): void {
  if (identity.tokenKind === "api-token") throw forbidden("API tokens cannot create or renew API tokens; sign in");
}

async function jsonBody<T>(c: Context<AppEnv>, schema: z.ZodType<T>, emptyIsObject = false): Promise<T> {
  const bytes = await readBody(c.req.raw, BODY_LIMIT);
  const raw = emptyIsObject && bytes.toString("utf8").trim() === "" ? {} : parseJson(bytes);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const { issues, more } = zodIssues(parsed.error);
    throw invalidInput(issues, more);
  }
  return parsed.data;
}

/** The one `token` parameter of an RFC 7009 / RFC 7662 form body. */
async function formToken(c: Context<AppEnv>): Promise<string> {
  const type = c.req.header("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
    throw new ApiError(400, "invalid_request", "the body must be application/x-www-form-urlencoded");
  }
  const token = new URLSearchParams((await readBody(c.req.raw, BODY_LIMIT)).toString("utf8")).getAll("token");
  if (token.length !== 1 || !token[0]) throw new ApiError(400, "invalid_request", "exactly one token parameter is required");
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
  // RFC 6749 2.3.1: the id and secret are form-encoded before they are joined.
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

const json = <T>(schema: T) => ({ "application/json": { schema } });
const FORM = "application/x-www-form-urlencoded";

const UNAVAILABLE = "The token database cannot be reached (Retry-After)";
const NO_IDENTITY = "No authenticated identity, or its signature does not verify";
const NOT_FOUND = "No such token, or not the caller's (the two look the same, so ids cannot be probed)";

export function registerTokenRoutes(app: OpenAPIHono<AppEnv>, deps: Deps, tokens: TokenDeps): void {
  const auth = requireIdentity(deps);
  const { service, feed } = tokens;
  const owner = (id: Identity) => ({ subject: id.subject, username: id.username, roles: id.roles, scopes: id.scopes });

  openapiRawBody(
    app,
    createRoute({
      method: "post",
      path: "/v1/tokens",
      tags: ["tokens"],
      summary: "Create an API token",
      description:
        "Needs the role token:manage and a sign-in (an API token cannot create tokens). The roles and scopes must be a subset " +
        "of the caller's. The answer carries the secret `token`: it is shown this once, and only its SHA-256 is stored.",
      security: bearer,
      request: { body: { required: true, content: json(CreateTokenRequestSchema) } },
      responses: {
        201: { description: "Created; `Location` names it", content: json(CreatedTokenSchema) },
        ...problemResponses({
          400: "The body is not JSON",
          401: NO_IDENTITY,
          403: "No token:manage role, or the caller authenticated with an API token",
          409: "too_many_tokens: the caller holds the maximum number of active tokens",
          413: "The body is larger than 64 KiB",
          422: "A field is invalid, or names a role or scope the caller does not hold; `issues` names each field",
          503: UNAVAILABLE,
        }),
      },
    }),
    auth,
    async (c) => {
      const id = c.get("identity")!;
      requireRole(id, TOKEN_MANAGE_ROLE);
      requireInteractive(id);
      const body = await jsonBody(c, CreateTokenRequestSchema);
      const { token, record } = await service.create(owner(id), body);
      c.header("location", `/v1/tokens/${record.id}`);
      return c.json({ token, ...record }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/tokens",
      tags: ["tokens"],
      summary: "List your API tokens",
      description: "Active, expired and revoked, newest first (at most 500). Never the secrets.",
      security: bearer,
      middleware: [auth] as const,
      responses: {
        200: { description: "The caller's tokens", content: json(TokenListSchema) },
        ...problemResponses({ 401: NO_IDENTITY, 503: UNAVAILABLE }),
      },
    }),
    async (c) => c.json({ tokens: await service.list(c.get("identity")!) }, 200),
  );

  openapiRawBody(
    app,
    createRoute({
      method: "post",
      path: "/v1/tokens/{id}/renew",
      tags: ["tokens"],
      summary: "Renew one of your API tokens",
      description:
        "Sets the expiry to now + `lifetime_s` (default: the configured default lifetime); the secret stays the same. " +
        "Needs token:manage and a sign-in. A revoked or expired token cannot be renewed.",
      security: bearer,
      request: { params: TokenIdParam, body: { required: false, content: json(RenewTokenRequestSchema) } },
      responses: {
        200: { description: "The renewed token", content: json(TokenRecordSchema) },
        ...problemResponses({
          400: "The body is not JSON",
          401: NO_IDENTITY,
          403: "No token:manage role, or the caller authenticated with an API token",
          404: NOT_FOUND,
          409: "token_not_renewable: the token is revoked or expired",
          413: "The body is larger than 64 KiB",
          422: "`lifetime_s` is out of range, or the body has unknown fields",
          503: UNAVAILABLE,
        }),
      },
    }),
    auth,
    async (c) => {
      const id = c.get("identity")!;
      requireRole(id, TOKEN_MANAGE_ROLE);
      requireInteractive(id);
      const body = await jsonBody(c, RenewTokenRequestSchema, true);
      return c.json(await service.renew(id, c.req.param("id")!, body), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/tokens/{id}",
      tags: ["tokens"],
      summary: "Revoke one of your API tokens",
      description: "Effective at every gateway within about a second (the revocation feed). Revoking a revoked token changes nothing.",
      security: bearer,
      middleware: [auth] as const,
      request: { params: TokenIdParam },
      responses: {
        200: { description: "The revoked token", content: json(TokenRecordSchema) },
        ...problemResponses({ 401: NO_IDENTITY, 404: NOT_FOUND, 503: UNAVAILABLE }),
      },
    }),
    async (c) => c.json(await service.revoke(c.get("identity")!, c.req.valid("param").id), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/admin/tokens",
      tags: ["tokens"],
      summary: "List every user's API tokens (model:admin)",
      security: bearer,
      middleware: [auth] as const,
      request: { query: AdminTokenQuery },
      responses: {
        200: { description: "Tokens, newest first (at most 500)", content: json(TokenListSchema) },
        ...problemResponses({ 401: NO_IDENTITY, 403: "No model:admin role", 422: "`owner` given more than once", 503: UNAVAILABLE }),
      },
    }),
    async (c) => {
      requireRole(c.get("identity")!, ADMIN_ROLE);
      const { owner: who } = c.req.valid("query");
      return c.json({ tokens: await service.adminList(who ? { owner: who } : {}) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/admin/tokens/{id}",
      tags: ["tokens"],
      summary: "Revoke any user's API token (model:admin)",
      security: bearer,
      middleware: [auth] as const,
      request: { params: TokenIdParam },
      responses: {
        200: { description: "The revoked token", content: json(TokenRecordSchema) },
        ...problemResponses({ 401: NO_IDENTITY, 403: "No model:admin role", 404: "No such token", 503: UNAVAILABLE }),
      },
    }),
    async (c) => {
      const id = c.get("identity")!;
      requireRole(id, ADMIN_ROLE);
      return c.json(await service.adminRevoke(id, c.req.valid("param").id), 200);
    },
  );

  // RFC 7009. An API token may be revoked by whoever holds it. A Keycloak access token is decoded
  // without verification, so its claims only say what to record: the caller must be its subject
  // (per the gateway's identity headers) or an admin. Invalid tokens get 200, as RFC 7009 says.
  openapiRawBody(
    app,
    createRoute({
      method: "post",
      path: "/v1/revoke",
      tags: ["tokens"],
      summary: "Revoke a token you hold (RFC 7009)",
      description:
        "An altgate API token is revoked for whoever presents it. A Keycloak access token must be the caller's own (its `sub`) " +
        "unless the caller has model:admin: its `jti` goes into the revocation feed, and the token is revoked at Keycloak " +
        "for its client (`azp`) when KEYCLOAK_REVOCATION_ENDPOINT is configured. Unrecognised or expired tokens get 200.",
      security: bearer,
      request: { body: { required: true, content: { [FORM]: { schema: RevokeRequestSchema } } } },
      responses: {
        200: { description: "Revoked, or nothing to revoke", content: json(RevokeResultSchema) },
        ...problemResponses({
          400: "Not a form body, or not exactly one `token`",
          401: NO_IDENTITY,
          403: "A Keycloak token of another user, without model:admin",
          413: "The body is larger than 64 KiB",
          503: UNAVAILABLE,
        }),
      },
    }),
    auth,
    async (c) => {
      const id = c.get("identity")!;
      const token = await formToken(c);
      if (token.startsWith(TOKEN_PREFIX)) {
        const record = await service.revokeByToken(token, id.subject);
        return c.json({ revoked: record !== undefined, kind: "api-token" as const }, 200);
      }
      const claims = decodeJwtClaims(token);
      if (!claims) return c.json({ revoked: false }, 200);
      if (claims.sub !== id.subject && !id.roles.includes(ADMIN_ROLE)) throw forbidden(`only your own tokens can be revoked without ${ADMIN_ROLE}`);
      const recorded = await service.recordOidcRevocation(claims.jti, claims.exp);
      let keycloak: KeycloakRevocationResult | undefined;
      if (tokens.keycloak && claims.azp && claims.exp * 1000 > Date.now()) {
        keycloak = await revokeAtKeycloak(tokens.keycloak.revocationEndpoint, claims.azp, tokens.keycloak.clientSecrets[claims.azp], token);
      }
      // recorded is false when the jti was already in the feed or the token had expired: revoked either way.
      return c.json({ revoked: true, kind: "oidc" as const, newly_recorded: recorded, keycloak: keycloak ?? null }, 200);
    },
  );

  openapiRawBody(
    app,
    createRoute({
      method: "post",
      path: "/internal/v1/introspect",
      tags: ["gateway"],
      summary: "Introspect an API token (RFC 7662), for the gateway",
      description:
        "The altgate filter's introspection of `agt_` tokens, authenticated with its client credentials (HTTP Basic). " +
        "A malformed, unknown, expired or revoked token is `{\"active\": false}`. Records the token's last use.",
      security: gatewayClient,
      request: { body: { required: true, content: { [FORM]: { schema: IntrospectRequestSchema } } } },
      responses: {
        200: { description: "The token's state", content: json(IntrospectionSchema) },
        ...problemResponses({
          400: "Not a form body, or not exactly one `token`",
          401: "invalid_client: missing or wrong client credentials",
          413: "The body is larger than 64 KiB",
          503: UNAVAILABLE,
        }),
      },
    }),
    async (c) => {
      if (!basicCredentialsMatch(c.req.header("authorization"), tokens.introspectionClient)) {
        throw new ApiError(401, "invalid_client", "client authentication failed", {
          headers: { "www-authenticate": 'Basic realm="altgate-introspection"' },
        });
      }
      const token = await formToken(c);
      c.header("cache-control", "no-store");
      return c.json(await service.introspect(token), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/internal/v1/revocations",
      tags: ["gateway"],
      summary: "The revocation feed, for the gateway",
      description:
        "Revoked API tokens (by SHA-256) and Keycloak tokens (by jti) until they expire. Pass the last answer's `cursor` as " +
        "`since` to get only what is new, or 304 when nothing is. Served from memory, also while the database is down.",
      request: { query: RevocationFeedQuery },
      responses: {
        200: { description: "Entries after `since` (every active entry without it) and the new cursor", content: json(RevocationFeedSchema) },
        304: { description: "Nothing new since `since`" },
        ...problemResponses({ 422: "`since` given more than once", 503: "The feed has not loaded from the database yet (Retry-After)" }),
      },
    }),
    (c) => {
      const result = feed.read(c.req.valid("query").since);
      c.header("cache-control", "no-store");
      if (result.status === 304) return c.body(null, 304);
      if (result.status === 503) throw new ApiError(503, "temporarily_unavailable", "the revocation feed has not loaded yet");
      return c.json(result.body, 200);
    },
  );
}
