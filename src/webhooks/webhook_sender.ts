/**
 * Sends webhook events: {@link WebhookSender.emit} writes one delivery per
 * subscribed webhook to the durable {@link WebhookOutbox} (before any try),
 * and the sender's loop leases due deliveries, posts them signed the Standard
 * Webhooks way and records the outcome: delivered (deleted), due again after
 * the next pause of the retry schedule, or a dead letter.
 *
 * Per the Standard Webhooks spec (1.0.0, "Delivery success and failure",
 * read 2026-12-07): a 2xx answer is success and anything else a failure
 * (redirects are not followed); `410 Gone` means the receiver wants no more,
 * so that delivery becomes a dead letter at once; `Retry-After` is honoured.
 * The loop runs at start (after moving deliveries that waited through a
 * restart to now), after every local event, when a local retry is due, and
 * every `pollMs` to take what other instances sharing the store left.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { WorkLoop } from "./work_loop.ts";
import { legacySignature, newWebhookId, signDelivery } from "./signing.ts";
import { nextAttemptAt, parseRetryAfter } from "./retry_schedule.ts";
import { eventBody, type WebhookEvent, type WebhookEventType } from "./webhook_events.ts";
import type { LeasedDelivery, WebhookOutbox } from "./webhook_outbox.ts";
import { errorMessage } from "../observability/error_message.ts";

/** A configured webhook. */
export interface WebhookTarget {
  /** Stable id stored with each delivery: `env`, or `agent:<name>:<index>`. */
  id: string;
  url: string;
  /** The HMAC key (from `whsec_<base64>`). */
  key: Uint8Array;
  /** Events it takes; undefined: all. */
  events: ReadonlySet<WebhookEventType> | undefined;
  /** Only events of this agent's calls; undefined: every call's. */
  agent?: string | undefined;
  /** Also sign `X-Signature-256` the way `CALL_RECORD_WEBHOOK_*` receivers check. */
  legacy?: boolean;
}

/** The outcome of one try, for metrics. */
export type DeliveryResult = "delivered" | "retrying" | "dead";

/** Options of {@link WebhookSender}. */
export interface WebhookSenderOptions {
  outbox: WebhookOutbox;
  /** The webhooks configured now (an agents file reload may change them). */
  targets: () => readonly WebhookTarget[];
  /** Pauses before each retry, ms. */
  schedule: readonly number[];
  /** Ms one try may take. */
  timeoutMs: number;
  /** Ms between looks for due deliveries of other instances [5000]. */
  pollMs?: number;
  /** How long a try's lease lasts [timeoutMs + 5000]. */
  leaseMs?: number;
  fetch?: typeof fetch;
  /** Wall clock, ms. Default `Date.now`. */
  now?: () => number;
  random?: () => number;
  logger?: Logger;
  onResult?: (result: DeliveryResult) => void;
  /** Turns an event's data into what is sent (redaction). Default: as is. */
  prepare?: (event: WebhookEvent) => WebhookEvent;
}

/** Whether `target` takes `event`. */
export function subscribed(target: WebhookTarget, event: WebhookEvent): boolean {
  return (target.events === undefined || target.events.has(event.type)) &&
    (target.agent === undefined || target.agent === event.agent);
}

/** Posts webhook events durably. */
export class WebhookSender {
  #o: WebhookSenderOptions;
  #now: () => number;
  #loop: WorkLoop;
  #started = false;
  #tries = new Set<AbortController>();
  /** The earliest retry this instance scheduled. */
  #nextLocalDue = Infinity;

  /** Creates the sender; {@link WebhookSender.start} starts its loop. */
  constructor(options: WebhookSenderOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#loop = new WorkLoop(
      () => this.#run(),
      () => Math.min(this.#o.pollMs ?? 5000, this.#nextLocalDue - this.#now()),
    );
  }

  /** Moves deliveries that waited through a restart to now, then starts the loop. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    try {
      const resumed = await this.#o.outbox.resume(this.#now());
      if (resumed > 0) {
        this.#o.logger?.info("{count} webhook deliveries pending from before; trying them now.", {
          count: resumed,
        });
      }
    } catch (error) {
      this.#o.logger?.error("Could not read the webhook outbox: {error}", {
        error: errorMessage(error),
      });
    }
    this.#loop.start();
  }

  /**
   * Writes a delivery of `event` for every webhook that takes it, then tries
   * them. Resolves once written; never rejects (a store failure is logged).
   */
  emit(event: WebhookEvent): Promise<void> {
    const targets = this.#o.targets().filter((target) => subscribed(target, event));
    if (targets.length === 0 || this.#loop.closed) return Promise.resolve();
    const prepared = this.#o.prepare?.(event) ?? event;
    const body = eventBody(prepared);
    const work = this.#o.outbox.add(
      targets.map((target) => ({
        id: newWebhookId(),
        type: event.type,
        targetId: target.id,
        url: target.url,
        body,
      })),
      this.#now(),
    ).then(
      () => this.#loop.kick(),
      (error) => {
        this.#o.logger?.error("Could not write the {type} webhook to the outbox: {error}", {
          type: event.type,
          error: errorMessage(error),
        });
      },
    );
    return this.#loop.track(work);
  }

  /** Waits until the writes and the loop's run so far are done (tests). */
  async idle(): Promise<void> {
    await this.#loop.idle();
  }

  /** Stops the loop; tries in flight are abandoned and given back, due at once. */
  async close(): Promise<void> {
    await this.#loop.close(() => {
      for (const controller of this.#tries) controller.abort(new Error("the server is stopping"));
    });
  }

  async #run(): Promise<void> {
    const limit = 20;
    for (;;) {
      if (this.#loop.closed) return;
      const now = this.#now();
      if (this.#nextLocalDue <= now) this.#nextLocalDue = Infinity;
      let leased: LeasedDelivery[];
      try {
        leased = await this.#o.outbox.lease({
          now,
          leaseMs: this.#o.leaseMs ?? this.#o.timeoutMs + 5000,
          limit,
        });
      } catch (error) {
        this.#o.logger?.error("Could not read the webhook outbox: {error}", {
          error: errorMessage(error),
        });
        return;
      }
      await Promise.all(leased.map((one) => this.#deliver(one)));
      if (leased.length < limit) return;
    }
  }

  async #deliver(leased: LeasedDelivery): Promise<void> {
    const { delivery } = leased;
    const log = this.#o.logger;
    const target = this.#o.targets().find((t) => t.id === delivery.targetId);
    const outcome = target === undefined
      ? {
        ok: false as const,
        gone: true,
        error: `no webhook ${delivery.targetId} is configured any more`,
        retryAfterMs: undefined,
      }
      : await this.#post(target, leased);
    if (outcome === "stopped") {
      await this.#o.outbox.release(leased, this.#now()).catch(() => false);
      return;
    }
    const now = this.#now();
    const context = {
      webhookId: delivery.id,
      type: delivery.type,
      target: delivery.targetId,
      attempt: delivery.attempts + 1,
    };
    try {
      if (outcome.ok) {
        await this.#o.outbox.delivered(leased);
        this.#o.onResult?.("delivered");
        log?.debug("Webhook {type} delivered to {target}.", context);
        return;
      }
      const retryAt = outcome.gone ? undefined : nextAttemptAt({
        attempts: delivery.attempts + 1,
        now,
        schedule: this.#o.schedule,
        retryAfterMs: outcome.retryAfterMs,
        ...(this.#o.random ? { random: this.#o.random } : {}),
      });
      await this.#o.outbox.failed(leased, { error: outcome.error, retryAt, now });
      if (retryAt === undefined) {
        this.#o.onResult?.("dead");
        log?.error(
          "Webhook {type} to {target} failed ({error}); it is a dead letter now: `deno task calls --webhooks` lists it and re-sends it.",
          { ...context, error: outcome.error },
        );
      } else {
        this.#o.onResult?.("retrying");
        this.#nextLocalDue = Math.min(this.#nextLocalDue, retryAt);
        log?.warn(
          "Webhook {type} to {target}, try {attempt}, failed ({error}); next try in {in}.",
          {
            ...context,
            error: outcome.error,
            in: `${Math.round((retryAt - now) / 1000)} s`,
          },
        );
      }
    } catch (error) {
      log?.error("Could not update the webhook outbox: {error}", {
        ...context,
        error: errorMessage(error),
      });
    }
  }

  async #post(
    target: WebhookTarget,
    leased: LeasedDelivery,
  ): Promise<
    | { ok: true }
    | { ok: false; gone: boolean; error: string; retryAfterMs: number | undefined }
    | "stopped"
  > {
    const { delivery } = leased;
    const timestamp = Math.floor(this.#now() / 1000);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "phone-voice-agent-webhooks/1",
      "webhook-id": delivery.id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": await signDelivery(target.key, delivery.id, timestamp, delivery.body),
    };
    if (target.legacy) {
      headers["x-signature-256"] = await legacySignature(target.key, delivery.body);
    }
    const controller = new AbortController();
    this.#tries.add(controller);
    const timer = setTimeout(
      () => controller.abort(new Error(`no answer in ${this.#o.timeoutMs} ms`)),
      this.#o.timeoutMs,
    );
    try {
      // The webhook's URL now (an operator may have fixed it before re-sending a dead letter).
      const response = await (this.#o.fetch ?? fetch)(target.url, {
        method: "POST",
        headers,
        body: delivery.body,
        redirect: "manual",
        signal: controller.signal,
      });
      await response.body?.cancel();
      if (response.status >= 200 && response.status < 300) return { ok: true };
      return {
        ok: false,
        gone: response.status === 410,
        error: `HTTP ${response.status}`,
        retryAfterMs: parseRetryAfter(response.headers.get("retry-after"), this.#now()),
      };
    } catch (error) {
      if (this.#loop.closed) return "stopped";
      const reason = controller.signal.aborted
        ? errorMessage(controller.signal.reason)
        : errorMessage(error);
      return { ok: false, gone: false, error: reason, retryAfterMs: undefined };
    } finally {
      clearTimeout(timer);
      this.#tries.delete(controller);
    }
  }
}
