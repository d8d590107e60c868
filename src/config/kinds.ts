/**
 * The value kinds of the configuration table: each turns a variable's raw
 * text into a typed value, or reports what was wrong with the accepted values
 * (`PORT must be an integer from 0 to 65535, got "abc".`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { boolean, integer } from "./kinds.ts";
 * import { INVALID, type ParseContext } from "./setting.ts";
 *
 * const problems: string[] = [];
 * const ctx: ParseContext = {
 *   name: "PORT",
 *   env: {},
 *   show: (value) => JSON.stringify(value),
 *   invalid(value, accepted) {
 *     problems.push(`PORT must be ${accepted}, got ${JSON.stringify(value)}.`);
 *     return INVALID;
 *   },
 *   problem(text) {
 *     problems.push(text);
 *     return INVALID;
 *   },
 *   readTextFile: () => "",
 *   readFile: () => new Uint8Array(),
 * };
 * assert.equal(integer(0, 65535).parse("8080", ctx), 8080);
 * assert.equal(integer(0, 65535).parse("abc", ctx), INVALID);
 * assert.deepEqual(problems, ['PORT must be an integer from 0 to 65535, got "abc".']);
 * assert.equal(boolean().parse("yes", ctx), true);
 * ```
 *
 * @module
 */
import { INVALID, type Kind, type ParseContext } from "./setting.ts";

const TRUE_WORDS = new Set(["true", "1", "yes", "on"]);
const FALSE_WORDS = new Set(["false", "0", "no", "off"]);
/** Values that turn an optional feature off, compared case-insensitively. */
export const OFF_WORDS: ReadonlySet<string> = new Set(["off", "none", "false"]);
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const INTEGER = /^\+?\d+$/;
const WHITESPACE = /\s/;
const E164 = /^\+[1-9][0-9]{6,14}$/;

/** Joins words as "a, b or c" (or "a, b and c"). */
export function listWords(words: readonly string[], conjunction: "or" | "and" = "or"): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} ${conjunction} ${words[words.length - 1]}`;
}

/** A kind from an accepted text and a parse function. */
function kind<T>(
  accepted: string,
  parse: (raw: string, ctx: ParseContext) => T | typeof INVALID,
): Kind<T> {
  return { accepted, parse };
}

/** Free text, trimmed. */
export function text(accepted = "any text"): Kind<string> {
  return kind(accepted, (raw) => raw);
}

/** A single word without whitespace. */
export function token(accepted: string): Kind<string> {
  return kind(accepted, (raw, ctx) => WHITESPACE.test(raw) ? ctx.invalid(raw, accepted) : raw);
}

/** A word without whitespace, or off/none/false for undefined. */
export function offableToken(accepted: string): Kind<string | undefined> {
  return kind(accepted, (raw, ctx) => {
    if (OFF_WORDS.has(raw.toLowerCase())) return undefined;
    return WHITESPACE.test(raw) ? ctx.invalid(raw, accepted) : raw;
  });
}

/** A secret without whitespace; `hint` says how to get it right. Values are never shown. */
export function secretToken(hint: string): Kind<string> {
  return kind(
    "a value without whitespace",
    (raw, ctx) =>
      WHITESPACE.test(raw)
        ? ctx.problem(`${ctx.name} contains whitespace (value not shown). ${hint}`)
        : raw,
  );
}

/** An integer in [min, max]. */
export function integer(min: number, max: number): Kind<number> {
  const accepted = `an integer from ${min} to ${max}`;
  return kind(accepted, (raw, ctx) => {
    const parsed = INTEGER.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      return ctx.invalid(raw, accepted);
    }
    return parsed;
  });
}

/** A decimal number in [min, max] (or (min, max] with `minExclusive`). */
export function number(
  min: number,
  max: number,
  accepted: string,
  options: { minExclusive?: boolean } = {},
): Kind<number> {
  return kind(accepted, (raw, ctx) => {
    const parsed = DECIMAL.test(raw) ? Number(raw) : NaN;
    const tooLow = options.minExclusive ? parsed <= min : parsed < min;
    if (!Number.isFinite(parsed) || tooLow || parsed > max) return ctx.invalid(raw, accepted);
    return parsed;
  });
}

/** true/false/1/0/yes/no/on/off in any case. */
export function boolean(): Kind<boolean> {
  const accepted = "a boolean (true, false, 1, 0, yes, no, on or off)";
  return kind(accepted, (raw, ctx) => {
    const word = raw.toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
    return ctx.invalid(raw, accepted);
  });
}

/** One of `choices`, compared case-insensitively. */
export function choice<const C extends string>(
  choices: readonly C[],
  accepted = `one of ${listWords(choices)}`,
): Kind<C> {
  return kind(accepted, (raw, ctx) => {
    const word = raw.toLowerCase();
    return choices.find((c) => c === word) ?? ctx.invalid(raw, accepted);
  });
}

/** One of `choices`, mapped to a value (e.g. `on` → true, `off` → undefined). */
export function mapped<const C extends string, T>(
  map: Readonly<Record<C, T>>,
  accepted = `one of ${listWords(Object.keys(map))}`,
): Kind<T> {
  return kind(accepted, (raw, ctx) => {
    const word = raw.toLowerCase();
    return Object.hasOwn(map, word) ? map[word as C] : ctx.invalid(raw, accepted);
  });
}

/** A phone number in E.164 form; the value is never shown (phone numbers are private). */
export function e164(): Kind<string> {
  return kind(
    "a phone number in E.164 form, e.g. +14155550123",
    (raw, ctx) =>
      E164.test(raw) ? raw : ctx.problem(
        `${ctx.name} must be a phone number in E.164 form, e.g. +14155550123 (value not shown).`,
      ),
  );
}

/** A value matching `pattern`. */
export function pattern(regex: RegExp, accepted: string): Kind<string> {
  return kind(accepted, (raw, ctx) => regex.test(raw) ? raw : ctx.invalid(raw, accepted));
}

/** Accepts anything (for variables only a rule looks at, such as `TEMPERATURE`). */
export function ignored(accepted = "anything (it has no effect)"): Kind<string> {
  return kind(accepted, (raw) => raw);
}

/** Whether a URL's host is loopback: localhost, 127.0.0.0/8 or [::1]. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || host === "[::1]" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** What {@link cleartextUpstream} says of a URL: a problem, or (allowed) a warning. */
export interface CleartextVerdict {
  /** `problem` unless `ALLOW_INSECURE_UPSTREAM=true` made it a `warning`. */
  severity: "problem" | "warning";
  /** The message, without the field's name (callers put it first: `WEBHOOK_URL is …`, `agents[0].webhooks[0].url: is …`). */
  message: string;
}

/**
 * The one rule for every URL the bridge sends secrets or call data to (the
 * environment's upstreams and the agents file's webhooks, tools and MCP
 * servers): a cleartext `http://` or `ws://` URL to a host that is not
 * loopback would carry them over the network unencrypted, so it is a
 * problem, or a warning when `ALLOW_INSECURE_UPSTREAM=true` (`allowed`).
 * `https://`, `wss://`, loopback hosts (local fakes, a sidecar) and text
 * that is no URL (left to the field's own check) give undefined.
 * `showHost: false` leaves the host out of the message (it may come from a
 * `${VAR}`, whose values never appear in messages).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cleartextUpstream } from "./kinds.ts";
 * const bad = cleartextUpstream("http://crm.example.com/hook", "call records", false);
 * assert.equal(bad?.severity, "problem");
 * assert.match(bad!.message, /^is a cleartext http:\/\/ URL to crm\.example\.com/);
 * assert.equal(cleartextUpstream("http://127.0.0.1:8080/hook", "call records", false), undefined);
 * assert.equal(cleartextUpstream("http://crm.example.com/hook", "records", true)?.severity, "warning");
 * ```
 */
export function cleartextUpstream(
  raw: string,
  what: string,
  allowed: boolean,
  options: { showHost?: boolean } = {},
): CleartextVerdict | undefined {
  const url = tryUrl(raw);
  if (url === undefined || isLoopbackHost(url.hostname)) return undefined;
  if (url.protocol !== "http:" && url.protocol !== "ws:") return undefined;
  const host = options.showHost === false ? "a host" : url.host;
  const message =
    `is a cleartext ${url.protocol}// URL to ${host}, which is not loopback: ${what} would cross the network unencrypted.`;
  return allowed
    ? { severity: "warning", message: `${message} Allowed by ALLOW_INSECURE_UPSTREAM=true.` }
    : {
      severity: "problem",
      message: `${message} Use ${
        url.protocol === "ws:" ? "wss://" : "https://"
      }, or set ALLOW_INSECURE_UPSTREAM=true if the network between is yours (e.g. a private link).`,
    };
}

/** Parses an absolute URL, or undefined. */
export function tryUrl(raw: string): URL | undefined {
  try {
    return new URL(raw);
  } catch {
    return undefined;
  }
}

/** An absolute URL with one of `protocols`. */
export function url(protocols: readonly string[], accepted: string): Kind<string> {
  return kind(accepted, (raw, ctx) => {
    const parsed = tryUrl(raw);
    return parsed !== undefined && protocols.includes(parsed.protocol)
      ? raw
      : ctx.invalid(raw, accepted);
  });
}
