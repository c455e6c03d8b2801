// altgate portal: sign in with Keycloak (oidc-client-ts, authorization code + PKCE S256), then
// manage personal API tokens through the token API with the access token as a bearer token.
// Plain ES module, no build step. Every value from the network is put in the page with
// textContent, never as HTML.

const oidc = globalThis.oidc;
const $ = (id) => document.getElementById(id);

const ROLE_HELP = {
  "model:read": "list models and read their descriptions",
  "model:invoke": "call models (predictions)",
  "model:admin": "operate models and other users' tokens",
  "token:manage": "list and revoke API tokens (tokens cannot create tokens)",
};

const state = {
  config: undefined,
  manager: undefined,
  user: undefined,
  /** The user's own roles that an API token may carry. */
  roles: [],
  canManage: false,
  tokens: [],
};

// ---------------------------------------------------------------------------------------------
// Small view helpers

function show(id, visible) {
  $(id).hidden = !visible;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) node.append(c);
  return node;
}

let statusTimer;
function announce(message) {
  const s = $("status");
  s.textContent = message;
  s.hidden = false;
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => {
    s.hidden = true;
  }, 8000);
}

function clearError() {
  show("error", false);
  $("error-text").textContent = "";
  $("error-id").textContent = "";
  show("error-sign-in", false);
}

/** Shows an error: what went wrong, in words, and the request id for support when there is one. */
function showError(message, { requestId, signIn = false } = {}) {
  $("error-text").textContent = message;
  $("error-id").textContent = requestId ? `Request id: ${requestId}` : "";
  show("error-sign-in", signIn);
  show("error", true);
  $("error").scrollIntoView({ block: "nearest" });
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function timeCell(iso, fallback = "—") {
  if (!iso) return el("td", { text: fallback });
  const d = new Date(iso);
  return el("td", {}, el("time", { datetime: iso, title: d.toISOString(), text: dateFormat.format(d) }));
}

// ---------------------------------------------------------------------------------------------
// Sign-in

function portalBase() {
  // index.html is served at <base>/ and at <base>/callback; both resolve "./" to <base>/.
  return new URL("./", document.baseURI).href;
}

/** realm_access.roles of the access token (decoded only to choose what to offer; the API decides). */
function tokenRoles(accessToken) {
  try {
    const payload = accessToken.split(".")[1];
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(payload.length / 4) * 4, "="));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (ch) => ch.charCodeAt(0))));
    const roles = claims?.realm_access?.roles;
    return Array.isArray(roles) ? roles.filter((r) => typeof r === "string") : [];
  } catch {
    return [];
  }
}

function createManager(config) {
  const base = portalBase();
  return new oidc.UserManager({
    authority: config.issuer,
    client_id: config.client_id,
    redirect_uri: `${base}callback`,
    post_logout_redirect_uri: base,
    // Where the hidden frame of a silent sign-out lands (it only reports back to this page).
    popup_post_logout_redirect_uri: `${base}signout-callback`,
    response_type: "code",
    scope: "openid",
    // The session lives as long as the tab: nothing is kept after it closes.
    userStore: new oidc.WebStorageStateStore({ store: window.sessionStorage }),
    stateStore: new oidc.WebStorageStateStore({ store: window.sessionStorage }),
    // Renewal uses the refresh token (a plain request to the token endpoint, no iframe).
    automaticSilentRenew: true,
    loadUserInfo: false,
    monitorSession: false,
    silentRequestTimeoutInSeconds: 5,
  });
}

async function signIn() {
  clearError();
  try {
    await state.manager.signinRedirect();
  } catch (err) {
    showError(`Could not start the sign-in with Keycloak: ${err?.message ?? err}. Is Keycloak reachable?`);
  }
}

/** Ends the Keycloak session in a hidden frame; falls back to a full-page redirect if that fails. */
async function signOut() {
  clearError();
  forgetSecret();
  const user = state.user;
  state.user = undefined;
  try {
    await state.manager.signoutSilent();
    showSignedOut();
    announce("You are signed out.");
  } catch {
    // The frame may be refused or time out; the redirect always works (Keycloak returns here).
    await state.manager.signoutRedirect({ id_token_hint: user?.id_token }).catch(async () => {
      await state.manager.removeUser();
      showSignedOut();
    });
  }
}

async function sessionExpired(detail, requestId) {
  forgetSecret();
  state.user = undefined;
  await state.manager.removeUser().catch(() => undefined);
  showSignedOut();
  const why = detail ? ` (${detail})` : "";
  showError(`Your sign-in has expired or is no longer accepted${why}. Sign in again to continue.`, { signIn: true, requestId });
}

// ---------------------------------------------------------------------------------------------
// The token API

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error_description || body?.error || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error;
    this.requestId = body?.request_id;
  }
}

async function api(method, path, body) {
  let user = state.user;
  if (!user || user.expired) {
    // The access token ran out (for instance while the tab slept): try the refresh token once.
    user = await state.manager.signinSilent().catch(() => null);
    if (!user) throw new ApiError(401, { error: "invalid_token", error_description: "the sign-in has expired" });
    setUser(user);
  }
  const headers = { authorization: `Bearer ${user.access_token}`, accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  let res;
  try {
    res = await fetch(`${state.config.api_base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch (err) {
    throw new ApiError(0, { error: "network", error_description: `could not reach altgate (${err?.message ?? err})` });
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    throw new ApiError(res.status, json ?? { error: `http_${res.status}`, error_description: `the server answered ${res.status} ${res.statusText}`.trim() });
  }
  return json;
}

/** Turns an API failure into a message; 401 asks for a new sign-in, 403 explains token:manage. */
async function handleApiError(err, what) {
  if (!(err instanceof ApiError)) {
    showError(`${what} failed: ${err?.message ?? err}`);
    return;
  }
  const requestId = err.requestId;
  switch (err.status) {
    case 401:
      await sessionExpired(err.message, requestId);
      return;
    case 403:
      showForbidden();
      showError(`${what} was refused: ${err.message}.`, { requestId });
      return;
    case 404:
      showError(`${what} failed: the token no longer exists (${err.message}).`, { requestId });
      await loadTokens();
      return;
    case 503:
      showError(`${what} failed: altgate is temporarily unavailable (${err.message}). Try again in a moment.`, { requestId });
      return;
    case 0:
      showError(`${what} failed: ${err.message}.`);
      return;
    default:
      showError(`${what} failed: ${err.message}.`, { requestId });
  }
}

// ---------------------------------------------------------------------------------------------
// Views

function showSignedOut() {
  show("loading", false);
  show("who", false);
  show("signed-in", false);
  show("signed-out", true);
  $("token-rows").replaceChildren();
}

/** The API refused the token routes: hide what cannot work and say why. */
function showForbidden() {
  show("forbidden", true);
  show("create", false);
  show("list", false);
}

function setUser(user) {
  state.user = user;
  const all = tokenRoles(user.access_token);
  state.roles = state.config.roles.filter((r) => all.includes(r));
  state.canManage = all.includes("token:manage");
  $("who-name").textContent = user.profile?.preferred_username ?? user.profile?.sub ?? "unknown";
}

function renderRoleBoxes() {
  const boxes = $("role-boxes");
  boxes.replaceChildren();
  if (state.roles.length === 0) {
    boxes.append(el("p", { text: "You hold none of the roles an API token can carry." }));
    return;
  }
  for (const role of state.roles) {
    const id = `role-${role.replace(/[^a-z0-9]/gi, "-")}`;
    const input = el("input", { type: "checkbox", id, name: "roles", value: role, checked: role === "model:read" });
    const label = el("label", { for: id }, el("code", { text: role }), ` — ${ROLE_HELP[role] ?? ""}`);
    boxes.append(el("div", { class: "role" }, input, label));
  }
}

async function showSignedIn() {
  show("loading", false);
  show("signed-out", false);
  show("who", true);
  show("signed-in", true);
  // Creating and renewing need token:manage; the list is asked for anyway, and the API's answer
  // (a list, or 403 from the gateway) decides what is shown.
  show("forbidden", !state.canManage);
  show("create", state.canManage);
  show("list", true);
  renderRoleBoxes();
  await loadTokens();
}

function renderTokens() {
  const rows = $("token-rows");
  rows.replaceChildren();
  show("empty", state.tokens.length === 0);
  $("tokens").hidden = state.tokens.length === 0;
  for (const t of state.tokens) {
    const buttons = el("div", { class: "actions" });
    const actions = el("td", {}, buttons);
    if (t.status === "active") {
      if (state.canManage) {
        const renew = el("button", { type: "button", class: "secondary", "aria-label": `Renew token ${t.name}`, text: "Renew" });
        renew.addEventListener("click", () => renewToken(t, renew));
        buttons.append(renew);
      }
      const revoke = el("button", { type: "button", class: "danger", "aria-label": `Revoke token ${t.name}`, text: "Revoke" });
      revoke.addEventListener("click", () => confirmRevoke(t, revoke));
      buttons.append(revoke);
    }
    const statusText = t.status === "revoked" && t.revoked_at ? `revoked ${dateFormat.format(new Date(t.revoked_at))}` : t.status;
    const row = el(
      "tr",
      { "data-token-id": t.id, "data-status": t.status },
      el("th", { scope: "row", text: t.name }),
      el("td", {}, el("code", { text: t.display })),
      el("td", { class: "roles-cell", text: t.roles.join(", ") }),
      timeCell(t.created_at),
      timeCell(t.expires_at),
      timeCell(t.last_used_at, "never"),
      el("td", {}, el("span", { class: `badge ${t.status}`, text: statusText })),
      actions,
    );
    rows.append(row);
  }
}

async function loadTokens() {
  try {
    const body = await api("GET", "/v1/tokens");
    state.tokens = Array.isArray(body?.tokens) ? body.tokens : [];
    renderTokens();
  } catch (err) {
    await handleApiError(err, "Loading your tokens");
  }
}

// ---------------------------------------------------------------------------------------------
// Create, with the plaintext shown once

function forgetSecret() {
  $("created-secret").value = "";
  $("created-name").textContent = "";
  $("copy-status").textContent = "";
  show("created", false);
}

function showSecret(name, token) {
  $("created-name").textContent = `“${name}”`;
  $("created-secret").value = token;
  $("copy-status").textContent = "";
  show("created", true);
  $("created").focus();
}

async function copySecret() {
  const input = $("created-secret");
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    // Clipboard API refused (permissions, insecure context): select the text and use the old way.
    input.select();
    if (!document.execCommand("copy")) {
      $("copy-status").textContent = "Copying failed: select the token and copy it yourself.";
      return;
    }
  }
  $("copy-status").textContent = "Copied to the clipboard.";
}

function fieldError(input, message) {
  input.setAttribute("aria-invalid", "true");
  showError(message);
  input.focus();
}

async function createToken(event) {
  event.preventDefault();
  clearError();
  const nameInput = $("token-name");
  nameInput.removeAttribute("aria-invalid");
  const name = nameInput.value.trim();
  if (!name) return fieldError(nameInput, "Give the token a name.");
  const roles = [...document.querySelectorAll('#role-boxes input[name="roles"]:checked')].map((i) => i.value);
  if (roles.length === 0) {
    const first = document.querySelector('#role-boxes input[name="roles"]');
    if (first) return fieldError(first, "Choose at least one role for the token.");
    return showError("You hold none of the roles an API token can carry.");
  }
  const lifetime = Number($("token-lifetime").value);
  const submit = $("create-submit");
  submit.disabled = true;
  try {
    const created = await api("POST", "/v1/tokens", { name, lifetime_s: lifetime, roles });
    $("create-form").reset();
    renderRoleBoxes();
    showSecret(created.name, created.token);
    announce(`Token “${created.name}” created. Copy it now: it will not be shown again.`);
    await loadTokens();
  } catch (err) {
    await handleApiError(err, "Creating the token");
  } finally {
    submit.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Renew and revoke

async function renewToken(token, button) {
  clearError();
  button.disabled = true;
  try {
    const renewed = await api("POST", `/v1/tokens/${encodeURIComponent(token.id)}/renew`, {});
    announce(`Token “${renewed.name}” renewed: it now expires ${dateFormat.format(new Date(renewed.expires_at))}.`);
    await loadTokens();
  } catch (err) {
    await handleApiError(err, "Renewing the token");
  } finally {
    button.disabled = false;
  }
}

function confirmRevoke(token, button) {
  const dialog = $("confirm-revoke");
  $("confirm-text").textContent =
    `“${token.name}” (${token.display}) stops working at once, everywhere. This cannot be undone.`;
  dialog.returnValue = "";
  dialog.addEventListener(
    "close",
    () => {
      if (dialog.returnValue === "revoke") revokeToken(token, button);
      else button.focus();
    },
    { once: true },
  );
  dialog.showModal();
}

async function revokeToken(token, button) {
  clearError();
  button.disabled = true;
  try {
    const revoked = await api("DELETE", `/v1/tokens/${encodeURIComponent(token.id)}`);
    announce(`Token “${revoked.name}” revoked.`);
    await loadTokens();
  } catch (err) {
    await handleApiError(err, "Revoking the token");
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Start

async function loadConfig() {
  const res = await fetch("config.json", { cache: "no-store" });
  if (!res.ok) throw new Error(`config.json answered ${res.status}`);
  const config = await res.json();
  return { ...config, api_base: (config.api_base ?? "").replace(/\/+$/, "") };
}

async function start() {
  $("sign-in").addEventListener("click", signIn);
  $("error-sign-in").addEventListener("click", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("error-dismiss").addEventListener("click", clearError);
  $("refresh").addEventListener("click", async () => {
    clearError();
    await loadTokens();
    announce("Token list refreshed.");
  });
  $("create-form").addEventListener("submit", createToken);
  $("copy-secret").addEventListener("click", copySecret);
  $("created-done").addEventListener("click", () => {
    forgetSecret();
    $("token-name").focus();
  });

  if (!oidc?.UserManager) {
    show("loading", false);
    showError("The sign-in library did not load (vendor/oidc-client-ts.js).");
    return;
  }
  try {
    state.config = await loadConfig();
  } catch (err) {
    show("loading", false);
    showError(`The portal's configuration could not be loaded: ${err?.message ?? err}`);
    return;
  }
  state.manager = createManager(state.config);

  const here = new URL(location.href);
  const base = portalBase();
  // In the hidden frame of a silent sign-out: report back to the page and stop.
  if (window.parent !== window && here.pathname.endsWith("/signout-callback")) {
    await state.manager.signoutSilentCallback().catch(() => undefined);
    return;
  }
  state.manager.events.addSilentRenewError(() => undefined);

  if (here.pathname.endsWith("/callback")) {
    const error = here.searchParams.get("error");
    try {
      if (error) throw new Error(here.searchParams.get("error_description") || error);
      const user = await state.manager.signinRedirectCallback();
      setUser(user);
    } catch (err) {
      showSignedOut();
      const network = err instanceof TypeError;
      const why = network
        ? `Keycloak's token endpoint (${state.config.issuer}) could not be reached from this page ` +
          `(${err.message}): Keycloak down, or this page's origin (${location.origin}) is not a web origin of the client ${state.config.client_id}`
        : (err?.message ?? String(err));
      showError(`Sign-in did not complete: ${why}.`, { signIn: true });
      return;
    } finally {
      // The code and state are single-use: drop them from the address bar and history.
      history.replaceState(null, "", base);
    }
    await showSignedIn();
    return;
  }
  // Back from Keycloak's end-session endpoint after a redirect sign-out.
  if (here.searchParams.has("state")) {
    await state.manager.signoutRedirectCallback().catch(() => undefined);
    history.replaceState(null, "", base);
    showSignedOut();
    announce("You are signed out.");
    return;
  }

  const user = await state.manager.getUser();
  if (user && !user.expired) {
    setUser(user);
    await showSignedIn();
  } else if (user) {
    // Expired while away: renew quietly with the refresh token, or ask for a new sign-in.
    const renewed = await state.manager.signinSilent().catch(() => null);
    if (renewed) {
      setUser(renewed);
      await showSignedIn();
    } else {
      await state.manager.removeUser();
      showSignedOut();
    }
  } else {
    showSignedOut();
  }
}

start().catch((err) => {
  show("loading", false);
  showError(`The portal failed to start: ${err?.message ?? err}`);
});
