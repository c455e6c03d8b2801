// Which issuer answers for a token, and how to ask it (RFC 7662 over dispatch_http_call).
import { Config } from "../config";
import { basicAuthorization, introspectionRequestBody } from "../introspection";

export class Issuer {
  constructor(
    readonly cluster: string,
    readonly authority: string,
    readonly path: string,
    /** Precomputed "Basic …" header; "" when the issuer takes no client credentials. */
    readonly authorization: string,
    readonly timeoutMs: u32,
    /** Expected iss claim; "" when not checked. */
    readonly expectedIssuer: string,
    /** Expected aud/azp, whose resource_access roles also count; "" when not checked. */
    readonly audience: string,
    readonly tokenKind: string,
  ) {}

  requestHeaderNames(): string[] {
    const names = [":method", ":path", ":authority", "content-type", "accept"];
    if (this.authorization.length > 0) names.push("authorization");
    return names;
  }

  requestHeaderValues(): string[] {
    const values = ["POST", this.path, this.authority, "application/x-www-form-urlencoded", "application/json"];
    if (this.authorization.length > 0) values.push(this.authorization);
    return values;
  }

  requestBody(token: string): string {
    return introspectionRequestBody(token);
  }
}

export class Issuers {
  keycloak: Issuer | null = null;
  apiTokens: Issuer | null = null;
  apiTokenPrefix: string = "";

  static from(config: Config): Issuers {
    const out = new Issuers();
    const kc = config.keycloak;
    if (kc !== null) {
      out.keycloak = new Issuer(
        kc.cluster, kc.authority, kc.introspectionPath, basicAuthorization(kc.clientId, kc.clientSecret),
        <u32>kc.timeoutMs, kc.issuer, kc.audience, "oidc",
      );
    }
    const api = config.apiTokens;
    if (api !== null) {
      const auth = api.clientId.length > 0 ? basicAuthorization(api.clientId, api.clientSecret) : "";
      out.apiTokens = new Issuer(api.cluster, api.authority, api.introspectionPath, auth, <u32>api.timeoutMs, "", "", "api-token");
      out.apiTokenPrefix = api.tokenPrefix;
    }
    return out;
  }

  /** API tokens carry their prefix; everything else is an OIDC access token for Keycloak. */
  isApiToken(token: string): bool {
    return this.apiTokens !== null && this.apiTokenPrefix.length > 0 && token.startsWith(this.apiTokenPrefix);
  }

  forToken(token: string): Issuer | null {
    return this.isApiToken(token) ? this.apiTokens : this.keycloak;
  }
}
