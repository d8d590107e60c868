/**
 * What is known about each outbound call attempt, as Twilio's callbacks
 * arrive: status, answering-machine result and final outcome. Kept in Deno
 * KV (`["outbound_calls", callSid]`) so every instance behind a load
 * balancer sees the same attempt, or in memory (tests, no call store).
 *
 * The final outcome is set once: callbacks Twilio repeats, or that arrive out
 * of order, do not finish an attempt twice.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryAttemptStore } from "./attempt_store.ts";
 * const store = new MemoryAttemptStore();
 * await store.update("CA1", { agent: "default", status: "queued" });
 * assert.equal(await store.finish("CA1", "busy", "2026-01-01T00:00:00.000Z"), true);
 * assert.equal(await store.finish("CA1", "busy", "2026-01-01T00:00:00.000Z"), false);
 * assert.equal((await store.get("CA1"))?.outcome, "busy");
 * ```
 *
 * @module
 */
import { commitKv } from "../calls/kv_commit.ts";
import type { AnsweredBy, CallStatus, OutboundOutcome } from "./call_progress.ts";

/** One outbound attempt. */
export interface OutboundAttempt {
  callSid: string;
  agent?: string;
  /** The callee, masked (`+15•••••••67`). */
  to?: string;
  campaignId?: string;
  contactId?: string;
  status?: CallStatus;
  answeredBy?: AnsweredBy;
  outcome?: OutboundOutcome;
  /** ISO time the attempt finished. */
  finishedAt?: string;
}

/** Stores attempts. */
export interface AttemptStore {
  /** Merges `patch` into the attempt (creating it). */
  update(callSid: string, patch: Omit<OutboundAttempt, "callSid" | "outcome">): Promise<void>;
  /** Sets the outcome unless already set; true when this call set it. */
  finish(callSid: string, outcome: OutboundOutcome, at: string): Promise<boolean>;
  get(callSid: string): Promise<OutboundAttempt | undefined>;
}

/** Attempts in memory (bounded: the oldest are forgotten beyond `max`). */
export class MemoryAttemptStore implements AttemptStore {
  #attempts = new Map<string, OutboundAttempt>();
  #max: number;

  /** Creates an empty store keeping at most `max` attempts. */
  constructor(max = 10_000) {
    this.#max = max;
  }

  update(callSid: string, patch: Omit<OutboundAttempt, "callSid" | "outcome">): Promise<void> {
    this.#attempts.set(callSid, { ...this.#attempts.get(callSid), ...patch, callSid });
    while (this.#attempts.size > this.#max) {
      this.#attempts.delete(this.#attempts.keys().next().value!);
    }
    return Promise.resolve();
  }

  finish(callSid: string, outcome: OutboundOutcome, at: string): Promise<boolean> {
    const attempt = this.#attempts.get(callSid) ?? { callSid };
    if (attempt.outcome !== undefined) return Promise.resolve(false);
    this.#attempts.set(callSid, { ...attempt, outcome, finishedAt: at });
    return Promise.resolve(true);
  }

  get(callSid: string): Promise<OutboundAttempt | undefined> {
    return Promise.resolve(this.#attempts.get(callSid));
  }
}

const KEY = "outbound_calls";
/** Attempts are kept 30 days in KV unless told otherwise (`RETENTION_DAYS`). */
const DEFAULT_RETENTION_DAYS = 30;

/** Attempts in Deno KV (shared by every instance using the same KV). */
export class KvAttemptStore implements AttemptStore {
  #kv: Deno.Kv;
  #expire: { expireIn: number } | undefined;

  /** Uses `kv` (not closed by this store); attempts expire after `retentionDays` (0: never). */
  constructor(kv: Deno.Kv, retentionDays = DEFAULT_RETENTION_DAYS) {
    this.#kv = kv;
    this.#expire = retentionDays > 0
      ? { expireIn: Math.round(retentionDays * 86_400_000) }
      : undefined;
  }

  async update(
    callSid: string,
    patch: Omit<OutboundAttempt, "callSid" | "outcome">,
  ): Promise<void> {
    for (let i = 0; i < 10; i++) {
      const entry = await this.#kv.get<OutboundAttempt>([KEY, callSid]);
      const value = { ...entry.value, ...patch, callSid };
      const result = await commitKv(
        this.#kv.atomic().check(entry).set([KEY, callSid], value, this.#expire),
      );
      if (result.ok) return;
    }
    throw new Error(`Could not update outbound attempt ${callSid}: too much contention.`);
  }

  async finish(callSid: string, outcome: OutboundOutcome, at: string): Promise<boolean> {
    for (let i = 0; i < 10; i++) {
      const entry = await this.#kv.get<OutboundAttempt>([KEY, callSid]);
      if (entry.value?.outcome !== undefined) return false;
      const value = { ...entry.value, callSid, outcome, finishedAt: at };
      const result = await commitKv(
        this.#kv.atomic().check(entry).set([KEY, callSid], value, this.#expire),
      );
      if (result.ok) return true;
    }
    throw new Error(`Could not finish outbound attempt ${callSid}: too much contention.`);
  }

  async get(callSid: string): Promise<OutboundAttempt | undefined> {
    return (await this.#kv.get<OutboundAttempt>([KEY, callSid])).value ?? undefined;
  }
}
