import { Hono, type Context } from "hono";
import { requestId } from "hono/request-id";
import { identityFromHeaders, IDENTITY_PREFIX } from "./identity.ts";

export interface AppDeps {
  /** Resolves when the database answers; rejects with the reason otherwise. */
  checkDatabase(): Promise<void>;
}

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.use(requestId({ headerName: "x-request-id" }));

  app.get("/healthz", (c) => c.json({ status: "ok" }));

  app.get("/readyz", async (c) => {
    try {
      await deps.checkDatabase();
      return c.json({ status: "ready", checks: { database: "ok" } });
    } catch (err) {
      return c.json(
        {
          error: "not_ready",
          error_description: `database: ${(err as Error).message}`,
          request_id: c.get("requestId"),
        },
        503,
      );
    }
  });

  // Echoes what the gateway asserted about the caller: the quickest way to see whether a token
  // works and which roles it carries. The public twin shows that a forged identity header sent
  // to a route without authentication never arrives. Identity headers only, never Authorization.
  const whoami = (c: Context) => {
    const identity = identityFromHeaders((n) => c.req.header(n));
    const asserted = Object.fromEntries(
      Object.entries(c.req.header()).filter(([name]) => name.startsWith(IDENTITY_PREFIX)),
    );
    return c.json({ identity: identity ?? null, headers: asserted, authorization_forwarded: c.req.header("authorization") !== undefined });
  };
  app.get("/v1/whoami", whoami);
  app.get("/v1/public/whoami", whoami);

  return app;
}
