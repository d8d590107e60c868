/**
 * Hiding known secret values (API keys, `${VAR}` values of the agents file,
 * a tool's header values) in text that leaves the bridge: log lines and the
 * outputs of HTTP tools, which a backend may fill with an echo of its request
 * (`self` links with `?api_key=…`, a debug dump of the headers).
 *
 * A secret is found in every form it takes on the way: as written, JSON-escaped,
 * percent-encoded (either case of hex digits, as `encodeURIComponent` or a URL
 * query writes it) and form-encoded (`+` for a space). A secret of 8 characters
 * or more is replaced wherever it appears; a shorter one only as a whole word
 * (not inside a longer run of letters and digits), so that `abc` hides
 * `?key=abc&` but not `abcdef`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createSecretRedactor } from "./secret_redaction.ts";
 * const redact = createSecretRedactor(["s3cr3t/tok+en", "pin"]);
 * assert.equal(
 *   redact("next=/v1?key=s3cr3t%2ftok%2Ben&code=pin&spin=spinner"),
 *   "next=/v1?key=[redacted]&code=[redacted]&spin=spinner",
 * );
 * ```
 *
 * @module
 */

/** What a redacted secret is replaced by. */
export const REDACTED = "[redacted]";

/** Secrets shorter than this are only replaced as whole words. */
const SHORT_SECRET_LENGTH = 8;

/** The forms a secret takes in a URL, a form, JSON or a header, without repeats. */
function formsOf(secret: string): string[] {
  return [
    ...new Set([
      secret,
      JSON.stringify(secret).slice(1, -1),
      encodeURIComponent(secret),
      new URLSearchParams({ s: secret }).toString().slice(2),
      encodeURI(secret),
    ]),
  ];
}

/** A regular expression source matching `form`, percent-escapes in either case. */
function patternOf(form: string): string {
  return form
    .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    .replace(/%([0-9A-F])([0-9A-F])/gi, (_, a: string, b: string) => {
      const either = (c: string) => /[A-F]/i.test(c) ? `[${c.toUpperCase()}${c.toLowerCase()}]` : c;
      return `%${either(a)}${either(b)}`;
    });
}

/**
 * Creates a function that replaces every secret of `secrets` (empty ones are
 * ignored) by `[redacted]` in a text; longer secrets first.
 */
export function createSecretRedactor(secrets: readonly string[]): (text: string) => string {
  const long: string[] = [];
  const short: string[] = [];
  const ordered = [...new Set(secrets)].filter((s) => s !== "").sort((a, b) => b.length - a.length);
  for (const secret of ordered) {
    for (const form of formsOf(secret)) {
      (secret.length >= SHORT_SECRET_LENGTH ? long : short).push(patternOf(form));
    }
  }
  const parts = [
    ...long,
    ...short.map((p) => `(?<![A-Za-z0-9])${p}(?![A-Za-z0-9])`),
  ];
  if (parts.length === 0) return (text) => text;
  const pattern = new RegExp(parts.join("|"), "g");
  return (text) => text.replace(pattern, REDACTED);
}

/**
 * `value` with every string in it (object keys too) passed through `redact`:
 * a copy, the original is left as it was.
 */
export function redactDeep(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === "string") return redact(value);
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, redact));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [redact(key), redactDeep(item, redact)]),
    );
  }
  return value;
}

/** Request headers whose values are not secrets. */
const PLAIN_HEADERS = new Set([
  "accept",
  "accept-language",
  "content-type",
  "user-agent",
  "cache-control",
]);

/**
 * The secret values of request headers the bridge sends (a tool's, a
 * webhook's): every value but those of plain headers such as `Accept`, and
 * for `Bearer xyz` also `xyz` (the credentials after the scheme).
 */
export function headerSecrets(headers: Readonly<Record<string, string>>): string[] {
  return Object.entries(headers)
    .filter(([name]) => !PLAIN_HEADERS.has(name.toLowerCase()))
    .flatMap(([, value]) => [value, value.replace(/^\S+\s+/, "")]);
}
