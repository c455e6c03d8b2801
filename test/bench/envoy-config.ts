/**
 * The benchmark's Envoy configuration: one Envoy process, one listener per configuration under
 * test, all routing to the same cheap upstream. Every listener is derived from the development
 * bootstrap (envoy/bootstrap.ts), so the connection manager settings and the Wasm filter's
 * settings (runtime, failure policy, plugin configuration format) are the ones the stack runs; only
 * the HTTP filter chain differs between listeners.
 */
import { renderBootstrap } from "../../envoy/bootstrap.ts";

/**
 * The configurations measured side by side, in the order the table shows them. Every one sends the
 * same requests, a Keycloak token included, so that a row differs from "no filter" by its filter
 * alone; "no filter, no token" is the one exception, there to show what the token's bytes cost Envoy.
 */
export const CONFIGS = ["nofilter", "nofilter_no_token", "wasm_floor", "wasm_host_calls", "jwt_authn", "altgate_hit", "altgate_miss"] as const;
export type ConfigName = (typeof CONFIGS)[number];

/** The configurations with a listener of their own; "no filter, no token" uses no filter's. */
export type ListenerName = Exclude<ConfigName, "nofilter_no_token">;
export const listenerOf = (c: ConfigName): ListenerName => (c === "nofilter_no_token" ? "nofilter" : c);

export const LABELS: Record<ConfigName, string> = {
  nofilter: "no filter",
  nofilter_no_token: "no filter, no token in the request",
  wasm_floor: "Wasm floor (empty filter)",
  wasm_host_calls: "Wasm floor + a cache hit's host calls",
  jwt_authn: "jwt_authn (native, JWKS)",
  altgate_hit: "altgate, cache hit",
  altgate_miss: "altgate, cache miss",
};

export interface BenchEnvoyOptions {
  adminPort: number;
  /** Listener port of each measured configuration, plus "memory": an altgate listener used only to fill a cache. */
  ports: Record<ListenerName | "memory", number>;
  /** Where the upstream answers. With `directResponseUpstream` it is a listener of this same Envoy. */
  upstreamPort: number;
  /** Adds a listener on upstreamPort answering every request with 200 "ok" (Envoy direct_response). */
  directResponseUpstream: boolean;
  keycloakPort: number;
  /** The realm's issuer, e.g. http://127.0.0.1:<port>/realms/altgate (Keycloak runs with --hostname). */
  issuer: string;
  wasmPath: string;
  /** The empty proxy-wasm filter (test/bench/wasm-floor), run with the same Wasm settings as altgate. */
  floorWasmPath: string;
  /** The filter making an altgate cache hit's host calls and nothing else (test/bench/wasm-floor). */
  hostCallsWasmPath: string;
  /** The altgate plugin configuration (envoy/filter-config.ts devFilterConfig). */
  filterConfig: unknown;
}

type Json = Record<string, any>;

const clone = <T>(v: T): T => structuredClone(v);

const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } };

/** Envoy's own JWT filter verifying Keycloak's RS256 access tokens against the realm's JWKS. */
export function jwtAuthnFilter(issuer: string): Json {
  return {
    name: "envoy.filters.http.jwt_authn",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
      providers: {
        keycloak: {
          issuer,
          remote_jwks: {
            http_uri: { uri: `${issuer}/protocol/openid-connect/certs`, cluster: "keycloak", timeout: "5s" },
            cache_duration: "600s",
            // Fetch the JWKS when the listener starts rather than on the first request.
            async_fetch: {},
          },
          // Keep the Authorization header for the upstream, as altgate does not (it strips it):
          // the closest equivalent of a platform engineer's default setup.
          forward: true,
          // No jwt_cache_config: Envoy's default, every request's signature is verified.
        },
      },
      rules: [{ match: { prefix: "/" }, requires: { provider_name: "keycloak" } }],
    },
  };
}

export function renderBenchBootstrap(o: BenchEnvoyOptions): Json {
  // The development bootstrap, with its "altgate-server" cluster pointed at the benchmark's upstream.
  const template = renderBootstrap({
    listenerPort: o.ports.nofilter,
    adminPort: o.adminPort,
    serverPort: o.upstreamPort,
    keycloakPort: o.keycloakPort,
    wasmPath: o.wasmPath,
    filterConfig: o.filterConfig,
  }) as Json;
  const baseListener: Json = template.static_resources.listeners[0];
  const hcmOf = (l: Json): Json => l.filter_chains[0].filters[0].typed_config;
  const altgateFilter: Json = hcmOf(baseListener).http_filters.find((f: Json) => f.name === "altgate");
  if (!altgateFilter) throw new Error("envoy/bootstrap.ts no longer has an http filter named altgate");

  /** The altgate filter in a VM of its own: shared data (the cache) is per vm_id, so the caches stay apart. */
  const altgate = (vmId: string): Json => {
    const f = clone(altgateFilter);
    f.typed_config.config.vm_config.vm_id = vmId;
    return f;
  };

  const listener = (name: string, port: number, filters: Json[]): Json => {
    const l = clone(baseListener);
    l.name = name;
    l.address.socket_address.port_value = port;
    const hcm = hcmOf(l);
    hcm.stat_prefix = name;
    hcm.http_filters = [...filters, ROUTER];
    return l;
  };

  /** A reference filter with altgate's Wasm settings, in a VM of its own. */
  const reference = (vmId: string, wasmPath: string): Json => {
    const f = clone(altgateFilter);
    f.typed_config.config.vm_config.vm_id = vmId;
    f.typed_config.config.vm_config.code.local.filename = wasmPath;
    f.typed_config.config.configuration.value = "{}";
    return f;
  };

  const listeners: Json[] = [
    listener("nofilter", o.ports.nofilter, []),
    listener("wasm_floor", o.ports.wasm_floor, [reference("wasm-floor", o.floorWasmPath)]),
    listener("wasm_host_calls", o.ports.wasm_host_calls, [reference("wasm-host-calls", o.hostCallsWasmPath)]),
    listener("jwt_authn", o.ports.jwt_authn, [jwtAuthnFilter(o.issuer)]),
    listener("altgate_hit", o.ports.altgate_hit, [altgate("altgate-hit")]),
    listener("altgate_miss", o.ports.altgate_miss, [altgate("altgate-miss")]),
    listener("altgate_memory", o.ports.memory, [altgate("altgate-memory")]),
  ];
  if (o.directResponseUpstream) listeners.push(directResponseListener(o.upstreamPort));
  template.static_resources.listeners = listeners;
  return template;
}

/** A listener answering 200 "ok" to everything: the cheapest upstream Envoy can be. */
export function directResponseListener(port: number): Json {
  return {
    name: "upstream",
    address: { socket_address: { address: "127.0.0.1", port_value: port } },
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
              stat_prefix: "upstream",
              route_config: {
                name: "upstream",
                virtual_hosts: [
                  { name: "upstream", domains: ["*"], routes: [{ match: { prefix: "/" }, direct_response: { status: 200, body: { inline_string: "ok" } } }] },
                ],
              },
              http_filters: [ROUTER],
            },
          },
        ],
      },
    ],
  };
}
