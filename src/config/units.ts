/**
 * Unit conversions from the table: each row with a `coreMs` name is a number
 * of seconds that the call core takes in milliseconds. {@link coreTimings}
 * is the loop that converts them all, so a new timing needs only its row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./parse.ts";
 * import { coreTimings } from "./units.ts";
 *
 * const config = parseConfig({
 *   OPENAI_API_KEY: "sk-test-0123456789abcdefghij",
 *   END_CALL_GRACE_SECONDS: "2.5",
 * });
 * assert.equal(coreTimings(config).endCallGraceMs, 2500);
 * ```
 *
 * @module
 */
import type { Config } from "./config_type.ts";
import type { AnySetting } from "./setting.ts";
import { SETTINGS, type SpecRow } from "./spec.ts";

/** The core options in milliseconds, one per row with a `coreMs` name. */
export type CoreTimings = {
  [R in SpecRow as R extends { coreMs: infer M extends string } ? M : never]: number;
};

/**
 * Converts every seconds setting the call core needs into milliseconds.
 *
 * @param config The configuration.
 * @returns The core's millisecond options (`endCallGraceMs`, `maxCallMs`, …).
 */
export function coreTimings(config: Config): CoreTimings {
  const values = config as unknown as Record<string, unknown>;
  const timings: Record<string, number> = {};
  for (const row of SETTINGS as readonly AnySetting[]) {
    if (row.coreMs !== undefined && row.key !== undefined) {
      timings[row.coreMs] = Number(values[row.key]) * 1000;
    }
  }
  return timings as CoreTimings;
}
