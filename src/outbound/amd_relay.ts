/**
 * Hands the answering-machine result of an outbound call to its live media
 * stream. Twilio posts `AnsweredBy` to `/outbound/amd` whenever detection
 * ends, which may be before the stream's `start` (a machine detected in a
 * second) or long after (a person who says nothing); the call's runner
 * subscribes by CallSid when its stream starts and hears the result once,
 * whichever comes first.
 *
 * {@link AmdRelay} works within one process (results are kept a while for
 * late subscribers). With several instances behind a load balancer the
 * callback may land on another instance: {@link watchAmdInKv} follows the
 * attempt in Deno KV (`calls/kv_follow.ts`: `kv.watch`, and reads for the
 * writes of other processes on a KV file), where every instance's dialer
 * records it,
 * and {@link followAmd} (what the streams use) hears whichever comes first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AmdRelay } from "./amd_relay.ts";
 * let now = 0;
 * const relay = new AmdRelay({ now: () => now, keepMs: 60_000 });
 * relay.publish("CA1", "machine_end_beep"); // before the stream started
 * const heard: string[] = [];
 * relay.subscribe("CA1", (result) => heard.push(result));
 * assert.deepEqual(heard, ["machine_end_beep"]);
 * now = 61_000;
 * relay.subscribe("CA1", (result) => heard.push(result)); // forgotten by now
 * assert.equal(heard.length, 1);
 * ```
 *
 * @module
 */
import type { AnsweredBy } from "./call_progress.ts";
import type { OutboundAttempt } from "./attempt_store.ts";
import { followKv } from "../calls/kv_follow.ts";

/** Called once with the AMD result. */
export type AmdListener = (answeredBy: AnsweredBy) => void;

/** Options of {@link AmdRelay}. */
export interface AmdRelayOptions {
  /** Monotonic or wall clock in ms. Default `Date.now`. */
  now?: () => number;
  /** How long a result waits for its stream. Default 2 minutes. */
  keepMs?: number;
  /** Most results kept. Default 10 000. */
  maxKept?: number;
}

/** Delivers AMD results to the streams of one process. */
export class AmdRelay {
  #now: () => number;
  #keepMs: number;
  #max: number;
  #results = new Map<string, { answeredBy: AnsweredBy; at: number }>();
  #listeners = new Map<string, Set<AmdListener>>();

  /** Creates an empty relay. */
  constructor(options: AmdRelayOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#keepMs = options.keepMs ?? 120_000;
    this.#max = options.maxKept ?? 10_000;
  }

  /** A result arrived (from the AMD callback). */
  publish(callSid: string, answeredBy: AnsweredBy): void {
    const listeners = this.#listeners.get(callSid);
    if (listeners !== undefined && listeners.size > 0) {
      this.#listeners.delete(callSid);
      for (const listener of listeners) listener(answeredBy);
      return;
    }
    this.#forgetOld();
    this.#results.set(callSid, { answeredBy, at: this.#now() });
    while (this.#results.size > this.#max) {
      this.#results.delete(this.#results.keys().next().value!);
    }
  }

  /**
   * Calls `listener` once with the call's result: at once when it is already
   * known, else when it arrives. Returns the unsubscribe function.
   */
  subscribe(callSid: string, listener: AmdListener): () => void {
    this.#forgetOld();
    const known = this.#results.get(callSid);
    if (known !== undefined) {
      this.#results.delete(callSid);
      listener(known.answeredBy);
      return () => {};
    }
    let set = this.#listeners.get(callSid);
    if (set === undefined) this.#listeners.set(callSid, set = new Set());
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(callSid);
    };
  }

  /** Calls waiting for a result (for tests and metrics). */
  get waiting(): number {
    return this.#listeners.size;
  }

  #forgetOld(): void {
    const cutoff = this.#now() - this.#keepMs;
    for (const [callSid, result] of this.#results) {
      if (result.at >= cutoff) break;
      this.#results.delete(callSid);
    }
  }
}

/**
 * Follows an attempt in KV until its AMD result is recorded (by any
 * instance), then calls `listener` once. Returns the stop function (call it
 * when the stream ends).
 */
export function watchAmdInKv(kv: Deno.Kv, callSid: string, listener: AmdListener): () => void {
  return followKv<OutboundAttempt>(kv, ["outbound_calls", callSid], (attempt) => {
    const answeredBy = attempt?.answeredBy;
    if (answeredBy === undefined) return false;
    listener(answeredBy);
    return true;
  });
}

/**
 * Hears a call's AMD result once, from whichever has it first: this
 * process's `relay` (the callback landed here), or, with a KV that every
 * instance shares (`CALL_STORE_PATH`: one file, a KV Connect URL, or Deno Deploy's KV),
 * the attempt record another instance's dialer wrote. Returns the stop
 * function (call it when the stream ends).
 */
export function followAmd(
  relay: AmdRelay,
  kv: Deno.Kv | undefined,
  callSid: string,
  listener: AmdListener,
): () => void {
  let heard = false;
  let stopLocal = () => {};
  let stopKv = () => {};
  const once = (answeredBy: AnsweredBy) => {
    if (heard) return;
    heard = true;
    stopLocal();
    stopKv();
    listener(answeredBy);
  };
  stopLocal = relay.subscribe(callSid, once);
  if (!heard && kv !== undefined) stopKv = watchAmdInKv(kv, callSid, once);
  return () => {
    heard = true;
    stopLocal();
    stopKv();
  };
}
