/**
 * Runs campaigns over a job table in Deno KV (`campaign_jobs.ts`), without
 * KV queues (Deno Deploy has none). Each campaign moves forward in "ticks":
 * a tick takes the campaign's lease, reads the campaign and its contacts,
 * asks the rules (`campaign_plan.ts`) who to dial now, claims each of them
 * atomically, places the calls, and gives the lease back with the time of
 * its next tick (when a retry comes due or a calling window opens). An
 * attempt's end (from the status callback, on whichever instance it lands)
 * updates the contact and ticks again, so a freed slot is used at once.
 *
 * What wakes due campaigns up ({@link CampaignDispatcher.runDue}): an
 * interval in this process (`CAMPAIGN_DISPATCH=interval`, every 2 s), or
 * `Deno.cron` every minute (`CAMPAIGN_DISPATCH=cron`, the default on Deno
 * Deploy; see `campaign_cron.ts`). Any number of instances may dispatch one
 * campaign: the lease keeps one tick per campaign at a time, and each claim
 * is one atomic commit checking the contact and the live counter, so no
 * contact is dialed twice at once and the concurrency is never exceeded. A
 * dispatcher that dies holding a lease loses it after the lease time (30 s)
 * and another takes the campaign over.
 *
 * Twilio posts an attempt's end once; if the server was down (or the post
 * failed), the contact would stay `live` and hold its slot for good. So the
 * dispatcher sweeps: when it starts and every 5 minutes, each attempt live
 * for over 2 minutes is looked up in Twilio's REST API
 * ({@link CampaignDispatcher.sweep}); one that ended is finished as its
 * callback would have finished it; one never placed (the process stopped
 * between claiming and placing) or unknown to Twilio counts as a failed
 * attempt.
 *
 * Time is injected: tests move the clock and call {@link
 * CampaignDispatcher.tick} or {@link CampaignDispatcher.runDue}.
 *
 * @example
 * ```ts ignore
 * const dispatcher = new CampaignDispatcher({ store: new CampaignStore(kv), dialer });
 * dispatcher.start({ pollEveryMs: 2000 });
 * const campaign = await dispatcher.create({ agent: "default", contacts });
 * await dispatcher.stop();
 * ```
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import { maskPhoneNumber } from "../security/phone_numbers.ts";
import { type CallStatus, FINAL_STATUSES, type OutboundOutcome } from "./call_progress.ts";
import { afterAttempt, type CampaignStatus, plan } from "./campaign_plan.ts";
import type { Campaign, CampaignStore, Contact } from "./campaign_store.ts";
import type { ContactInput } from "./campaign_input.ts";
import { ALWAYS, type CallingWindow, formatWindow } from "./calling_window.ts";
import type { AttemptRefs, DialRequest, FinishedAttempt } from "./outbound_dialer.ts";
import { TwilioRestError } from "./twilio_calls.ts";
import type { TwilioCall } from "./twilio_calls.ts";
import { CampaignJobs } from "./campaign_jobs.ts";
import { errorMessage } from "../observability/error_message.ts";

/** What a new campaign may set (defaults in brackets). */
export interface NewCampaign {
  agent: string;
  contacts: readonly ContactInput[];
  /** Live attempts at once [1]. */
  concurrency?: number;
  /** Daily calling window in each callee's zone [all day]. */
  window?: CallingWindow;
  /** Zone of contacts without one [UTC]. */
  timezone?: string;
  /** Attempts per contact [3]. */
  maxAttempts?: number;
  /** Wait before the first retry, doubled after each [15 min]. */
  retryBackoffMs?: number;
}

/** A campaign's progress, as `GET /campaigns/:id` and `deno task calls --campaign` show it. */
export interface CampaignProgress {
  id: string;
  agent: string;
  status: CampaignStatus;
  createdAt: string;
  concurrency: number;
  window: string;
  timezone: string;
  maxAttempts: number;
  counts: Record<Contact["state"], number>;
  outcomes: Partial<Record<OutboundOutcome, number>>;
  /** Contacts (numbers masked), at most 1000. */
  contacts: {
    id: string;
    to: string;
    state: Contact["state"];
    attempts: number;
    lastOutcome?: OutboundOutcome;
    nextAttemptAt?: string;
  }[];
}

/** Options of {@link CampaignDispatcher}. */
export interface CampaignDispatcherOptions {
  store: CampaignStore;
  /**
   * Places one call, and asks Twilio how an attempt whose callback may be lost
   * stands (an {@link import("./outbound_dialer.ts").OutboundDialer}).
   */
  dialer: {
    place(request: DialRequest): Promise<TwilioCall>;
    reconcile(callSid: string, refs: AttemptRefs): Promise<CallStatus | undefined>;
  };
  /** The job table (default: in the store's KV, 30 s leases). */
  jobs?: CampaignJobs;
  /** Wall clock in ms. Default `Date.now`. */
  now?: () => number;
  /** Ms between sweeps once started (0: only the one at start) [5 min]. */
  sweepEveryMs?: number;
  logger?: Logger;
}

/** How {@link CampaignDispatcher.start} wakes due campaigns up. */
export interface DispatchDriving {
  /** Ms between looks at the job table from this process (0: none; `Deno.cron` calls {@link CampaignDispatcher.onCron}). */
  pollEveryMs: number;
}

/** What one {@link CampaignDispatcher.sweep} found. */
export interface SweepResult {
  /** Live attempts looked up in Twilio. */
  checked: number;
  /** Of those, attempts Twilio reports ended (now finished here). */
  ended: number;
  /** Attempts never placed (no CallSid) or unknown to Twilio (404), released as failed. */
  released: number;
  /** Look-ups that failed (tried again at the next sweep). */
  errors: number;
}

/** A live attempt younger than this is not looked up (its callback is expected). */
const SWEEP_AFTER_MS = 2 * 60_000;
/** Default ms between sweeps. */
const SWEEP_EVERY_MS = 5 * 60_000;

/** Dispatches campaigns. */
export class CampaignDispatcher {
  readonly store: CampaignStore;
  #dialer: CampaignDispatcherOptions["dialer"];
  #now: () => number;
  #log: Logger;
  readonly jobs: CampaignJobs;
  #sweepEveryMs: number;
  #sweepTimer: ReturnType<typeof setTimeout> | undefined;
  #pollTimer: ReturnType<typeof setInterval> | undefined;
  #started = false;
  #stopped = false;
  #polling = false;
  #lastSweepAt = -Infinity;
  /** This dispatcher's name in leases; each tick adds its own number. */
  readonly #id = `d${crypto.randomUUID().slice(0, 8)}`;
  #ticks = 0;
  /** Ticks and sweeps running in the background (awaited by stop). */
  #inFlight = new Set<Promise<void>>();
  /** Next ticks scheduled (campaign, due time), for tests and logs. */
  readonly scheduled: { campaignId: string; at: number }[] = [];

  /** Creates a dispatcher. */
  constructor(options: CampaignDispatcherOptions) {
    this.store = options.store;
    this.#dialer = options.dialer;
    this.#now = options.now ?? Date.now;
    this.#sweepEveryMs = options.sweepEveryMs ?? SWEEP_EVERY_MS;
    this.#log = options.logger ?? getLogger(["bridge", "campaigns"]);
    this.jobs = options.jobs ?? new CampaignJobs(this.store.kv);
  }

  /**
   * Starts dispatching from this process: sweeps lost attempts at once and
   * every `sweepEveryMs`, looks for due campaigns every `pollEveryMs` (when
   * not 0), and ticks a new or resumed campaign at once.
   */
  start(driving: DispatchDriving): void {
    this.#started = true;
    this.#scheduleSweep(0);
    if (driving.pollEveryMs > 0) {
      this.#pollTimer = setInterval(() => {
        if (this.#polling || this.#stopped) return;
        this.#polling = true;
        this.#background(
          this.runDue().finally(() => this.#polling = false),
          "Dispatching campaigns",
        );
      }, driving.pollEveryMs);
    }
  }

  /** A `Deno.cron` run: ticks the due campaigns, and sweeps when a sweep is due. */
  onCron = async (): Promise<void> => {
    if (this.#stopped) return;
    const sweep = this.#sweepEveryMs > 0 && this.#now() - this.#lastSweepAt >= this.#sweepEveryMs;
    await this.#guard(this.runDue(), "Dispatching campaigns");
    if (sweep) await this.#guard(this.sweep(), "Sweeping live campaign attempts");
  };

  /** Stops dispatching and sweeping, and waits for the work running (before the KV closes). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#sweepTimer);
    clearInterval(this.#pollTimer);
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  /** Ticks every campaign whose job is due (its time came, or a dead dispatcher's lease ended); returns their ids. */
  async runDue(): Promise<string[]> {
    const due = await this.jobs.due(this.#now());
    for (const campaignId of due) {
      if (this.#stopped) break;
      await this.#guard(this.tick(campaignId), "Campaign tick", campaignId);
    }
    return due;
  }

  /**
   * Finds attempts live for over {@link SWEEP_AFTER_MS} in every campaign and
   * asks Twilio how they stand: one that ended is finished (its contact is
   * updated and the campaign ticks, as after a status callback); one without a
   * CallSid was never placed, and one Twilio does not know (404), is released
   * as a failed attempt (retried by the campaign's rules). Any other failed
   * look-up is logged and tried again at the next sweep.
   */
  async sweep(): Promise<SweepResult> {
    this.#lastSweepAt = this.#now();
    const result: SweepResult = { checked: 0, ended: 0, released: 0, errors: 0 };
    for (const campaign of await this.store.list()) {
      if (await this.store.live(campaign.id) === 0) continue;
      const now = this.#now();
      let freed = false;
      for (const contact of await this.store.contacts(campaign.id)) {
        if (contact.state !== "live") continue;
        if (contact.liveSince !== undefined && now - contact.liveSince < SWEEP_AFTER_MS) continue;
        const found = await this.#lookUp(campaign, contact);
        if (found !== "never placed") result.checked++;
        if (found === "ended") result.ended++;
        if (found === "error") result.errors++;
        if (found !== "never placed" && found !== "unknown to Twilio") continue;
        if (await this.#releaseAsFailed(campaign, contact, now, found)) {
          result.released++;
          freed = true;
        }
      }
      if (freed) await this.tick(campaign.id);
    }
    return result;
  }

  /**
   * How a live attempt stands: `ended` (finished now through the dialer, as
   * its callback would have), `live`, `never placed` (no CallSid), `unknown
   * to Twilio` (404), or `error` (logged; looked up again next sweep).
   */
  async #lookUp(
    campaign: Campaign,
    contact: Contact,
  ): Promise<"ended" | "live" | "never placed" | "unknown to Twilio" | "error"> {
    if (contact.callSid === undefined) return "never placed";
    const refs = { campaignId: campaign.id, contactId: contact.id };
    try {
      const status = await this.#dialer.reconcile(contact.callSid, refs);
      if (status === undefined || !FINAL_STATUSES.has(status)) return "live";
      this.#log.info("A campaign attempt ended unseen: {status}.", { ...refs, status });
      return "ended";
    } catch (error) {
      if (error instanceof TwilioRestError && error.status === 404) return "unknown to Twilio";
      this.#log.warn("Could not look up a live campaign attempt: {error}", {
        ...refs,
        error: errorMessage(error),
      });
      return "error";
    }
  }

  /** Ends a live attempt as failed (retried by the campaign's rules); false when already ended. */
  async #releaseAsFailed(
    campaign: Campaign,
    contact: Contact,
    now: number,
    why: string,
  ): Promise<boolean> {
    const ended = await this.store.release(
      campaign.id,
      contact.id,
      contact.callSid,
      (c) => afterAttempt(campaign, c, "failed", now),
    );
    if (ended) {
      this.#log.warn(`A campaign attempt was ${why}; counted as failed.`, {
        campaignId: campaign.id,
        contactId: contact.id,
      });
    }
    return ended;
  }

  /** Stores a new campaign and schedules its first tick (run at once when started). */
  async create(input: NewCampaign): Promise<Campaign> {
    const campaign = await this.store.create(
      {
        agent: input.agent,
        status: "running",
        concurrency: input.concurrency ?? 1,
        window: input.window ?? ALWAYS,
        timezone: input.timezone ?? "UTC",
        maxAttempts: input.maxAttempts ?? 3,
        retryBackoffMs: input.retryBackoffMs ?? 15 * 60_000,
      },
      input.contacts,
      this.#now(),
    );
    this.#log.info("Campaign created with {count} contacts.", {
      campaignId: campaign.id,
      count: campaign.contactCount,
      agent: campaign.agent,
    });
    await this.#schedule(campaign.id, this.#now());
    if (this.#started) this.#background(this.tick(campaign.id), "Campaign tick", campaign.id);
    return campaign;
  }

  /**
   * One step of a campaign, under its lease: dials whoever may be dialed
   * now, schedules the next tick, and marks the campaign completed when
   * nobody is left (its job then goes). When another tick holds the lease,
   * asks it for one more look instead (kept in the job table, in the same
   * commit as the failed take), so no event is lost.
   */
  async tick(campaignId: string): Promise<void> {
    const holder = `${this.#id}.${++this.#ticks}`;
    if (await this.jobs.acquireOrAsk(campaignId, holder, this.#now()) === undefined) return;
    let wakeAt: number | "over" | undefined;
    try {
      wakeAt = await this.#work(campaignId, holder);
    } finally {
      if (wakeAt === "over") {
        // Nothing is left to do, whatever was asked for meanwhile: the campaign's job goes.
        await this.jobs.remove(campaignId);
      } else {
        if (wakeAt !== undefined) this.scheduled.push({ campaignId, at: wakeAt });
        await this.jobs.release(campaignId, holder, wakeAt);
      }
    }
  }

  /**
   * A tick's work under lease `holder`; returns when to look again
   * (undefined: on events only), or "over" when the campaign has ended
   * (completed, canceled or erased).
   */
  async #work(campaignId: string, holder: string): Promise<number | "over" | undefined> {
    const campaign = await this.store.get(campaignId);
    if (campaign === undefined) return "over";
    if (campaign.status === "completed" || campaign.status === "canceled") return "over";
    const now = this.#now();
    const contacts = await this.store.contacts(campaignId);
    const next = plan(campaign, contacts, now);
    if (next.finished && campaign.status === "running") {
      await this.store.setStatus(campaignId, "completed");
      await this.store.expire(campaignId, now);
      this.#log.info("Campaign completed.", { campaignId });
      return "over";
    }
    let wakeAt = next.wakeAt;
    for (const contactId of next.dial) {
      // A tick that outlived its lease stops: another dispatcher has the campaign now.
      if (!await this.jobs.renew(campaignId, holder, this.#now())) break;
      const claimed = await this.store.claim(campaignId, contactId, now);
      if (claimed === undefined) continue; // another tick took it, or no slot is free
      const retryAt = await this.#dial(campaign, claimed);
      if (retryAt !== undefined) wakeAt = Math.min(wakeAt ?? retryAt, retryAt);
    }
    return wakeAt;
  }

  /** An attempt ended (from the status callback): update its contact, then tick. */
  async attemptFinished(attempt: FinishedAttempt): Promise<void> {
    const { campaignId, contactId } = attempt;
    if (campaignId === undefined || contactId === undefined) return;
    const campaign = await this.store.get(campaignId);
    if (campaign === undefined) return;
    const ended = await this.store.release(campaignId, contactId, attempt.callSid, (contact) => ({
      ...afterAttempt(campaign, contact, attempt.outcome, this.#now()),
      ...(attempt.answeredBy !== undefined ? { answeredBy: attempt.answeredBy } : {}),
    }));
    if (ended) await this.tick(campaignId);
  }

  /** Pauses, resumes or cancels a campaign; undefined when unknown. */
  async control(
    campaignId: string,
    action: "pause" | "resume" | "cancel",
  ): Promise<Campaign | undefined> {
    const current = await this.store.get(campaignId);
    if (current === undefined) return undefined;
    if (current.status === "completed" || current.status === "canceled") return current;
    const status = ({ pause: "paused", resume: "running", cancel: "canceled" } as const)[action];
    const campaign = await this.store.setStatus(campaignId, status);
    if (action === "cancel") {
      await this.store.cancelPending(campaignId);
      await this.store.expire(campaignId, this.#now());
    }
    if (action === "resume") {
      await this.#schedule(campaignId, this.#now());
      if (this.#started) this.#background(this.tick(campaignId), "Campaign tick", campaignId);
    }
    this.#log.info("Campaign {status}.", { campaignId, status });
    return campaign;
  }

  /**
   * Erases a campaign: no contact is dialed any more (attempts in progress
   * go on, their end is ignored), and the campaign, its contacts and its job
   * are deleted. Undefined when unknown.
   */
  async erase(campaignId: string): Promise<{ contacts: number } | undefined> {
    const erased = await this.store.erase(campaignId);
    if (erased === undefined) return undefined;
    await this.jobs.remove(campaignId);
    this.#log.info("Campaign erased.", { campaignId, contacts: erased.contacts });
    return erased;
  }

  /** The campaign's progress, or undefined when unknown. */
  progress(campaignId: string): Promise<CampaignProgress | undefined> {
    return campaignProgress(this.store, campaignId);
  }

  /** Places the call of a claimed contact; when it could not be placed, the retry time (if any). */
  async #dial(campaign: Campaign, contact: Contact): Promise<number | undefined> {
    try {
      const call = await this.#dialer.place({
        to: contact.to,
        agent: campaign.agent,
        context: contact.context,
        campaignId: campaign.id,
        contactId: contact.id,
      });
      await this.store.setCallSid(campaign.id, contact.id, call.sid);
      return undefined;
    } catch (error) {
      // Twilio refused the number itself (4xx): do not retry it. Anything else may pass.
      const permanent = error instanceof TwilioRestError && error.status >= 400 &&
        error.status < 500 && error.status !== 429;
      this.#log.warn("Campaign call could not be placed{permanent}: {error}", {
        campaignId: campaign.id,
        contactId: contact.id,
        permanent: permanent ? " (not retried)" : "",
        error: error instanceof Error ? error.message.replace(/\+?\d{7,15}/g, "•••") : "",
      });
      let retryAt: number | undefined;
      await this.store.release(campaign.id, contact.id, undefined, (c) => {
        if (permanent) return { ...c, state: "failed", lastOutcome: "failed" };
        const next = afterAttempt(campaign, c, "failed", this.#now());
        if (next.state === "pending") retryAt = next.notBefore;
        return next;
      });
      return retryAt;
    }
  }

  /** Runs `work` as in-flight work (awaited by stop), logging instead of throwing. */
  async #guard(work: Promise<unknown>, what: string, campaignId?: string): Promise<void> {
    const run = work.then(() => {}, (error) => {
      this.#log.error(`${what} failed: {error}`, {
        ...(campaignId !== undefined ? { campaignId } : {}),
        error: errorMessage(error),
      });
    });
    this.#inFlight.add(run);
    try {
      await run;
    } finally {
      this.#inFlight.delete(run);
    }
  }

  #scheduleSweep(delay: number): void {
    if (this.#stopped) return;
    this.#sweepTimer = setTimeout(async () => {
      if (this.#stopped) return;
      await this.#guard(this.sweep(), "Sweeping live campaign attempts");
      if (this.#sweepEveryMs > 0 && !this.#stopped) this.#scheduleSweep(this.#sweepEveryMs);
    }, delay);
  }

  /** Runs `work` in the background (awaited by stop). */
  #background(work: Promise<unknown>, what: string, campaignId?: string): void {
    void this.#guard(work, what, campaignId);
  }

  async #schedule(campaignId: string, at: number): Promise<void> {
    this.scheduled.push({ campaignId, at });
    await this.jobs.schedule(campaignId, at);
  }
}

/** The progress of a stored campaign, or undefined when unknown. */
export async function campaignProgress(
  store: CampaignStore,
  campaignId: string,
): Promise<CampaignProgress | undefined> {
  const campaign = await store.get(campaignId);
  if (campaign === undefined) return undefined;
  const contacts = await store.contacts(campaignId);
  const counts = { pending: 0, live: 0, done: 0, failed: 0, canceled: 0 };
  const outcomes: Partial<Record<OutboundOutcome, number>> = {};
  for (const c of contacts) {
    counts[c.state]++;
    if (c.lastOutcome !== undefined && c.state !== "pending") {
      outcomes[c.lastOutcome] = (outcomes[c.lastOutcome] ?? 0) + 1;
    }
  }
  return {
    id: campaign.id,
    agent: campaign.agent,
    status: campaign.status,
    createdAt: campaign.createdAt,
    concurrency: campaign.concurrency,
    window: formatWindow(campaign.window),
    timezone: campaign.timezone,
    maxAttempts: campaign.maxAttempts,
    counts,
    outcomes,
    contacts: contacts.slice(0, 1000).map((c) => ({
      id: c.id,
      to: maskPhoneNumber(c.to),
      state: c.state,
      attempts: c.attempts,
      ...(c.lastOutcome !== undefined ? { lastOutcome: c.lastOutcome } : {}),
      ...(c.state === "pending" && c.attempts > 0
        ? { nextAttemptAt: new Date(c.notBefore).toISOString() }
        : {}),
    })),
  };
}
