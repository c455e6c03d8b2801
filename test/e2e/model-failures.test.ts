import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startStack, type Stack } from "../harness/stack.ts";
import { runRoot } from "../harness/paths.ts";
import { modelDir } from "../harness/components/models.ts";
import { startMlserver, type Mlserver } from "../harness/mlserver.ts";
import { startStub, type Stub } from "../../server/test/support/oip-stub.ts";
import { reference, nest } from "./support/reference.ts";

// A stack of its own, with two more models in the server's registry: an unmodified MLServer
// (PyPI) serving the native scikit-learn iris model, and a deliberately misbehaving container
// (the server's fault-injecting stub) that the tests stop, slow down or make talk garbage.
const TIMEOUT_MS = 1500;
let stack: Stack;
let faulty: Stub;
let mlserver: Mlserver;
let token: string;

beforeAll(async () => {
  const dir = join(runRoot, `model-failures-${process.pid}`);
  mkdirSync(join(dir, "faulty-iris"), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(modelDir("iris-classifier"), "manifest.json"), "utf8"));
  writeFileSync(join(dir, "faulty-iris", "manifest.json"), JSON.stringify({ ...manifest, name: "faulty-iris" }));
  faulty = await startStub();
  mlserver = await startMlserver(modelDir("mlserver-iris"), dir);
  stack = await startStack({
    extraModels: [
      { manifest: join(dir, "faulty-iris", "manifest.json"), endpoint: faulty.url, timeout_ms: TIMEOUT_MS },
      { manifest: join(modelDir("mlserver-iris"), "manifest.json"), endpoint: mlserver.url },
    ],
  });
  const res = await fetch(stack.keycloak.tokenEndpoint, {
    method: "POST",
    body: new URLSearchParams({ grant_type: "password", client_id: "altgate-cli", username: "alice", password: "alice-password" }),
  });
  token = ((await res.json()) as { access_token: string }).access_token;
}, 400_000);

afterAll(async () => {
  await stack?.stop();
  await mlserver?.stop();
  await faulty?.stop();
}, 60_000);

const irisInputs = () => {
  const ref = reference("iris-classifier");
  return JSON.stringify({ inputs: { features: nest(ref.inputs[0]!) } });
};

const predict = (model: string) =>
  fetch(`${stack.envoy.url}/v1/models/${model}/predict`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: irisInputs(),
  });

async function expectRecovered(): Promise<void> {
  faulty.mode = "ok";
  expect((await fetch(`${stack.server.url}/readyz`)).status).toBe(200);
  expect((await predict("faulty-iris")).status).toBe(200);
  expect((await predict("iris-classifier")).status).toBe(200);
}

async function errorOf(res: Response): Promise<{ status: number; error: string; request_id: string }> {
  const body = (await res.json()) as { error: string; request_id: string };
  return { status: res.status, error: body.error, request_id: body.request_id };
}

describe("a misbehaving model container", () => {
  it("down: 503 with Retry-After; back: ready and serving again", async () => {
    await faulty.stop();
    const res = await predict("faulty-iris");
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await errorOf(res)).toMatchObject({ status: 503, error: "temporarily_unavailable" });
    // The other models are unaffected while it is down.
    expect((await predict("iris-classifier")).status).toBe(200);
    await faulty.restart();
    await expectRecovered();
  });

  it("slower than the timeout: 504", async () => {
    faulty.mode = "slow";
    faulty.delayMs = TIMEOUT_MS * 3;
    const started = Date.now();
    expect(await errorOf(await predict("faulty-iris"))).toMatchObject({ status: 504, error: "gateway_timeout" });
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 3);
    await expectRecovered();
  });

  it.each(["not-json", "wrong-shape", "truncated", "not-http"] as const)("answering garbage (%s): 502, and the server stays healthy", async (mode) => {
    faulty.mode = mode;
    expect(await errorOf(await predict("faulty-iris"))).toMatchObject({ status: 502, error: "bad_gateway" });
    await expectRecovered();
  });
});

describe("an unmodified third-party Open Inference Protocol server", () => {
  it("MLServer serving a native scikit-learn model answers through altgate like the ONNX model", async () => {
    const res = await predict("mlserver-iris");
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as { outputs: { predict: number[][] } };
    const expected = reference("iris-classifier").outputs.find((o) => o.name === "label")!.data;
    expect(body.outputs.predict.flat()).toEqual(expected);
  });
});
