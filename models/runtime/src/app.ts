import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { infer } from "./infer.ts";
import type { LoadedModel } from "./models.ts";
import { RequestError, show } from "./tensors.ts";

export interface AppOptions {
  maxBodyBytes: number;
  /** False while the process shuts down, so a load balancer stops sending before the port closes. */
  ready: () => boolean;
  log: (entry: Record<string, unknown>) => void;
}

const RUNTIME = { name: "altgate-model-runtime", version: "1.0.0" };

const errorBody = (message: string) => ({ error: message });

/** The Open Inference Protocol (KServe v2) REST API over the loaded models. */
export function createApp(models: Map<string, LoadedModel>, opts: AppOptions): Hono {
  const app = new Hono();

  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    opts.log({ level: "info", msg: "request", method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) });
  });

  /** Resolves the model of a route; the version segment, when present, must be the one served. */
  const model = (c: Context): LoadedModel => {
    const name = c.req.param("name")!;
    const found = models.get(name);
    if (!found) throw new RequestError(`model ${show(name)} is not served here; models: ${[...models.keys()].join(", ")}`, 404);
    const version = c.req.param("version");
    if (version !== undefined && version !== found.manifest.version) {
      throw new RequestError(`model ${name} has no version ${show(version)}; it serves ${found.manifest.version}`, 404);
    }
    return found;
  };

  app.get("/v2", (c) => c.json({ ...RUNTIME, extensions: [] }));
  app.get("/v2/health/live", (c) => c.json({ live: true }));
  app.get("/v2/health/ready", (c) => (opts.ready() ? c.json({ ready: true }) : c.json({ ready: false }, 503)));

  for (const base of ["/v2/models/:name", "/v2/models/:name/versions/:version"]) {
    app.get(base, (c) => {
      const { manifest } = model(c);
      const tensor = ({ name, datatype, shape }: { name: string; datatype: string; shape: number[] }) => ({ name, datatype, shape });
      return c.json({
        name: manifest.name,
        versions: [manifest.version],
        platform: "onnxruntime",
        inputs: manifest.inputs.map(tensor),
        outputs: manifest.outputs.map(tensor),
      });
    });

    app.get(`${base}/ready`, (c) => c.json({ name: model(c).manifest.name, ready: opts.ready() }, opts.ready() ? 200 : 503));

    app.post(
      `${base}/infer`,
      bodyLimit({
        maxSize: opts.maxBodyBytes,
        // The unread rest of the body is still on the connection: close it rather than let a client reuse it.
        onError: (c) =>
          c.json(errorBody(`the request body is larger than ${opts.maxBodyBytes} bytes`), 413, { connection: "close" }),
      }),
      async (c) => {
        const target = model(c);
        const text = await c.req.text();
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch (err) {
          throw new RequestError(`the request body is not valid JSON: ${(err as Error).message}`);
        }
        return c.json(await infer(target, body));
      },
    );
  }

  app.notFound((c) => c.json(errorBody(`no route for ${c.req.method} ${c.req.path}`), 404));

  app.onError((err, c) => {
    if (err instanceof RequestError) return c.json(errorBody(err.message), err.status as 400 | 404);
    opts.log({ level: "error", msg: "request failed", method: c.req.method, path: c.req.path, error: String(err) });
    return c.json(errorBody("inference failed; see the runtime's log"), 500);
  });

  return app;
}
