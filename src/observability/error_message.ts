/**
 * The text of a caught value for a log line or a problem report: an
 * `Error`'s message, anything else as a string. One definition for the
 * whole project (a `catch` may receive any value).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorMessage } from "./error_message.ts";
 * assert.equal(errorMessage(new TypeError("bad input")), "bad input");
 * assert.equal(errorMessage("plain text"), "plain text");
 * assert.equal(errorMessage(42), "42");
 * ```
 *
 * @module
 */

/** `error.message` for an `Error`, `String(error)` for anything else. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
