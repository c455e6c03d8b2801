/**
 * The portal's routes: the fixed set of files with their types and security headers, the
 * configuration the page reads, the oidc-client-ts bundle, and nothing else (no traversal, no
 * directory listing), also over a real HTTP connection where the path is not normalised.
 */
import { readFileSync } from "node:fs";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPortalRoutes, PORTAL_DIR, PORTAL_TOKEN_ROLES } from "../src/portal.ts";

const ISSUER = "http://127.0.0.1:18080/realms/altgate";
const portal = createPortalRoutes({ keycloakIssuer: ISSUER, clientId: "altgate-portal" });
// Mounted the way the server mounts it.
const app = new Hono();
app.route("/", portal);
app.notFound((c) => c.json({ error: "not_found" }, 404));

describe("the portal's files", () => {
  it.each([
    ["/portal/", "text/html; charset=utf-8", "index.html"],
    ["/portal/callback", "text/html; charset=utf-8", "index.html"],
    ["/portal/signout-callback", "text/html; charset=utf-8", "index.html"],
    ["/portal/app.js", "text/javascript; charset=utf-8", "app.js"],
    ["/portal/style.css", "text/css; charset=utf-8", "style.css"],
  ])("GET %s answers %s with the file's bytes", async (path, type, file) => {
    const res = await app.request(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(type);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await res.text()).toBe(readFileSync(join(PORTAL_DIR, file), "utf8"));
  });

  it("serves the oidc-client-ts browser bundle, which defines the global the page uses", async () => {
    const res = await app.request("/portal/vendor/oidc-client-ts.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    const js = await res.text();
    expect(js).toMatch(/\bvar oidc\s*=/);
    expect(js).toContain("UserManager");
    // Self-contained: no import of jwt-decode (or anything) that a browser could not resolve.
    expect(js).not.toMatch(/\brequire\(|^import /m);
    const map = await app.request("/portal/vendor/oidc-client-ts.min.js.map");
    expect(map.status).toBe(200);
    expect(map.headers.get("content-type")).toBe("application/json; charset=utf-8");
  });

  it("gives the page the issuer, the client and the roles a token may carry", async () => {
    const res = await app.request("/portal/config.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({ issuer: ISSUER, client_id: "altgate-portal", api_base: "", roles: [...PORTAL_TOKEN_ROLES] });
  });

  it("takes an API base without its trailing slash, and lets the page connect to it", async () => {
    const other = createPortalRoutes({ keycloakIssuer: `${ISSUER}/`, clientId: "c", apiBase: "https://api.example.test/" });
    expect(await (await other.request("/portal/config.json")).json()).toMatchObject({ issuer: ISSUER, api_base: "https://api.example.test" });
    const csp = (await other.request("/portal/")).headers.get("content-security-policy")!;
    expect(csp).toContain("connect-src 'self' http://127.0.0.1:18080 https://api.example.test");
  });

  it("refuses options that would make a broken page", () => {
    expect(() => createPortalRoutes({ keycloakIssuer: "keycloak:8080/realms/x", clientId: "c" })).toThrow(/keycloakIssuer/);
    expect(() => createPortalRoutes({ keycloakIssuer: "ftp://k/realms/x", clientId: "c" })).toThrow(/keycloakIssuer/);
    expect(() => createPortalRoutes({ keycloakIssuer: ISSUER, clientId: "" })).toThrow(/clientId/);
    expect(() => createPortalRoutes({ keycloakIssuer: ISSUER, clientId: "c", apiBase: "/api" })).toThrow(/apiBase/);
  });

  it("sends a strict CSP (no inline script or style) and no referrer from pages", async () => {
    const res = await app.request("/portal/");
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).toContain("connect-src 'self' http://127.0.0.1:18080");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    // Only the silent sign-out's landing page may be framed, and only by the portal itself.
    const framed = await app.request("/portal/signout-callback");
    expect(framed.headers.get("content-security-policy")).toContain("frame-ancestors 'self'");
    expect(framed.headers.get("x-frame-options")).toBe("SAMEORIGIN");
  });

  it("has no inline script or style in the page itself", () => {
    const html = readFileSync(join(PORTAL_DIR, "index.html"), "utf8");
    for (const m of html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)) {
      expect(m[0]).toMatch(/\bsrc="/);
      expect(m[1]!.trim()).toBe("");
    }
    expect(html).not.toMatch(/<style\b|\sstyle="|\son[a-z]+="/i);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it("answers 304 to a matching If-None-Match", async () => {
    const first = await app.request("/portal/app.js");
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await app.request("/portal/app.js", { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
  });

  it("redirects /portal to /portal/", async () => {
    const res = await app.request("/portal?x=1");
    expect(res.status).toBe(308);
    expect(res.headers.get("location")).toBe("/portal/?x=1");
  });

  it.each(["/portal/index.html", "/portal/vendor/", "/portal/README.md", "/portal/x/../app.js.bak", "/portal/%2e%2e/package.json", "/portal/app.js/"])(
    "has nothing else: GET %s is 404",
    async (path) => {
      expect((await app.request(path)).status).toBe(404);
    },
  );

  it("only answers GET (and HEAD)", async () => {
    expect((await app.request("/portal/", { method: "POST" })).status).toBe(404);
    const head = await app.request("/portal/app.js", { method: "HEAD" });
    expect(head.status).toBe(200);
  });
});

describe("over HTTP, with paths the client did not normalise", () => {
  let server: ServerType;
  let port: number;
  beforeAll(async () => {
    server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const rawGet = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path, method: "GET" }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end();
    });

  it("serves the page", async () => {
    const res = await rawGet("/portal/");
    expect(res.status).toBe(200);
    expect(res.body).toContain("<title>altgate");
  });

  it.each([
    "/portal/../package.json",
    "/portal/../../package.json",
    "/portal/..%2f..%2fpackage.json",
    "/portal/%2e%2e/%2e%2e/package.json",
    "/portal/vendor/../../package.json",
    "/portal/vendor/..%2F..%2F..%2Fpackage.json",
    "/portal/./app.js/../../server/src/portal.ts",
    "/portal/..%2F..%2Fsrc%2Fportal.ts",
    "/portal//etc/passwd",
  ])("GET %s does not escape the portal", async (path) => {
    const res = await rawGet(path);
    expect(res.body).not.toContain('"name": "altgate"');
    expect(res.body).not.toContain("createPortalRoutes");
    expect(res.body).not.toContain("root:");
    expect([400, 404]).toContain(res.status);
  });
});
