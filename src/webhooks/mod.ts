/**
 * Webhooks you can rely on: events (`call.ended`, `call.analyzed`,
 * `recording.completed`, `campaign.attempt.finished`, `transfer.completed`,
 * `transfer.failed`) posted to the
 * environment's webhook and each agent's, signed the Standard Webhooks way,
 * from a durable outbox in the call store with retries for more than a day.
 * See docs/operations.md ("Webhooks").
 *
 * @module
 */
export { MAKE_SECRET_HINT, parseWebhookSecret } from "./signing.ts";
export { DEFAULT_RETRY_SCHEDULE, parseRetrySchedule } from "./retry_schedule.ts";
export {
  isWebhookEventType,
  WEBHOOK_EVENT_TYPES,
  type WebhookEvent,
  type WebhookEventType,
} from "./webhook_events.ts";
export { type Delivery, type LeasedDelivery, WebhookOutbox } from "./webhook_outbox.ts";
export {
  type DeliveryResult,
  WebhookSender,
  type WebhookSenderOptions,
  type WebhookTarget,
} from "./webhook_sender.ts";
export {
  type AgentWebhooksInput,
  type EnvironmentWebhookInput,
  webhookTargets,
} from "./webhook_targets.ts";
export { WorkLoop } from "./work_loop.ts";
