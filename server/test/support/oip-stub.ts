/**
 * An in-process stand-in for a model container, for unit tests of the server's failure handling:
 * a node:http server on 127.0.0.1 speaking enough of the Open Inference Protocol to answer an
 * iris-like model correctly, and able to misbehave on demand (slowly, with garbage, not at all).
 * The real containers are exercised by the end-to-end tests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type StubMode =
  | "ok"
  | "slow" // answers correctly after `delayMs`
  | "hang" // reads the request, never answers
  | "not-json" // 200 with a body that is not JSON
  | "wrong-shape" // probabilities with 2 columns instead of 3
  | "wrong-datatype" // label as FP32
  | "missing-output" // no probabilities
  | "bad-label" // class index 7 (no such label)
  | "wrong-batch" // one row fewer than asked
  | "status-500"
  | "status-503"
  | "status-400"
  | "not-http" // raw bytes that are not HTTP, then close
  | "reset" // close the connection without answering
  | "huge" // a 200 answer larger than any sane limit
  | "truncated"; // promises more bytes than it sends, then closes

export interface Stub {
  url: string;
  port: number;
  mode: StubMode;
  delayMs: number;
  ready: boolean;
  /** Inference requests received (parsed bodies). */
  requests: { model: string; body: unknown; headers: IncomingMessage["headers"] }[];
  /** TCP connections accepted since start. */
  connections: number;
  stop(): Promise<void>;
  /** Listens again on the same port after stop(). */
  restart(): Promise<void>;
}

interface OipInput {
  name: string;
  shape: number[];
  datatype: string;
  data: number[];
}

function answer(model: string, body: { id?: string; inputs: OipInput[] }, mode: StubMode) {
  const input = body.inputs[0]!;
  const rows = input.shape[0]!;
  const width = input.shape[1] ?? 1;
  const labels: number[] = [];
  const probs: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = input.data.slice(r * width, (r + 1) * width);
    // A deterministic "model": the class is the index of the largest of the first three values.
    const top = row.slice(0, 3);
    const k = top.indexOf(Math.max(...top));
    labels.push(mode === "bad-label" ? 7 : k);
    probs.push(...[0, 1, 2].map((i) => (i === k ? 0.9 : 0.05)));
  }
  const outRows = mode === "wrong-batch" ? rows - 1 : rows;
  const outputs: unknown[] = [
    { name: "label", datatype: mode === "wrong-datatype" ? "FP32" : "INT64", shape: [outRows], data: labels.slice(0, outRows) },
  ];
  if (mode !== "missing-output") {
    const cols = mode === "wrong-shape" ? 2 : 3;
    outputs.push({ name: "probabilities", datatype: "FP32", shape: [outRows, cols], data: probs.slice(0, outRows * cols) });
  }
  return { model_name: model, model_version: "1", id: body.id, outputs };
}

function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export async function startStub(port = 0): Promise<Stub> {
  const sockets = new Set<Socket>();
  let server: Server;
  const stub: Stub = {
    url: "",
    port,
    mode: "ok",
    delayMs: 1000,
    ready: true,
    requests: [],
    connections: 0,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
    async restart() {
      await listen(stub.port);
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    if (req.method === "GET" && req.url === "/v2/health/ready") {
      res.writeHead(stub.ready ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify({ ready: stub.ready }));
      return;
    }
    const m = /^\/v2\/models\/([^/]+)\/infer$/.exec(req.url ?? "");
    if (req.method !== "POST" || !m) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not found" }));
      return;
    }
    const model = decodeURIComponent(m[1]!);
    const text = await readAll(req);
    const body = JSON.parse(text) as { id?: string; inputs: OipInput[] };
    stub.requests.push({ model, body, headers: req.headers });
    const json = (status: number, value: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
    switch (stub.mode) {
      case "slow":
        setTimeout(() => {
          if (!res.destroyed) json(200, answer(model, body, "ok"));
        }, stub.delayMs);
        return;
      case "hang":
        return;
      case "not-json":
        res.writeHead(200, { "content-type": "application/json" }).end("<html>Internal error: <b>oops</b></html>");
        return;
      case "status-500":
        return json(500, { error: "Traceback (most recent call last): secret internals" });
      case "status-503":
        return json(503, { error: "model is loading" });
      case "status-400":
        return json(400, { error: "bad input" });
      case "not-http":
        req.socket.end("SSH-2.0-OpenSSH_9.6\r\n\x00\x01garbage\r\n\r\n");
        return;
      case "reset":
        req.socket.destroy();
        return;
      case "huge":
        res.writeHead(200, { "content-type": "application/json" });
        res.end(`{"outputs": [], "pad": "${"x".repeat(2 * 1024 * 1024)}"}`);
        return;
      case "truncated":
        res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
        res.write('{"model_name": "iris", "outputs": [');
        setTimeout(() => req.socket.destroy(), 20);
        return;
      default:
        return json(200, answer(model, body, stub.mode));
    }
  }

  async function listen(p: number) {
    server = createServer((req, res) => {
      handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    server.on("connection", (s: Socket) => {
      stub.connections++;
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(p, "127.0.0.1", () => resolve());
    });
    stub.port = (server.address() as AddressInfo).port;
    stub.url = `http://127.0.0.1:${stub.port}`;
  }

  await listen(port);
  return stub;
}
