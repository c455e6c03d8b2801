/**
 * The Dockerfiles and compose.yaml, checked without a Docker engine: instructions and references
 * are linted, and each Dockerfile's stages are replayed in a scratch folder (COPY and RUN as
 * written, except that `npm ci` links this checkout's node_modules), after which the image's CMD
 * and HEALTHCHECK run for real.
 */
import { afterAll, describe, expect, it } from "vitest";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { names, onnxModels, ports, repoRoot, uids } from "../../deploy/definition.ts";
import { COMPOSE, composeBootstrap } from "../../deploy/render.ts";
import { freePort } from "../harness/ports.ts";
import { find, podTemplate, read, rendered } from "./deploy-support.ts";

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

function parseDockerfile(path: string): Stage[] {
  const lines = read(path)
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\S+)\s+(.*)$/.exec(line)!;
    if (op!.toUpperCase() === "FROM") {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args!)!;
      stages.push({ from: from!, name, instructions: [] });
    } else stages.at(-1)!.instructions.push({ op: op!.toUpperCase(), args: args! });
  }
  return stages;
}

/** The .dockerignore patterns used here: paths, `*` within a segment, `**` across segments. */
const ignored = (() => {
  const patterns = read(".dockerignore")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*\//g, "(.*/)?").replace(/\*/g, "[^/]*")}(/.*)?$`));
  return (path: string) => patterns.some((re) => re.test(path));
})();

const copyArgs = (args: string) => {
  const words = args.split(/\s+/);
  const from = words.find((w) => w.startsWith("--from="))?.slice(7);
  const paths = words.filter((w) => !w.startsWith("--"));
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
};

const scratch = mkdtempSync(join(tmpdir(), "altgate-docker-"));
const running: ChildProcess[] = [];
afterAll(() => {
  for (const p of running) p.kill("SIGKILL");
  rmSync(scratch, { recursive: true, force: true });
});

/** Replays the stages; returns the final stage's root, working folder and environment. */
async function replay(dockerfile: string) {
  const stages = parseDockerfile(dockerfile);
  const roots = new Map<string, string>();
  let result = { root: "", workdir: "/", env: {} as Record<string, string>, cmd: [] as string[], healthcheck: [] as string[] };
  for (const [i, stage] of stages.entries()) {
    const root = join(scratch, `${dockerfile.replace(/\W/g, "_")}-${i}`);
    mkdirSync(root, { recursive: true });
    if (stage.name) roots.set(stage.name, root);
    let workdir = "/";
    const env: Record<string, string> = {};
    let cmd: string[] = [];
    let healthcheck: string[] = [];
    const inside = (p: string) => join(root, p.startsWith("/") ? p : join(workdir, p));
    for (const { op, args } of stage.instructions) {
      if (op === "WORKDIR") mkdirSync(inside((workdir = args)), { recursive: true });
      else if (op === "ENV") for (const [, k, v] of args.matchAll(/(\w+)=(\S+)/g)) env[k!] = v!;
      else if (op === "COPY") {
        const { from, sources, dest } = copyArgs(args);
        for (const source of sources) {
          const origin = from ? join(roots.get(from)!, source) : join(repoRoot, source);
          const target = dest.endsWith("/") || sources.length > 1 ? join(inside(dest), source.split("/").at(-1)!) : inside(dest);
          cpSync(origin, target, {
            recursive: true,
            filter: (src) => from !== undefined || !ignored(relative(repoRoot, src)),
          });
        }
      } else if (op === "RUN") {
        for (const command of args.split("&&").map((c) => c.trim())) {
          if (/^npm ci\b/.test(command)) symlinkSync(join(repoRoot, "node_modules"), inside("node_modules"));
          else if (/^npm cache clean\b/.test(command)) continue;
          else await promisify(execFile)("sh", ["-c", command], { cwd: inside("."), env: { ...process.env, ...env }, timeout: 120_000 });
        }
      } else if (op === "CMD") cmd = JSON.parse(args) as string[];
      else if (op === "HEALTHCHECK") healthcheck = JSON.parse(args.slice(args.indexOf("CMD") + 3).trim()) as string[];
    }
    result = { root, workdir: inside("."), env, cmd, healthcheck };
  }
  return { stages, ...result };
}

describe.each(["server/Dockerfile", "models/runtime/Dockerfile"])("%s", (dockerfile) => {
  const stages = parseDockerfile(dockerfile);
  const final = stages.at(-1)!;
  const ops = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op).map((i) => i.args);

  it("builds on node:20-slim, installs production dependencies only, runs unprivileged with a health check", () => {
    for (const s of stages) expect(s.from).toBe("node:20-slim");
    expect(ops(final, "RUN").some((r) => r.includes("npm ci --omit=dev"))).toBe(true);
    expect(ops(final, "COPY").some((c) => c.includes(".npmrc"))).toBe(true);
    expect(read(".npmrc")).toMatch(/^onnxruntime-node-install=skip$/m);
    expect(ops(final, "USER")).toEqual([`${uids.node}:${uids.node}`]);
    expect(ops(final, "HEALTHCHECK")).toHaveLength(1);
    expect(ops(final, "CMD")).toHaveLength(1);
  });

  it("copies only sources that exist and that .dockerignore lets into the context", () => {
    for (const s of stages)
      for (const c of ops(s, "COPY")) {
        const { from, sources } = copyArgs(c);
        if (from) expect(stages.map((x) => x.name)).toContain(from);
        else
          for (const source of sources) {
            expect(existsSync(join(repoRoot, source)), source).toBe(true);
            expect(ignored(source), `${source} is excluded by .dockerignore`).toBe(false);
          }
      }
  });

  it("exposes the port its Kubernetes Deployment sends to, running as the user the Deployment sets", () => {
    const [deployment, port] = dockerfile.startsWith("server") ? [names.server, ports.server] : [`model-${onnxModels[0]}`, ports.modelRuntime];
    expect(ops(final, "EXPOSE")).toEqual([String(port)]);
    const container = podTemplate(find(rendered.prod!, "Deployment", deployment)).spec.containers[0];
    expect(container.ports[0].containerPort).toBe(port);
    expect(container.securityContext.runAsUser).toBe(uids.node);
  });
});

const waitFor = async (check: () => Promise<boolean>, ms: number) => {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) if (await check()) return true;
  return false;
};

describe("replaying the Dockerfiles", () => {
  it("the model runtime image serves a model and passes its own health check", async () => {
    const image = await replay("models/runtime/Dockerfile");
    for (const m of onnxModels) {
      expect(existsSync(join(image.workdir, "models", m, "manifest.json")), m).toBe(true);
      expect(existsSync(join(image.workdir, "models", m, "reference.json")), `${m}: reference.json is left out`).toBe(false);
    }
    expect(existsSync(join(image.workdir, "models/train"))).toBe(false);
    expect(existsSync(join(image.workdir, "models/runtime/src/main.js"))).toBe(true);
    const port = await freePort();
    const env = { ...process.env, ...image.env, PORT: String(port), HOST: "127.0.0.1", ALTGATE_MODELS: join(image.workdir, "models", onnxModels[0]!) };
    const proc = spawn(image.cmd[0]!, image.cmd.slice(1), { cwd: image.workdir, env, stdio: "ignore" });
    running.push(proc);
    const healthy = await waitFor(
      () =>
        new Promise((resolve) => {
          const check = spawn(image.healthcheck[0]!, image.healthcheck.slice(1), { env, stdio: "ignore" });
          check.on("exit", (code) => resolve(code === 0));
        }),
      30_000,
    );
    expect(healthy).toBe(true);
    const metadata = await fetch(`http://127.0.0.1:${port}/v2/models/${onnxModels[0]}`);
    expect(metadata.status).toBe(200);
  }, 120_000);

  it("the server image's modules load and its configuration check runs", async () => {
    const image = await replay("server/Dockerfile");
    for (const dir of ["server/src/main.js", "server/drizzle", "server/portal/index.html"]) expect(existsSync(join(image.workdir, dir)), dir).toBe(true);
    const env: Record<string, string> = { PATH: process.env.PATH!, ...image.env, DATABASE_URL: "mysql://wrong" };
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const proc = spawn(image.cmd[0]!, image.cmd.slice(1), { cwd: image.workdir, env });
      let stderr = "";
      proc.stderr.on("data", (d) => (stderr += d));
      proc.on("exit", (code) => resolve({ code, stderr }));
    });
    // Exit status 2 names every bad variable: the whole module graph loaded first.
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain("DATABASE_URL");
    expect(result.stderr).toContain("ALTGATE_INTROSPECTION_CLIENT_ID");
  }, 120_000);
});

describe("compose.yaml", () => {
  const compose = parse(read("compose.yaml")) as { services: Record<string, any>; configs: Record<string, any>; volumes: Record<string, unknown> };
  const services = compose.services;

  it("has the local stack's components", () => {
    expect(Object.keys(services).sort()).toEqual(["envoy", "keycloak", "model-runtime", "postgres", "server"]);
  });

  it("resolves every reference: network namespaces, dependencies, configs, volumes, builds", () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.network_mode) expect(Object.keys(services), name).toContain(s.network_mode.replace(/^service:/, ""));
      for (const dep of Object.keys(s.depends_on ?? {})) expect(Object.keys(services), `${name} → ${dep}`).toContain(dep);
      for (const c of s.configs ?? []) expect(Object.keys(compose.configs), `${name} config`).toContain(c.source);
      if (s.build) {
        expect(existsSync(join(repoRoot, s.build.context, s.build.dockerfile)), `${name} build`).toBe(true);
      } else expect(s.image, name).toBeDefined();
      for (const v of s.volumes ?? []) {
        const [source] = (v as string).split(":");
        if (source!.startsWith(".")) {
          // Built by npm run build:filter, which the unit project's global setup has run.
          expect(existsSync(join(repoRoot, source!)), `${name}: ${source}`).toBe(true);
        } else expect(Object.keys(compose.volumes), `${name}: ${source}`).toContain(source);
      }
    }
  });

  it("publishes only Envoy's listener and Keycloak, from the namespace every service shares", () => {
    const shared = Object.entries(services).filter(([, s]) => s.network_mode === "service:envoy").map(([n]) => n);
    expect(shared.sort()).toEqual(["keycloak", "model-runtime", "postgres", "server"]);
    expect(services.envoy.ports).toEqual([`127.0.0.1:${COMPOSE.listenerPort}:${COMPOSE.listenerPort}`, `127.0.0.1:${COMPOSE.keycloakPort}:${COMPOSE.keycloakPort}`]);
    for (const n of shared) expect(services[n].ports, n).toBeUndefined();
  });

  it("gives Envoy the standalone configuration with the filter, and the server a registry of existing manifests", () => {
    expect(parse(compose.configs.envoy.content)).toEqual(composeBootstrap());
    const registry = JSON.parse(compose.configs.model_registry.content) as { manifest: string; endpoint: string }[];
    const mount = (services.server.volumes as string[]).map((v) => v.split(":")).find(([src]) => src === "./models")!;
    for (const entry of registry) {
      const local = join(repoRoot, "models", relative(mount[1]!, entry.manifest));
      expect(statSync(local).isFile(), entry.manifest).toBe(true);
      expect(entry.endpoint).toBe(`http://127.0.0.1:${services["model-runtime"].environment.PORT}`);
    }
    expect(registry.map((e) => dirname(e.manifest).split("/").at(-1))).toEqual(onnxModels);
    expect(services.server.environment.PORT).toBe(String(COMPOSE.serverPort));
    expect(services.server.read_only).toBe(true);
    expect(services["model-runtime"].read_only).toBe(true);
  });
});
