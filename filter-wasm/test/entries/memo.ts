// Test entry for memo.ts: a memo under a given key; tokens cross the boundary as strings (their
// UTF-8 bytes are what gets tagged), identities as their subject.
import { IdentityMemo, MemoEntry } from "../../assembly/memo";
import { Identity, IdentityHeaderNames, prepareIdentityHeaders } from "../../assembly/identity";

let memo = new IdentityMemo(null);

/** A memo of `size` slots under `key` (16 bytes), or a memo without a key when `key` is empty. */
export function reset(key: ArrayBuffer, size: i32): void {
  memo = new IdentityMemo(key.byteLength == 0 ? null : Uint8Array.wrap(key), size);
}

export function remember(token: string, expiresAt: i64, subject: string): void {
  const bytes = String.UTF8.encode(token);
  memo.tag(changetype<usize>(bytes), bytes.byteLength);
  const id = new Identity();
  id.subject = subject;
  memo.remember(new MemoEntry(memo.lastLo, memo.lastHi, expiresAt, id, prepareIdentityHeaders(id, new IdentityHeaderNames("x-")), new Uint8Array(0)));
}

/** The remembered subject for `token` at `now`, or "" when the memo has no live entry for it. */
export function find(token: string, now: i64): string {
  const bytes = String.UTF8.encode(token);
  memo.tag(changetype<usize>(bytes), bytes.byteLength);
  const e = memo.find(memo.lastLo, memo.lastHi, now);
  return e === null ? "" : e.identity.subject;
}
