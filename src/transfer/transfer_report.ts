/**
 * What a finished transfer tells the rest of the app (metrics, and the
 * `transfer.completed` / `transfer.failed` webhook events): the call, its
 * agent, how it ended and the destinations tried, numbers masked as the call
 * record masks them.
 *
 * A cold transfer keeps no state between Twilio's `<Dial action>` requests:
 * the statuses of the destinations tried so far ride in the action URL
 * (`&tried=busy.no-answer`), which Twilio signs with the rest of the URL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { coldLegs, readTried, triedParameter } from "./transfer_report.ts";
 * const tried = readTried(new URLSearchParams(triedParameter(["busy"])), 1);
 * assert.deepEqual(tried, ["busy"]);
 * assert.deepEqual(coldLegs(["+14155550123", "sip:desk@pbx.example.com"], [...tried!, "no-answer"]), [
 *   { destination: "+14•••••••23", result: "busy" },
 *   { destination: "sip:…@pbx.example.com", result: "no-answer" },
 * ]);
 * assert.equal(readTried(new URLSearchParams("tried=evil"), 1), undefined);
 * ```
 *
 * @module
 */
import { type LegTimeline, maskDestination } from "./warm_attempts.ts";

/** How a transfer ended, for `bridge_transfers_total{mode,result}`. */
export type TransferResult = "transferred" | "fallback" | "caller_hung_up";

/** One destination of a cold transfer: Twilio's `DialCallStatus` for it. */
export interface ColdLeg {
  destination: string;
  result: string;
}

/** A finished transfer. */
export interface TransferReport {
  mode: "warm" | "cold";
  /** The caller's CallSid. */
  callSid: string;
  /** The agent whose call it is (undefined: the default agent). */
  agent: string | undefined;
  result: TransferResult;
  /** The destinations tried, in order (numbers masked). */
  legs: LegTimeline[] | ColdLeg[];
}

/** `DialCallStatus` values of a destination that did not take the call. */
const FAILED_DIALS: ReadonlySet<string> = new Set(["busy", "no-answer", "failed", "canceled"]);

/** A `DialCallStatus` as kept in the `tried` parameter (anything unexpected: `failed`). */
export function failedDial(status: string): string {
  return FAILED_DIALS.has(status) ? status : "failed";
}

/** The query parameter carrying the statuses of the destinations tried so far. */
export function triedParameter(tried: readonly string[]): string {
  return tried.length === 0 ? "" : `tried=${tried.join(".")}`;
}

/**
 * The statuses of the `count` destinations tried before, from a `<Dial
 * action>` URL's query; undefined when they are not what the server wrote.
 */
export function readTried(query: URLSearchParams, count: number): string[] | undefined {
  const text = query.get("tried");
  if (count === 0) return text === null ? [] : undefined;
  const tried = (text ?? "").split(".");
  return tried.length === count && tried.every((status) => FAILED_DIALS.has(status))
    ? tried
    : undefined;
}

/** The legs of a cold transfer: each destination tried with its status, masked. */
export function coldLegs(destinations: readonly string[], statuses: readonly string[]): ColdLeg[] {
  return statuses.map((result, i) => ({
    destination: maskDestination(destinations[i] ?? ""),
    result,
  }));
}
