/**
 * The campaigns' job table in Deno KV, with leases: one entry per campaign
 * under `["campaign_jobs", id]` saying when the campaign should next be
 * looked at (`dueAt`) and which dispatcher is working it (`lease`). It
 * replaces Deno KV queues, which Deno Deploy does not offer: any instance
 * polls {@link CampaignJobs.due}, takes a lease with one atomic commit
 * checked by versionstamp ({@link CampaignJobs.acquire}), works the campaign
 * and gives the lease back with the next due time
 * ({@link CampaignJobs.release}).
 *
 * A lease ends at `until`: when its holder crashed, the job is due again and
 * another dispatcher takes it over. A wake-up asked for while a lease is held
 * ({@link CampaignJobs.schedule}) is kept and survives the release, so no
 * event is lost between two dispatchers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CampaignJobs } from "./campaign_jobs.ts";
 * const kv = await Deno.openKv(":memory:");
 * const jobs = new CampaignJobs(kv, { leaseMs: 30_000 });
 * await jobs.schedule("cmp_1", 1000);
 * assert.deepEqual(await jobs.due(999), []);
 * assert.deepEqual(await jobs.due(1000), ["cmp_1"]);
 * assert.ok(await jobs.acquire("cmp_1", "a", 1000));
 * assert.equal(await jobs.acquire("cmp_1", "b", 1000), undefined); // a holds it
 * // a crashes; its lease ends and b takes the job over.
 * assert.deepEqual(await jobs.due(31_000), ["cmp_1"]);
 * assert.ok(await jobs.acquire("cmp_1", "b", 31_000));
 * await jobs.release("cmp_1", "b", 90_000);
 * assert.deepEqual(await jobs.due(90_000), ["cmp_1"]);
 * kv.close();
 * ```
 *
 * @module
 */
import { commitKv } from "../calls/kv_commit.ts";

/** A dispatcher's hold on a job. */
export interface JobLease {
  /** The dispatcher holding it. */
  holder: string;
  /** Ms since the epoch when the lease ends unless renewed. */
  until: number;
}

/** One campaign's job. */
export interface CampaignJob {
  campaignId: string;
  /** When the campaign should be looked at next (null: only on events). */
  dueAt: number | null;
  lease: JobLease | null;
}

/** Options of {@link CampaignJobs}. */
export interface CampaignJobsOptions {
  /** How long a lease lasts unless renewed [30 s]. */
  leaseMs?: number;
}

const JOBS = "campaign_jobs";
/** Commits retried this many times under contention before giving up. */
const TRIES = 20;

const earliest = (a: number | null, b: number | null | undefined): number | null =>
  a === null ? b ?? null : b === null || b === undefined ? a : Math.min(a, b);

/** The job table in one Deno KV. */
export class CampaignJobs {
  readonly leaseMs: number;
  #kv: Deno.Kv;

  /** Uses `kv` (not closed here). */
  constructor(kv: Deno.Kv, options: CampaignJobsOptions = {}) {
    this.#kv = kv;
    this.leaseMs = options.leaseMs ?? 30_000;
  }

  /** The stored job, or null. */
  async get(campaignId: string): Promise<CampaignJob | null> {
    return (await this.#kv.get<CampaignJob>([JOBS, campaignId])).value;
  }

  /** Asks for the campaign to be looked at by `at` (an earlier wish wins; kept across a lease). */
  schedule(campaignId: string, at: number): Promise<void> {
    return this.#update(campaignId, (job) => ({ ...job, dueAt: earliest(job.dueAt, at) }))
      .then(() => {});
  }

  /** Campaigns whose job is due at `now`: its time came, or its holder's lease ended. */
  async due(now: number): Promise<string[]> {
    const out: string[] = [];
    for await (const entry of this.#kv.list<CampaignJob>({ prefix: [JOBS] })) {
      const job = entry.value;
      const leaseEnded = job.lease !== null && job.lease.until <= now;
      if (leaseEnded || (job.lease === null && job.dueAt !== null && job.dueAt <= now)) {
        out.push(job.campaignId);
      }
    }
    return out;
  }

  /**
   * Takes the job's lease for `holder` unless another holds a lease still
   * running at `now`; the due time is consumed. Returns the lease, or
   * undefined when another dispatcher holds it (or won the commit).
   */
  async acquire(campaignId: string, holder: string, now: number): Promise<JobLease | undefined> {
    const entry = await this.#kv.get<CampaignJob>([JOBS, campaignId]);
    const job = entry.value ?? { campaignId, dueAt: null, lease: null };
    if (job.lease !== null && job.lease.until > now) {
      return undefined;
    }
    const lease = { holder, until: now + this.leaseMs };
    const result = await commitKv(
      this.#kv.atomic().check(entry)
        .set([JOBS, campaignId], { ...job, dueAt: null, lease }),
    );
    return result.ok ? lease : undefined;
  }

  /**
   * Takes the job's lease for `holder` like {@link acquire}; when another
   * dispatcher's lease is still running, asks it for one more look instead
   * (the due time becomes `now`, kept across its release). Both in one
   * versionstamp-checked commit: the wish cannot land after the holder gave
   * the lease back (or removed the job of a finished campaign), where nobody
   * would act on it. Returns the lease, or undefined when the holder was asked.
   */
  async acquireOrAsk(
    campaignId: string,
    holder: string,
    now: number,
  ): Promise<JobLease | undefined> {
    for (let i = 0; i < TRIES; i++) {
      const entry = await this.#kv.get<CampaignJob>([JOBS, campaignId]);
      const job = entry.value ?? { campaignId, dueAt: null, lease: null };
      const held = job.lease !== null && job.lease.until > now;
      const lease = { holder, until: now + this.leaseMs };
      const next = held
        ? { ...job, dueAt: earliest(job.dueAt, now) }
        : { ...job, dueAt: null, lease };
      const result = await commitKv(this.#kv.atomic().check(entry).set([JOBS, campaignId], next));
      if (result.ok) return held ? undefined : lease;
    }
    throw new Error(`Could not update the job of campaign ${campaignId}: too much contention.`);
  }

  /** Extends `holder`'s lease from `now`; false when it was lost (ended and taken over). */
  async renew(campaignId: string, holder: string, now: number): Promise<boolean> {
    const job = await this.#update(
      campaignId,
      (job) =>
        job.lease?.holder === holder
          ? { ...job, lease: { holder, until: now + this.leaseMs } }
          : job,
    );
    return job?.lease?.holder === holder;
  }

  /**
   * Gives `holder`'s lease back; the job is next due at the earlier of
   * `wakeAt` and any wake-up scheduled meanwhile (idle when neither). When
   * the lease was lost meanwhile, `wakeAt` is still scheduled.
   */
  async release(campaignId: string, holder: string, wakeAt: number | undefined): Promise<void> {
    await this.#update(
      campaignId,
      (job) =>
        job.lease?.holder === holder
          ? { ...job, lease: null, dueAt: earliest(job.dueAt, wakeAt) }
          : { ...job, dueAt: earliest(job.dueAt, wakeAt) },
    );
  }

  /** Removes the job (the campaign is over). */
  async remove(campaignId: string): Promise<void> {
    await this.#kv.delete([JOBS, campaignId]);
  }

  /** Applies `change` with a versionstamp check, retrying under contention; returns the new job. */
  async #update(
    campaignId: string,
    change: (job: CampaignJob) => CampaignJob,
  ): Promise<CampaignJob | null> {
    for (let i = 0; i < TRIES; i++) {
      const entry = await this.#kv.get<CampaignJob>([JOBS, campaignId]);
      const job = entry.value ?? { campaignId, dueAt: null, lease: null };
      const next = change(job);
      const op = this.#kv.atomic().check(entry);
      if (next.dueAt === null && next.lease === null) op.delete([JOBS, campaignId]);
      else op.set([JOBS, campaignId], next);
      if ((await commitKv(op)).ok) return next.dueAt === null && next.lease === null ? null : next;
    }
    throw new Error(`Could not update the job of campaign ${campaignId}: too much contention.`);
  }
}
