/** Reads Envoy's admin /stats as numbers, e.g. counter("cluster.keycloak.upstream_rq_total"). */
export async function stats(adminUrl: string, filter: string): Promise<Map<string, number>> {
  const res = await fetch(`${adminUrl}/stats?filter=${encodeURIComponent(filter)}`);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    const m = /^(\S+): (\d+)$/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

export async function counter(adminUrl: string, name: string): Promise<number> {
  const all = await stats(adminUrl, `^${name.replace(/\./g, "\\.")}$`);
  return all.get(name) ?? 0;
}

/** Introspection calls are requests on the keycloak cluster, as Envoy itself counts them. */
export function introspectionCalls(adminUrl: string): Promise<number> {
  return counter(adminUrl, "cluster.keycloak.upstream_rq_total");
}

/** One of the filter's own counters (Envoy shows proxy-wasm metrics with a prefix of its own). */
export async function filterCounter(adminUrl: string, name: string): Promise<number> {
  const all = await stats(adminUrl, `${name.replace(/\./g, "\\.")}$`);
  const key = [...all.keys()].find((k) => k.endsWith(name));
  if (!key) throw new Error(`Envoy shows no metric ending in ${name}`);
  return all.get(key)!;
}
