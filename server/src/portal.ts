/**
 * The portal: a small static web page (server/portal/) where a user signs in with Keycloak
 * (oidc-client-ts, authorization code + PKCE S256) and manages personal API tokens through the
 * token API on the same origin. See server/portal/README.md.
 *
 * Every file is read once, when the routes are created, from a fixed list: no path of a request
 * ever reaches the file system, so there is nothing to traverse. A missing file (for instance
 * oidc-client-ts not installed) fails the start, not the first request.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Hono, type Context } from "hono";

export interface PortalOptions {
  /** The realm's issuer URL, e.g. http://127.0.0.1:8080/realms/altgate (the browser reaches it directly). */
  keycloakIssuer: string;
  /** The public OIDC client the portal signs in with (PKCE S256), e.g. altgate-portal. */
  clientId: string;
  /**
   * Where the browser sends token API calls. Default "": the origin that served the portal, which
   * is the gateway (Envoy), so every call passes the auth filter.
   */
  apiBase?: string;
}

/** The roles a user may put on an API token, when the user holds them (see the token service). */
export const PORTAL_TOKEN_ROLES = ["model:read", "model:invoke", "model:admin", "token:manage"] as const;

export const PORTAL_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "portal");

/** The browser build of oidc-client-ts: one self-contained script (jwt-decode included) defining `oidc`. */
function oidcClientBundle(): { js: string; map: string } {
  const pkg = createRequire(import.meta.url).resolve("oidc-client-ts/package.json");
  const dir = join(dirname(pkg), "dist", "browser");
  return { js: join(dir, "oidc-client-ts.min.js"), map: join(dir, "oidc-client-ts.min.js.map") };
}

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
  /** Pages get the security headers (CSP, framing, referrer); "frameable" ones may be framed by the portal itself. */
  page?: false | "page" | "frameable";
  cache: string;
}

function asset(file: string, type: string, cache = "no-cache", page: Asset["page"] = false): Asset {
  const body = readFileSync(file);
  return { body, type, cache, page, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"` };
}

function httpUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`portal: ${what} must be an absolute http(s) URL, got "${value}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`portal: ${what} must be an http(s) URL, got "${value}"`);
  return url;
}

/**
 * GET /portal/ (and /portal/callback, where Keycloak sends the browser back), /portal/app.js,
 * /portal/style.css, /portal/config.json, /portal/vendor/oidc-client-ts.js. Mount with
 * `app.route("/", createPortalRoutes({ keycloakIssuer, clientId }))`.
 */
export function createPortalRoutes(opts: PortalOptions): Hono {
  const issuer = httpUrl(opts.keycloakIssuer, "keycloakIssuer");
  if (!/^[\x21-\x7e]{1,255}$/.test(opts.clientId)) throw new Error(`portal: clientId must be a client id, got "${opts.clientId}"`);
  const apiBase = (opts.apiBase ?? "").replace(/\/+$/, "");
  const apiOrigin = apiBase === "" ? undefined : httpUrl(apiBase, "apiBase").origin;

  const connect = ["'self'", issuer.origin, ...(apiOrigin ? [apiOrigin] : [])];
  // No inline script or style anywhere; the page only talks to itself, Keycloak and the API.
  // Keycloak's login page is reached by navigation, which connect-src does not govern. The only
  // frame is the hidden one of a silent sign-out: Keycloak's end-session endpoint, which
  // redirects to /portal/signout-callback, the one page that may be framed (by the portal only).
  const csp = (frameAncestors: string) =>
    [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      `connect-src ${[...new Set(connect)].join(" ")}`,
      `frame-src 'self' ${issuer.origin}`,
      "form-action 'self'",
      "base-uri 'none'",
      `frame-ancestors ${frameAncestors}`,
    ].join("; ");
  const pageCsp = csp("'none'");
  const frameableCsp = csp("'self'");

  const config = Buffer.from(
    JSON.stringify({ issuer: issuer.href.replace(/\/+$/, ""), client_id: opts.clientId, api_base: apiBase, roles: PORTAL_TOKEN_ROLES }),
  );
  const bundle = oidcClientBundle();
  const html = asset(join(PORTAL_DIR, "index.html"), "text/html; charset=utf-8", "no-cache", "page");
  const assets: Record<string, Asset> = {
    "/portal/": html,
    // The redirect URI: the same page, which completes the sign-in and then shows /portal/.
    "/portal/callback": html,
    // Where the hidden frame of a silent sign-out lands; the page reports to its parent and stops.
    "/portal/signout-callback": { ...html, page: "frameable" },
    "/portal/app.js": asset(join(PORTAL_DIR, "app.js"), "text/javascript; charset=utf-8"),
    "/portal/style.css": asset(join(PORTAL_DIR, "style.css"), "text/css; charset=utf-8"),
    "/portal/vendor/oidc-client-ts.js": asset(bundle.js, "text/javascript; charset=utf-8"),
    // Named by the bundle's sourceMappingURL comment; fetched only by developer tools.
    "/portal/vendor/oidc-client-ts.min.js.map": asset(bundle.map, "application/json; charset=utf-8"),
    "/portal/config.json": {
      body: config,
      type: "application/json; charset=utf-8",
      cache: "no-store",
      etag: `"${createHash("sha256").update(config).digest("base64url").slice(0, 27)}"`,
    },
  };

  const serve = (a: Asset) => (c: Context) => {
    c.header("x-content-type-options", "nosniff");
    c.header("cache-control", a.cache);
    c.header("etag", a.etag);
    if (a.page) {
      c.header("content-security-policy", a.page === "frameable" ? frameableCsp : pageCsp);
      c.header("x-frame-options", a.page === "frameable" ? "SAMEORIGIN" : "DENY");
      // The callback URL carries the authorization code: never send it on as a referrer.
      c.header("referrer-policy", "no-referrer");
      c.header("cross-origin-opener-policy", "same-origin");
    }
    if (c.req.header("if-none-match") === a.etag) return c.body(null, 304);
    c.header("content-type", a.type);
    return c.body(new Uint8Array(a.body), 200);
  };

  const app = new Hono();
  app.get("/portal", (c) => {
    const query = new URL(c.req.url).search;
    return c.redirect(`/portal/${query}`, 308);
  });
  for (const [path, a] of Object.entries(assets)) app.get(path, serve(a));
  return app;
}
