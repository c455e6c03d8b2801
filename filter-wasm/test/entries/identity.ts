// Test entry for identity.ts. Lists cross the boundary joined by U+FFFF; a decoded identity comes
// back as its fields joined by U+FFFF, with list items joined by U+FFFE.
import { HmacSha256 } from "../../assembly/hmac";
import { Identity, IdentityHeaderNames, PreparedIdentityHeaders, deserializeIdentity, isIdentityHeader, prepareIdentityHeaders, serializeIdentity } from "../../assembly/identity";

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

/** The prepared headers' bytes as the filter hands them to the host, "name: value" lines; signed when `hmac` is given. */
function lines(p: PreparedIdentityHeaders, hmac: HmacSha256 | null, now: i64): string[] {
  const out: string[] = [];
  for (let i = 0; i < p.nameBytes.length; i++) out.push(String.UTF8.decode(p.nameBytes[i]) + ": " + String.UTF8.decode(p.valueBytes[i]));
  if (hmac !== null) out.push(String.UTF8.decode(p.signatureName) + ": " + String.UTF8.decode(p.signatureBytes(hmac, now)));
  return out;
}

/** A fresh preparation's lines, or "!" and the error. An empty key means no signature. */
export function headers(subject: string, username: string, client: string, roles: string, scopes: string, kind: string, tokenId: string, prefix: string, key: string, now: i64): string {
  const p = prepareIdentityHeaders(identity(subject, username, client, roles, scopes, kind, tokenId), new IdentityHeaderNames(prefix));
  if (p.error != "") return "!" + p.error;
  return lines(p, key.length > 0 ? new HmacSha256(Uint8Array.wrap(String.UTF8.encode(key))) : null, now).join("\n");
}

/** One prepared identity signed at `now`, then (after a "--" line) the same one signed at `later`. */
export function preparedLines(subject: string, username: string, client: string, roles: string, scopes: string, kind: string, tokenId: string, prefix: string, key: string, now: i64, later: i64): string {
  const hmac = new HmacSha256(Uint8Array.wrap(String.UTF8.encode(key)));
  const p = prepareIdentityHeaders(identity(subject, username, client, roles, scopes, kind, tokenId), new IdentityHeaderNames(prefix));
  if (p.error != "") return "!" + p.error;
  return lines(p, hmac, now).concat(["--"]).concat(lines(p, hmac, later)).join("\n");
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
