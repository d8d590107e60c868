/**
 * Why the OpenAI Realtime WebSocket could not be opened.
 *
 * OpenAI answers a rejected upgrade with a plain HTTP status (401 for a bad
 * key, 403 for a key without access, 429 for quota, 5xx for an outage). Deno's
 * native WebSocket (checked with Deno 2.9.6 against a local `Deno.serve`)
 * hides the status from the `close` event, which only says code 0 and an
 * empty reason; the `error` event that comes just before it carries it in its
 * message: `NetworkError: failed to connect to WebSocket: Invalid status code: 401`.
 * A refused TCP connection says `… tcp connect error` instead.
 *
 * @module
 */

/** A failed upgrade: `auth` for 401/403 (the key), `http` for any other status, or `network`. */
export type UpgradeFailure =
  | { kind: "auth"; status: 401 | 403 }
  | { kind: "http"; status: number }
  | { kind: "network" };

const STATUS = /(?:invalid status code|unexpected server response|HTTP)[:\s]+(\d{3})\b/i;

/**
 * Classifies the message of the WebSocket `error` event seen before a socket
 * that never opened closed. Undefined when the message says nothing useful.
 *
 * @example
 * ```ts
 * import { classifyUpgradeFailure } from "./upgrade_failure.ts";
 * const failure = classifyUpgradeFailure(
 *   "NetworkError: failed to connect to WebSocket: Invalid status code: 401",
 * );
 * if (failure?.kind !== "auth" || failure.status !== 401) throw new Error();
 * ```
 */
export function classifyUpgradeFailure(message: string | undefined): UpgradeFailure | undefined {
  if (message === undefined || message === "") return undefined;
  const match = STATUS.exec(message);
  if (match !== null) {
    const status = Number(match[1]);
    if (status === 401 || status === 403) return { kind: "auth", status };
    return { kind: "http", status };
  }
  if (/failed to connect|connect error|connection refused|dns error|timed out/i.test(message)) {
    return { kind: "network" };
  }
  return undefined;
}

/**
 * One log line for the operator: what failed and what to do. Never contains
 * the key.
 *
 * @example
 * ```ts
 * import { describeUpgradeFailure } from "./upgrade_failure.ts";
 * const text = describeUpgradeFailure({ kind: "auth", status: 401 });
 * if (text !== "OpenAI rejected the API key (HTTP 401); check OPENAI_API_KEY") throw new Error();
 * ```
 */
export function describeUpgradeFailure(failure: UpgradeFailure): string {
  switch (failure.kind) {
    case "auth":
      return `OpenAI rejected the API key (HTTP ${failure.status}); check OPENAI_API_KEY`;
    case "http":
      return failure.status === 429
        ? "OpenAI refused the Realtime connection (HTTP 429): rate limit or quota; check the account's usage and billing"
        : `OpenAI refused the Realtime connection (HTTP ${failure.status}); check OPENAI_REALTIME_URL and OPENAI_MODEL`;
    case "network":
      return "Could not reach the OpenAI Realtime endpoint; check OPENAI_REALTIME_URL and the network";
  }
}
