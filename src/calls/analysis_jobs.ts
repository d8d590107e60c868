/**
 * The post-call analysis as a durable job in the call store: when a call
 * whose agent asks for an analysis ends, a job holding the record (its words
 * as the analysis reads them) is written before the analysis starts; the job
 * is deleted once the analysis is stored and `call.analyzed` is in the
 * webhook outbox. A process that stops (or is killed) mid-analysis leaves the
 * job: it is run again at the next start or by another instance sharing the
 * store, so no call goes unanalyzed and none gets two `call.analyzed`.
 *
 * The jobs use the webhook outbox's machinery ({@link WebhookOutbox} under
 * the keys `["analysis_jobs", …]`): a job is taken with an atomic lease, the
 * lease is renewed every few seconds while the analysis runs (a dead
 * instance's job is free again within {@link LEASE_MS}), and a lease that ran
 * out without an outcome counts as a try. After {@link MAX_ANALYSIS_ATTEMPTS}
 * tries the call's analysis is stored as an error and the job is dropped.
 * (The analysis itself retries a failing or malformed answer within one try.)
 *
 * The job keeps the call's words until its analysis is done (at most a day:
 * the job expires then), also with `STORE_TRANSCRIPTS=off` or `REDACT=on`:
 * the analysis reads the words, the record keeps only its result. A record
 * too large for one KV value keeps its latest lines in the job; the instance
 * that wrote the job analyzes the whole record from memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AnalysisJobs } from "./analysis_jobs.ts";
 * import { sampleRecord } from "../../tests/support/sample_record.ts";
 *
 * const kv = await Deno.openKv(":memory:");
 * const analyzed: string[] = [];
 * const jobs = new AnalysisJobs({ kv, run: async (record) => void analyzed.push(record.callSid) });
 * await jobs.start();
 * await jobs.add(sampleRecord("CA1"));
 * await jobs.idle();
 * assert.deepEqual(analyzed, ["CA1"]);
 * assert.deepEqual(await jobs.pending(), []);
 * await jobs.close();
 * kv.close();
 * ```
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { type LeasedDelivery, WebhookOutbox, WorkLoop } from "../webhooks/mod.ts";
import type { CallRecord } from "./call_record.ts";
import { fitRecord } from "./call_store.ts";
import { errorMessage } from "../observability/error_message.ts";

/** Tries of one call's analysis (a try cut short by a dying process counts) before it is an error. */
export const MAX_ANALYSIS_ATTEMPTS = 3;
/** How long a lease holds without renewal: a dead instance's job is free again after this. */
export const LEASE_MS = 15_000;
/** The lease is renewed this often while the analysis runs. */
const RENEW_MS = 5_000;
/** Pause before a try again after a failed one (e.g. the store refused the write), times the tries. */
const RETRY_MS = 30_000;
/** The jobs' keys in the KV: `[ANALYSIS_JOBS_PREFIX, …]`, as the webhook outbox's. */
export const ANALYSIS_JOBS_PREFIX = "analysis_jobs";
/** The record in a job is cut to fit one KV value (with the job's other fields). */
const JOB_RECORD_BYTES = 56 * 1024;

/** Options of {@link AnalysisJobs}. */
export interface AnalysisJobsOptions {
  /** The call store's KV (shared by every instance). */
  kv: Deno.Kv;
  /**
   * Analyzes `record`, stores the result and emits `call.analyzed`; rejects
   * when that could not be done (then the job is tried again).
   */
  run(record: CallRecord): Promise<void>;
  /** Gives up on `record` after its tries ran out: stores its analysis as an error. */
  giveUp?(record: CallRecord, error: string): Promise<void>;
  /** Ms between looks for jobs other instances left [5000]. */
  pollMs?: number;
  /** Ms since the epoch. Default `Date.now`. */
  now?: () => number;
  logger?: Logger | undefined;
}

/** The durable post-call analysis jobs of one process. */
export class AnalysisJobs {
  #o: AnalysisJobsOptions;
  #queue: WebhookOutbox;
  #now: () => number;
  /** Records this instance wrote jobs for, whole (the stored one may be cut). */
  #whole = new Map<string, CallRecord>();
  #loop: WorkLoop;
  #started = false;

  /** Creates the jobs; {@link AnalysisJobs.start} starts taking them. */
  constructor(options: AnalysisJobsOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#loop = new WorkLoop(() => this.#run(), () => options.pollMs ?? 5000);
    this.#queue = new WebhookOutbox(options.kv, {
      retentionDays: 1,
      prefix: ANALYSIS_JOBS_PREFIX,
    });
  }

  /** Makes jobs left by a stopped process due now, then starts taking jobs. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    try {
      const resumed = await this.#queue.resume(this.#now());
      if (resumed > 0) {
        this.#o.logger?.info(
          "{count} post-call analyses left unfinished before; running them now.",
          {
            count: resumed,
          },
        );
      }
    } catch (error) {
      this.#storeFailed(error);
    }
    this.#loop.start();
  }

  /** Writes the analysis job of `record`, then runs it. Resolves once written; never rejects. */
  add(record: CallRecord): Promise<void> {
    if (this.#loop.closed) return Promise.resolve();
    const work = (async () => {
      const body = JSON.stringify(fitRecord(record, JOB_RECORD_BYTES));
      this.#whole.set(record.callSid, record);
      try {
        // A call's later stream (after keypad tones, a transfer's way back) ends with a record
        // that knows more: its job replaces one still waiting.
        await this.#queue.replace({
          id: jobId(record.callSid),
          type: "call.analysis",
          targetId: record.agent ?? "",
          url: "",
          body,
        }, this.#now());
      } catch (error) {
        this.#whole.delete(record.callSid);
        this.#o.logger?.error("Could not write the analysis job of the call: {error}", {
          callSid: record.callSid,
          error: errorMessage(error),
        });
        return;
      }
      this.#loop.kick();
    })();
    return this.#loop.track(work);
  }

  /** The CallSids of the jobs waiting or running (tests, operators). */
  async pending(): Promise<string[]> {
    const { pending } = await this.#queue.list();
    return pending.map((job) => callSidOf(job.id));
  }

  /** Waits until the writes and the runs so far are done (tests). */
  async idle(): Promise<void> {
    await this.#loop.idle();
  }

  /** Stops taking jobs; waits for the runs under way (their jobs stay if they do not finish). */
  async close(): Promise<void> {
    await this.#loop.close();
  }

  async #run(): Promise<void> {
    for (;;) {
      if (this.#loop.closed) return;
      let leased: LeasedDelivery[];
      try {
        leased = await this.#queue.lease({ now: this.#now(), leaseMs: LEASE_MS, limit: 4 });
      } catch (error) {
        this.#storeFailed(error);
        return;
      }
      if (leased.length === 0) return;
      await Promise.all(leased.map((job) => this.#runJob(job)));
    }
  }

  async #runJob(leased: LeasedDelivery): Promise<void> {
    const callSid = callSidOf(leased.delivery.id);
    const record = this.#whole.get(callSid) ?? JSON.parse(leased.delivery.body) as CallRecord;
    const log = this.#o.logger;
    // One commit at a time on the job: the renewals, then the outcome.
    let lease: LeasedDelivery | undefined = leased;
    let chain = Promise.resolve();
    const renew = setInterval(() => {
      chain = chain.then(async () => {
        if (lease !== undefined) lease = await this.#queue.extend(lease, this.#now() + LEASE_MS);
      }).catch(() => {});
    }, RENEW_MS);
    let outcome: { ok: true } | { ok: false; error: string };
    const attempts = leased.delivery.attempts;
    try {
      if (attempts >= MAX_ANALYSIS_ATTEMPTS) {
        const error =
          `the analysis did not finish in ${attempts} tries (the process stopped during each)`;
        log?.error("Giving up on the analysis of the call: {error}", { callSid, error });
        await this.#o.giveUp?.(record, error);
      } else {
        await this.#o.run(record);
      }
      outcome = { ok: true };
    } catch (error) {
      outcome = { ok: false, error: errorMessage(error) };
    } finally {
      clearInterval(renew);
    }
    await chain;
    if (lease === undefined) {
      log?.warn("The analysis job of the call was taken over by another instance.", { callSid });
      return;
    }
    try {
      if (outcome.ok) {
        await this.#queue.delivered(lease);
        this.#whole.delete(callSid);
        return;
      }
      const tries = attempts + 1;
      const retryAt = tries < MAX_ANALYSIS_ATTEMPTS ? this.#now() + RETRY_MS * tries : undefined;
      await this.#queue.failed(lease, { error: outcome.error, retryAt, now: this.#now() });
      if (retryAt === undefined) {
        log?.error("The analysis of the call failed {tries} times ({error}); giving up.", {
          callSid,
          tries,
          error: outcome.error,
        });
        this.#whole.delete(callSid);
        await this.#o.giveUp?.(record, outcome.error).catch(() => {});
      } else {
        log?.warn("The analysis of the call failed ({error}); trying again in {in}.", {
          callSid,
          error: outcome.error,
          in: `${Math.round((retryAt - this.#now()) / 1000)} s`,
        });
      }
    } catch (error) {
      this.#storeFailed(error);
    }
  }

  #storeFailed(error: unknown): void {
    this.#o.logger?.error("Could not read or update the analysis jobs: {error}", {
      error: errorMessage(error),
    });
  }
}

/** The id of the analysis job of `callSid`. */
export function jobId(callSid: string): string {
  return `analysis:${callSid}`;
}

function callSidOf(id: string): string {
  return id.slice("analysis:".length);
}
