/**
 * The filter configuration of the local stack. Cluster names refer to the clusters that
 * bootstrap.ts defines; the Keycloak secret is the development realm's
 * (test/fixtures/altgate-realm.json), the token service's the server's development setting.
 */
export interface DevFilterConfigOptions {
  keycloakAuthority: string;
  realm: string;
  /** The realm's issuer URL, which every introspected token must carry. */
  issuer: string;
}

export function devFilterConfig(o: DevFilterConfigOptions): Record<string, unknown> {
  return {
    issuers: {
      keycloak: {
        cluster: "keycloak",
        authority: o.keycloakAuthority,
        introspection_path: `/realms/${o.realm}/protocol/openid-connect/token/introspect`,
        client_id: "altgate-gateway",
        client_secret: "gateway-dev-secret",
        timeout_ms: 1500,
        issuer: o.issuer,
        // Keycloak only introspects tokens whose audience includes the gateway client; the realm's
        // clients add it with an audience mapper, and the filter insists on it too.
        audience: "altgate-gateway",
      },
      // Personal API tokens go to the server's token service; its introspection endpoint takes
      // the gateway's client credentials (the server's ALTGATE_INTROSPECTION_CLIENT_ID / _SECRET).
      api_tokens: {
        cluster: "altgate-server",
        authority: "altgate-server",
        introspection_path: "/internal/v1/introspect",
        token_prefix: "agt_",
        client_id: "altgate-gateway",
        client_secret: "introspection-dev-secret",
      },
    },
    revocations: { cluster: "altgate-server", authority: "altgate-server", path: "/internal/v1/revocations", poll_ms: 250 },
    cache: { positive_ttl_s: 60, negative_ttl_s: 5, max_entries: 20000 },
    rules: [
      { prefix: "/healthz", public: true },
      { prefix: "/v1/public", methods: ["GET"], public: true },
      // The portal's static page and its configuration; its token API calls carry a bearer token.
      { prefix: "/portal", methods: ["GET"], public: true },
      // Any authenticated caller may ask who it is.
      { prefix: "/v1/whoami" },
      { prefix: "/v1/models", methods: ["GET"], any_role: ["model:read", "model:invoke"] },
      { prefix: "/v1/models", methods: ["POST"], any_role: ["model:invoke"] },
      { prefix: "/v2/models", methods: ["GET"], any_role: ["model:read", "model:invoke"] },
      { prefix: "/v2/models", methods: ["POST"], any_role: ["model:invoke"] },
      // The API description is public; /metrics and /readyz are deliberately not routed publicly.
      { exact: "/openapi.json", methods: ["GET"], public: true },
      { prefix: "/docs", methods: ["GET"], public: true },
      { prefix: "/v1/tokens", any_role: ["token:manage"] },
      { prefix: "/v1/admin", any_role: ["model:admin"] },
      // Anyone signed in may revoke their own Keycloak access token (RFC 7009); the server checks whose it is.
      { exact: "/v1/revoke", methods: ["POST"] },
    ],
    identity: { header_prefix: "x-altgate-", strip_authorization: true },
    on_issuer_failure: "deny",
  };
}
