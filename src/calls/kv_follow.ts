/**
 * Follows one key of the shared store (Deno KV) as other instances write
 * it. `kv.watch` reports the writes of every instance on Deno Deploy's KV
 * and KV Connect, but on a local KV file only those made through the same
 * handle: another process's writes to the file are not reported (measured
 * with Deno 2.9.6: two processes on one file, the watcher saw only the
 * initial value). So {@link followKv} watches and also reads the key every
 * `pollMs`, and calls `onValue` for each new versionstamp, whichever saw it
 * first, until `onValue` returns true or the stop function is called.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { followKv } from "./kv_follow.ts";
 * const path = `${await Deno.makeTempDir()}/kv`;
 * const mine = await Deno.openKv(path);
 * const other = await Deno.openKv(path); // another instance's handle
 * const seen: number[] = [];
 * const done = Promise.withResolvers<void>();
 * followKv<number>(mine, ["n"], (n) => {
 *   if (n !== null) seen.push(n);
 *   if (n === 2) done.resolve();
 *   return n === 2;
 * }, { pollMs: 20 });
 * await other.set(["n"], 1);
 * await new Promise((r) => setTimeout(r, 100));
 * await other.set(["n"], 2);
 * await done.promise;
 * assert.deepEqual(seen, [1, 2]);
 * mine.close();
 * other.close();
 * ```
 *
 * @module
 */

/** Options of {@link followKv}. */
export interface FollowKvOptions {
  /** Ms between reads of the key (for writes `kv.watch` does not report). Default 100. */
  pollMs?: number;
}

/**
 * Calls `onValue` with the key's value now and after each write (by any
 * instance), until it returns true. Returns the stop function.
 */
export function followKv<T>(
  kv: Deno.Kv,
  key: Deno.KvKey,
  onValue: (value: T | null) => boolean | void,
  options: FollowKvOptions = {},
): () => void {
  let stopped = false;
  let last: string | null | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const reader = kv.watch<[T]>([key]).getReader();
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    reader.cancel().catch(() => {});
  };
  const seen = (entry: Deno.KvEntryMaybe<T>) => {
    if (stopped || entry.versionstamp === last) return;
    last = entry.versionstamp;
    if (onValue(entry.value) === true) stop();
  };
  (async () => {
    try {
      while (!stopped) {
        const { value, done } = await reader.read();
        if (done) return;
        seen(value[0]);
      }
    } catch {
      // The KV was closed or the watch cancelled: the reads below stop too.
    }
  })();
  const poll = async () => {
    timer = undefined;
    try {
      seen(await kv.get<T>(key));
    } catch {
      stop(); // the KV was closed
      return;
    }
    if (!stopped) timer = setTimeout(poll, options.pollMs ?? 100);
  };
  timer = setTimeout(poll, options.pollMs ?? 100);
  return stop;
}
