/**
 * Builds the validated {@link Config} of the server from environment
 * variables.
 *
 * {@link parseConfig} reads every variable, collects *all* problems instead of
 * stopping at the first one, and throws a {@link ConfigError} listing them.
 * Values of secrets (`OPENAI_API_KEY`, `TWILIO_AUTH_TOKEN`) never appear in
 * any message. An empty value counts as unset (except `GREETING`, where an
 * empty value turns the greeting off).
 *
 * @example
 * ```ts
 * import { describeConfig, parseConfig } from "./config.ts";
 *
 * const config = parseConfig({ OPENAI_API_KEY: "sk-example", PORT: "8080" });
 * console.log(describeConfig(config));
 * ```
 *
 * @module
 */

import {
  type Config,
  type LogFormat,
  type LogLevelName,
  type TurnDetection,
  VOICES,
} from "./config_types.ts";
import { DEFAULT_PRICES, type TokenPrices } from "./calls/prices.ts";
import { DEFAULT_COMPANY_NAME, defaultGreeting, defaultSystemMessage } from "./prompts.ts";

export { DEFAULT_COMPANY_NAME, defaultGreeting, defaultSystemMessage };

export type { Config, LogFormat, LogLevelName, TurnDetection } from "./config_types.ts";

/** Default Realtime WebSocket endpoint (the `model` query parameter is added per call). */
export const DEFAULT_REALTIME_URL = "wss://api.openai.com/v1/realtime";

/** Default Realtime model. */
export const DEFAULT_MODEL = "gpt-realtime";

/**
 * Input transcription model used when `TRANSCRIPTION_MODEL` is unset and
 * session renewal is on (renewal replays the caller's words from it).
 */
export const DEFAULT_TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe";

/** Values of `GREETING` (and `TRANSCRIPTION_MODEL`) that turn the feature off, compared case-insensitively. */
const OFF_WORDS = new Set(["off", "none", "false"]);

const TRUE_WORDS = new Set(["true", "1", "yes", "on"]);
const FALSE_WORDS = new Set(["false", "0", "no", "off"]);
const BOOLEAN_HINT = "true, false, 1, 0, yes, no, on or off";

const CUSTOM_VOICE = /^voice_[A-Za-z0-9_-]+$/;
const TWILIO_ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
const OPENAI_KEY_LIKE = /sk-[A-Za-z0-9_-]{20,}/;
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const INTEGER = /^\+?\d+$/;
const WHITESPACE = /\s/;

const LOG_LEVELS: readonly LogLevelName[] = ["trace", "debug", "info", "warning", "error", "fatal"];
const EAGERNESS = ["low", "medium", "high", "auto"] as const;
/** Variables whose values are never shown in messages. */
const SECRET_NAMES = [
  "OPENAI_API_KEY",
  "TWILIO_AUTH_TOKEN",
  "STREAM_TOKEN_SECRET",
  "METRICS_TOKEN",
  "CALL_RECORD_WEBHOOK_SECRET",
];
const SERVER_VAD_KNOBS = ["VAD_THRESHOLD", "VAD_PREFIX_PADDING_MS", "VAD_SILENCE_DURATION_MS"];

/** Text of the warning added when `TEMPERATURE` is set. */
export const TEMPERATURE_WARNING =
  "TEMPERATURE is set but has no effect: the GA Realtime interface has no temperature setting. Remove it from your environment.";

/** Text of the problem reported when `OPENAI_API_KEY` is missing or empty. */
export const MISSING_API_KEY_PROBLEM =
  "OPENAI_API_KEY is not set. Create a key at https://platform.openai.com/api-keys, then put OPENAI_API_KEY=sk-... in .env (see .env.example) or export it in the environment.";

/** Options for {@link parseConfig}. */
export interface ParseConfigOptions {
  /**
   * Reads the file named by `SYSTEM_MESSAGE_FILE`; throws if it cannot.
   *
   * @default {Deno.readTextFileSync}
   */
  readTextFile?: (path: string) => string;
}

/**
 * Thrown by {@link parseConfig} when one or more variables are missing or
 * invalid. The message lists every problem, one per line.
 *
 * @example
 * ```ts
 * import { ConfigError, parseConfig } from "./config.ts";
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

/**
 * Reads and validates the configuration from environment variables.
 *
 * All problems are collected first; if there is any, a {@link ConfigError}
 * listing all of them is thrown. Settings that are valid but have no effect
 * (such as `TEMPERATURE`) end up in {@link Config.warnings} instead.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./config.ts";
 *
 * const config = parseConfig({ OPENAI_API_KEY: "sk-example", VOICE: "marin" });
 * assert.equal(config.port, 5050);
 * assert.equal(config.voice, "marin");
 * assert.equal(config.turnDetection.type, "server_vad");
 * ```
 *
 * @param env The environment, e.g. `Deno.env.toObject()` or the result of `loadEnvFile()`.
 * @param options How to read `SYSTEM_MESSAGE_FILE`.
 * @returns The validated configuration.
 * @throws {ConfigError} If any variable is missing or invalid.
 */
export function parseConfig(
  env: Record<string, string | undefined>,
  options: ParseConfigOptions = {},
): Config {
  const reader = new EnvReader(env, SECRET_NAMES);
  const readTextFile = options.readTextFile ?? Deno.readTextFileSync;

  const openaiApiKey = reader.raw("OPENAI_API_KEY");
  if (openaiApiKey === undefined) {
    reader.problem(MISSING_API_KEY_PROBLEM);
  } else if (WHITESPACE.test(openaiApiKey)) {
    reader.problem(
      "OPENAI_API_KEY contains whitespace (value not shown). Copy the key again from https://platform.openai.com/api-keys without spaces or line breaks.",
    );
  }

  const openaiRealtimeUrl = parseRealtimeUrl(reader);
  const openaiModel = reader.token(
    "OPENAI_MODEL",
    DEFAULT_MODEL,
    `a model name without whitespace, such as ${DEFAULT_MODEL}`,
  );
  const port = reader.integer("PORT", 5050, 0, 65535);
  const hostname = reader.token("HOST", "0.0.0.0", "a host name or IP address such as 0.0.0.0");
  const publicUrl = parsePublicUrl(reader);
  const voice = parseVoice(reader);
  const companyName = reader.text("COMPANY_NAME") ?? DEFAULT_COMPANY_NAME;
  const systemMessage = parseSystemMessage(reader, companyName, readTextFile);
  const greeting = parseGreeting(reader, companyName);
  const turnDetection = parseTurnDetection(reader);
  const noiseReduction = reader.choice(
    "NOISE_REDUCTION",
    ["near_field", "far_field", "off"] as const,
    "off",
  );
  const transcriptionModel = parseTranscriptionModel(reader);
  const endCallGraceSeconds = reader.number("END_CALL_GRACE_SECONDS", 3, {
    min: 0,
    max: 60,
    accepted: "a number from 0 to 60",
  });
  const endCallWatchdogSeconds = reader.number("END_CALL_WATCHDOG_SECONDS", 4, {
    min: 0,
    minExclusive: true,
    max: 60,
    accepted: "a number greater than 0 and at most 60",
  });
  const showTimingMath = reader.boolean("SHOW_TIMING_MATH", false);
  const twilio = parseTwilio(reader);
  const logLevel = parseLogLevel(reader);
  const logFormat: LogFormat = reader.choice("LOG_FORMAT", ["json", "pretty"] as const, "json");
  const softphone = reader.boolean("SOFTPHONE", false);

  if (reader.raw("TEMPERATURE") !== undefined) reader.warning(TEMPERATURE_WARNING);
  const security = parseSecurity(reader);
  const operations = parseOperations(reader);
  const realtimeSessionRenewSeconds = reader.number("REALTIME_SESSION_RENEW_SECONDS", 3300, {
    min: 0,
    max: 3540,
    accepted: "a number of seconds from 0 (off) to 3540 (sessions last 3600 seconds)",
  });
  const realtimeReconnectSeconds = reader.number("REALTIME_RECONNECT_SECONDS", 5, {
    min: 0,
    max: 60,
    accepted: "a number of seconds from 0 (apologize at once) to 60",
  });
  const drainSeconds = reader.number(
    "DRAIN_SECONDS",
    reader.raw("DENO_DEPLOYMENT_ID") === undefined ? 30 : 4,
    { min: 0, max: 3600, accepted: "a number of seconds from 0 to 3600" },
  );
  let transcription = transcriptionModel;
  if (realtimeSessionRenewSeconds > 0 && transcription === undefined) {
    if (reader.present("TRANSCRIPTION_MODEL")) {
      reader.warning(
        "TRANSCRIPTION_MODEL is off while REALTIME_SESSION_RENEW_SECONDS is on: a renewed or reconnected session will not know what the caller said. Unset TRANSCRIPTION_MODEL to use the default (gpt-4o-mini-transcribe) or set REALTIME_SESSION_RENEW_SECONDS=0.",
      );
    } else {
      transcription = DEFAULT_TRANSCRIPTION_MODEL;
    }
  }
  const transferNumber = reader.text("TRANSFER_NUMBER");
  if (transferNumber !== undefined && !/^\+[1-9][0-9]{6,14}$/.test(transferNumber)) {
    reader.problem(
      "TRANSFER_NUMBER must be a phone number in E.164 form, e.g. +14155550123 (value not shown).",
    );
  }

  if (reader.problems.length > 0) throw new ConfigError(reader.problems);

  return {
    openaiApiKey: openaiApiKey ?? "",
    openaiRealtimeUrl,
    openaiModel,
    port,
    hostname,
    publicUrl,
    voice,
    companyName,
    systemMessage,
    greeting,
    turnDetection,
    noiseReduction: noiseReduction === "off" ? undefined : noiseReduction,
    transcriptionModel: transcription,
    endCallGraceSeconds,
    endCallWatchdogSeconds,
    showTimingMath,
    twilio,
    logLevel,
    logFormat,
    warnings: reader.warnings,
    softphone,
    ...security,
    ...operations,
    realtimeSessionRenewSeconds,
    realtimeReconnectSeconds,
    drainSeconds,
    transferNumber,
  };
}

/**
 * Summarizes a configuration for logging: secrets are replaced by `"set"`,
 * long texts by their length.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeConfig, parseConfig } from "./config.ts";
 *
 * const summary = describeConfig(parseConfig({ OPENAI_API_KEY: "sk-example" }));
 * assert.equal(summary.openaiApiKey, "set");
 * assert.equal(summary.twilio, "not set");
 * ```
 *
 * @param config The configuration to summarize.
 * @returns A summary without any secret, safe to log.
 */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    openaiApiKey: config.openaiApiKey === "" ? "not set" : "set",
    openaiRealtimeUrl: config.openaiRealtimeUrl,
    openaiModel: config.openaiModel,
    port: config.port,
    hostname: config.hostname,
    publicUrl: config.publicUrl ?? "not set (derived from each request's Host header)",
    voice: config.voice,
    companyName: config.companyName,
    systemMessage: `${config.systemMessage.length} characters`,
    greeting: config.greeting ?? "off",
    turnDetection: { ...config.turnDetection },
    noiseReduction: config.noiseReduction ?? "off",
    transcriptionModel: config.transcriptionModel ?? "off",
    endCallGraceSeconds: config.endCallGraceSeconds,
    endCallWatchdogSeconds: config.endCallWatchdogSeconds,
    showTimingMath: config.showTimingMath,
    twilio: config.twilio === undefined ? "not set" : "set",
    logLevel: config.logLevel,
    logFormat: config.logFormat,
    softphone: config.softphone,
    twilioAuthToken: config.twilioAuthToken === undefined ? "not set" : "set",
    twilioSignatureCheck: config.twilioSignatureCheck ? "on" : "off",
    streamTokenSecret: config.streamTokenSecret === undefined
      ? "not set (random per process)"
      : "set",
    maxConcurrentCalls: config.maxConcurrentCalls,
    maxCallSeconds: config.maxCallSeconds,
    callerIdleSeconds: config.callerIdleSeconds,
    metricsToken: config.metricsToken === undefined ? "not set" : "set",
    callStore: config.callStore === undefined
      ? "off"
      : config.callStore.path ?? "the platform's default Deno KV",
    callRecordRetentionDays: config.callRecordRetentionDays,
    callRecordWebhook: config.callRecordWebhook === undefined ? "not set" : "set",
    storeCallerNumbers: config.storeCallerNumbers,
    prices: { ...config.prices },
    realtimeSessionRenewSeconds: config.realtimeSessionRenewSeconds,
    realtimeReconnectSeconds: config.realtimeReconnectSeconds,
    drainSeconds: config.drainSeconds,
    transferNumber: config.transferNumber === undefined ? "not set" : "set",
  };
}

/** Number constraints for {@link EnvReader.number}. */
interface NumberRange {
  min: number;
  max: number;
  minExclusive?: boolean;
  /** Describes the accepted values in messages, e.g. "a number from 0 to 1". */
  accepted: string;
}

/** Reads variables from an environment and collects problems and warnings. */
class EnvReader {
  readonly problems: string[] = [];
  readonly warnings: string[] = [];
  #env: Record<string, string | undefined>;
  #secrets: string[] = [];

  constructor(env: Record<string, string | undefined>, secretNames: readonly string[]) {
    this.#env = env;
    for (const name of secretNames) {
      const value = this.raw(name);
      if (value !== undefined) this.#secrets.push(value);
    }
  }

  problem(text: string): void {
    this.problems.push(text);
  }

  warning(text: string): void {
    this.warnings.push(text);
  }

  /** The trimmed value, or undefined when unset or empty. */
  raw(name: string): string | undefined {
    const value = this.#env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  }

  /** Whether the variable is present at all (even empty). */
  present(name: string): boolean {
    return this.#env[name] !== undefined;
  }

  /** Quotes a value for a message, hiding anything that looks like a secret. */
  show(value: string): string {
    if (
      this.#secrets.some((secret) => secret.length >= 4 && value.includes(secret)) ||
      OPENAI_KEY_LIKE.test(value)
    ) {
      return "(value hidden because it looks like a secret)";
    }
    const shown = value.length > 120 ? `${value.slice(0, 117)}...` : value;
    return JSON.stringify(shown);
  }

  invalid(name: string, accepted: string, value: string): void {
    this.problem(`${name} must be ${accepted}, got ${this.show(value)}.`);
  }

  /** Free text (trimmed), or undefined when unset or empty. */
  text(name: string): string | undefined {
    return this.raw(name);
  }

  /** A single word without whitespace. */
  token(name: string, fallback: string, accepted: string): string {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (WHITESPACE.test(value)) {
      this.invalid(name, accepted, value);
      return fallback;
    }
    return value;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = INTEGER.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      this.invalid(name, `an integer from ${min} to ${max}`, value);
      return fallback;
    }
    return parsed;
  }

  number(name: string, fallback: number, range: NumberRange): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = DECIMAL.test(value) ? Number(value) : NaN;
    const tooLow = range.minExclusive ? parsed <= range.min : parsed < range.min;
    if (!Number.isFinite(parsed) || tooLow || parsed > range.max) {
      this.invalid(name, range.accepted, value);
      return fallback;
    }
    return parsed;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const word = value.toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
    this.invalid(name, `a boolean (${BOOLEAN_HINT})`, value);
    return fallback;
  }

  /** One of `choices`, compared case-insensitively. */
  choice<const T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const word = value.toLowerCase();
    const match = choices.find((choice) => choice === word);
    if (match === undefined) {
      this.invalid(name, `one of ${listWords(choices)}`, value);
      return fallback;
    }
    return match;
  }
}

/** Joins words as "a, b or c" (or "a, b and c"). */
function listWords(words: readonly string[], conjunction: "or" | "and" = "or"): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} ${conjunction} ${words[words.length - 1]}`;
}

function parseRealtimeUrl(reader: EnvReader): string {
  const value = reader.raw("OPENAI_REALTIME_URL");
  if (value === undefined) return DEFAULT_REALTIME_URL;
  const accepted = `a ws:// or wss:// URL such as ${DEFAULT_REALTIME_URL}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    reader.invalid("OPENAI_REALTIME_URL", accepted, value);
    return DEFAULT_REALTIME_URL;
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    reader.invalid("OPENAI_REALTIME_URL", accepted, value);
    return DEFAULT_REALTIME_URL;
  }
  if (url.searchParams.has("model")) {
    reader.problem(
      `OPENAI_REALTIME_URL must not contain a "model" query parameter (it is added from OPENAI_MODEL), got ${
        reader.show(value)
      }. Remove "model=..." from the URL and set OPENAI_MODEL instead.`,
    );
    return DEFAULT_REALTIME_URL;
  }
  return value;
}

function parsePublicUrl(reader: EnvReader): string | undefined {
  const value = reader.raw("PUBLIC_URL");
  if (value === undefined) return undefined;
  const accepted =
    "an absolute http:// or https:// URL without query or fragment, such as https://example.ngrok.app";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    reader.invalid("PUBLIC_URL", accepted, value);
    return undefined;
  }
  if (
    (url.protocol !== "http:" && url.protocol !== "https:") || value.includes("?") ||
    value.includes("#")
  ) {
    reader.invalid("PUBLIC_URL", accepted, value);
    return undefined;
  }
  return url.href.replace(/\/+$/, "");
}

function parseVoice(reader: EnvReader): string {
  const value = reader.raw("VOICE");
  if (value === undefined) return "alloy";
  const builtIn = VOICES.find((voice) => voice === value.toLowerCase());
  if (builtIn !== undefined) return builtIn;
  if (CUSTOM_VOICE.test(value)) return value;
  reader.invalid(
    "VOICE",
    `one of ${listWords(VOICES)}, or a custom voice id such as voice_1234abcd`,
    value,
  );
  return "alloy";
}

function parseSystemMessage(
  reader: EnvReader,
  companyName: string,
  readTextFile: (path: string) => string,
): string {
  const fallback = defaultSystemMessage(companyName);
  const message = reader.text("SYSTEM_MESSAGE");
  const path = reader.raw("SYSTEM_MESSAGE_FILE");
  if (message !== undefined && path !== undefined) {
    reader.problem(
      "SYSTEM_MESSAGE and SYSTEM_MESSAGE_FILE are both set. Set only one of them: SYSTEM_MESSAGE for the text itself, or SYSTEM_MESSAGE_FILE for the path of a file containing it.",
    );
    return fallback;
  }
  if (message !== undefined) return message;
  if (path === undefined) return fallback;
  let content: string;
  try {
    content = readTextFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    reader.problem(
      `SYSTEM_MESSAGE_FILE could not be read from ${
        JSON.stringify(path)
      } (${reason}). Check the path (relative paths start in the working directory) and that the server may read it, or unset SYSTEM_MESSAGE_FILE.`,
    );
    return fallback;
  }
  const trimmed = content.trim();
  if (trimmed === "") {
    reader.problem(
      `SYSTEM_MESSAGE_FILE points to an empty file, ${
        JSON.stringify(path)
      }. Write the system message into it, or unset SYSTEM_MESSAGE_FILE to use the default.`,
    );
    return fallback;
  }
  return trimmed;
}

function parseGreeting(reader: EnvReader, companyName: string): string | undefined {
  if (!reader.present("GREETING")) return defaultGreeting(companyName);
  const value = reader.raw("GREETING");
  if (value === undefined || OFF_WORDS.has(value.toLowerCase())) return undefined;
  return value;
}

function parseTranscriptionModel(reader: EnvReader): string | undefined {
  const value = reader.raw("TRANSCRIPTION_MODEL");
  if (value === undefined || OFF_WORDS.has(value.toLowerCase())) return undefined;
  if (WHITESPACE.test(value)) {
    reader.invalid(
      "TRANSCRIPTION_MODEL",
      "a transcription model name without whitespace (such as gpt-4o-mini-transcribe) or off",
      value,
    );
    return undefined;
  }
  return value;
}

function parseTurnDetection(reader: EnvReader): TurnDetection {
  const type = reader.choice(
    "TURN_DETECTION",
    ["server_vad", "semantic_vad"] as const,
    "server_vad",
  );
  const interruptResponse = reader.boolean("INTERRUPT_RESPONSE", true);
  if (type === "semantic_vad") {
    const ignored = SERVER_VAD_KNOBS.filter((name) => reader.raw(name) !== undefined);
    if (ignored.length > 0) {
      const verb = ignored.length === 1 ? "is" : "are";
      reader.warning(
        `${listWords(ignored, "and")} ${verb} set but ${
          verb === "is" ? "has" : "have"
        } no effect with TURN_DETECTION=semantic_vad (only server_vad uses ${
          ignored.length === 1 ? "it" : "them"
        }). Remove ${ignored.length === 1 ? "it" : "them"} or set TURN_DETECTION=server_vad.`,
      );
    }
    const eagerness = reader.choice("VAD_EAGERNESS", EAGERNESS, "auto");
    return { type, eagerness, interruptResponse };
  }
  if (reader.raw("VAD_EAGERNESS") !== undefined) {
    reader.warning(
      "VAD_EAGERNESS is set but has no effect with TURN_DETECTION=server_vad (only semantic_vad uses it). Remove it or set TURN_DETECTION=semantic_vad.",
    );
  }
  return {
    type,
    threshold: reader.number("VAD_THRESHOLD", 0.5, {
      min: 0,
      max: 1,
      accepted: "a number from 0 to 1",
    }),
    prefixPaddingMs: reader.integer("VAD_PREFIX_PADDING_MS", 300, 0, 5000),
    silenceDurationMs: reader.integer("VAD_SILENCE_DURATION_MS", 500, 0, 10000),
    interruptResponse,
  };
}

function parseTwilio(reader: EnvReader): Config["twilio"] {
  const accountSid = reader.raw("TWILIO_ACCOUNT_SID");
  const authToken = reader.raw("TWILIO_AUTH_TOKEN");
  if (accountSid === undefined && authToken === undefined) return undefined;
  if (authToken === undefined) {
    reader.problem(
      "TWILIO_ACCOUNT_SID is set but TWILIO_AUTH_TOKEN is not. Set TWILIO_AUTH_TOKEN too (from https://console.twilio.com), or unset TWILIO_ACCOUNT_SID.",
    );
  } else if (WHITESPACE.test(authToken)) {
    reader.problem(
      "TWILIO_AUTH_TOKEN contains whitespace (value not shown). Copy it again from https://console.twilio.com without spaces or line breaks.",
    );
  }
  // The token alone is enough for signature checks; REST hang-up also needs the SID.
  if (accountSid === undefined) return undefined;
  if (!TWILIO_ACCOUNT_SID.test(accountSid)) {
    reader.invalid(
      "TWILIO_ACCOUNT_SID",
      '"AC" followed by 32 hexadecimal digits (see https://console.twilio.com)',
      accountSid,
    );
  }
  if (accountSid === undefined || authToken === undefined) return undefined;
  return { accountSid, authToken };
}

function parseSecurity(reader: EnvReader): Pick<
  Config,
  | "twilioAuthToken"
  | "twilioSignatureCheck"
  | "streamTokenSecret"
  | "maxConcurrentCalls"
  | "maxCallSeconds"
  | "callerIdleSeconds"
> {
  const authToken = reader.raw("TWILIO_AUTH_TOKEN");
  const check = reader.choice("TWILIO_SIGNATURE_CHECK", ["on", "off"] as const, "on");
  const secret = reader.raw("STREAM_TOKEN_SECRET");
  if (secret !== undefined && secret.length < 16) {
    reader.problem(
      "STREAM_TOKEN_SECRET is too short (value not shown): use at least 16 random characters, e.g. the output of `openssl rand -hex 32`, the same on every instance.",
    );
  }
  return {
    twilioAuthToken: authToken !== undefined && !WHITESPACE.test(authToken) ? authToken : undefined,
    twilioSignatureCheck: check === "on",
    streamTokenSecret: secret,
    maxConcurrentCalls: reader.integer("MAX_CONCURRENT_CALLS", 20, 1, 100_000),
    maxCallSeconds: reader.integer("MAX_CALL_SECONDS", 1800, 0, 86_400),
    callerIdleSeconds: reader.integer("CALLER_IDLE_SECONDS", 60, 0, 86_400),
  };
}

function parseLogLevel(reader: EnvReader): LogLevelName {
  const value = reader.raw("LOG_LEVEL");
  if (value === undefined) return "info";
  const word = value.toLowerCase();
  if (word === "warn") return "warning";
  const level = LOG_LEVELS.find((name) => name === word);
  if (level === undefined) {
    reader.invalid(
      "LOG_LEVEL",
      "one of trace, debug, info, warning (or warn), error or fatal",
      value,
    );
    return "info";
  }
  return level;
}

/** Default file of the call records (relative to the working directory). */
export const DEFAULT_CALL_STORE_PATH = "calls.kv";

/** The price variables and the {@link TokenPrices} field each sets. */
export const PRICE_VARIABLES: readonly (readonly [string, keyof TokenPrices])[] = [
  ["PRICE_INPUT_TEXT_PER_MTOK", "inputText"],
  ["PRICE_INPUT_AUDIO_PER_MTOK", "inputAudio"],
  ["PRICE_INPUT_CACHED_PER_MTOK", "inputCached"],
  ["PRICE_OUTPUT_TEXT_PER_MTOK", "outputText"],
  ["PRICE_OUTPUT_AUDIO_PER_MTOK", "outputAudio"],
];

function parseOperations(reader: EnvReader): Pick<
  Config,
  | "metricsToken"
  | "callStore"
  | "callRecordRetentionDays"
  | "callRecordWebhook"
  | "storeCallerNumbers"
  | "prices"
> {
  const metricsToken = reader.raw("METRICS_TOKEN");
  if (metricsToken !== undefined && WHITESPACE.test(metricsToken)) {
    reader.problem(
      "METRICS_TOKEN contains whitespace (value not shown). Use a token without spaces, e.g. from `openssl rand -hex 32`.",
    );
  }
  const storePath = reader.raw("CALL_STORE_PATH");
  const onDeploy = reader.raw("DENO_DEPLOYMENT_ID") !== undefined;
  const callStore = storePath?.toLowerCase() === "off"
    ? undefined
    : { path: storePath ?? (onDeploy ? undefined : DEFAULT_CALL_STORE_PATH) };
  const callRecordRetentionDays = reader.number("CALL_RECORD_RETENTION_DAYS", 30, {
    min: 0,
    max: 3650,
    accepted: "a number of days from 0 (keep forever) to 3650",
  });
  const webhookUrl = reader.raw("CALL_RECORD_WEBHOOK_URL");
  const webhookSecret = reader.raw("CALL_RECORD_WEBHOOK_SECRET");
  let callRecordWebhook: Config["callRecordWebhook"];
  if (webhookUrl !== undefined) {
    let ok = false;
    try {
      const url = new URL(webhookUrl);
      ok = url.protocol === "https:" || url.protocol === "http:";
    } catch {
      ok = false;
    }
    if (!ok) {
      reader.invalid(
        "CALL_RECORD_WEBHOOK_URL",
        "an absolute http:// or https:// URL such as https://example.com/call-records",
        webhookUrl,
      );
    }
    if (webhookSecret === undefined) {
      reader.problem(
        "CALL_RECORD_WEBHOOK_URL is set but CALL_RECORD_WEBHOOK_SECRET is not. Set a secret (e.g. from `openssl rand -hex 32`) so the receiver can check the signature.",
      );
    }
    if (ok && webhookSecret !== undefined) {
      callRecordWebhook = { url: webhookUrl, secret: webhookSecret };
    }
  } else if (webhookSecret !== undefined) {
    reader.warning(
      "CALL_RECORD_WEBHOOK_SECRET is set but CALL_RECORD_WEBHOOK_URL is not; no records are posted.",
    );
  }
  const storeCallerNumbers = reader.boolean("STORE_CALLER_NUMBERS", false);
  const prices = { ...DEFAULT_PRICES };
  for (const [name, field] of PRICE_VARIABLES) {
    prices[field] = reader.number(name, DEFAULT_PRICES[field], {
      min: 0,
      max: 100_000,
      accepted: "a price in USD per 1M tokens from 0 to 100000",
    });
  }
  return {
    metricsToken,
    callStore,
    callRecordRetentionDays,
    callRecordWebhook,
    storeCallerNumbers,
    prices,
  };
}
