/**
 * Logging for the bridge, built on [LogTape](https://logtape.org/).
 *
 * {@link configureLogging} sends every record under the `bridge` category to
 * one sink that formats it as a single line (JSON or human-readable), then
 * redacts secrets, OpenAI keys and phone numbers from the line before writing
 * it. Code logs through {@link getBridgeLogger}.
 *
 * @example
 * ```ts
 * import { configureLogging, disposeLogging, getBridgeLogger } from "./logging.ts";
 *
 * await configureLogging({ level: "info", format: "pretty" });
 * getBridgeLogger("call").info("Call {callSid} started.", { callSid: "CA0123" });
 * await disposeLogging();
 * ```
 *
 * @module
 */

import {
  configure,
  type FormattedValues,
  getLogger,
  getTextFormatter,
  type Logger,
  type LogRecord,
  reset,
  sanitizeControlSequences,
  type Sink,
  type TextFormatter,
} from "@logtape/logtape";
import type { LogFormat, LogLevelName } from "../config/mod.ts";
import { maskPhoneNumbersIn } from "../security/phone_numbers.ts";
import { maskGroupedPhoneNumbers, redactCardsAndEmails } from "../security/personal_data.ts";
import { createSecretRedactor, REDACTED } from "../security/secret_redaction.ts";

/** Root category of every logger of the bridge. */
const ROOT_CATEGORY = "bridge";

/** Keys of a JSON line that properties may not overwrite. */
const RESERVED_JSON_KEYS = new Set(["timestamp", "level", "category", "message"]);

/** Options for {@link configureLogging}. */
export interface ConfigureLoggingOptions {
  /** Lowest level written; records below it are dropped. */
  level: LogLevelName;
  /** `json`: one JSON object per line; `pretty`: one human-readable line per record. */
  format: LogFormat;
  /**
   * Exact strings replaced by `[redacted]` in every line, e.g. the OpenAI API
   * key, the Twilio auth token and the agents file's `${VAR}` values (see
   * `security/secret_redaction.ts`: strings shorter than 8 characters only as
   * whole words).
   */
  secrets?: string[];
  /**
   * Also redact card numbers (`[card]`), e-mail addresses (`[email]`) and
   * phone numbers written in groups (`REDACT`; default true).
   */
  personalData?: boolean;
  /**
   * Receives each finished line (without line break).
   *
   * @default {a function writing the line and "\n" to standard output}
   */
  sink?: (line: string) => void;
}

/**
 * Configures LogTape: records of the `bridge` category (and below) at
 * `options.level` or above are formatted, redacted and written as one line
 * each. LogTape's own meta logger only reports warnings and worse. May be
 * called again; the previous configuration is replaced.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { configureLogging, disposeLogging, getBridgeLogger } from "./logging.ts";
 *
 * const lines: string[] = [];
 * await configureLogging({
 *   level: "debug",
 *   format: "json",
 *   secrets: ["sk-example-secret-value"],
 *   sink: (line) => lines.push(line),
 * });
 * getBridgeLogger("call").info("Key is {key}.", { key: "sk-example-secret-value" });
 * await disposeLogging();
 * assert.equal(JSON.parse(lines[0]).message, "Key is [redacted].");
 * ```
 *
 * @param options Level, format, secrets and where lines go.
 */
export async function configureLogging(options: ConfigureLoggingOptions): Promise<void> {
  const formatter = options.format === "pretty" ? createPrettyFormatter() : formatJsonLine;
  const redact = createRedactor(options.secrets ?? [], {
    personalData: options.personalData ?? true,
  });
  const write = options.sink ?? writeToStdout;
  const sink: Sink = (record: LogRecord) => {
    write(toSingleLine(redact(formatter(record))));
  };
  await configure({
    reset: true,
    sinks: { bridge: sink },
    loggers: [
      { category: [ROOT_CATEGORY], sinks: ["bridge"], lowestLevel: options.level },
      {
        category: ["logtape", "meta"],
        sinks: ["bridge"],
        lowestLevel: "warning",
        parentSinks: "override",
      },
    ],
  });
}

/**
 * Removes the logging configuration and disposes of its sinks. Call it at
 * shutdown and at the end of each test that configured logging.
 *
 * @example
 * ```ts
 * import { configureLogging, disposeLogging } from "./logging.ts";
 *
 * await configureLogging({ level: "info", format: "json", sink: () => {} });
 * await disposeLogging();
 * ```
 */
export async function disposeLogging(): Promise<void> {
  await reset();
}

/**
 * Returns the LogTape logger of a part of the bridge, under the `bridge`
 * category.
 *
 * @example
 * ```ts
 * import { getBridgeLogger } from "./logging.ts";
 *
 * const logger = getBridgeLogger("twilio", "media");
 * console.log(logger.category); // ["bridge", "twilio", "media"]
 * ```
 *
 * @param subcategory The category below `bridge`, e.g. `"call"` or `"openai", "ws"`.
 * @returns The logger.
 */
export function getBridgeLogger(...subcategory: string[]): Logger {
  return getLogger([ROOT_CATEGORY, ...subcategory]);
}

/**
 * Creates the function that redacts a formatted log line:
 *
 * - every exact string in `secrets`, also JSON-escaped or percent-encoded,
 *   becomes `[redacted]` (`createSecretRedactor` in
 *   `security/secret_redaction.ts`: shorter than 8 characters only as a
 *   whole word);
 * - strings that look like OpenAI keys (`sk-` and 20 or more of
 *   `[A-Za-z0-9_-]`) or per-call stream tokens (`v1.<expiry>.<mac>`) become
 *   `[redacted]`;
 * - phone numbers are masked as everywhere else (`maskPhoneNumbersIn` in
 *   `security/phone_numbers.ts`: the first 2 and last 2 digits stay, e.g.
 *   `+14•••••••23`): E.164 numbers (`+` or `%2B` and 7 to 15 digits) and
 *   standalone runs of 10 to 15 digits, except runs starting with `1` that
 *   are not 11 digits long (Unix timestamps in seconds or milliseconds).
 *   Digits inside words, such as Twilio SIDs (`CA` and 32 hex digits), are
 *   left intact, and so are the examples of our own wording (`e.g.
 *   +15005550001`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createRedactor } from "./logging.ts";
 *
 * const redact = createRedactor(["my-twilio-token-123"]);
 * assert.equal(
 *   redact("from +14155550123 token my-twilio-token-123"),
 *   "from +14•••••••23 token [redacted]",
 * );
 * ```
 *
 * With `personalData` (`REDACT=on`, the default), card numbers that pass the
 * Luhn check become `[card]`, e-mail addresses `[email]`, and phone numbers
 * written in groups (`415-555-0123`) are masked too (`security/personal_data.ts`).
 *
 * @param secrets Exact strings to hide; shorter than 8 characters only as whole words.
 * @param options `personalData`: also redact cards, e-mails and grouped phone numbers [true].
 * @returns A function returning the text with everything sensitive masked.
 */
export function createRedactor(
  secrets: string[],
  options: { personalData?: boolean } = {},
): (text: string) => string {
  const redactSecrets = createSecretRedactor(secrets);
  const personal = options.personalData ?? true;
  return (text: string): string => {
    const withoutSecrets = redactSecrets(text).replace(OPENAI_KEY, REDACTED)
      .replace(STREAM_TOKEN, REDACTED);
    return maskOutsideExamples(
      personal ? maskGroupedPhoneNumbers(redactCardsAndEmails(withoutSecrets)) : withoutSecrets,
    );
  };
}

/**
 * Our own wording gives example numbers as `e.g. +15005550001` (the agents
 * file's problems, configuration errors): those are left as written, every
 * other phone number is masked.
 */
function maskOutsideExamples(text: string): string {
  return text.split(EXAMPLE_NUMBER).map((part, i) => i % 2 === 1 ? part : maskPhoneNumbersIn(part))
    .join("");
}

/** An example number of our wording (captured, so `split` keeps it). */
const EXAMPLE_NUMBER = /(e\.g\. \+\d{7,15}(?!\d))/;

const OPENAI_KEY = /(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{20,}/g;
/** Per-call stream tokens (`src/security/stream_token.ts`). */
const STREAM_TOKEN = /v1\.\d{1,15}\.[A-Za-z0-9_-]{43}/g;
/** Formats a record as one JSON object: timestamp, level, category, message, then the properties. */
function formatJsonLine(record: LogRecord): string {
  const line: Record<string, unknown> = {
    timestamp: new Date(record.timestamp).toISOString(),
    level: record.level,
    category: record.category.join("."),
    message: renderMessage(record.message),
  };
  for (const [key, value] of Object.entries(record.properties)) {
    line[RESERVED_JSON_KEYS.has(key) ? `_${key}` : key] = value;
  }
  return toJson(line);
}

/** Creates the formatter of the `pretty` format: `time LEVEL category: message key=value ...`. */
function createPrettyFormatter(): TextFormatter {
  return getTextFormatter({
    timestamp: "rfc3339",
    level: "FULL",
    category: ".",
    value: (value) => typeof value === "string" ? sanitizeString(value) : toJson(value),
    sanitize: { sgr: "escape", newlines: "escape" },
    format: (values: FormattedValues) => {
      const properties = Object.entries(values.record.properties)
        .map(([key, value]) => ` ${renderKey(key)}=${renderPrettyValue(value)}`)
        .join("");
      return `${values.timestamp} ${
        values.level.padEnd(7)
      } ${values.category}: ${values.message}${properties}`;
    },
  });
}

/** Renders the message parts; interpolated strings appear bare, other values as JSON. */
function renderMessage(parts: readonly unknown[]): string {
  let message = "";
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    message += i % 2 === 0 || typeof part === "string" ? String(part) : toJson(part);
  }
  return message;
}

function renderKey(key: string): string {
  return /^[\w.-]+$/.test(key) ? key : toJson(key);
}

function renderPrettyValue(value: unknown): string {
  if (typeof value === "string" && /^[\x21-\x7e]+$/.test(value) && !/["=\\]/.test(value)) {
    return value;
  }
  return toJson(value);
}

function sanitizeString(value: string): string {
  return sanitizeControlSequences(value, { sgr: "escape", newlines: "escape" });
}

/**
 * Serializes any value as single-line JSON: errors keep name, message, stack
 * and cause; bigints become strings; maps, sets and byte arrays are
 * summarized; cycles become `"[Circular]"`.
 */
function toJson(value: unknown): string {
  const seen = new WeakSet<object>();
  const json = JSON.stringify(value, (_key, current: unknown) => {
    if (typeof current === "bigint") return current.toString();
    if (typeof current === "function") return `[Function ${current.name || "anonymous"}]`;
    if (typeof current === "symbol") return current.toString();
    if (current === undefined) return null;
    if (typeof current !== "object" || current === null) return current;
    if (seen.has(current)) return "[Circular]";
    seen.add(current);
    if (current instanceof Error) {
      const error: Record<string, unknown> = { name: current.name, message: current.message };
      if (current.stack !== undefined) error.stack = current.stack;
      if (current.cause !== undefined) error.cause = current.cause;
      return error;
    }
    if (current instanceof Map) return Object.fromEntries(current);
    if (current instanceof Set) return [...current];
    if (ArrayBuffer.isView(current)) {
      return `[${current.constructor.name}(${current.byteLength} bytes)]`;
    }
    if (current instanceof ArrayBuffer) return `[ArrayBuffer(${current.byteLength} bytes)]`;
    return current;
  });
  return escapeLineBreakingCharacters(json ?? "null");
}

/** Escapes characters that JSON leaves raw but some readers treat as line or control breaks. */
function escapeLineBreakingCharacters(text: string): string {
  return text.replace(
    /[\u0080-\u009f\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Guarantees one record per line, whatever a formatter produced. */
function toSingleLine(line: string): string {
  return line.replace(/\r?\n$/, "").replace(/\r/g, "\\r").replace(/\n/g, "\\n");
}

const encoder = new TextEncoder();

function writeToStdout(line: string): void {
  const bytes = encoder.encode(`${line}\n`);
  let written = 0;
  while (written < bytes.length) {
    written += Deno.stdout.writeSync(bytes.subarray(written));
  }
}
