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
