/** The identity the altgate filter asserts in trusted headers (see ARCHITECTURE.md, "Identity headers"). */
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

const list = (v: string | undefined) => (v ? v.split(",").map((s) => s.trim()).filter(Boolean) : []);

/** Reads the identity headers; undefined when the filter asserted no subject. */
export function identityFromHeaders(get: (name: string) => string | undefined): Identity | undefined {
  const h = (n: string) => get(`${IDENTITY_PREFIX}${n}`);
  const subject = h("subject");
  if (!subject) return undefined;
  return {
    subject,
    username: h("username") ?? "",
    client: h("client") ?? "",
    roles: list(h("roles")),
    scopes: list(h("scopes")),
    tokenKind: h("token-kind") ?? "",
    tokenId: h("token-id") ?? "",
  };
}
