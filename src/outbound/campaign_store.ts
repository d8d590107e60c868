/**
 * Campaigns in Deno KV: the campaign under `["campaigns", id]`, each contact
 * under `["campaign_contacts", id, contactId]`, and the number of live
 * attempts under `["campaign_live", id]`. Claiming a contact for an attempt
 * is one atomic commit that checks both the contact and the live counter, so
 * two dispatchers (or a queue message delivered twice) can never start two
 * attempts for one contact nor exceed the campaign's concurrency.
 *
 * On one machine the KV is a local file; on Deno Deploy the same code uses
 * the managed, distributed KV.
 *
 * Contacts hold full phone numbers and the CSV's context: once a campaign
 * ends (completed or canceled), {@link CampaignStore.expire} gives each of
 * its keys the record retention (`RETENTION_DAYS`), so Deno KV deletes them
 * then; a contact written after the end (a late callback) gets it too.
 * {@link CampaignStore.erase} deletes a campaign and its contacts at once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CampaignStore } from "./campaign_store.ts";
 * const kv = await Deno.openKv(":memory:");
 * const store = new CampaignStore(kv);
 * const campaign = await store.create({
 *   agent: "default", status: "running", concurrency: 1, timezone: "UTC",
 *   window: { startMinute: 0, endMinute: 1440 }, maxAttempts: 2, retryBackoffMs: 1000,
 * }, [{ to: "+15551234567", context: {} }], 0);
 * const [contact] = await store.contacts(campaign.id);
 * assert.ok(await store.claim(campaign.id, contact.id, 0));
 * assert.equal(await store.claim(campaign.id, contact.id, 0), undefined); // already live
 * kv.close();
 * ```
 *
 * @module
 */
import type { AnsweredBy, OutboundOutcome } from "./call_progress.ts";
import type { CampaignRules, CampaignStatus, ContactSlot } from "./campaign_plan.ts";
import type { ContactInput } from "./campaign_input.ts";
import { commitKv } from "../calls/kv_commit.ts";

/** A stored campaign. */
export interface Campaign extends CampaignRules {
  id: string;
  agent: string;
  /** ISO time of creation. */
  createdAt: string;
  contactCount: number;
  /** ISO time the campaign ended (completed or canceled); its keys expire from then. */
  endedAt?: string;
}

/** A stored contact. */
export interface Contact extends ContactSlot {
  to: string;
  context: Record<string, unknown>;
  /** The CallSid of the current or last attempt. */
  callSid?: string;
  /** While `live`: when the attempt was claimed (ms since the epoch). */
  liveSince?: number;
  lastOutcome?: OutboundOutcome;
  answeredBy?: AnsweredBy;
}

const CAMPAIGNS = "campaigns";
const CONTACTS = "campaign_contacts";
const LIVE = "campaign_live";
/** Contacts written per atomic commit (KV allows 1000 mutations and 800 KB). */
const BATCH = 200;

/** Options of {@link CampaignStore}. */
export interface CampaignStoreOptions {
  /** Days an ended campaign and its contacts are kept (`RETENTION_DAYS`; 0: forever). Default 30. */
  retentionDays?: number;
}

/** Campaign data in one Deno KV. */
export class CampaignStore {
  readonly kv: Deno.Kv;
  #expire: { expireIn: number } | undefined;

  /** Uses `kv` (not closed by the store). */
  constructor(kv: Deno.Kv, options: CampaignStoreOptions = {}) {
    this.kv = kv;
    const days = options.retentionDays ?? 30;
    this.#expire = days > 0 ? { expireIn: Math.round(days * 86_400_000) } : undefined;
  }

  /** Stores a new campaign and its contacts (all `pending`). */
  async create(
    rules: CampaignRules & { agent: string },
    contacts: readonly ContactInput[],
    now: number,
  ): Promise<Campaign> {
    const id = `cmp_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    const campaign: Campaign = {
      ...rules,
      id,
      createdAt: new Date(now).toISOString(),
      contactCount: contacts.length,
    };
    for (let start = 0; start < contacts.length; start += BATCH) {
      const op = this.kv.atomic();
      contacts.slice(start, start + BATCH).forEach((input, i) => {
        const contact: Contact = {
          id: `c${String(start + i + 1).padStart(5, "0")}`,
          state: "pending",
          attempts: 0,
          notBefore: now,
          to: input.to,
          context: input.context,
          ...(input.timezone !== undefined ? { timezone: input.timezone } : {}),
        };
        op.set([CONTACTS, id, contact.id], contact);
      });
      const result = await commitKv(op);
      if (!result.ok) throw new Error(`Could not store the contacts of campaign ${id}.`);
    }
    // The campaign appears last, once every contact is stored.
    const result = await commitKv(
      this.kv.atomic().set([LIVE, id], 0).set([CAMPAIGNS, id], campaign),
    );
    if (!result.ok) throw new Error(`Could not store campaign ${id}.`);
    return campaign;
  }

  /** The campaign, or undefined. */
  async get(id: string): Promise<Campaign | undefined> {
    return (await this.kv.get<Campaign>([CAMPAIGNS, id])).value ?? undefined;
  }

  /** Every stored campaign, in id order. */
  async list(): Promise<Campaign[]> {
    const out: Campaign[] = [];
    for await (const entry of this.kv.list<Campaign>({ prefix: [CAMPAIGNS] })) {
      out.push(entry.value);
    }
    return out;
  }

  /** Every contact of the campaign, in order. */
  async contacts(id: string): Promise<Contact[]> {
    const out: Contact[] = [];
    for await (const entry of this.kv.list<Contact>({ prefix: [CONTACTS, id] })) {
      out.push(entry.value);
    }
    return out;
  }

  /** How many attempts are live. */
  async live(id: string): Promise<number> {
    return (await this.kv.get<number>([LIVE, id])).value ?? 0;
  }

  /** Sets the campaign's status; returns the campaign, or undefined when unknown. */
  async setStatus(id: string, status: CampaignStatus): Promise<Campaign | undefined> {
    for (let i = 0; i < 10; i++) {
      const entry = await this.kv.get<Campaign>([CAMPAIGNS, id]);
      if (entry.value === null) return undefined;
      const campaign = { ...entry.value, status };
      if ((await commitKv(this.kv.atomic().check(entry).set([CAMPAIGNS, id], campaign))).ok) {
        return campaign;
      }
    }
    throw new Error(`Could not update campaign ${id}: too much contention.`);
  }

  /**
   * Claims a pending contact for an attempt (state `live`, attempts + 1,
   * live counter + 1) if it is still pending and a slot is free. Returns the
   * claimed contact, or undefined when another claim won or no slot is free.
   * `now` is kept as the contact's `liveSince`.
   */
  async claim(id: string, contactId: string, now: number): Promise<Contact | undefined> {
    const [campaign, contact, live] = await this.kv.getMany<[Campaign, Contact, number]>([
      [CAMPAIGNS, id],
      [CONTACTS, id, contactId],
      [LIVE, id],
    ]);
    if (campaign.value === null || contact.value === null) return undefined;
    if (campaign.value.status !== "running" || contact.value.state !== "pending") return undefined;
    const count = live.value ?? 0;
    if (count >= campaign.value.concurrency) return undefined;
    const claimed: Contact = {
      ...contact.value,
      state: "live",
      attempts: contact.value.attempts + 1,
      liveSince: now,
    };
    const result = await commitKv(
      this.kv.atomic()
        .check(campaign, contact, live)
        .set([CONTACTS, id, contactId], claimed)
        .set([LIVE, id], count + 1),
    );
    return result.ok ? claimed : undefined;
  }

  /**
   * Ends a live attempt: the contact becomes `next(contact)` and the live
   * counter goes down, atomically. No effect (false) when the contact is not
   * live (the end was already recorded) or `callSid` names another attempt.
   */
  async release(
    id: string,
    contactId: string,
    callSid: string | undefined,
    next: (contact: Contact) => Contact,
  ): Promise<boolean> {
    for (let i = 0; i < 10; i++) {
      const [contact, live, campaign] = await this.kv.getMany<[Contact, number, Campaign]>([
        [CONTACTS, id, contactId],
        [LIVE, id],
        [CAMPAIGNS, id],
      ]);
      const value = contact.value;
      if (value === null || value.state !== "live") return false;
      if (callSid !== undefined && value.callSid !== undefined && value.callSid !== callSid) {
        return false;
      }
      const { liveSince: _, ...ended } = next(value);
      // A campaign that has ended expires: so does what its late callbacks write.
      const expire = campaign.value?.endedAt !== undefined ? this.#expire : undefined;
      const result = await commitKv(
        this.kv.atomic()
          .check(contact, live, campaign)
          .set([CONTACTS, id, contactId], ended, expire)
          .set([LIVE, id], Math.max(0, (live.value ?? 1) - 1), expire),
      );
      if (result.ok) return true;
    }
    throw new Error(`Could not end an attempt of campaign ${id}: too much contention.`);
  }

  /** Records the CallSid of a live attempt (if the contact is still live). */
  async setCallSid(id: string, contactId: string, callSid: string): Promise<void> {
    for (let i = 0; i < 10; i++) {
      const entry = await this.kv.get<Contact>([CONTACTS, id, contactId]);
      if (entry.value === null || entry.value.state !== "live") return;
      const value = { ...entry.value, callSid };
      if (
        (await commitKv(this.kv.atomic().check(entry).set([CONTACTS, id, contactId], value))).ok
      ) {
        return;
      }
    }
  }

  /**
   * The campaign has ended (`completed` or `canceled`, set before): marks it
   * ended at `now` and gives it, its contacts and its counter the retention,
   * so Deno KV deletes them then. Idempotent.
   */
  async expire(id: string, now: number): Promise<void> {
    for (let i = 0; i < 10; i++) {
      const entry = await this.kv.get<Campaign>([CAMPAIGNS, id]);
      if (entry.value === null) return;
      const campaign = {
        ...entry.value,
        endedAt: entry.value.endedAt ?? new Date(now).toISOString(),
      };
      const op = this.kv.atomic().check(entry).set([CAMPAIGNS, id], campaign, this.#expire);
      if ((await commitKv(op)).ok) break;
    }
    if (this.#expire === undefined) return;
    await this.#rewrite(id, this.#expire);
  }

  /**
   * Sets every contact and the live counter of `id` again with `expire`, in
   * batches; a key changed meanwhile is read and set again on its own.
   */
  async #rewrite(id: string, expire: { expireIn: number }): Promise<void> {
    let batch: Deno.KvEntry<unknown>[] = [];
    const flush = async () => {
      const op = this.kv.atomic();
      for (const entry of batch) op.check(entry).set(entry.key, entry.value, expire);
      if (batch.length > 0 && !(await commitKv(op)).ok) {
        for (const { key } of batch) await this.#setAgain(key, expire);
      }
      batch = [];
    };
    for await (const entry of this.kv.list({ prefix: [CONTACTS, id] })) {
      batch.push(entry);
      if (batch.length >= BATCH) await flush();
    }
    const live = await this.kv.get([LIVE, id]);
    if (live.value !== null) batch.push(live);
    await flush();
  }

  async #setAgain(key: Deno.KvKey, expire: { expireIn: number }): Promise<void> {
    for (let i = 0; i < 10; i++) {
      const entry = await this.kv.get(key);
      if (entry.value === null) return;
      if ((await commitKv(this.kv.atomic().check(entry).set(key, entry.value, expire))).ok) return;
    }
  }

  /** Deletes the campaign, its contacts and its counter; undefined when there is no such campaign. */
  async erase(id: string): Promise<{ contacts: number } | undefined> {
    const campaign = await this.kv.get<Campaign>([CAMPAIGNS, id]);
    if (campaign.value === null) return undefined;
    // The campaign first: nothing dials or reports for it any more.
    await this.kv.delete([CAMPAIGNS, id]);
    let contacts = 0;
    let op = this.kv.atomic();
    let count = 0;
    for await (const entry of this.kv.list({ prefix: [CONTACTS, id] })) {
      op.delete(entry.key);
      contacts++;
      if (++count >= BATCH) {
        await commitKv(op);
        op = this.kv.atomic();
        count = 0;
      }
    }
    op.delete([LIVE, id]);
    await commitKv(op);
    return { contacts };
  }

  /** Marks every pending contact `canceled` (when the campaign is canceled). */
  async cancelPending(id: string): Promise<number> {
    let canceled = 0;
    for (const contact of await this.contacts(id)) {
      if (contact.state !== "pending") continue;
      const entry = await this.kv.get<Contact>([CONTACTS, id, contact.id]);
      if (entry.value?.state !== "pending") continue;
      const result = await commitKv(
        this.kv.atomic().check(entry).set([CONTACTS, id, contact.id], {
          ...entry.value,
          state: "canceled",
        }),
      );
      if (result.ok) canceled++;
    }
    return canceled;
  }
}
