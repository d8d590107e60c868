/**
 * Short-lived state of a call that its next request may need on another
 * instance, kept in the shared call store (Deno KV) under
 * `["call_state", kind, CallSid]`: the caller context the context webhook
 * answered at `/incoming-call` (or `/outbound/twiml`), which the media stream
 * fills `{{caller.*}}` with, and the conversation an outbound call carries to
 * its next stream after keypad tones (`send_dtmf`). Reading does not remove
 * a value (a request that is refused later must not use it up); each
 * expires on its own (its deadline is kept in the value too: Deno KV may
 * return an expired key until it collects it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SharedCallState } from "./shared_call_state.ts";
 * const kv = await Deno.openKv(":memory:");
 * let now = 0;
 * const state = new SharedCallState(kv, { now: () => now });
 * await state.put("caller_context", "CA1", { name: "Ada" }, 120_000);
 * assert.deepEqual(await state.get("caller_context", "CA1"), { name: "Ada" });
 * assert.equal(await state.get("stream_handoff", "CA1"), undefined);
 * now = 120_000;
 * assert.equal(await state.get("caller_context", "CA1"), undefined); // expired
 * kv.close();
 * ```
 *
 * @module
 */
import { commitKv } from "./kv_commit.ts";

/** What is kept. */
export type SharedStateKind = "caller_context" | "stream_handoff";

/** Options of {@link SharedCallState}. */
export interface SharedCallStateOptions {
  /** Wall clock in ms. Default `Date.now`. */
  now?: () => number;
}

const KEY = "call_state";

/** Per-call state every instance on one KV reads. */
export class SharedCallState {
  #kv: Deno.Kv;
  #now: () => number;

  /** Uses `kv` (not closed here). */
  constructor(kv: Deno.Kv, options: SharedCallStateOptions = {}) {
    this.#kv = kv;
    this.#now = options.now ?? Date.now;
  }

  /** Keeps `value` for the call's next request, for `ttlMs`. */
  async put(kind: SharedStateKind, callSid: string, value: unknown, ttlMs: number): Promise<void> {
    const expiresAt = this.#now() + ttlMs;
    await commitKv(
      this.#kv.atomic().set([KEY, kind, callSid], { value, expiresAt }, { expireIn: ttlMs }),
    );
  }

  /** The value kept for the call (undefined when none or expired). */
  async get<T>(kind: SharedStateKind, callSid: string): Promise<T | undefined> {
    const entry = await this.#kv.get<{ value: T; expiresAt: number }>([KEY, kind, callSid]);
    if (entry.value === null || entry.value.expiresAt <= this.#now()) return undefined;
    return entry.value.value;
  }
}
