/**
 * The validated configuration types, kept at this path for the modules that
 * import them; they are computed from the table in `config/spec.ts` (see
 * `config/config_type.ts`).
 *
 * @example
 * ```ts
 * import { type Config, VOICES } from "./config_types.ts";
 *
 * const voice: Config["voice"] = VOICES[0];
 * void voice;
 * ```
 *
 * @module
 */
export type {
  Config,
  LogFormat,
  LogLevelName,
  Truncation,
  TurnDetection,
} from "./config/config_type.ts";
export { VOICES } from "./config/server_kinds.ts";
