/**
 * The standalone Envoy configuration for local development and tests: one listener in front of the
 * altgate server, the altgate Wasm filter first in the HTTP filter chain, and the clusters the
 * filter calls out to. Rendered per run because every port is chosen at start.
 */
export interface BootstrapOptions {
  listenerPort: number;
  adminPort: number;
  serverPort: number;
  keycloakPort: number;
  wasmPath: string;
  /** The filter's plugin configuration, passed to proxy_on_configure as a JSON string. */
  filterConfig: unknown;
  concurrency?: number;
}

const cluster = (name: string, port: number) => ({
  name,
  type: "STATIC",
  connect_timeout: "1s",
  load_assignment: {
    cluster_name: name,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } } }] }],
  },
});

export function renderBootstrap(o: BootstrapOptions): object {
  return {
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: o.adminPort } } },
    static_resources: {
      listeners: [
        {
          name: "public",
          address: { socket_address: { address: "127.0.0.1", port_value: o.listenerPort } },
          filter_chains: [
            {
              filters: [
                {
                  name: "envoy.filters.network.http_connection_manager",
                  typed_config: {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    stat_prefix: "public",
                    // The edge: Envoy sets x-forwarded-for and mints x-request-id itself rather than trusting the client's.
                    use_remote_address: true,
                    normalize_path: true,
                    merge_slashes: true,
                    path_with_escaped_slashes_action: "REJECT_REQUEST",
                    route_config: {
                      name: "public",
                      virtual_hosts: [
                        { name: "altgate", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "altgate-server", timeout: "30s" } }] },
                      ],
                    },
                    http_filters: [
                      {
                        name: "altgate",
                        typed_config: {
                          "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                          config: {
                            name: "altgate",
                            root_id: "altgate",
                            // Never FAIL_OPEN for an auth filter: if the VM cannot run, requests are refused.
                            failure_policy: "FAIL_CLOSED",
                            configuration: {
                              "@type": "type.googleapis.com/google.protobuf.StringValue",
                              value: JSON.stringify(o.filterConfig),
                            },
                            vm_config: {
                              vm_id: "altgate",
                              runtime: "envoy.wasm.runtime.v8",
                              code: { local: { filename: o.wasmPath } },
                            },
                          },
                        },
                      },
                      { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [cluster("altgate-server", o.serverPort), cluster("keycloak", o.keycloakPort)],
    },
  };
}
