/** Pieces every route definition uses: error responses, security, and the raw-body registration. */
import type { OpenAPIHono, RouteConfig, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { authorizedModel } from "../auth.ts";
import { readJson } from "../body.ts";
import type { AppEnv, Deps, ModelHandle } from "../context.ts";
import { invalidInput, PROBLEM_CONTENT_TYPE, type Issue } from "../errors.ts";
import type { Manifest } from "../manifest.ts";
import type { Checked } from "../validate.ts";
import { ProblemSchema } from "../schemas.ts";
import { MAX_ISSUES } from "../validate.ts";

const WHEN: Record<number, string> = {
  400: "The body is not valid JSON",
  401: "No authenticated identity, or its signature does not verify",
  403: "The caller's roles do not include one the model's manifest allows",
  404: "No model by that name",
  413: "The body is larger than the configured limit",
  422: "The body does not fit the model's declared inputs; `issues` names each offending field",
  500: "A bug in the server",
  502: "The model container's answer was unusable (not JSON, wrong outputs, wrong shape or type, an error status)",
  503: "The model container cannot be reached or is not ready, or the model's queue is full (Retry-After)",
  504: "The model container did not answer within the model's timeout",
};

/** Problem responses, each with what it means on this route. */
export function problemResponses(when: Record<number, string>) {
  const out: Record<number, { description: string; content: Record<string, { schema: typeof ProblemSchema }> }> = {};
  for (const [s, description] of Object.entries(when)) out[Number(s)] = { description, content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } } };
  return out;
}

/** Problem responses of the model routes. */
export function errorResponses(...statuses: number[]) {
  return problemResponses(Object.fromEntries(statuses.map((s) => [s, WHEN[s]!])));
}

/** A zod failure as the app's issues: `roles[1]: …`, and one `unknown field` per key a strict object refuses. */
export function zodIssues(error: z.ZodError): { issues: Issue[]; more: boolean } {
  const path = (p: readonly PropertyKey[]) =>
    p.reduce<string>((acc, k) => (typeof k === "number" ? `${acc}[${k}]` : acc === "" ? String(k) : `${acc}.${String(k)}`), "") || "body";
  const all = error.issues.flatMap((i) =>
    i.code === "unrecognized_keys" ? i.keys.map((k) => ({ field: path([...i.path, k]), message: "unknown field" })) : [{ field: path(i.path), message: i.message }],
  );
  return { issues: all.slice(0, MAX_ISSUES), more: all.length > MAX_ISSUES };
}

/** The bearer token is checked by the gateway (Envoy + the altgate filter), not by this server. */
export const bearer = [{ bearerAuth: [] as string[] }];

/** The gateway's own client credentials (RFC 7662 introspection). */
export const gatewayClient = [{ introspectionClient: [] as string[] }];

/**
 * Registers a route whose JSON body is read and checked by the handler rather than by a zod
 * validator in front of it: the body is read with a streaming size limit, only after the caller
 * is authenticated and allowed the model, and checked against that model's manifest (validate.ts),
 * with messages that name the field. The same route definition still documents the body.
 */
export function openapiRawBody(
  app: OpenAPIHono<AppEnv>,
  route: RouteConfig & { getRoutingPath(): string },
  ...handlers: MiddlewareHandler<AppEnv>[]
): void {
  const { middleware: _m, hide: _h, ...definition } = route;
  app.openAPIRegistry.registerPath(definition);
  // Hono's typed overloads take a fixed number of handlers; the untyped form is the same method.
  (app as unknown as { on(m: string[], p: string[], ...h: MiddlewareHandler<AppEnv>[]): unknown }).on(
    [route.method.toUpperCase()],
    [route.getRoutingPath()],
    ...handlers,
  );
}

/**
 * The shared front of every model call (predict, infer): the model the caller may use, then its
 * body, size-limited and checked against the manifest by `check` (422 naming the fields).
 */
export async function checkedModelRequest<T>(
  c: Context<AppEnv>,
  deps: Deps,
  check: (manifest: Manifest, body: unknown) => Checked<T>,
): Promise<{ model: ModelHandle; value: T }> {
  const name = c.req.param("name")!;
  c.set("model", name);
  const model = authorizedModel(deps, name, c.get("identity")!);
  const checked = check(model.manifest, await readJson(c.req.raw, deps.maxBodyBytes, c.env));
  if (!checked.ok) throw invalidInput(checked.issues, checked.more);
  return { model, value: checked.value };
}
