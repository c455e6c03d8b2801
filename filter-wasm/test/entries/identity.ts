// Test entry for identity.ts. Lists cross the boundary joined by U+FFFF; a decoded identity comes
// back as its fields joined by U+FFFF, with list items joined by U+FFFE.
import { HmacSha256 } from "../../assembly/hmac";
import { Identity, IdentityHeaderNames, deserializeIdentity, identityHeaders, isIdentityHeader, prepareIdentityHeaders, serializeIdentity } from "../../assembly/identity";

const SEP = "\uffff";
const ITEM = "\ufffe";

function list(joined: string): string[] {
  return joined.length == 0 ? [] : joined.split(SEP);
}

function identity(subject: string, username: string, client: string, roles: string, scopes: string, kind: string, tokenId: string): Identity {
  const id = new Identity();
  id.subject = subject;
  id.username = username;
  id.client = client;
  id.roles = list(roles);
  id.scopes = list(scopes);
  id.tokenKind = kind;
  id.tokenId = tokenId;
  return id;
}

/** "name: value" lines, or "!" and the error. An empty key means no signature. */
export function headers(subject: string, username: string, client: string, roles: string, scopes: string, kind: string, tokenId: string, prefix: string, key: string, now: i64): string {
  const hmac = key.length > 0 ? new HmacSha256(Uint8Array.wrap(String.UTF8.encode(key))) : null;
  const r = identityHeaders(identity(subject, username, client, roles, scopes, kind, tokenId), new IdentityHeaderNames(prefix), hmac, now);
  if (r.error != "") return "!" + r.error;
  const lines: string[] = [];
  for (let i = 0; i < r.headers.length; i++) lines.push(r.headers[i].name + ": " + r.headers[i].value);
  return lines.join("\n");
}

/**
 * The prepared form's bytes, as the filter hands them to the host, in the same "name: value" lines:
 * one prepared identity signed at `now`, then (after a "--" line) the same one signed at `later`.
 */
export function preparedLines(subject: string, username: string, client: string, roles: string, scopes: string, kind: string, tokenId: string, prefix: string, key: string, now: i64, later: i64): string {
  const hmac = new HmacSha256(Uint8Array.wrap(String.UTF8.encode(key)));
  const p = prepareIdentityHeaders(identity(subject, username, client, roles, scopes, kind, tokenId), new IdentityHeaderNames(prefix));
  if (p.error != "") return "!" + p.error;
  const lines: string[] = [];
  const times: i64[] = [now, later];
  for (let k = 0; k < times.length; k++) {
    const t = times[k];
    if (k > 0) lines.push("--");
    for (let i = 0; i < p.nameBytes.length; i++) lines.push(String.UTF8.decode(p.nameBytes[i]) + ": " + String.UTF8.decode(p.valueBytes[i]));
    lines.push(String.UTF8.decode(p.signatureName) + ": " + String.UTF8.decode(p.signatureBytes(hmac, t)));
  }
  return lines.join("\n");
}

export function serialize(subject: string, username: string, client: string, roles: string, scopes: string, kind: string, tokenId: string): ArrayBuffer | null {
  const bytes = serializeIdentity(identity(subject, username, client, roles, scopes, kind, tokenId));
  return bytes == null ? null : bytes.slice().buffer;
}

export function deserialize(bytes: ArrayBuffer): string {
  const id = deserializeIdentity(Uint8Array.wrap(bytes));
  if (id == null) return "null";
  return [id.subject, id.username, id.client, id.roles.join(ITEM), id.scopes.join(ITEM), id.tokenKind, id.tokenId].join(SEP);
}

export function identityHeader(name: string, prefix: string): bool {
  return isIdentityHeader(name, prefix);
}
