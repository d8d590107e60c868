/**
 * The Realtime WebSocket URL: the configured endpoint with the model as its
 * one `model` query parameter. A URL copied from OpenAI's docs
 * (`…/v1/realtime?model=gpt-realtime`) is split into endpoint and model at
 * start-up (see `rules.ts`), and {@link realtimeUrl} never sends the model
 * twice.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { realtimeUrl, splitRealtimeUrl } from "./realtime_url.ts";
 *
 * assert.equal(
 *   realtimeUrl({ openaiRealtimeUrl: "wss://api.openai.com/v1/realtime", openaiModel: "gpt-realtime-2.1" }),
 *   "wss://api.openai.com/v1/realtime?model=gpt-realtime-2.1",
 * );
 * assert.deepEqual(splitRealtimeUrl("wss://api.openai.com/v1/realtime?model=gpt-realtime"), {
 *   base: "wss://api.openai.com/v1/realtime",
 *   model: "gpt-realtime",
 * });
 * ```
 *
 * @module
 */

/**
 * Splits a `model` query parameter off an endpoint URL. A URL without one is
 * returned unchanged (byte for byte), as is text that is not a URL.
 *
 * @param url The configured endpoint.
 * @returns The endpoint without `model`, and the model it named, if any.
 */
export function splitRealtimeUrl(url: string): { base: string; model: string | undefined } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { base: url, model: undefined };
  }
  const model = parsed.searchParams.get("model") ?? undefined;
  if (model === undefined || !parsed.searchParams.has("model")) return { base: url, model };
  parsed.searchParams.delete("model");
  return { base: parsed.href, model: model.trim() === "" ? undefined : model };
}

/**
 * The URL to open a Realtime session at: the endpoint with exactly one
 * `model` parameter (any `model` already in the endpoint is replaced).
 *
 * @param config The endpoint and the model.
 * @returns The WebSocket URL.
 */
export function realtimeUrl(
  config: { openaiRealtimeUrl: string; openaiModel: string },
): string {
  const { base } = splitRealtimeUrl(config.openaiRealtimeUrl);
  const separator = base.includes("?") ? "&" : "?";
  return `${base}${separator}model=${encodeURIComponent(config.openaiModel)}`;
}
