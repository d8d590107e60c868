/**
 * A warm transfer on every instance: Twilio's callbacks about the person's
 * leg (briefing, `<Gather>` action, status, AMD, conference join) may reach
 * any instance behind a load balancer, but the transfer lives with the
 * caller's media stream. When a transfer starts, its instance writes what
 * others need to answer Twilio (the briefing text, the conference name, the
 * destinations) under `["warm_transfers", id]` in the shared store; an
 * instance that gets a callback for a transfer it does not hold answers the
 * TwiML from that record and appends the callback to the record's events,
 * and the holding instance, which follows the key (`calls/kv_follow.ts`:
 * `kv.watch` and reads), handles each event as if Twilio had called it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TransferRelay } from "./transfer_relay.ts";
 * const kv = await Deno.openKv(":memory:");
 * const relay = new TransferRelay(kv, { pollMs: 20 });
 * await relay.publish("t1", { briefing: "Billing question.", conference: "transfer-t1", destinations: ["+15005550101"] }, 60_000);
 * const heard: string[] = [];
 * const stop = relay.follow("t1", (event) => heard.push(`${event.route} ${event.leg}`));
 * assert.equal((await relay.get("t1"))?.briefing, "Billing question.");
 * await relay.append("t1", { route: "status", leg: 0, token: "x", form: [["CallStatus", "ringing"]] });
 * while (heard.length === 0) await new Promise((r) => setTimeout(r, 10));
 * assert.deepEqual(heard, ["status 0"]);
 * stop();
 * kv.close();
 * ```
 *
 * @module
 */
import { commitKv } from "../calls/kv_commit.ts";
import { followKv } from "../calls/kv_follow.ts";

/** The callback routes of a person's leg. */
export type RelayedRoute = "briefing" | "answer" | "status" | "amd" | "conference";

/** One callback another instance received. */
export interface RelayedCallback {
  route: RelayedRoute;
  /** The leg the callback's token names. */
  leg: number;
  /** The callback's signed token (checked again by the holder). */
  token: string;
  /** Twilio's form fields. */
  form: [string, string][];
}

/** What any instance needs to answer a transfer's callbacks. */
export interface SharedTransfer {
  briefing: string;
  conference: string;
  destinations: readonly string[];
  /** The transfer is over (the caller hung up, or it ended otherwise): nothing more to relay. */
  ended?: "caller_hung_up" | "over";
}

interface Stored extends SharedTransfer {
  events: RelayedCallback[];
  /** Wall-clock ms when the record expires (appends keep it). */
  expiresAt: number;
}

const KEY = "warm_transfers";
const TRIES = 20;

/** Options of {@link TransferRelay}. */
export interface TransferRelayOptions {
  /** Ms between reads of a followed transfer. Default 100. */
  pollMs?: number;
}

/** Warm transfers in one Deno KV (shared by every instance using it). */
export class TransferRelay {
  #kv: Deno.Kv;
  #pollMs: number;

  /** Uses `kv` (not closed here). */
  constructor(kv: Deno.Kv, options: TransferRelayOptions = {}) {
    this.#kv = kv;
    this.#pollMs = options.pollMs ?? 100;
  }

  /** A transfer started here: what others need, kept `ttlMs`. */
  async publish(id: string, transfer: SharedTransfer, ttlMs: number): Promise<void> {
    const value: Stored = {
      ...transfer,
      destinations: [...transfer.destinations],
      events: [],
      expiresAt: Date.now() + ttlMs,
    };
    await commitKv(this.#kv.atomic().set([KEY, id], value, { expireIn: ttlMs }));
  }

  /** The shared part of transfer `id`, or undefined. */
  async get(id: string): Promise<SharedTransfer | undefined> {
    const value = (await this.#kv.get<Stored>([KEY, id])).value;
    if (value === null) return undefined;
    const { briefing, conference, destinations, ended } = value;
    return { briefing, conference, destinations, ...(ended !== undefined ? { ended } : {}) };
  }

  /** Transfer `id` is over: later callbacks are answered without relaying them. */
  async end(id: string, ended: "caller_hung_up" | "over"): Promise<void> {
    await this.#change(id, (stored) => ({ ...stored, ended }));
  }

  /** Hands `event` to the instance holding transfer `id`; false when no instance published it. */
  append(id: string, event: RelayedCallback): Promise<boolean> {
    return this.#change(id, (stored) => ({ ...stored, events: [...stored.events, event] }));
  }

  /** Applies `change` with a versionstamp check; false when there is no record. */
  async #change(id: string, change: (stored: Stored) => Stored): Promise<boolean> {
    for (let i = 0; i < TRIES; i++) {
      const entry = await this.#kv.get<Stored>([KEY, id]);
      if (entry.value === null) return false;
      const next = change(entry.value);
      const expireIn = Math.max(1000, entry.value.expiresAt - Date.now());
      const result = await commitKv(
        this.#kv.atomic().check(entry).set([KEY, id], next, { expireIn }),
      );
      if (result.ok) return true;
    }
    throw new Error(`Could not update the shared record of transfer ${id}: too much contention.`);
  }

  /** Calls `onEvent` with each event appended from now on. Returns the stop function. */
  follow(id: string, onEvent: (event: RelayedCallback) => void): () => void {
    let handled: number | undefined;
    return followKv<Stored>(this.#kv, [KEY, id], (value) => {
      const events = value?.events ?? [];
      // Events already there when following starts were appended before: none (published here).
      const from = handled ?? 0;
      handled = events.length;
      for (const event of events.slice(from)) onEvent(event);
    }, { pollMs: this.#pollMs });
  }
}
