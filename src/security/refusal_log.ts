/**
 * The log of refused requests: one {@link LogThrottle} for every route that
 * refuses a request (Twilio's webhooks, the media-stream upgrade, the
 * outbound callbacks, the softphone's foreign `Host`), so a flood of hostile
 * requests costs a few lines per kind and path per window wherever it
 * lands, and every refusal is counted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RefusalLog } from "./refusal_log.ts";
 * const lines: string[] = [];
 * const refusals = new RefusalLog({ warn: (message) => lines.push(message), now: () => 0 });
 * for (let i = 0; i < 100; i++) refusals.refused("missing_signature", "/outbound/status");
 * assert.equal(lines.length, 5);
 * ```
 *
 * @module
 */
import type { Refusal } from "./call_admission.ts";
import { LogThrottle } from "./limits.ts";

/** Why a request was refused. */
export type RefusalKind = Refusal | "too_large" | "busy" | "foreign_host";

const MESSAGES: Record<RefusalKind, string> = {
  signature_check_unconfigured:
    "Refused a request: TWILIO_AUTH_TOKEN is not set, so Twilio signatures cannot be checked (set it, or TWILIO_SIGNATURE_CHECK=off for local tests).",
  missing_signature: "Refused a request without an X-Twilio-Signature header.",
  invalid_signature:
    "Refused a request with an invalid X-Twilio-Signature (wrong TWILIO_AUTH_TOKEN, or PUBLIC_URL/X-Forwarded-Proto do not match the URL Twilio used).",
  too_large: "Refused a request whose body is over the size limit.",
  busy: "Refused a call: MAX_CONCURRENT_CALLS calls are in progress.",
  foreign_host:
    "Refused a softphone request addressed to a Host that is neither loopback nor PUBLIC_URL's (a web page rebinding its name to this server, or a neighbour on the network).",
};

/** Options of {@link RefusalLog}. */
export interface RefusalLogOptions {
  /** Writes one warning line. */
  warn: (message: string, properties: Record<string, unknown>) => void;
  /** Counts every refusal (logged or not), e.g. for metrics. */
  onRefused?: (kind: RefusalKind) => void;
  /** Wall clock in ms. Default `Date.now`. */
  now?: () => number;
}

/** Logs refused requests through one throttle. */
export class RefusalLog {
  #options: RefusalLogOptions;
  #throttle = new LogThrottle();

  /** Creates the log. */
  constructor(options: RefusalLogOptions) {
    this.#options = options;
  }

  /** A request to `path` was refused for `kind`: counted, and logged unless throttled. */
  refused(kind: RefusalKind, path: string): void {
    this.#options.onRefused?.(kind);
    const now = (this.#options.now ?? Date.now)();
    const { log, suppressed } = this.#throttle.take(`${kind} ${path}`, now);
    if (!log) return;
    this.#options.warn(MESSAGES[kind], {
      path,
      ...(suppressed > 0 ? { suppressedSimilar: suppressed } : {}),
    });
  }
}
