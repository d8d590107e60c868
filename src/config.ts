/**
 * The server's configuration, read from environment variables. The entry
 * point other modules import; the parts live in `src/config/`:
 * `spec.ts` (the table of every variable), `parse.ts` ({@link parseConfig}),
 * `rules.ts` (rules across variables), `describe.ts` ({@link describeConfig}),
 * `units.ts`, `realtime_url.ts`, `unknown_vars.ts` and `generate.ts`
 * (`.env.example` and `docs/configuration.md`, `deno task gen:config`).
 *
 * @example
 * ```ts
 * import { describeConfig, parseConfig } from "./config.ts";
 *
 * const config = parseConfig({ OPENAI_API_KEY: "sk-test-0123456789abcdefghij", PORT: "8080" });
 * console.log(describeConfig(config));
 * ```
 *
 * @module
 */
export type {
  CallStore,
  ComposedConfig,
  Config,
  LogFormat,
  LogLevelName,
  Truncation,
  TurnDetection,
} from "./config/config_type.ts";
export { ConfigError, parseConfig, type ParseConfigOptions } from "./config/parse.ts";
export { describeConfig, secretValues, twilioCredentials } from "./config/describe.ts";
export { coreTimings } from "./config/units.ts";
export { realtimeUrl } from "./config/realtime_url.ts";
export {
  DEFAULT_CALL_STORE_PATH,
  DEFAULT_COMPANY_NAME,
  DEFAULT_MODEL,
  DEFAULT_REALTIME_URL,
  DEFAULT_TWILIO_API_BASE_URL,
  MISSING_API_KEY_PROBLEM,
} from "./config/defaults.ts";
export { SECTIONS, SETTINGS } from "./config/spec.ts";
export {
  DEFAULT_TRANSCRIPTION_MODEL,
  defaultGreeting,
  defaultSystemMessage,
  TEMPERATURE_WARNING,
} from "./config/rules.ts";
export { isPlaceholderKey, PLACEHOLDER_API_KEY_PROBLEM, VOICES } from "./config/server_kinds.ts";
