/**
 * Token prices and the estimated cost of a call's token usage.
 *
 * @module
 */
import type { TokenUsage } from "../core/conversation_log.ts";

/** Prices in US dollars per one million tokens. */
export interface TokenPrices {
  inputText: number;
  inputAudio: number;
  /** Cached input tokens (text or audio). */
  inputCached: number;
  outputText: number;
  outputAudio: number;
}

/**
 * OpenAI's published list prices for `gpt-realtime-2.1`, the default model
 * (its model page, read 2026-12-01), in USD per 1M tokens: text $4 in, $0.40
 * cached, $24 out; audio $32 in, $0.40 cached, $64 out. Defaults only: check
 * them against https://openai.com/api/pricing and override with the
 * `PRICE_*` variables (another model has other prices).
 */
export const DEFAULT_PRICES: Readonly<TokenPrices> = Object.freeze({
  inputText: 4,
  inputAudio: 32,
  inputCached: 0.4,
  outputText: 24,
  outputAudio: 64,
});

/**
 * The estimated cost in USD of `usage`. Cached input tokens are a part of the
 * input tokens: they are billed at the cached price and taken off the text
 * input first (the cached prefix is mostly instructions and tools), then off
 * the audio input (`response.done` totals do not say which they were).
 *
 * @example
 * ```ts
 * import { DEFAULT_PRICES, estimateCostUsd } from "./prices.ts";
 * const usd = estimateCostUsd({
 *   inputTextTokens: 0, inputAudioTokens: 0, inputCachedTokens: 0,
 *   outputTextTokens: 0, outputAudioTokens: 1_000_000,
 * }, DEFAULT_PRICES);
 * if (usd !== 64) throw new Error();
 * ```
 */
export function estimateCostUsd(usage: TokenUsage, prices: TokenPrices): number {
  const cached = Math.min(usage.inputCachedTokens, usage.inputTextTokens + usage.inputAudioTokens);
  const cachedText = Math.min(cached, usage.inputTextTokens);
  const cachedAudio = cached - cachedText;
  const micro = (usage.inputTextTokens - cachedText) * prices.inputText +
    (usage.inputAudioTokens - cachedAudio) * prices.inputAudio +
    cached * prices.inputCached +
    usage.outputTextTokens * prices.outputText +
    usage.outputAudioTokens * prices.outputAudio;
  return micro / 1_000_000;
}

/** USD of `seconds` of a GPT-Live session at `usdPerMinute` (billed per second, not rounded up). */
export function liveCostUsd(seconds: number, usdPerMinute: number): number {
  return seconds / 60 * usdPerMinute;
}
