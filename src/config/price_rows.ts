/**
 * The rows of the `PRICE_*` variables: one per {@link TokenPrices} field,
 * each in the `prices` group that the `prices()` rule of `rules.ts` composes
 * into `Config.prices`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { priceRows } from "./price_rows.ts";
 *
 * const [text] = priceRows();
 * assert.equal(text.env, "PRICE_INPUT_TEXT_PER_MTOK");
 * assert.deepEqual(text.group, { name: "prices", field: "inputText" });
 * ```
 *
 * @module
 */
import { DEFAULT_PRICES, type TokenPrices } from "../calls/prices.ts";
import { number } from "./kinds.ts";
import { setting } from "./setting.ts";

const PRICE = number(0, 100_000, "a price in USD per 1M tokens from 0 to 100000");

/** The price variables, one per {@link TokenPrices} field. */
export function priceRows() {
  const row = <const E extends string>(env: E, field: keyof TokenPrices, what: string) =>
    setting(env, undefined, PRICE, {
      default: String(DEFAULT_PRICES[field]),
      group: { name: "prices", field },
      section: "operations",
      doc: `Price of ${what}, USD per 1M tokens, for the cost estimate.`,
    });
  return [
    row("PRICE_INPUT_TEXT_PER_MTOK", "inputText", "text input tokens"),
    row("PRICE_INPUT_AUDIO_PER_MTOK", "inputAudio", "audio input tokens"),
    row("PRICE_INPUT_CACHED_PER_MTOK", "inputCached", "cached input tokens"),
    row("PRICE_OUTPUT_TEXT_PER_MTOK", "outputText", "text output tokens"),
    row("PRICE_OUTPUT_AUDIO_PER_MTOK", "outputAudio", "audio output tokens"),
  ] as const;
}
