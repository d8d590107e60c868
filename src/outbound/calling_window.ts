/**
 * Calling windows: the hours of the day (in the callee's own time zone)
 * when a campaign may call, e.g. `09:00-18:00`. Pure functions of an
 * injected time; time zones through `Intl` (IANA names such as
 * `America/New_York`), so daylight-saving changes follow the zone's rules.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isOpen, nextOpening, parseWindow } from "./calling_window.ts";
 * const window = parseWindow("09:00-18:00");
 * if (!("startMinute" in window)) throw new Error(window.error);
 * const at = Date.parse("2026-03-02T12:30:00Z"); // 07:30 in New York (EST)
 * assert.equal(isOpen(window, at, "America/New_York"), false);
 * assert.equal(new Date(nextOpening(window, at, "America/New_York")).toISOString(), "2026-03-02T14:00:00.000Z");
 * assert.equal(isOpen(window, at, "Europe/Paris"), true);
 * ```
 *
 * @module
 */

/** A daily window, in minutes since local midnight; `end` may be below `start` (overnight). */
export interface CallingWindow {
  startMinute: number;
  endMinute: number;
}

/** Every hour of the day. */
export const ALWAYS: CallingWindow = { startMinute: 0, endMinute: 1440 };

const WINDOW = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/;

/** Parses `HH:MM-HH:MM` (24-hour clock; `24:00` allowed as an end). */
export function parseWindow(text: string): CallingWindow | { error: string } {
  const match = WINDOW.exec(text.trim());
  const error = `window must look like 09:00-18:00 (24-hour local times, start-end), got ${
    JSON.stringify(text)
  }.`;
  if (match === null) return { error };
  const [h1, m1, h2, m2] = match.slice(1).map(Number);
  if (h1 > 23 || m1 > 59 || h2 > 24 || m2 > 59 || (h2 === 24 && m2 !== 0)) return { error };
  const startMinute = h1 * 60 + m1;
  const endMinute = h2 * 60 + m2;
  if (startMinute === endMinute) return { error: `window ${text} is empty: start equals end.` };
  return { startMinute, endMinute };
}

/** Formats a window back to `HH:MM-HH:MM`. */
export function formatWindow(window: CallingWindow): string {
  const f = (m: number) =>
    `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
  return `${f(window.startMinute)}-${f(window.endMinute)}`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      hour: "2-digit",
      minute: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether `timeZone` is an IANA time zone this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Minutes since local midnight at `at` (ms since the epoch) in `timeZone`. */
function localMinute(at: number, timeZone: string): number {
  let hour = 0;
  let minute = 0;
  for (const part of formatter(timeZone).formatToParts(at)) {
    if (part.type === "hour") hour = Number(part.value);
    if (part.type === "minute") minute = Number(part.value);
  }
  return hour * 60 + minute;
}

/** Whether calls may be placed at `at` in `timeZone`. */
export function isOpen(window: CallingWindow, at: number, timeZone: string): boolean {
  const m = localMinute(at, timeZone);
  return window.startMinute < window.endMinute
    ? m >= window.startMinute && m < window.endMinute
    : m >= window.startMinute || m < window.endMinute;
}

/**
 * The first time at or after `at` when the window is open in `timeZone`
 * (to the minute; `at` itself when open).
 */
export function nextOpening(window: CallingWindow, at: number, timeZone: string): number {
  if (isOpen(window, at, timeZone)) return at;
  const minuteStart = at - (at % 60_000);
  const wait = (window.startMinute - localMinute(at, timeZone) + 1440) % 1440;
  let candidate = minuteStart + wait * 60_000;
  // A daylight-saving change between now and then shifts local time by up to an hour or so:
  // walk to the first open minute (bounded).
  for (let i = 0; i < 180 && !isOpen(window, candidate, timeZone); i++) candidate += 60_000;
  for (
    let i = 0;
    i < 180 && isOpen(window, candidate - 60_000, timeZone) && candidate - 60_000 > at;
    i++
  ) {
    candidate -= 60_000;
  }
  return candidate;
}
