/**
 * Builds the validated `Config` from environment variables: one loop over
 * the table of `spec.ts` parses each variable, then the rules of `rules.ts`
 * compose the fields that span several variables. Every problem is
 * collected; if there is any, a {@link ConfigError} lists all of them.
 * Values of secrets never appear in a message. An empty value counts as unset
 * (except `GREETING`, where an empty value turns the greeting off).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./parse.ts";
 *
 * const config = parseConfig({ OPENAI_API_KEY: "sk-test-0123456789abcdefghij", VOICE: "marin" });
 * assert.equal(config.port, 5050);
 * assert.equal(config.voice, "marin");
 * assert.equal(config.turnDetection.type, "server_vad");
 * ```
 *
 * @module
 */
import type { Config, EnvValues } from "./config_type.ts";
import { EnvReader } from "./reader.ts";
import {
  greeting,
  insecureUpstreams,
  modelFromRealtimeUrl,
  outboundRequirements,
  prices,
  retentionAlias,
  systemMessage,
  temperatureWarning,
  transcriptionDefault,
  transferRequirements,
  turnDetection,
  twilioCredentialPair,
  webhook,
} from "./rules.ts";
import { type AnySetting, INVALID, type ParseContext } from "./setting.ts";
import { SETTINGS } from "./spec.ts";
import { unknownVariableWarnings } from "./unknown_vars.ts";

/** Options for {@link parseConfig}. */
export interface ParseConfigOptions {
  /**
   * Reads the file named by `SYSTEM_MESSAGE_FILE`; throws if it cannot.
   *
   * @default {Deno.readTextFileSync}
   */
  readTextFile?: (path: string) => string;
  /**
   * Reads the file named by `WAITING_SOUND`; throws if it cannot.
   *
   * @default {Deno.readFileSync}
   */
  readFile?: (path: string) => Uint8Array;
}

/**
 * Thrown by {@link parseConfig} when one or more variables are missing or
 * invalid. The message lists every problem, one per line.
 *
 * @example
 * ```ts
 * import { ConfigError, parseConfig } from "./parse.ts";
 *
 * try {
 *   parseConfig({ PORT: "abc" });
 * } catch (error) {
 *   if (error instanceof ConfigError) console.error(error.problems.length); // 2
 * }
 * ```
 */
export class ConfigError extends Error {
  /** Every problem found, one sentence each. */
  readonly problems: string[];

  /**
   * Creates an error listing the given problems.
   *
   * @param problems The problems found, one sentence each.
   */
  constructor(problems: string[]) {
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    super(
      `The configuration has ${count}. Fix the environment variables (or .env), then start again:\n` +
        problems.map((problem) => `- ${problem}`).join("\n"),
    );
    this.name = "ConfigError";
    this.problems = [...problems];
  }
}

/** Names of the variables whose values are never shown. */
const SECRET_NAMES: readonly string[] = SETTINGS.filter((row) => row.secret === true)
  .map((row) => row.env);

/** Names of every variable of the table. */
const SETTING_NAMES: readonly string[] = SETTINGS.map((row) => row.env);

/**
 * Reads and validates the configuration from environment variables.
 *
 * @param env The environment, e.g. `Deno.env.toObject()` or the result of `loadEnvFile()`.
 * @param options How to read the files some variables name.
 * @returns The validated configuration.
 * @throws {ConfigError} If any variable is missing or invalid.
 */
export function parseConfig(
  env: Record<string, string | undefined>,
  options: ParseConfigOptions = {},
): Config {
  const reader = new EnvReader(env, SECRET_NAMES);
  const readTextFile = options.readTextFile ?? Deno.readTextFileSync;
  const readFile = options.readFile ?? Deno.readFileSync;
  const values: Record<string, unknown> = {};
  for (const row of SETTINGS as readonly AnySetting[]) {
    values[row.env] = readSetting(row, reader, readTextFile, readFile);
  }
  const v = values as EnvValues;

  modelFromRealtimeUrl(v, reader);
  insecureUpstreams(v, reader);
  const composed = {
    systemMessage: systemMessage(v, reader, readTextFile),
    greeting: greeting(v),
    turnDetection: turnDetection(v, reader),
    webhook: webhook(v, reader),
    prices: prices(v),
  };
  transcriptionDefault(v, reader);
  twilioCredentialPair(reader);
  outboundRequirements(v, reader);
  transferRequirements(v, reader);
  temperatureWarning(reader);
  retentionAlias(reader);
  for (const warning of unknownVariableWarnings(env, SETTING_NAMES)) reader.warning(warning);

  if (reader.problems.length > 0) throw new ConfigError(reader.problems);

  const table: Record<string, unknown> = {};
  for (const row of SETTINGS as readonly AnySetting[]) {
    if (row.key !== undefined) table[row.key] = values[row.env];
  }
  return { ...table, ...composed, warnings: reader.warnings } as Config;
}

/** Parses one row: its value, its default when unset (or invalid, after reporting), or undefined. */
function readSetting(
  row: AnySetting,
  reader: EnvReader,
  readTextFile: (path: string) => string,
  readFile: (path: string) => Uint8Array,
): unknown {
  const ctx: ParseContext = {
    name: row.env,
    env: reader.env,
    show: (value) => reader.show(value),
    invalid(value, accepted = row.kind.accepted) {
      reader.invalid(row.env, accepted, value);
      return INVALID;
    },
    problem(text) {
      reader.problem(text);
      return INVALID;
    },
    readTextFile,
    readFile,
  };
  const fallback = () => defaultOf(row, reader.env, ctx);
  if (row.when !== undefined && !row.when(reader.env)) return fallback();
  const raw = row.emptyIsValue && reader.present(row.env)
    ? (reader.env[row.env] ?? "").trim()
    : reader.raw(row.env);
  if (raw === undefined) {
    if (row.required !== undefined) {
      reader.problem(row.required.missing);
      return "";
    }
    return fallback();
  }
  const parsed = row.kind.parse(raw, ctx);
  return parsed === INVALID ? fallback() : parsed;
}

/**
 * The value of a row when it is unset: its computed default, its raw default
 * parsed by its kind, or undefined.
 *
 * @param row The row.
 * @param env The environment (for computed defaults).
 * @param ctx Where a (never expected) problem with the default would go.
 * @returns The default value.
 */
export function defaultOf(row: AnySetting, env: EnvReader["env"], ctx?: ParseContext): unknown {
  if (row.defaultValue !== undefined) return row.defaultValue(env);
  if (row.default === undefined) return undefined;
  const context = ctx ?? {
    name: row.env,
    env,
    show: (value: string) => JSON.stringify(value),
    invalid: () => INVALID,
    problem: () => INVALID,
    readTextFile: () => "",
    readFile: () => new Uint8Array(),
  };
  const value = row.kind.parse(row.default, context);
  if (value === INVALID) throw new Error(`The default of ${row.env} is not valid.`);
  return value;
}
