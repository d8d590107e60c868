/**
 * The small plain-text and TwiML responses of the HTTP routes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { text, xml } from "./plain_responses.ts";
 * assert.equal(text("Not found.\n", 404).status, 404);
 * assert.equal(xml("<Response/>").headers.get("content-type"), "text/xml; charset=utf-8");
 * ```
 *
 * @module
 */

/** A plain-text response. */
export function text(body: string, status: number, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/** A TwiML (XML) response. */
export function xml(body: string): Response {
  return new Response(body, { headers: { "content-type": "text/xml; charset=utf-8" } });
}

/** The plain-text answer of `GET /` without the softphone: alive, and where Twilio's webhook goes. */
export function statusText(activeCalls: number, webhookPath: string): Response {
  return text(
    `Phone voice-agent bridge is running.\nActive calls: ${activeCalls}\n` +
      `Point your Twilio number's voice webhook (HTTP POST) at ${webhookPath}.\n`,
    200,
  );
}
