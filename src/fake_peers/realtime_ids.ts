/**
 * Ids in the shape the Realtime API (GA) gives them: a prefix, an underscore
 * and 20 alphanumerics (`sess_…`, `item_…`, `resp_…`, `call_…`, `event_…`).
 * Shared by the tests' fake Realtime server and the demo stand-in.
 *
 * @example
 * ```ts
 * import { realtimeId } from "./realtime_ids.ts";
 * const id = realtimeId("item");
 * if (!/^item_[0-9a-z]{20}$/.test(id)) throw new Error(`unexpected id ${id}`);
 * ```
 *
 * @module
 */

let counter = 0;

/**
 * A new id: `prefix_` + 14 random hex digits + a 6-digit base-36 counter, so
 * ids are unique within the process and sort by creation within a prefix run.
 */
export function realtimeId(prefix: string): string {
  counter++;
  const random = crypto.randomUUID().replaceAll("-", "").slice(0, 14);
  return `${prefix}_${random}${counter.toString(36).padStart(6, "0")}`;
}
