// Test entry for memo.ts: entries cross the boundary as (hash, insertedAt, expiresAt, subject).
import { IdentityMemo, MemoEntry } from "../../assembly/memo";
import { Identity, IdentityHeaderNames, prepareIdentityHeaders } from "../../assembly/identity";

let memo = new IdentityMemo(4);

export function reset(size: i32): void {
  memo = new IdentityMemo(size);
}

export function remember(hash: ArrayBuffer, insertedAt: i64, expiresAt: i64, subject: string): void {
  const id = new Identity();
  id.subject = subject;
  const entry = new MemoEntry(Uint8Array.wrap(hash.slice(0)), insertedAt, expiresAt, id, prepareIdentityHeaders(id, new IdentityHeaderNames("x-")), new Uint8Array(0));
  memo.remember(entry);
}

/** The remembered subject, or "" when the memo has no entry made from exactly this cache entry. */
export function find(hash: ArrayBuffer, insertedAt: i64, expiresAt: i64): string {
  const e = memo.find(Uint8Array.wrap(hash), insertedAt, expiresAt);
  return e === null ? "" : e.identity.subject;
}
