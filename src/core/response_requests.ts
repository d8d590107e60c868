/**
 * Asking the model for a response, as functions over the call's parts (like
 * `bargeIn`), so every collaborator asks the same way instead of being handed
 * callbacks: a request is queued in `parts.responses` and sent at once when a
 * session is open and nothing is in flight, else when the response in flight
 * is done or a session is back ({@link flushResponse}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCallParts } from "./call_parts.ts";
 * import { requestResponse } from "./response_requests.ts";
 * const parts = createCallParts({ sessionUpdate: { type: "session.update", session: {} } });
 * requestResponse(parts, { instructions: "Say hello." });
 * assert.equal(parts.out.take().length, 0); // no session yet: it waits
 * parts.sessions.opened(parts.sessions.begin());
 * requestResponse(parts, { instructions: "Say hello." });
 * const [sent] = parts.out.take();
 * assert.equal(sent.type === "to_openai" && sent.event.type, "response.create");
 * ```
 *
 * @module
 */
import type { ResponseOptions } from "../openai/client_events.ts";
import type { CallParts } from "./call_parts.ts";

/**
 * Asks for a response: sent now, or once nothing is in flight.
 * `uninterruptible`: the caller cannot interrupt it (bridge-decided
 * interruptions); what they say meanwhile is answered after it. A recording
 * consent line or any sentence that must be heard whole uses this.
 */
export function requestResponse(
  parts: CallParts,
  options: ResponseOptions,
  flags: { uninterruptible?: boolean } = {},
): void {
  parts.responses.request(options, flags);
  flushResponse(parts);
}

/** Answers the caller's turn: a plain `response.create`, unless one already waits. */
export function answerTurn(parts: CallParts): void {
  parts.responses.requestIfNone();
  flushResponse(parts);
}

/** Sends the waiting `response.create` when a session is open and nothing is in flight. */
export function flushResponse(parts: CallParts): void {
  const session = parts.sessions.live();
  if (session === undefined) return; // sent once a session is back
  const event = parts.responses.next();
  if (event !== undefined) parts.out.toOpenAI(session, event);
}
