/**
 * The identity the altgate filter asserts in trusted headers. Encoding and signature are specified
 * in filter-wasm/IDENTITY-SIGNATURE.md: each value (and list element) is percent-encoded.
 */
export interface Identity {
  subject: string;
  username: string;
  client: string;
  roles: string[];
  scopes: string[];
  tokenKind: string;
  tokenId: string;
}

export const IDENTITY_PREFIX = "x-altgate-";

function decode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** Reads the identity headers; undefined when no subject is asserted or a value is not decodable. */
export function identityFromHeaders(get: (name: string) => string | undefined): Identity | undefined {
  const raw = (n: string) => get(`${IDENTITY_PREFIX}${n}`) ?? "";
  const list = (n: string) => (raw(n) === "" ? [] : raw(n).split(",").map(decode));
  const subject = decode(raw("subject"));
  if (!subject) return undefined;
  const scalars = ["username", "client", "token-kind", "token-id"].map((n) => decode(raw(n)));
  const roles = list("roles");
  const scopes = list("scopes");
  if (scalars.includes(undefined) || roles.includes(undefined) || scopes.includes(undefined)) return undefined;
  const [username, client, tokenKind, tokenId] = scalars as string[];
  return {
    subject,
    username: username!,
    client: client!,
    roles: roles as string[],
    scopes: scopes as string[],
    tokenKind: tokenKind!,
    tokenId: tokenId!,
  };
}
