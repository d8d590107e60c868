/**
 * `MAX_CALLS_PER_MINUTE` for every instance that shares the call store: the
 * calls placed in the last minute are counted in one Deno KV entry
 * (`["call_rate"]`, per second), taken with a versionstamp check, so several
 * instances behind one balancer place at most the cap together, not the cap
 * each. The window slides by the second: a call placed at 12:00:00.700
 * leaves it at 12:01:00. When the store is busy with other instances' takes,
 * a take tries again a few times and then refuses for a second rather than
 * dial past the cap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SharedCallRate } from "./shared_call_rate.ts";
 * const kv = await Deno.openKv(":memory:");
 * const a = new SharedCallRate(kv, 2); // two instances, one store
 * const b = new SharedCallRate(kv, 2);
 * assert.deepEqual(await a.take(0), { ok: true });
 * assert.deepEqual(await b.take(1000), { ok: true });
 * assert.deepEqual(await a.take(2000), { ok: false, retryAfterMs: 58_000 });
 * assert.deepEqual(await b.take(60_000), { ok: true }); // the first one left the window
 * kv.close();
 * ```
 *
 * @module
 */
import type { RateVerdict } from "./call_rate.ts";

const KEY: Deno.KvKey = ["call_rate"];
const WINDOW_S = 60;
/** Takes tried against other instances' before refusing for a second. */
const TRIES = 8;

/** Calls placed per second of the window: `[second, count]`, oldest first. */
type Seconds = [number, number][];

/** Calls per minute across the instances of one store, at most `perMinute` (0: no cap). */
export class SharedCallRate {
  #kv: Deno.Kv;
  #perMinute: number;

  /** Creates the cap over `kv`. */
  constructor(kv: Deno.Kv, perMinute: number) {
    this.#kv = kv;
    this.#perMinute = perMinute;
  }

  /** Takes one call at `now` (ms since the epoch), or says when the oldest one leaves the window. */
  async take(now: number): Promise<RateVerdict> {
    if (this.#perMinute <= 0) return { ok: true };
    const second = Math.floor(now / 1000);
    for (let i = 0; i < TRIES; i++) {
      const entry = await this.#kv.get<Seconds>(KEY);
      const seconds = (entry.value ?? []).filter(([s]) => s > second - WINDOW_S);
      const placed = seconds.reduce((sum, [, count]) => sum + count, 0);
      if (placed >= this.#perMinute) {
        return { ok: false, retryAfterMs: (seconds[0][0] + WINDOW_S) * 1000 - now };
      }
      const last = seconds.at(-1);
      if (last !== undefined && last[0] === second) last[1]++;
      else seconds.push([second, 1]);
      const done = await this.#kv.atomic()
        .check(entry)
        .set(KEY, seconds, { expireIn: (WINDOW_S + 10) * 1000 })
        .commit();
      if (done.ok) return { ok: true };
    }
    return { ok: false, retryAfterMs: 1000 };
  }
}
