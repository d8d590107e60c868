/**
 * The campaign rules, as pure functions of the campaign, its contacts and an
 * injected time: who to dial now (per-campaign concurrency, each callee's
 * calling window, retry times), when to look again, and what an attempt's
 * outcome does to its contact (done, retry later with backoff, or given up).
 *
 * A contact is `pending` (waiting for its turn or its retry time), `live`
 * (an attempt in progress: claimed, dialing or talking), `done` (a person or
 * a machine answered), `failed` (retries used up or Twilio refused the
 * number) or `canceled` (the campaign was canceled first).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { afterAttempt, plan } from "./campaign_plan.ts";
 * const campaign = {
 *   status: "running" as const, concurrency: 1, timezone: "UTC",
 *   window: { startMinute: 9 * 60, endMinute: 18 * 60 }, maxAttempts: 3, retryBackoffMs: 600_000,
 * };
 * const contacts = [
 *   { id: "c1", state: "pending" as const, attempts: 0, notBefore: 0 },
 *   { id: "c2", state: "pending" as const, attempts: 0, notBefore: 0 },
 * ];
 * const now = Date.parse("2026-03-02T10:00:00Z");
 * assert.deepEqual(plan(campaign, contacts, now).dial, ["c1"]);
 * const retried = afterAttempt(campaign, { ...contacts[0], state: "live", attempts: 1 }, "busy", now);
 * assert.deepEqual([retried.state, retried.notBefore - now], ["pending", 600_000]);
 * ```
 *
 * @module
 */
import type { OutboundOutcome } from "./call_progress.ts";
import { isRetryable } from "./call_progress.ts";
import { type CallingWindow, nextOpening } from "./calling_window.ts";

/** A campaign's lifecycle. */
export type CampaignStatus = "running" | "paused" | "canceled" | "completed";

/** A contact's state. */
export type ContactState = "pending" | "live" | "done" | "failed" | "canceled";

/** What the rules read of a campaign. */
export interface CampaignRules {
  status: CampaignStatus;
  /** Most live attempts at once. */
  concurrency: number;
  /** Default time zone of contacts without one. */
  timezone: string;
  window: CallingWindow;
  /** Most attempts per contact (first call included). */
  maxAttempts: number;
  /** Wait before the first retry; doubled for each further one. */
  retryBackoffMs: number;
}

/** What the rules read of a contact. */
export interface ContactSlot {
  id: string;
  state: ContactState;
  /** Attempts started so far. */
  attempts: number;
  /** Not dialed before this time (ms since the epoch). */
  notBefore: number;
  timezone?: string;
}

/** What to do now. */
export interface Plan {
  /** Contacts to dial now, in order (at most the free concurrency). */
  dial: string[];
  /** When to look again (a retry comes due or a window opens); undefined: only on events. */
  wakeAt: number | undefined;
  /** True when no contact is pending or live: the campaign is over. */
  finished: boolean;
}

/** Who to dial at `now`. */
export function plan(campaign: CampaignRules, contacts: readonly ContactSlot[], now: number): Plan {
  const live = contacts.filter((c) => c.state === "live").length;
  const pending = contacts.filter((c) => c.state === "pending");
  const finished = live === 0 && pending.length === 0;
  if (campaign.status !== "running") return { dial: [], wakeAt: undefined, finished };
  let free = Math.max(0, campaign.concurrency - live);
  const dial: string[] = [];
  let wakeAt: number | undefined;
  const later = (t: number) => {
    wakeAt = wakeAt === undefined ? t : Math.min(wakeAt, t);
  };
  for (const contact of pending) {
    const zone = contact.timezone ?? campaign.timezone;
    const due = Math.max(now, contact.notBefore);
    const opens = nextOpening(campaign.window, due, zone);
    if (opens > now) {
      later(opens);
      continue;
    }
    if (free === 0) continue; // picked up when a live attempt ends
    dial.push(contact.id);
    free--;
  }
  return { dial, wakeAt, finished };
}

/** A contact after an attempt ended with `outcome` at `now`. */
export function afterAttempt<C extends ContactSlot>(
  campaign: CampaignRules,
  contact: C,
  outcome: OutboundOutcome,
  now: number,
): C & { lastOutcome: OutboundOutcome } {
  if (!isRetryable(outcome)) {
    return {
      ...contact,
      state: outcome === "canceled" ? "canceled" : "done",
      lastOutcome: outcome,
    };
  }
  if (contact.attempts >= campaign.maxAttempts || campaign.status === "canceled") {
    return { ...contact, state: "failed", lastOutcome: outcome };
  }
  const backoff = campaign.retryBackoffMs * 2 ** Math.max(0, contact.attempts - 1);
  return { ...contact, state: "pending", notBefore: now + backoff, lastOutcome: outcome };
}
