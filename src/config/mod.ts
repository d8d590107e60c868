/**
 * The server's configuration, read from environment variables: the one door
 * of the `config` package, which every other module imports (nothing outside
 * this folder reads the environment). The parts: `spec.ts` (the table of
 * every variable), `parse.ts` ({@link parseConfig}), `rules.ts` (rules across
 * variables, e.g. what outbound calls need), `describe.ts`
 * ({@link describeConfig}), `env_file.ts` (`.env` and the environment),
 * `units.ts`, `realtime_url.ts`, `unknown_vars.ts` and `generate.ts`
 * (`.env.example` and `docs/configuration.md`, `deno task gen:config`).
 *
 * @example
 * ```ts
 * import { describeConfig, parseConfig } from "./mod.ts";
 *
 * const config = parseConfig({ OPENAI_API_KEY: "sk-test-0123456789abcdefghij", PORT: "8080" });
 * console.log(describeConfig(config));
 * ```
 *
 * @module
 */
export type { ComposedConfig, Config, TurnDetection } from "./config_type.ts";
export type { LogFormat, LogLevelName } from "./server_kinds.ts";
export { ConfigError, parseConfig, type ParseConfigOptions } from "./parse.ts";
export { describeConfig, secretValues, twilioCredentials } from "./describe.ts";
export { coreTimings } from "./units.ts";
export { realtimeUrl } from "./realtime_url.ts";
export {
  DEFAULT_CALL_STORE_PATH,
  DEFAULT_LIVE_MODEL,
  DEFAULT_LIVE_PRICE_PER_MINUTE,
  DEFAULT_MODEL,
  DEFAULT_TWILIO_API_BASE_URL,
  MISSING_API_KEY_PROBLEM,
} from "./defaults.ts";
export { onDenoDeploy, SETTINGS } from "./spec.ts";
export { TEMPERATURE_WARNING } from "./rules.ts";
export { isPlaceholderKey, PLACEHOLDER_API_KEY_PROBLEM, VOICES } from "./server_kinds.ts";
export {
  environment,
  loadEnvFile,
  type LoadEnvFileOptions,
  setUnsetVariables,
} from "./env_file.ts";
export { cleartextUpstream, type CleartextVerdict, isLoopbackHost } from "./kinds.ts";
