/**
 * The durable outbox of webhook deliveries, in the call store's Deno KV:
 * every delivery is written here before its first try and stays until a
 * receiver took it (then it is deleted) or its retries ran out (then it is a
 * dead letter, listed by `deno task calls --webhooks` and re-sent on request).
 *
 * Keys:
 * - `["webhook_outbox", "delivery", id]`: the {@link Delivery};
 * - `["webhook_outbox", "due", dueAtMs, id]`: pending deliveries by due time;
 * - `["webhook_outbox", "dead", deadAtMs, id]`: dead letters by time.
 *
 * Taking a due delivery is an atomic lease: its due time moves to the end of
 * the lease under a versionstamp check, so of several instances sharing the
 * store one wins, and a delivery whose instance died mid-try is due again when
 * the lease runs out. Every entry expires after the retention period. Writes
 * wait out a KV file busy with another process's write (`commitKv`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WebhookOutbox } from "./webhook_outbox.ts";
 *
 * const kv = await Deno.openKv(":memory:");
 * const outbox = new WebhookOutbox(kv, { retentionDays: 30 });
 * await outbox.add([{ id: "msg_1", type: "call.ended", targetId: "env", url: "https://x.example/", body: "{}" }], 0);
 * const [leased] = await outbox.lease({ now: 0, leaseMs: 20_000 });
 * assert.equal(leased.delivery.id, "msg_1");
 * assert.deepEqual(await outbox.lease({ now: 1, leaseMs: 20_000 }), [], "leased: nobody else takes it");
 * await outbox.delivered(leased);
 * assert.equal(await outbox.get("msg_1"), undefined);
 * kv.close();
 * ```
 *
 * @module
 */
import { commitKv } from "../calls/kv_commit.ts";

/** One delivery of one event to one webhook. */
export interface Delivery {
  /** The `webhook-id`, the same on every try. */
  id: string;
  type: string;
  /** Which configured webhook (its secret is looked up by this id, never stored). */
  targetId: string;
  /** The webhook's URL when the event happened (tries go to its URL at the time of the try). */
  url: string;
  /** The exact body sent and signed. */
  body: string;
  /** Ms since the epoch. */
  createdAt: number;
  /** Tries made. */
  attempts: number;
  state: "pending" | "dead";
  /** When it is due (pending) or was given up (dead), ms since the epoch. */
  dueAt: number;
  /** Until when an instance is trying it (ms since the epoch). */
  leaseUntil?: number;
  lastError?: string;
}

/** What {@link WebhookOutbox.add} takes. */
export type NewDelivery = Pick<Delivery, "id" | "type" | "targetId" | "url" | "body">;

/** A delivery this instance holds the lease of. */
export interface LeasedDelivery {
  delivery: Delivery;
  versionstamp: string;
}

const PREFIX = "webhook_outbox";
const MS_PER_DAY = 86_400_000;
/** Deno KV takes values up to 64 KiB; the delivery's fields besides the body fit in 4. */
const MAX_BODY_BYTES = 60 * 1024;

/** The outbox over a Deno KV. */
export class WebhookOutbox {
  #kv: Deno.Kv;
  #expireIn: number | undefined;
  #prefix: string;

  /**
   * `retentionDays` 0 keeps entries until delivered or deleted; `prefix`
   * (default `webhook_outbox`) lets another durable job list (the post-call
   * analysis) use the same leases and retries under its own keys.
   */
  constructor(kv: Deno.Kv, options: { retentionDays: number; prefix?: string }) {
    this.#kv = kv;
    this.#prefix = options.prefix ?? PREFIX;
    this.#expireIn = options.retentionDays > 0
      ? Math.round(options.retentionDays * MS_PER_DAY)
      : undefined;
  }

  #options() {
    return this.#expireIn === undefined ? undefined : { expireIn: this.#expireIn };
  }

  /** Writes new deliveries, due at `now`. Throws when the store refuses (the caller logs it). */
  async add(deliveries: readonly NewDelivery[], now: number): Promise<void> {
    for (const fresh of deliveries) {
      const delivery = this.#fresh(fresh, now);
      const result = await commitKv(
        this.#kv.atomic()
          .check({ key: [this.#prefix, "delivery", delivery.id], versionstamp: null })
          .set([this.#prefix, "delivery", delivery.id], delivery, this.#options())
          .set([this.#prefix, "due", now, delivery.id], true, this.#options()),
      );
      if (!result.ok) throw new Error(`a delivery ${delivery.id} exists already`);
    }
  }

  /**
   * Writes `fresh`, due at `now`, in place of the entry of the same id if
   * there is one (its tries start over; an instance holding its lease loses
   * it). Throws when the store refuses.
   */
  async replace(fresh: NewDelivery, now: number): Promise<void> {
    const delivery = this.#fresh(fresh, now);
    const key = [this.#prefix, "delivery", delivery.id];
    for (let i = 0; i < 10; i++) {
      const current = await this.#kv.get<Delivery>(key);
      const write = this.#kv.atomic().check(current);
      if (current.value !== null) {
        const index = current.value.state === "dead" ? "dead" : "due";
        write.delete([this.#prefix, index, current.value.dueAt, delivery.id]);
      }
      const result = await commitKv(
        write.set(key, delivery, this.#options())
          .set([this.#prefix, "due", now, delivery.id], true, this.#options()),
      );
      if (result.ok) return;
    }
    throw new Error(`could not write ${delivery.id}: the store kept changing it`);
  }

  #fresh(fresh: NewDelivery, now: number): Delivery {
    const size = new TextEncoder().encode(fresh.body).length;
    if (size > MAX_BODY_BYTES) {
      throw new Error(
        `the ${fresh.type} body is ${size} bytes, more than the ${MAX_BODY_BYTES} the store takes`,
      );
    }
    return { ...fresh, createdAt: now, attempts: 0, state: "pending", dueAt: now };
  }

  /** The delivery `id`, pending or dead. */
  async get(id: string): Promise<Delivery | undefined> {
    return (await this.#kv.get<Delivery>([this.#prefix, "delivery", id])).value ?? undefined;
  }

  /**
   * Takes up to `limit` deliveries due by `now` for `leaseMs`; those another
   * instance took first are skipped.
   */
  async lease(
    options: { now: number; leaseMs: number; limit?: number },
  ): Promise<LeasedDelivery[]> {
    const { now, leaseMs } = options;
    const taken: LeasedDelivery[] = [];
    const due = this.#kv.list<boolean>({
      start: [this.#prefix, "due"],
      end: [this.#prefix, "due", now + 1],
    }, { limit: options.limit ?? 20 });
    for await (const entry of due) {
      const id = entry.key[3] as string;
      const current = await this.#kv.get<Delivery>([this.#prefix, "delivery", id]);
      const delivery = current.value;
      if (delivery === null || delivery.state !== "pending" || delivery.dueAt !== entry.key[2]) {
        // A stale index entry (the delivery moved on or expired): drop it.
        await commitKv(this.#kv.atomic().check(current).delete(entry.key));
        continue;
      }
      const until = now + leaseMs;
      // A lease that ran out without an outcome was a try whose instance died: it counts.
      const attempts = delivery.attempts + (delivery.leaseUntil !== undefined ? 1 : 0);
      const leased: Delivery = { ...delivery, attempts, dueAt: until, leaseUntil: until };
      const result = await commitKv(
        this.#kv.atomic()
          .check(current)
          .delete(entry.key)
          .set([this.#prefix, "due", until, id], true, this.#options())
          .set([this.#prefix, "delivery", id], leased, this.#options()),
      );
      if (result.ok) taken.push({ delivery: leased, versionstamp: result.versionstamp });
    }
    return taken;
  }

  /**
   * Keeps holding a delivery being worked on until `until` (a long job renews
   * its lease so that no other instance takes it meanwhile). The new lease,
   * or undefined when it was lost meanwhile.
   */
  async extend(leased: LeasedDelivery, until: number): Promise<LeasedDelivery | undefined> {
    const { delivery } = leased;
    const next: Delivery = { ...delivery, dueAt: until, leaseUntil: until };
    const result = await commitKv(
      this.#kv.atomic()
        .check({ key: [this.#prefix, "delivery", delivery.id], versionstamp: leased.versionstamp })
        .delete([this.#prefix, "due", delivery.dueAt, delivery.id])
        .set([this.#prefix, "due", until, delivery.id], true, this.#options())
        .set([this.#prefix, "delivery", delivery.id], next, this.#options()),
    );
    return result.ok ? { delivery: next, versionstamp: result.versionstamp } : undefined;
  }

  /** The receiver took it: forget it. False when the lease was lost meanwhile. */
  async delivered(leased: LeasedDelivery): Promise<boolean> {
    const { delivery } = leased;
    const result = await commitKv(
      this.#kv.atomic()
        .check({ key: [this.#prefix, "delivery", delivery.id], versionstamp: leased.versionstamp })
        .delete([this.#prefix, "delivery", delivery.id])
        .delete([this.#prefix, "due", delivery.dueAt, delivery.id]),
    );
    return result.ok;
  }

  /**
   * A try failed: due again at `retryAt`, or a dead letter when undefined.
   * False when the lease was lost meanwhile.
   */
  async failed(
    leased: LeasedDelivery,
    outcome: { error: string; retryAt: number | undefined; now: number },
  ): Promise<boolean> {
    const { delivery } = leased;
    const { leaseUntil: _lease, ...rest } = delivery;
    const next: Delivery = {
      ...rest,
      attempts: delivery.attempts + 1,
      lastError: outcome.error,
      state: outcome.retryAt === undefined ? "dead" : "pending",
      dueAt: outcome.retryAt ?? outcome.now,
    };
    const index = next.state === "dead"
      ? [this.#prefix, "dead", next.dueAt, next.id]
      : [this.#prefix, "due", next.dueAt, next.id];
    const result = await commitKv(
      this.#kv.atomic()
        .check({ key: [this.#prefix, "delivery", delivery.id], versionstamp: leased.versionstamp })
        .delete([this.#prefix, "due", delivery.dueAt, delivery.id])
        .set(index, true, this.#options())
        .set([this.#prefix, "delivery", delivery.id], next, this.#options()),
    );
    return result.ok;
  }

  /**
   * Gives a lease back without counting a try (the instance is stopping): due
   * at `now` for whoever runs next. False when the lease was lost meanwhile.
   */
  async release(leased: LeasedDelivery, now: number): Promise<boolean> {
    const { delivery } = leased;
    const { leaseUntil: _lease, ...rest } = delivery;
    const result = await commitKv(
      this.#kv.atomic()
        .check({ key: [this.#prefix, "delivery", delivery.id], versionstamp: leased.versionstamp })
        .delete([this.#prefix, "due", delivery.dueAt, delivery.id])
        .set([this.#prefix, "due", now, delivery.id], true, this.#options())
        .set([this.#prefix, "delivery", delivery.id], { ...rest, dueAt: now }, this.#options()),
    );
    return result.ok;
  }

  /**
   * At start: makes every pending delivery not held by a live lease due at
   * `now`, so what waited through a restart is tried at once. Returns how many.
   */
  async resume(now: number): Promise<number> {
    let moved = 0;
    for await (const entry of this.#kv.list<boolean>({ prefix: [this.#prefix, "due"] })) {
      const at = entry.key[2] as number;
      if (at <= now) continue;
      const id = entry.key[3] as string;
      const current = await this.#kv.get<Delivery>([this.#prefix, "delivery", id]);
      const delivery = current.value;
      if (delivery === null || delivery.state !== "pending" || delivery.dueAt !== at) continue;
      if (delivery.leaseUntil !== undefined && delivery.leaseUntil > now) continue;
      const result = await commitKv(
        this.#kv.atomic()
          .check(current)
          .delete(entry.key)
          .set([this.#prefix, "due", now, id], true, this.#options())
          .set([this.#prefix, "delivery", id], { ...delivery, dueAt: now }, this.#options()),
      );
      if (result.ok) moved++;
    }
    return moved;
  }

  /** Pending and dead deliveries, oldest first (at most `limit` of each). */
  async list(limit = 100): Promise<{ pending: Delivery[]; dead: Delivery[] }> {
    const read = async (kind: "due" | "dead") => {
      const out: Delivery[] = [];
      for await (
        const entry of this.#kv.list<boolean>({ prefix: [this.#prefix, kind] }, { limit })
      ) {
        const delivery = await this.get(entry.key[3] as string);
        if (delivery !== undefined) out.push(delivery);
      }
      return out;
    };
    return { pending: await read("due"), dead: await read("dead") };
  }

  /**
   * Makes a dead letter pending again (due at `now`, with the whole retry
   * schedule and the same `webhook-id`). False when `id` is not a dead letter.
   */
  async resend(id: string, now: number): Promise<boolean> {
    const current = await this.#kv.get<Delivery>([this.#prefix, "delivery", id]);
    const delivery = current.value;
    if (delivery === null || delivery.state !== "dead") return false;
    const result = await commitKv(
      this.#kv.atomic()
        .check(current)
        .delete([this.#prefix, "dead", delivery.dueAt, id])
        .set([this.#prefix, "due", now, id], true, this.#options())
        .set(
          [this.#prefix, "delivery", id],
          { ...delivery, state: "pending", attempts: 0, dueAt: now },
          this.#options(),
        ),
    );
    return result.ok;
  }
}
