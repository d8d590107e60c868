/**
 * The value kinds of the webhook settings: a `whsec_<base64>` secret, a list
 * of event types and a retry schedule (see `src/webhooks/`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { retrySchedule } from "./webhook_kinds.ts";
 * assert.equal(retrySchedule().accepted, "pauses such as 5s,5m,30m,2h (units ms, s, m, h, d)");
 * ```
 *
 * @module
 */
import {
  isWebhookEventType,
  parseRetrySchedule,
  parseWebhookSecret,
  WEBHOOK_EVENT_TYPES,
  type WebhookEventType,
} from "../webhooks/mod.ts";
import { listWords } from "./kinds.ts";
import type { Kind } from "./setting.ts";

/** A Standard Webhooks secret, `whsec_<base64>` (value never shown). */
export function webhookSecret(): Kind<string> {
  return {
    accepted: "whsec_<base64>",
    parse(raw, ctx) {
      const key = parseWebhookSecret(raw);
      return typeof key === "string" ? ctx.problem(`${ctx.name} ${key}.`) : raw;
    },
  };
}

/** Comma-separated event types. */
export function webhookEvents(): Kind<WebhookEventType[]> {
  const accepted = `event types, comma-separated, of ${listWords(WEBHOOK_EVENT_TYPES)}`;
  return {
    accepted,
    parse(raw, ctx) {
      const types = raw.split(",").map((part) => part.trim()).filter((part) => part !== "");
      const unknown = types.filter((type) => !isWebhookEventType(type));
      if (unknown.length > 0 || types.length === 0) return ctx.invalid(raw, accepted);
      return [...new Set(types)] as WebhookEventType[];
    },
  };
}

/** Retry pauses, `5s,5m,2h`. */
export function retrySchedule(): Kind<number[]> {
  return {
    accepted: "pauses such as 5s,5m,30m,2h (units ms, s, m, h, d)",
    parse(raw, ctx) {
      const schedule = parseRetrySchedule(raw);
      return typeof schedule === "string" ? ctx.problem(`${ctx.name}: ${schedule}.`) : schedule;
    },
  };
}
