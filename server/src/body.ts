/**
 * Reads a request body with a size limit enforced while reading (a body is never buffered past
 * the limit, whatever Content-Length claims), then parses it as JSON. 413 and 400 come from here.
 */
import type { IncomingMessage } from "node:http";
import { tooLarge, unparsable } from "./errors.ts";

export async function readBody(req: Request, limit: number): Promise<Buffer> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    await req.body?.cancel().catch(() => undefined);
    throw tooLarge(limit);
  }
  if (!req.body) return Buffer.alloc(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? Buffer.from(chunks[0]!.buffer, chunks[0]!.byteOffset, chunks[0]!.byteLength) : Buffer.concat(chunks, n);
}

/** JSON.parse with a 400 that says where it failed (V8's message: position, never the body itself). */
export function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) throw unparsable("the body is empty");
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    const msg = (err as Error).message;
    // V8 quotes a snippet of the input in some messages; keep only the position.
    const pos = /position (\d+)/.exec(msg);
    throw unparsable(pos ? `syntax error at position ${pos[1]}` : "syntax error");
  }
}

/**
 * The same from Node's IncomingMessage, which @hono/node-server passes as `c.env.incoming`:
 * reading it directly spares building a web Request and a ReadableStream for every request.
 */
export function readIncoming(incoming: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = incoming.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const done = (err?: Error) => {
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("error", onError);
      incoming.off("aborted", onAborted);
      if (err) {
        // Stop reading; the adapter destroys an incoming message that was not read to its end.
        incoming.pause();
        reject(err);
      } else {
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, n));
      }
    };
    const onData = (chunk: Buffer) => {
      n += chunk.length;
      if (n > limit) return done(tooLarge(limit));
      chunks.push(chunk);
    };
    const onEnd = () => done();
    const onError = (err: Error) => done(err);
    const onAborted = () => done(new Error("request aborted"));
    incoming.on("data", onData);
    incoming.on("end", onEnd);
    incoming.on("error", onError);
    incoming.on("aborted", onAborted);
  });
}

/**
 * The request body as JSON: from Node's IncomingMessage when the app runs under @hono/node-server
 * (and nothing has read the body yet), otherwise from the web Request (app.request() in tests).
 */
export async function readJson(req: Request, limit: number, env?: unknown): Promise<unknown> {
  const incoming = (env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming && !incoming.readableEnded && incoming.readableFlowing === null) return parseJson(await readIncoming(incoming, limit));
  return parseJson(await readBody(req, limit));
}
