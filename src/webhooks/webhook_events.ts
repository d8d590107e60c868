/**
 * The events the server posts to webhooks, and the body of a delivery: the
 * Standard Webhooks payload structure `{type, timestamp, data}` (spec 1.0.0,
 * "Payload structure", read 2026-12-07), `timestamp` being when the event
 * happened (ISO 8601), not when it was sent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventBody, isWebhookEventType } from "./webhook_events.ts";
 *
 * assert.equal(isWebhookEventType("call.ended"), true);
 * assert.equal(isWebhookEventType("call.started"), false);
 * assert.equal(
 *   eventBody({ type: "call.ended", at: new Date(0), data: { callSid: "CA1" } }),
 *   '{"type":"call.ended","timestamp":"1970-01-01T00:00:00.000Z","data":{"callSid":"CA1"}}',
 * );
 * ```
 *
 * @module
 */

/** Every event type, with what its `data` holds (for docs and the agents schema). */
export const WEBHOOK_EVENTS = {
  "call.ended": "the call record (as `deno task calls CA…` shows it)",
  "call.analyzed": "the post-call analysis of a call (summary, extraction, success)",
  "recording.completed": "a call recording's SID, URL and duration",
  "campaign.attempt.finished": "an outbound campaign attempt's contact, CallSid and outcome",
  "transfer.completed":
    "a transfer that reached the other party: the CallSid, mode and the destinations tried (masked)",
  "transfer.failed":
    "a transfer that did not reach the other party (nobody took it, or the caller hung up first): the CallSid, mode, result and the destinations tried (masked)",
} as const;

/** An event type. */
export type WebhookEventType = keyof typeof WEBHOOK_EVENTS;

/** The event types, in order. */
export const WEBHOOK_EVENT_TYPES = Object.keys(WEBHOOK_EVENTS) as WebhookEventType[];

/** Whether `type` names an event. */
export function isWebhookEventType(type: string): type is WebhookEventType {
  return Object.hasOwn(WEBHOOK_EVENTS, type);
}

/** One event to deliver. */
export interface WebhookEvent {
  type: WebhookEventType;
  /** When it happened. */
  at: Date;
  data: unknown;
  /** The agent whose call it concerns: only its own webhooks (and the environment's) get it. */
  agent?: string | undefined;
}

/** The JSON body of a delivery (minified: the bytes sent are the bytes signed). */
export function eventBody(event: WebhookEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.at.toISOString(), data: event.data });
}
