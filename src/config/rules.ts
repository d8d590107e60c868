/**
 * The rules that span several variables, applied after the table loop of
 * `parse.ts` has parsed each variable on its own. Each is a small named
 * function that reads the parsed values (by variable name), may report a
 * problem or a warning, and returns what it composes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./mod.ts";
 *
 * // transcriptionDefault(): renewal is on by default, so transcription is too.
 * const config = parseConfig({ OPENAI_API_KEY: "sk-test-0123456789abcdefghij" });
 * assert.equal(config.transcriptionModel, "gpt-4o-mini-transcribe");
 * ```
 *
 * @module
 */
import type { TokenPrices } from "../calls/prices.ts";
import type { ComposedConfig, EnvValues, TurnDetection } from "./config_type.ts";
import { cleartextUpstream, listWords, OFF_WORDS } from "./kinds.ts";
import type { EnvReader } from "./reader.ts";
import { splitRealtimeUrl } from "./realtime_url.ts";
import { SETTINGS } from "./spec.ts";
import { defaultGreeting, defaultSystemMessage } from "../prompts/mod.ts";
import { MAKE_SECRET_HINT } from "../webhooks/mod.ts";
import { errorMessage } from "../observability/error_message.ts";

/**
 * Input transcription model used when `TRANSCRIPTION_MODEL` is unset and
 * session renewal is on (renewal replays the caller's words from it).
 */
const DEFAULT_TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe";

/** Text of the warning added when `TEMPERATURE` is set. */
export const TEMPERATURE_WARNING =
  "TEMPERATURE is set but has no effect: the GA Realtime interface has no temperature setting. Remove it from your environment.";

const SERVER_VAD_KNOBS = ["VAD_THRESHOLD", "VAD_PREFIX_PADDING_MS", "VAD_SILENCE_DURATION_MS"];

// The default wording lives with every other sentence the model says, in src/prompts/mod.ts.

/**
 * A `model` query parameter in `OPENAI_REALTIME_URL` (as in OpenAI's docs) is
 * taken out of the URL; it is the model when `OPENAI_MODEL` is unset, and a
 * different `OPENAI_MODEL` is a problem naming both.
 */
export function modelFromRealtimeUrl(v: EnvValues, reader: EnvReader): void {
  const { base, model } = splitRealtimeUrl(v.OPENAI_REALTIME_URL);
  if (model === undefined) return;
  v.OPENAI_REALTIME_URL = base;
  const configured = reader.raw("OPENAI_MODEL");
  if (configured === undefined) {
    v.OPENAI_MODEL = model;
  } else if (configured !== model) {
    reader.problem(
      `OPENAI_REALTIME_URL names the model ${
        JSON.stringify(model)
      } (in "?model=") but OPENAI_MODEL is ${
        reader.show(configured)
      }. Set the model in one place: remove "model=..." from OPENAI_REALTIME_URL, or unset OPENAI_MODEL.`,
    );
  }
}

/** `SYSTEM_MESSAGE`, or the file `SYSTEM_MESSAGE_FILE` names (not both), or the default. */
export function systemMessage(
  v: EnvValues,
  reader: EnvReader,
  readTextFile: (path: string) => string,
): string {
  const fallback = defaultSystemMessage(v.COMPANY_NAME);
  const message = v.SYSTEM_MESSAGE;
  const path = v.SYSTEM_MESSAGE_FILE;
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
    const reason = errorMessage(error);
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

/** The default greeting when `GREETING` is absent; off, none, false or empty for none. */
export function greeting(v: EnvValues): string | undefined {
  const value = v.GREETING;
  if (value === undefined) return defaultGreeting(v.COMPANY_NAME);
  if (value === "" || OFF_WORDS.has(value.toLowerCase())) return undefined;
  return value;
}

/** Turn detection from its variables; the other detector's knobs only give a warning. */
export function turnDetection(v: EnvValues, reader: EnvReader): TurnDetection {
  const interruptResponse = v.INTERRUPT_RESPONSE;
  if (v.TURN_DETECTION === "semantic_vad") {
    const ignored = SERVER_VAD_KNOBS.filter((name) => reader.raw(name) !== undefined);
    if (ignored.length > 0) {
      const one = ignored.length === 1;
      reader.warning(
        `${listWords(ignored, "and")} ${one ? "is" : "are"} set but ${
          one ? "has" : "have"
        } no effect with TURN_DETECTION=semantic_vad (only server_vad uses ${
          one ? "it" : "them"
        }). Remove ${one ? "it" : "them"} or set TURN_DETECTION=server_vad.`,
      );
    }
    return { type: "semantic_vad", eagerness: v.VAD_EAGERNESS, interruptResponse };
  }
  if (reader.raw("VAD_EAGERNESS") !== undefined) {
    reader.warning(
      "VAD_EAGERNESS is set but has no effect with TURN_DETECTION=server_vad (only semantic_vad uses it). Remove it or set TURN_DETECTION=semantic_vad.",
    );
  }
  return {
    type: "server_vad",
    threshold: v.VAD_THRESHOLD,
    prefixPaddingMs: v.VAD_PREFIX_PADDING_MS,
    silenceDurationMs: v.VAD_SILENCE_DURATION_MS,
    interruptResponse,
  };
}

/**
 * Session renewal replays the caller's words from transcripts: with renewal
 * on, transcription defaults to {@link DEFAULT_TRANSCRIPTION_MODEL}, and
 * turning it off explicitly gives a warning.
 */
export function transcriptionDefault(v: EnvValues, reader: EnvReader): void {
  if (v.REALTIME_SESSION_RENEW_SECONDS <= 0 || v.TRANSCRIPTION_MODEL !== undefined) return;
  if (reader.present("TRANSCRIPTION_MODEL")) {
    reader.warning(
      "TRANSCRIPTION_MODEL is off while REALTIME_SESSION_RENEW_SECONDS is on: a renewed or reconnected session will not know what the caller said. Unset TRANSCRIPTION_MODEL to use the default (gpt-4o-mini-transcribe) or set REALTIME_SESSION_RENEW_SECONDS=0.",
    );
  } else {
    v.TRANSCRIPTION_MODEL = DEFAULT_TRANSCRIPTION_MODEL;
  }
}

/** The account SID is only useful with the auth token (the token alone checks signatures). */
export function twilioCredentialPair(reader: EnvReader): void {
  if (
    reader.raw("TWILIO_ACCOUNT_SID") !== undefined && reader.raw("TWILIO_AUTH_TOKEN") === undefined
  ) {
    reader.problem(
      "TWILIO_ACCOUNT_SID is set but TWILIO_AUTH_TOKEN is not. Set TWILIO_AUTH_TOKEN too (from https://console.twilio.com), or unset TWILIO_ACCOUNT_SID.",
    );
  }
}

/**
 * What outbound calling still needs when `API_TOKEN` is set (it turns the
 * control API, `POST /calls` and `/campaigns`, on): `PUBLIC_URL` (Twilio
 * fetches the TwiML and posts the call's progress there), the Twilio account
 * (`TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`) and a caller id
 * (`TWILIO_PHONE_NUMBER`). One message per missing setting, naming it and
 * saying how to set it; empty when the control API is off or all is there.
 */
function outboundProblems(
  settings: { apiToken: string | undefined; twilioPhoneNumber: string | undefined },
  config: { publicUrl: string | undefined; twilio: { accountSid: string } | undefined },
): string[] {
  if (settings.apiToken === undefined) return [];
  const problems: string[] = [];
  if (config.publicUrl === undefined) {
    problems.push(
      "API_TOKEN is set (outbound calls on) but PUBLIC_URL is not: Twilio fetches the TwiML and posts the call's progress to this server's public https URL. Set PUBLIC_URL (e.g. https://example.ngrok.app), or unset API_TOKEN.",
    );
  }
  if (config.twilio === undefined) {
    problems.push(
      "API_TOKEN is set (outbound calls on) but TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not both set: calls are placed through Twilio's REST API with them (https://console.twilio.com).",
    );
  }
  if (settings.twilioPhoneNumber === undefined) {
    problems.push(
      "API_TOKEN is set (outbound calls on) but TWILIO_PHONE_NUMBER is not: set it to the Twilio number calls come from, in E.164 form (e.g. +14155550123).",
    );
  }
  return problems;
}

/**
 * Outbound calls (`API_TOKEN` set) need `PUBLIC_URL`, the Twilio account and
 * a caller id: one problem per missing setting ({@link outboundProblems}).
 */
export function outboundRequirements(v: EnvValues, reader: EnvReader): void {
  // A variable that is set but refused by its own row already has its message
  // (`PUBLIC_URL must be an https:// URL…`): only a missing one is reported here.
  const given = (name: string, value: string | undefined) => value ?? reader.raw(name);
  const accountSid = given("TWILIO_ACCOUNT_SID", v.TWILIO_ACCOUNT_SID);
  const problems = outboundProblems(
    {
      apiToken: v.API_TOKEN,
      twilioPhoneNumber: given("TWILIO_PHONE_NUMBER", v.TWILIO_PHONE_NUMBER),
    },
    {
      publicUrl: given("PUBLIC_URL", v.PUBLIC_URL),
      twilio: accountSid !== undefined &&
          given("TWILIO_AUTH_TOKEN", v.TWILIO_AUTH_TOKEN) !== undefined
        ? { accountSid }
        : undefined,
    },
  );
  for (const problem of problems) reader.problem(problem);
}

/**
 * Transfers: `TRANSFER_NUMBER` and `TRANSFER_NUMBERS` exclude each other, and
 * a warm transfer needs the Twilio account (it places the person's call) and
 * `PUBLIC_URL` (Twilio fetches the briefing there).
 */
export function transferRequirements(v: EnvValues, reader: EnvReader): void {
  if (v.TRANSFER_NUMBER !== undefined && v.TRANSFER_NUMBERS !== undefined) {
    reader.problem(
      "TRANSFER_NUMBER and TRANSFER_NUMBERS are both set. Set only TRANSFER_NUMBERS, listing every destination in order.",
    );
  }
  if (v.TRANSFER_MODE !== "warm") return;
  if (v.TRANSFER_NUMBER === undefined && v.TRANSFER_NUMBERS === undefined) {
    reader.warning("TRANSFER_MODE=warm has no effect without TRANSFER_NUMBERS.");
    return;
  }
  const missing = [
    ...(v.TWILIO_ACCOUNT_SID === undefined ? ["TWILIO_ACCOUNT_SID"] : []),
    ...(v.TWILIO_AUTH_TOKEN === undefined ? ["TWILIO_AUTH_TOKEN"] : []),
    ...(v.PUBLIC_URL === undefined ? ["PUBLIC_URL"] : []),
  ];
  if (missing.length > 0) {
    reader.problem(
      `TRANSFER_MODE=warm places the person's call through Twilio's REST API and needs ${
        listWords(missing, "and")
      }; set ${missing.length === 1 ? "it" : "them"}, or use TRANSFER_MODE=cold.`,
    );
  }
}

/**
 * The environment's webhook: `WEBHOOK_URL` with `WEBHOOK_SECRET`, or the
 * deprecated `CALL_RECORD_WEBHOOK_URL`/`_SECRET` (a warning says so).
 */
export function webhook(v: EnvValues, reader: EnvReader): ComposedConfig["webhook"] {
  const pair = (urlName: string, secretName: string) => {
    const hasUrl = reader.raw(urlName) !== undefined;
    const hasSecret = reader.raw(secretName) !== undefined;
    if (hasUrl && !hasSecret) {
      reader.problem(
        `${urlName} is set but ${secretName} is not. Set a secret (${MAKE_SECRET_HINT}) so the receiver can check the signature.`,
      );
    } else if (!hasUrl && hasSecret) {
      reader.warning(`${secretName} is set but ${urlName} is not; no webhooks are posted.`);
    }
    return hasUrl && hasSecret;
  };
  const events = v.WEBHOOK_EVENTS;
  if (pair("WEBHOOK_URL", "WEBHOOK_SECRET")) {
    if (reader.raw("CALL_RECORD_WEBHOOK_URL") !== undefined) {
      reader.warning(
        "CALL_RECORD_WEBHOOK_URL is ignored: WEBHOOK_URL is set. Remove the CALL_RECORD_WEBHOOK_* variables.",
      );
    }
    const url = v.WEBHOOK_URL;
    const secret = v.WEBHOOK_SECRET;
    return url === undefined || secret === undefined
      ? undefined
      : { url, secret, events, legacy: false };
  }
  if (reader.raw("WEBHOOK_URL") !== undefined || reader.raw("WEBHOOK_SECRET") !== undefined) {
    return undefined;
  }
  if (!pair("CALL_RECORD_WEBHOOK_URL", "CALL_RECORD_WEBHOOK_SECRET")) return undefined;
  reader.warning(
    `CALL_RECORD_WEBHOOK_URL and CALL_RECORD_WEBHOOK_SECRET are deprecated: set WEBHOOK_URL and WEBHOOK_SECRET (${MAKE_SECRET_HINT}) instead. Until then they work as those: the body is now {type, timestamp, data} with the record in data, signed the Standard Webhooks way with the secret's UTF-8 bytes, and X-Signature-256 is still sent.`,
  );
  const url = v.CALL_RECORD_WEBHOOK_URL;
  const secret = v.CALL_RECORD_WEBHOOK_SECRET;
  return url === undefined || secret === undefined
    ? undefined
    : { url, secret, events, legacy: true };
}

/** Upstreams of the environment the bridge sends secrets or call data to. */
const UPSTREAMS = [
  { name: "OPENAI_REALTIME_URL", what: "the OpenAI key and every call's audio" },
  { name: "OPENAI_LIVE_URL", what: "the OpenAI key and every GPT-Live call's audio" },
  { name: "OPENAI_BASE_URL", what: "the OpenAI key and call transcripts (post-call analysis)" },
  { name: "WEBHOOK_URL", what: "call records and their signatures" },
  { name: "CALL_RECORD_WEBHOOK_URL", what: "call records and their signatures" },
] as const;

/**
 * A cleartext upstream (`ws://`, `http://`) to a host that is not loopback
 * would send the API key, callers' audio or call records over the network
 * unencrypted: refused unless `ALLOW_INSECURE_UPSTREAM=true` (then a
 * warning), by the rule the agents file's URLs follow too
 * ({@link cleartextUpstream}).
 */
export function insecureUpstreams(v: EnvValues, reader: EnvReader): void {
  for (const { name, what } of UPSTREAMS) {
    const raw = v[name];
    if (typeof raw !== "string") continue;
    const verdict = cleartextUpstream(raw, what, v.ALLOW_INSECURE_UPSTREAM === true);
    if (verdict === undefined) continue;
    reader[verdict.severity](`${name} ${verdict.message}`);
  }
}

/** `CALL_RECORD_RETENTION_DAYS` is a deprecated alias of `RETENTION_DAYS`. */
export function retentionAlias(reader: EnvReader): void {
  if (reader.raw("CALL_RECORD_RETENTION_DAYS") === undefined) return;
  reader.warning(
    reader.raw("RETENTION_DAYS") === undefined
      ? "CALL_RECORD_RETENTION_DAYS is deprecated: rename it RETENTION_DAYS (it now also covers outbound attempts and webhook deliveries)."
      : "CALL_RECORD_RETENTION_DAYS is ignored: RETENTION_DAYS is set. Remove CALL_RECORD_RETENTION_DAYS.",
  );
}

/** The token prices, one field per `PRICE_*` row (rows in the `prices` group). */
export function prices(v: EnvValues): TokenPrices {
  const values = v as unknown as Record<string, number>;
  const result: Partial<TokenPrices> = {};
  for (const row of SETTINGS) {
    if (row.group?.name === "prices") {
      result[row.group.field as keyof TokenPrices] = values[row.env];
    }
  }
  return result as TokenPrices;
}

/** `TEMPERATURE` has no GA equivalent: a warning, not an error. */
export function temperatureWarning(reader: EnvReader): void {
  if (reader.raw("TEMPERATURE") !== undefined) reader.warning(TEMPERATURE_WARNING);
}
