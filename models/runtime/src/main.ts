import { serve } from "@hono/node-server";
import { createApp } from "./app.ts";
import { HELP, parseConfig, UsageError, type Config } from "./config.ts";
import { loadModels, releaseModels } from "./models.ts";

const log = (entry: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);

let config: Config | "help";
try {
  config = parseConfig(process.argv.slice(2), process.env);
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`altgate-model-runtime: ${err.message}\nRun with --help for usage.\n`);
  process.exit(2);
}
if (config === "help") {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const cfg = config;

const models = await loadModels(cfg.modelDirs, { threads: cfg.threads }).catch((err: Error) => {
  process.stderr.write(`altgate-model-runtime: cannot load models: ${err.message}\n`);
  process.exit(1);
});
for (const { manifest, dir } of models.values()) {
  log({ level: "info", msg: "model loaded", model: manifest.name, version: manifest.version, framework: manifest.framework, dir });
}

let ready = true;
const app = createApp(models, { maxBodyBytes: cfg.maxBodyBytes, ready: () => ready, log });
const server = serve({ fetch: app.fetch, port: cfg.port, hostname: cfg.host }, (info) => {
  log({ level: "info", msg: "listening", address: info.address, port: info.port, models: [...models.keys()] });
});
server.on("error", (err) => {
  process.stderr.write(`altgate-model-runtime: cannot listen on ${cfg.host}:${cfg.port}: ${err.message}\n`);
  process.exit(1);
});

function shutdown(signal: string) {
  ready = false;
  log({ level: "info", msg: "shutting down", signal });
  server.close(() => {
    releaseModels(models).finally(() => process.exit(0));
  });
  // Keep-alive connections would hold close() open; a short grace period is enough for in-flight inferences.
  setTimeout(() => process.exit(0), 5_000).unref();
}
process.once("SIGTERM", () => shutdown("SIGTERM"));
process.once("SIGINT", () => shutdown("SIGINT"));
