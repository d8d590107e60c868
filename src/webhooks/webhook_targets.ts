/**
 * The configured webhooks as {@link WebhookTarget}s: the environment's
 * (`WEBHOOK_URL`, id `env`) gets every call's events, each agent's (id
 * `agent:<name>:<index>`) only its own calls'. Secrets are turned into keys
 * here; only the target id is stored with a delivery.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { webhookTargets } from "./webhook_targets.ts";
 * const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
 * const targets = webhookTargets(
 *   { url: "https://a.example/", secret, events: undefined, legacy: false },
 *   [{ name: "sales", webhooks: [{ url: "https://b.example/", secret, events: ["call.ended"] }] }],
 * );
 * assert.deepEqual(targets.map((t) => [t.id, t.agent]), [["env", undefined], ["agent:sales:0", "sales"]]);
 * ```
 *
 * @module
 */
import { legacyKey, parseWebhookSecret } from "./signing.ts";
import type { WebhookEventType } from "./webhook_events.ts";
import type { WebhookTarget } from "./webhook_sender.ts";

/** The environment's webhook, as configured. */
export interface EnvironmentWebhookInput {
  url: string;
  secret: string;
  events: readonly WebhookEventType[] | undefined;
  legacy: boolean;
}

/** An agent's webhooks, as configured. */
export interface AgentWebhooksInput {
  name: string;
  webhooks: readonly {
    url: string;
    secret: string;
    events?: readonly WebhookEventType[] | undefined;
  }[];
}

/** The targets of the environment's webhook and the agents'. Secrets that do not parse are skipped. */
export function webhookTargets(
  environment: EnvironmentWebhookInput | undefined,
  agents: readonly AgentWebhooksInput[],
): WebhookTarget[] {
  const targets: WebhookTarget[] = [];
  const events = (list: readonly WebhookEventType[] | undefined) =>
    list === undefined ? undefined : new Set(list);
  if (environment !== undefined) {
    const key = environment.legacy
      ? legacyKey(environment.secret)
      : parseWebhookSecret(environment.secret);
    if (typeof key !== "string") {
      targets.push({
        id: "env",
        url: environment.url,
        key,
        events: events(environment.events),
        legacy: environment.legacy,
      });
    }
  }
  for (const agent of agents) {
    agent.webhooks.forEach((webhook, i) => {
      const key = parseWebhookSecret(webhook.secret);
      if (typeof key === "string") return;
      targets.push({
        id: `agent:${agent.name}:${i}`,
        url: webhook.url,
        key,
        events: events(webhook.events),
        agent: agent.name,
      });
    });
  }
  return targets;
}
