/**
 * When a failed webhook delivery is tried again: a list of pauses, one per
 * retry, after which the delivery is a dead letter. The default follows the
 * example schedule of the Standard Webhooks spec (1.0.0, "Deliverability and
 * reliability", read 2026-12-07) up to a day and a bit: 5 s, 5 min, 30 min,
 * 2 h, 5 h, 10 h, 14 h (31 h 35 min after the first try), each pause
 * stretched by up to 10 % of random jitter, and never shorter than a
 * receiver's `Retry-After` (capped at an hour).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nextAttemptAt, parseRetrySchedule } from "./retry_schedule.ts";
 *
 * const schedule = parseRetrySchedule("5s, 5m, 2h");
 * assert.deepEqual(schedule, [5_000, 300_000, 7_200_000]);
 * if (!Array.isArray(schedule)) throw new Error();
 * // After the first failed try (attempts = 1) the first pause applies.
 * assert.equal(nextAttemptAt({ attempts: 1, now: 0, schedule, random: () => 0 }), 5_000);
 * // After the last pause there is none: a dead letter.
 * assert.equal(nextAttemptAt({ attempts: 4, now: 0, schedule }), undefined);
 * assert.equal(typeof parseRetrySchedule("soon"), "string");
 * ```
 *
 * @module
 */

/** The default pauses, as written in `WEBHOOK_RETRY_SCHEDULE`. */
export const DEFAULT_RETRY_SCHEDULE = "5s,5m,30m,2h,5h,10h,14h";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PAUSE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
/** Longest `Retry-After` honoured. */
const MAX_RETRY_AFTER_MS = 3_600_000;
/** Share of a pause added at random. */
const JITTER = 0.1;

/** Pauses in ms from `5s,5m,2h` (units ms, s, m, h, d), or what is wrong with the text. */
export function parseRetrySchedule(text: string): number[] | string {
  const parts = text.split(",").map((part) => part.trim());
  const pauses: number[] = [];
  for (const part of parts) {
    const match = PAUSE.exec(part);
    if (match === null) {
      return `"${part}" is not a pause such as 5s, 5m, 2h or 1d`;
    }
    pauses.push(Math.round(Number(match[1]) * UNITS[match[2]]));
  }
  if (pauses.length === 0 || pauses.length > 50) return "must list 1 to 50 pauses";
  return pauses;
}

/** What {@link nextAttemptAt} needs. */
export interface NextAttemptInput {
  /** Tries made so far, the failed one included (1 after the first try). */
  attempts: number;
  /** Now, ms since the epoch. */
  now: number;
  schedule: readonly number[];
  /** The receiver's `Retry-After`, in ms, when it sent one. */
  retryAfterMs?: number | undefined;
  /** Uniform in [0, 1); default `Math.random`. */
  random?: () => number;
}

/** When to try again (ms since the epoch), or undefined: the schedule is used up. */
export function nextAttemptAt(input: NextAttemptInput): number | undefined {
  const pause = input.schedule[input.attempts - 1];
  if (pause === undefined) return undefined;
  const jittered = pause * (1 + JITTER * (input.random ?? Math.random)());
  const floor = Math.min(input.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS);
  return input.now + Math.round(Math.max(jittered, floor));
}

/**
 * `Retry-After` in ms (delta-seconds or an HTTP date), or undefined.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
