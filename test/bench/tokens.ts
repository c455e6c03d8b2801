/**
 * Real Keycloak access tokens for the benchmark: client-credentials grants of the realm's machine
 * client (test/fixtures/altgate-realm.json), fetched before any measurement starts.
 */
export const MACHINE_CLIENT = { id: "altgate-machine", secret: "machine-dev-secret" };

export interface TokenPool {
  tokens: string[];
  /** Earliest expiry among them, in Unix seconds. */
  earliestExp: number;
  seconds: number;
}

async function clientCredentials(tokenEndpoint: string): Promise<string> {
  const res = await fetch(tokenEndpoint, {
    method: "POST",
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: MACHINE_CLIENT.id, client_secret: MACHINE_CLIENT.secret }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
  if (!res.ok || !body.access_token) {
    throw new Error(`Keycloak refused the client-credentials grant: ${res.status} ${body.error ?? ""} ${body.error_description ?? ""}`);
  }
  return body.access_token;
}

export function expOf(jwt: string): number {
  const payload = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as { exp?: number };
  return payload.exp ?? 0;
}

/** `count` distinct tokens, `parallel` requests at a time. */
export async function fetchTokens(tokenEndpoint: string, count: number, parallel = 16): Promise<TokenPool> {
  const started = Date.now();
  const tokens: string[] = [];
  let issued = 0;
  const worker = async () => {
    while (issued < count) {
      issued++;
      tokens.push(await clientCredentials(tokenEndpoint));
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  const distinct = new Set(tokens);
  if (distinct.size !== tokens.length) throw new Error(`Keycloak issued ${tokens.length - distinct.size} duplicate tokens`);
  return { tokens, earliestExp: Math.min(...tokens.map(expOf)), seconds: (Date.now() - started) / 1000 };
}
