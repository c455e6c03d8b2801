/**
 * The portal end to end in headless Chromium (Debian's chromium, driven by playwright-core): the
 * page comes through Envoy and the filter, sign-in goes through the real Keycloak login page
 * (authorization code + PKCE S256), and every token call goes through the gateway to the server
 * and PostgreSQL. Screenshots of each step land in test-results/portal/.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Frame, type Page, type Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from "vitest";
import { parseToken } from "../../server/src/tokens/format.ts";
import { CHROMIUM_ARGS, ensureChromium } from "../harness/chromium.ts";
import { repoRoot } from "../harness/paths.ts";
import { USERS, passwordGrant } from "./keycloak.ts";

const stack = inject("stack");
const SHOTS = join(repoRoot, "test-results", "portal");
const PORTAL = `${stack.entryUrl}/portal/`;
const keycloakOrigin = new URL(stack.issuer).origin;


let context: BrowserContext;
let page: Page;
let userDataDir: string;
let shotNumber = 0;
/** Console errors and uncaught exceptions of portal pages (CSP violations show up here). */
const portalProblems: string[] = [];
const requests: Request[] = [];

async function shot(name: string): Promise<void> {
  shotNumber += 1;
  await page.screenshot({ path: join(SHOTS, `${String(shotNumber).padStart(2, "0")}-${name}.png`), fullPage: true });
}

function failureShot(name: string): void {
  onTestFailed(async () => {
    await page?.screenshot({ path: join(SHOTS, `failed-${name}.png`), fullPage: true }).catch(() => undefined);
  });
}

async function keycloakLogin(user: keyof typeof USERS): Promise<void> {
  await page.waitForURL((u) => u.origin === keycloakOrigin);
  await page.locator("#username").fill(user);
  await page.locator("#password").fill(USERS[user].password);
  await page.locator("#kc-login").click();
}

async function signedInAs(user: string): Promise<void> {
  await page.waitForURL(PORTAL);
  await expect.poll(() => page.locator("#who-name").textContent()).toBe(user);
}

const row = (name: string) => page.locator("#token-rows tr", { has: page.locator("th", { hasText: name }) });

async function whoamiWith(token: string): Promise<Response> {
  return fetch(`${stack.entryUrl}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
}

describe("the portal in headless Chromium", { timeout: 120_000 }, () => {
  const tokenName = `portal e2e ${Date.now()}`;
  let plaintext = "";
  let tokenId = "";

  beforeAll(async () => {
    const executablePath = await ensureChromium();
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    userDataDir = mkdtempSync(join(tmpdir(), "altgate-chromium-"));
    // A persistent context on a fresh directory: the --user-data-dir of this run only.
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 860 },
      locale: "en-GB",
      timezoneId: "UTC",
      permissions: ["clipboard-read", "clipboard-write"],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    page.on("console", (m) => {
      if (m.type() === "error" && m.location().url.startsWith(stack.entryUrl)) portalProblems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => {
      if (page.url().startsWith(stack.entryUrl)) portalProblems.push(`pageerror: ${e.message}`);
    });
    page.on("request", (r) => requests.push(r));
  }, 600_000);

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it("shows a signed-out visitor a sign-in button, through the gateway's public /portal rule", async () => {
    failureShot("signed-out");
    const res = await page.goto(PORTAL);
    expect(res?.status()).toBe(200);
    expect(res?.headers()["content-security-policy"]).toContain("script-src 'self'");
    await expect.poll(() => page.locator("#signed-out").isVisible()).toBe(true);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Personal API tokens");
    expect(await page.getByRole("button", { name: "Sign in" }).isVisible()).toBe(true);
    await shot("signed-out");
  });

  it("signs in as alice through Keycloak's login page with the authorization code and PKCE S256", async () => {
    failureShot("sign-in");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((u) => u.origin === keycloakOrigin);
    const authorize = new URL(page.url());
    expect(authorize.pathname).toBe("/realms/altgate/protocol/openid-connect/auth");
    expect(authorize.searchParams.get("client_id")).toBe("altgate-portal");
    expect(authorize.searchParams.get("response_type")).toBe("code");
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(authorize.searchParams.get("redirect_uri")).toBe(`${PORTAL}callback`);
    await page.locator("#username").waitFor();
    await shot("keycloak-login");

    await keycloakLogin("alice");
    await signedInAs("alice");
    // The code went back to Keycloak's token endpoint with the verifier, from the browser.
    const exchange = requests.find((r) => r.url() === `${stack.issuer}/protocol/openid-connect/token` && r.method() === "POST");
    expect(exchange?.postData()).toMatch(/grant_type=authorization_code/);
    expect(exchange?.postData()).toMatch(/code_verifier=[\w-]{43,128}/);
    // The code is gone from the address bar.
    expect(page.url()).toBe(PORTAL);
    // Only alice's own roles are offered: model:read, model:invoke, token:manage; not model:admin.
    await expect.poll(() => page.locator("#role-boxes input").evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value))).toEqual([
      "model:read",
      "model:invoke",
      "token:manage",
    ]);
    await expect.poll(() => page.locator("#list").isVisible()).toBe(true);
    await shot("signed-in");
  });

  it("creates a token and shows its plaintext once, with a working copy button", async () => {
    failureShot("create");
    await page.getByLabel("Name").fill(tokenName);
    await page.getByLabel("Lifetime").selectOption({ label: "7 days" });
    await page.getByRole("checkbox", { name: /model:invoke/ }).check();
    await page.getByRole("button", { name: "Create token" }).click();

    const created = page.locator("#created");
    await created.waitFor({ state: "visible" });
    expect(await created.textContent()).toContain("it will not be shown again");
    plaintext = await page.locator("#created-secret").inputValue();
    expect(plaintext).toMatch(/^agt_[0-9A-Za-z]{49}$/);
    expect(parseToken(plaintext)).toEqual({ ok: true, token: plaintext });

    await page.getByRole("button", { name: "Copy" }).click();
    await expect.poll(() => page.locator("#copy-status").textContent()).toBe("Copied to the clipboard.");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(plaintext);
    await shot("created-copy-once");
  });

  it("lists the token (name, last four, roles, dates, status) and never shows the plaintext again", async () => {
    failureShot("listed");
    await expect.poll(() => row(tokenName).count()).toBe(1);
    const cells = await row(tokenName).locator("th, td").allTextContents();
    expect(cells[0]).toBe(tokenName);
    expect(cells[1]).toBe(`agt_…${plaintext.slice(-4)}`);
    expect(cells[2]).toBe("model:read, model:invoke");
    expect(cells[5]).toBe("never");
    expect(cells[6]).toBe("active");
    const expires = Date.parse((await row(tokenName).locator("td").nth(3).locator("time").getAttribute("datetime"))!);
    expect(Math.abs(expires - (Date.now() + 7 * 86400_000))).toBeLessThan(10 * 60_000);
    tokenId = (await row(tokenName).getAttribute("data-token-id"))!;

    await page.getByRole("button", { name: "I have copied it" }).click();
    expect(await page.locator("#created").isHidden()).toBe(true);
    expect(await page.content()).not.toContain(plaintext);
    // A reload keeps the sign-in (for the tab's lifetime), and the plaintext stays gone.
    await page.reload();
    await signedInAs("alice");
    await expect.poll(() => row(tokenName).count()).toBe(1);
    expect(await page.content()).not.toContain(plaintext);

    // The API agrees, and it is alice's (asked with a token from another client).
    const res = await fetch(`${stack.entryUrl}/v1/tokens`, { headers: { authorization: `Bearer ${await passwordGrant("alice")}` } });
    expect(res.status).toBe(200);
    const listed = ((await res.json()) as { tokens: { id: string; name: string; display: string; owner_username: string }[] }).tokens;
    expect(listed.find((t) => t.id === tokenId)).toMatchObject({ name: tokenName, display: `agt_…${plaintext.slice(-4)}`, owner_username: "alice" });
    await shot("listed");
  });

  it("hands out a token the gateway accepts", async () => {
    const res = await whoamiWith(plaintext);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { identity: { username: string; tokenKind: string; roles: string[] } };
    expect(body.identity).toMatchObject({ username: "alice", tokenKind: "api-token" });
    expect(body.identity.roles.sort()).toEqual(["model:invoke", "model:read"]);
  });

  it("renews the token", async () => {
    failureShot("renew");
    const before = Date.parse((await row(tokenName).locator("td").nth(3).locator("time").getAttribute("datetime"))!);
    await page.getByRole("button", { name: `Renew token ${tokenName}` }).click();
    await expect.poll(() => page.locator("#status").textContent()).toContain(`Token “${tokenName}” renewed`);
    // The server's default lifetime (30 days) is longer than the 7 days it was created with.
    await expect
      .poll(async () => Date.parse((await row(tokenName).locator("td").nth(3).locator("time").getAttribute("datetime"))!))
      .toBeGreaterThan(before);
    await shot("renewed");
  });

  it("revokes the token after a confirmation, and shows it revoked", async () => {
    failureShot("revoke");
    const revoke = page.getByRole("button", { name: `Revoke token ${tokenName}` });
    await revoke.click();
    const dialog = page.getByRole("dialog", { name: "Revoke this token?" });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(tokenName);
    await shot("revoke-confirm");
    // Cancel keeps it.
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    expect(await row(tokenName).getAttribute("data-status")).toBe("active");

    await revoke.click();
    await dialog.getByRole("button", { name: "Revoke" }).click();
    await expect.poll(() => row(tokenName).getAttribute("data-status")).toBe("revoked");
    expect(await row(tokenName).locator("td").nth(5).textContent()).toMatch(/^revoked /);
    expect(await row(tokenName).getByRole("button").count()).toBe(0);
    expect(await page.locator("#status").textContent()).toContain(`Token “${tokenName}” revoked`);
    await shot("revoked");

    // The filter learns of the revocation from the feed within about a second.
    await expect.poll(async () => (await whoamiWith(plaintext)).status, { timeout: 10_000, interval: 250 }).toBe(401);
  });

  it("asks for a new sign-in when the gateway refuses the access token (401)", async () => {
    failureShot("401");
    // Spoil the stored access token: the gateway's answer to it is a real 401.
    await page.evaluate(() => {
      const key = Object.keys(sessionStorage).find((k) => k.startsWith("oidc.user:"))!;
      const user = JSON.parse(sessionStorage.getItem(key)!);
      user.access_token = "spoiled-access-token";
      sessionStorage.setItem(key, JSON.stringify(user));
    });
    await page.reload();
    const alert = page.getByRole("alert");
    await expect.poll(() => alert.textContent()).toContain("Sign in again to continue");
    // With the gateway's reason and the request id to quote.
    expect(await alert.textContent()).toMatch(/no longer accepted \(.+\)/);
    expect(await alert.textContent()).toMatch(/Request id: [0-9a-f-]{36}/);
    expect(await page.locator("#signed-out").isVisible()).toBe(true);
    await shot("session-rejected");
    // Keycloak's session is still there: signing in again needs no password.
    await alert.getByRole("button", { name: "Sign in again" }).click();
    await signedInAs("alice");
    await expect.poll(() => row(tokenName).getAttribute("data-status")).toBe("revoked");
  });

  it("signs out silently (Keycloak's end-session in a hidden frame), ending the Keycloak session too", async () => {
    failureShot("sign-out");
    const topLevel: string[] = [];
    const onNavigate = (f: Frame) => {
      if (f === page.mainFrame()) topLevel.push(f.url());
    };
    page.on("framenavigated", onNavigate);
    const from = requests.length;
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect.poll(() => page.locator("#signed-out").isVisible()).toBe(true);
    await expect.poll(() => page.locator("#status").textContent()).toBe("You are signed out.");
    page.off("framenavigated", onNavigate);
    const during = requests.slice(from);
    const endSession = during.find((r) => r.url().startsWith(`${stack.issuer}/protocol/openid-connect/logout`));
    expect(endSession, "a request to Keycloak's end-session endpoint").toBeDefined();
    expect(endSession!.frame()).not.toBe(page.mainFrame());
    expect(new URL(endSession!.url()).searchParams.get("id_token_hint")).toMatch(/^ey/);
    expect(during.some((r) => r.url().startsWith(`${PORTAL}signout-callback`))).toBe(true);
    expect(topLevel).toEqual([]);
    expect(page.url()).toBe(PORTAL);
    expect(await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith("oidc.user:")))).toEqual([]);
    await shot("signed-out-again");
    // A new sign-in asks for the password again.
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("#username").waitFor();
    await shot("login-after-sign-out");
  });

  it("explains the missing token:manage role to a user without it (bob)", async () => {
    failureShot("forbidden");
    await keycloakLogin("bob");
    await signedInAs("bob");
    const notice = page.locator("#forbidden");
    await notice.waitFor({ state: "visible" });
    expect(await notice.textContent()).toContain("token:manage");
    expect(await page.locator("#create").isHidden()).toBe(true);
    // The gateway's rule for /v1/tokens needs token:manage, so the list is refused with its reason.
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/Loading your tokens was refused: .+/);
    expect(await page.getByRole("alert").textContent()).toMatch(/Request id: [0-9a-f-]{36}/);
    await shot("bob-forbidden");
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect.poll(() => page.locator("#signed-out").isVisible()).toBe(true);
  });

  it("ran without a script error or a CSP violation on the portal", () => {
    expect(portalProblems.filter((p) => !/status of 40[13]/.test(p))).toEqual([]);
  });
});
