import { WasmResult } from "./abi-constants.ts";

/** Where Envoy delivers proxy_on_queue_ready: the root context of the VM that registered last. */
export interface QueueOwner {
  notifyQueueReady(token: number): void;
}

interface Queue {
  owner: QueueOwner;
  items: Uint8Array[];
}

/**
 * Proxy-wide shared queues keyed by (vm_id, name), like proxy-wasm-cpp-host's SharedQueue:
 * registering an existing name keeps its token and items but moves notifications to the new
 * registrant. A notification is posted to run later, as Envoy posts it to the owner's thread.
 */
export class SharedQueues {
  private readonly tokens = new Map<string, number>();
  private readonly queues = new Map<number, Queue>();
  private nextToken = 1;

  constructor(private readonly post: (task: () => void) => void) {}

  register(vmId: string, name: string, owner: QueueOwner): number {
    const key = JSON.stringify([vmId, name]);
    let token = this.tokens.get(key);
    if (token === undefined) {
      token = this.nextToken++;
      this.tokens.set(key, token);
      this.queues.set(token, { owner, items: [] });
    }
    this.queues.get(token)!.owner = owner;
    return token;
  }

  /** 0 when no such queue exists (0 is never a valid token). */
  resolve(vmId: string, name: string): number {
    return this.tokens.get(JSON.stringify([vmId, name])) ?? 0;
  }

  enqueue(token: number, item: Uint8Array): WasmResult {
    const queue = this.queues.get(token);
    if (!queue) return WasmResult.NotFound;
    queue.items.push(item.slice());
    const owner = queue.owner;
    this.post(() => owner.notifyQueueReady(token));
    return WasmResult.Ok;
  }

  dequeue(token: number): { result: WasmResult; item?: Uint8Array } {
    const queue = this.queues.get(token);
    if (!queue) return { result: WasmResult.NotFound };
    const item = queue.items.shift();
    return item ? { result: WasmResult.Ok, item } : { result: WasmResult.Empty };
  }
}
