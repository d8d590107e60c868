/**
 * The value kinds specific to this server's variables: the OpenAI key (with
 * its placeholder check), the public URL (https only, except loopback), the
 * Twilio API base URL, voices, log levels, the call store, the waiting sound
 * and the truncation strategy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPlaceholderKey } from "./server_kinds.ts";
 *
 * assert.equal(isPlaceholderKey("sk-..."), true);
 * assert.equal(isPlaceholderKey("sk-your-key-here"), true);
 * assert.equal(isPlaceholderKey("sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789"), false);
 * ```
 *
 * @module
 */
import { isLoopbackHost, listWords, tryUrl } from "./kinds.ts";
import type { Kind } from "./setting.ts";
import { errorMessage } from "../observability/error_message.ts";

/** The voices the GA Realtime API accepts by name. */
export const VOICES = [
  "alloy",
  "ash",
  "ballad",
  "coral",
  "echo",
  "sage",
  "shimmer",
  "verse",
  "marin",
  "cedar",
] as const;

/** Log level names accepted in `LOG_LEVEL`. */
export type LogLevelName = "trace" | "debug" | "info" | "warning" | "error" | "fatal";

/** Log output format. */
export type LogFormat = "json" | "pretty";

/** Truncation of a long conversation: `auto`, `disabled`, or the retention ratio (0 to 1). */
export type Truncation = "auto" | "disabled" | number;

/** Where call records are kept: a KV file path, or `path` undefined for the platform's KV. */
export type CallStore = { path: string | undefined } | undefined;

/** The shortest value that could be a real OpenAI key (real keys are 40 characters or more). */
const MIN_API_KEY_LENGTH = 16;

const PLACEHOLDER = [
  /\.\.\./,
  /…/,
  /[<>]/,
  /your[-_ ]?(?:api[-_ ]?)?key/i,
  /key[-_ ]?here/i,
  /(?:change|replace)[-_ ]?me/i,
  /placeholder/i,
  /^sk-?x*$/i,
];

/**
 * Whether an OpenAI key is a placeholder rather than a key: the `sk-...` of
 * `.env.example`, `sk-your-key-here`, `your-api-key`, anything with `...` or
 * `<`, or anything shorter than {@link MIN_API_KEY_LENGTH}.
 */
export function isPlaceholderKey(key: string): boolean {
  return key.length < MIN_API_KEY_LENGTH || PLACEHOLDER.some((re) => re.test(key));
}

/** Text of the problem reported when `OPENAI_API_KEY` is a placeholder. */
export const PLACEHOLDER_API_KEY_PROBLEM =
  "OPENAI_API_KEY looks like a placeholder, not a real key (value not shown). Put a real key from https://platform.openai.com/api-keys into OPENAI_API_KEY (in .env or the environment), then start again; without one, deno task demo runs offline with a local stand-in.";

/** The OpenAI key: no whitespace, no placeholder. */
export function apiKey(): Kind<string> {
  return {
    accepted: "an OpenAI API key from https://platform.openai.com/api-keys",
    parse(raw, ctx) {
      if (isPlaceholderKey(raw)) return ctx.problem(PLACEHOLDER_API_KEY_PROBLEM);
      if (/\s/.test(raw)) {
        return ctx.problem(
          "OPENAI_API_KEY contains whitespace (value not shown). Copy the key again from https://platform.openai.com/api-keys without spaces or line breaks.",
        );
      }
      return raw;
    },
  };
}

const PUBLIC_URL_ACCEPTED =
  "an absolute http:// or https:// URL without query or fragment, such as https://example.ngrok.app";

/**
 * The paths this server answers that Twilio or an operator is given a URL of
 * (the webhook, the stream, the outbound callbacks, the control and ops
 * routes). A `PUBLIC_URL` ending in one is a pasted webhook URL, not a base:
 * the server appends these itself. tests/config_test.ts checks the list
 * against the route tables.
 */
export const SERVER_PATHS = [
  "/incoming-call",
  "/call-ended",
  "/media-stream",
  "/outbound/twiml",
  "/outbound/status",
  "/outbound/amd",
  "/transfer/briefing",
  "/transfer/answer",
  "/transfer/status",
  "/transfer/amd",
  "/transfer/conference",
  "/transfer/dial-ended",
  "/calls",
  "/campaigns",
  "/healthz",
  "/readyz",
  "/metrics",
  "/softphone",
] as const;

/** The path of ours that `pathname` ends in (or, for a stream URL, contains). */
function serverPathIn(pathname: string): string | undefined {
  const path = pathname.replace(/\/+$/, "");
  return SERVER_PATHS.find((route) =>
    path.endsWith(route) || (route === "/media-stream" && path.includes(`${route}/`))
  );
}

/**
 * The public base URL: https (http only for loopback hosts: Twilio only
 * connects media streams over wss://), no query or fragment, no trailing slash,
 * and no path of ours at the end (a pasted webhook URL). A path prefix
 * (`https://example.com/voice`, behind a proxy that strips `/voice`) is kept:
 * the server appends its paths to it in the TwiML and signature checks.
 */
export function publicUrl(): Kind<string> {
  return {
    accepted: "an https:// URL without query or fragment (http:// only for a loopback host)",
    parse(raw, ctx) {
      const url = tryUrl(raw);
      if (
        url === undefined || (url.protocol !== "http:" && url.protocol !== "https:") ||
        raw.includes("?") || raw.includes("#")
      ) {
        return ctx.invalid(raw, PUBLIC_URL_ACCEPTED);
      }
      if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
        return ctx.problem(
          `PUBLIC_URL must be an https:// URL: Twilio only connects media streams over wss://, so an http:// address would connect callers to silence. Got ${
            ctx.show(raw)
          }. Use the https:// address of your tunnel or TLS proxy (http:// is accepted only for loopback hosts: localhost, 127.0.0.0/8, [::1]).`,
        );
      }
      const route = serverPathIn(url.pathname);
      if (route !== undefined) {
        const base = `${url.origin}${url.pathname.slice(0, url.pathname.indexOf(route))}`;
        return ctx.problem(
          `PUBLIC_URL must be the base address of this server, not one of its URLs: ${
            ctx.show(raw)
          } ends in ${route}, a path the server adds itself (Twilio would be told to stream to ${route}/media-stream). Set PUBLIC_URL=${base} (a path prefix such as https://example.com/voice is fine behind a proxy that strips it).`,
        );
      }
      return url.href.replace(/\/+$/, "");
    },
  };
}

/** An https base URL (http for loopback hosts), without query, fragment or trailing slash. */
export function httpsBaseUrl(example: string): Kind<string> {
  const accepted =
    `an https:// URL without query or fragment, such as ${example} (http:// only for a loopback host)`;
  return {
    accepted,
    parse(raw, ctx) {
      const url = tryUrl(raw);
      const ok = url !== undefined && !raw.includes("?") && !raw.includes("#") &&
        (url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname)));
      return ok ? url.href.replace(/\/+$/, "") : ctx.invalid(raw, accepted);
    },
  };
}

/** A built-in voice (any case) or a custom voice id `voice_…`. */
export function voice(): Kind<string> {
  const accepted = `one of ${listWords(VOICES)}, or a custom voice id such as voice_1234abcd`;
  return {
    accepted,
    parse(raw, ctx) {
      const builtIn = VOICES.find((name) => name === raw.toLowerCase());
      if (builtIn !== undefined) return builtIn;
      return /^voice_[A-Za-z0-9_-]+$/.test(raw) ? raw : ctx.invalid(raw, accepted);
    },
  };
}

/** A log level; `warn` is accepted for `warning`. */
export function logLevel(): Kind<LogLevelName> {
  const levels: readonly LogLevelName[] = ["trace", "debug", "info", "warning", "error", "fatal"];
  const accepted = "one of trace, debug, info, warning (or warn), error or fatal";
  return {
    accepted,
    parse(raw, ctx) {
      const word = raw.toLowerCase();
      if (word === "warn") return "warning";
      return levels.find((level) => level === word) ?? ctx.invalid(raw, accepted);
    },
  };
}

/** Where the agents file is (`AGENTS_FILE`); `required`: named explicitly, so it must exist. */
export interface AgentsFileSetting {
  path: string;
  required: boolean;
}

/** The agents file used when it exists and `AGENTS_FILE` is unset. */
export const DEFAULT_AGENTS_FILE = "agents.yaml";

/** `off` for none, else the path of the agents file (see docs/agents.md). */
export function agentsFile(): Kind<AgentsFileSetting | undefined> {
  return {
    accepted: "the path of a YAML or JSON agents file, or off",
    parse: (raw) => raw.toLowerCase() === "off" ? undefined : { path: raw, required: true },
  };
}

/** `off` for no records, else the path (or KV Connect URL) of the store. */
export function callStore(): Kind<CallStore> {
  return {
    accepted: "a Deno KV file path (or KV Connect URL), or off",
    parse: (raw) => raw.toLowerCase() === "off" ? undefined : { path: raw },
  };
}

/** `on`, `off`, or the path of a readable, non-empty raw 8 kHz μ-law file. */
export function waitingSound(): Kind<string> {
  return {
    accepted: "on, off, or the path of a raw 8 kHz μ-law file",
    parse(raw, ctx) {
      const word = raw.toLowerCase();
      if (word === "on" || word === "off") return word;
      let size: number;
      try {
        size = ctx.readFile(raw).length;
      } catch (error) {
        const reason = errorMessage(error);
        return ctx.problem(
          `WAITING_SOUND could not be read from ${
            JSON.stringify(raw)
          } (${reason}). Use on (the tone shipped with the project), off, or the path of a raw 8 kHz μ-law file the server may read (relative paths start in the working directory).`,
        );
      }
      if (size === 0) {
        return ctx.problem(
          `WAITING_SOUND points to an empty file, ${
            JSON.stringify(raw)
          }. Use a raw 8 kHz μ-law file, on (the tone shipped with the project) or off.`,
        );
      }
      return raw;
    },
  };
}

/** `auto`, `disabled` or a retention ratio from 0 to 1. */
export function truncation(): Kind<Truncation> {
  const accepted = "auto, disabled, or a retention ratio from 0 to 1 (such as 0.8)";
  return {
    accepted,
    parse(raw, ctx) {
      const word = raw.toLowerCase();
      if (word === "auto" || word === "disabled") return word;
      const ratio = /^(?:0|1|0?\.\d+|[01]\.\d*)$/.test(raw) ? Number(raw) : NaN;
      return ratio >= 0 && ratio <= 1 ? ratio : ctx.invalid(raw, accepted);
    },
  };
}

/** A transfer destination: an E.164 number or a SIP URI (`sip:` or `sips:`). */
const TRANSFER_DESTINATION = /^(?:\+[1-9][0-9]{6,14}|sips?:[^\s@,]+@[^\s,]+)$/;

/**
 * `TRANSFER_NUMBERS`: comma-separated E.164 numbers or SIP URIs, tried in
 * order; the values are never shown (phone numbers are private).
 */
export function transferDestinations(): Kind<string[]> {
  const accepted =
    "comma-separated phone numbers in E.164 form or SIP URIs, e.g. +14155550123,sip:desk@pbx.example.com";
  return {
    accepted,
    parse: (raw, ctx) => {
      const items = raw.split(",").map((item) => item.trim()).filter((item) => item !== "");
      const bad = items.findIndex((item) => !TRANSFER_DESTINATION.test(item));
      if (items.length === 0 || items.length > 10 || bad >= 0) {
        return ctx.problem(
          `${ctx.name} must be ${accepted} (1 to 10 of them)${
            bad >= 0 ? `; item ${bad + 1} is neither` : ""
          } (values not shown).`,
        );
      }
      return items;
    },
  };
}
