/**
 * The defaults and fixed texts the configuration table refers to by name
 * (also imported by other modules, e.g. the calls CLI reads
 * {@link DEFAULT_CALL_STORE_PATH}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_MODEL, DEFAULT_REALTIME_URL } from "./defaults.ts";
 *
 * assert.equal(DEFAULT_MODEL, "gpt-realtime-2.1");
 * assert.equal(new URL(DEFAULT_REALTIME_URL).protocol, "wss:");
 * ```
 *
 * @module
 */

/** Default Realtime WebSocket endpoint (the `model` query parameter is added per call). */
export const DEFAULT_REALTIME_URL = "wss://api.openai.com/v1/realtime";

/** Default Realtime model. */
export const DEFAULT_MODEL = "gpt-realtime-2.1";

/** GPT-Live's WebSocket endpoint (no query string; the model goes in `session.start`). */
export const DEFAULT_LIVE_URL = "wss://api.openai.com/v1/live/sessions";

/** The model of an agent on `engine: live` that names none. */
export const DEFAULT_LIVE_MODEL = "gpt-live-1";

/** The Responses model GPT-Live delegates tool calls to, unless an agent names one. */
export const DEFAULT_LIVE_BACKEND_MODEL = "gpt-5-mini";

/** gpt-live-1's price, USD per minute billed per second (OpenAI's model page, read 2026-12-07). */
export const DEFAULT_LIVE_PRICE_PER_MINUTE = 0.05;

/** Default base URL of Twilio's REST API. */
export const DEFAULT_TWILIO_API_BASE_URL = "https://api.twilio.com";

/** Default file of the call records (relative to the working directory). */
export const DEFAULT_CALL_STORE_PATH = "calls.kv";

/** Text of the problem reported when `OPENAI_API_KEY` is missing or empty. */
export const MISSING_API_KEY_PROBLEM =
  "OPENAI_API_KEY is not set. Create a key at https://platform.openai.com/api-keys, then put OPENAI_API_KEY=sk-... in .env (see .env.example) or export it in the environment. No key yet? deno task demo runs the server and the browser softphone offline, with a local stand-in for the Realtime API.";

/** Default company name used in the default system message and greeting (see src/prompts/mod.ts). */
