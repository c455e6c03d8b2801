/** Pieces every route definition uses: error responses, security, and the raw-body registration. */
import type { OpenAPIHono, RouteConfig } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context.ts";
import { PROBLEM_CONTENT_TYPE } from "../errors.ts";
import { ProblemSchema } from "../schemas.ts";

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

export function errorResponses(...statuses: number[]) {
  const out: Record<number, { description: string; content: Record<string, { schema: typeof ProblemSchema }> }> = {};
  for (const s of statuses) out[s] = { description: WHEN[s]!, content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } } };
  return out;
}

/** The bearer token is checked by the gateway (Envoy + the altgate filter), not by this server. */
export const bearer = [{ bearerAuth: [] as string[] }];

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
