/**
 * Places outbound calls and follows them through Twilio's callbacks.
 *
 * {@link OutboundDialer.place} seals the agent and context into a call
 * ticket, then creates the call through the REST API: `Url` is the outbound
 * TwiML route with the ticket, `StatusCallback` and `AsyncAmdStatusCallback`
 * are the callback routes (their query carries the campaign and contact,
 * which Twilio's signature then covers). {@link OutboundDialer.onStatus} and
 * {@link OutboundDialer.onAnsweredBy} take the (signature-checked) callback
 * forms; the final outcome of each attempt is reported once to `onFinished`
 * (metrics, campaigns), the AMD result to `onAmd` (the live call).
 * {@link OutboundDialer.reconcile} asks Twilio for a call whose status
 * callback may have been lost and finishes it the same way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OutboundDialer } from "./outbound_dialer.ts";
 * import { CallTickets } from "./call_ticket.ts";
 * import { parseConfig } from "../config/mod.ts";
 * import { AgentBook } from "../agents/agent_book.ts";
 * import { environmentProfile } from "../agents/agent_profile.ts";
 * import type { CreateCallParams } from "./twilio_calls.ts";
 * const sent: CreateCallParams[] = [];
 * const dialer = new OutboundDialer({
 *   calls: {
 *     create: (p) => { sent.push(p); return Promise.resolve({ sid: "CA1", status: "queued" }); },
 *     fetch: (sid) => Promise.resolve({ sid, status: "completed", answeredBy: "human" }),
 *   },
 *   tickets: new CallTickets(),
 *   publicUrl: "https://voice.example.com",
 *   from: "+15005550006",
 *   agents: { book: new AgentBook([environmentProfile(parseConfig({ OPENAI_API_KEY: "sk-test-0123456789abcdefghij" }))], "environment") },
 * });
 * const call = await dialer.place({ to: "+15551234567", agent: "default", context: { name: "Ada" } });
 * assert.deepEqual(call, { sid: "CA1", status: "queued" });
 * assert.match(sent[0].url, /^https:\/\/voice\.example\.com\/outbound\/twiml\?t=o1\./);
 * assert.ok(!sent[0].url.includes("Ada"));
 * assert.equal(await dialer.reconcile("CA1", {}), "completed"); // its callback was lost
 * assert.equal((await dialer.attempts.get("CA1"))?.outcome, "human");
 * ```
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import { maskPhoneNumber } from "../security/phone_numbers.ts";
import type { AgentBook } from "../agents/agent_book.ts";
import { type AttemptStore, MemoryAttemptStore } from "./attempt_store.ts";
import {
  type AnsweredBy,
  type CallStatus,
  FINAL_STATUSES,
  type OutboundOutcome,
  outcomeOf,
  parseAnsweredBy,
  parseCallAnsweredBy,
  parseCallStatus,
} from "./call_progress.ts";
import type { CallTickets } from "./call_ticket.ts";
import type { CreateCallParams, TwilioCall } from "./twilio_calls.ts";
import type { PlaceCall } from "./place_call_request.ts";
import { errorMessage } from "../observability/error_message.ts";

/** The routes Twilio calls for outbound calls. */
export const OUTBOUND_ROUTES = {
  twiml: "/outbound/twiml",
  status: "/outbound/status",
  amd: "/outbound/amd",
} as const;

/** A finished attempt, as reported to `onFinished`. */
export interface FinishedAttempt {
  callSid: string;
  outcome: OutboundOutcome;
  answeredBy: AnsweredBy | undefined;
  campaignId: string | undefined;
  contactId: string | undefined;
  /** The agent that placed it, when known. */
  agent?: string | undefined;
}

/** Options of {@link OutboundDialer}. */
export interface OutboundDialerOptions {
  /** The REST client (a {@link import("./twilio_calls.ts").TwilioCalls}). */
  calls: {
    create(params: CreateCallParams): Promise<TwilioCall>;
    fetch(callSid: string): Promise<TwilioCall>;
  };
  tickets: CallTickets;
  /** `PUBLIC_URL`, without trailing slash. */
  publicUrl: string;
  /** `TWILIO_PHONE_NUMBER` (an agent's `outbound.from` wins). */
  from: string | undefined;
  /** The current agents (read at each call: a reload applies to new calls). */
  agents: { readonly book: AgentBook };
  /** Default: in memory. */
  attempts?: AttemptStore;
  /** Wall clock (ISO times of records). Default `Date.now`. */
  now?: () => number;
  /** Called once per attempt when its final outcome is known. */
  onFinished?: (attempt: FinishedAttempt) => void | Promise<void>;
  /** Called with each AMD result (the live call acts on it). */
  onAmd?: (callSid: string, answeredBy: AnsweredBy) => void;
  logger?: Logger;
}

/** The campaign and contact of an attempt (a campaign's calls carry them). */
export interface AttemptRefs {
  campaignId?: string;
  contactId?: string;
}

/** A call to place: a checked request, plus its campaign and contact when a campaign places it. */
export interface DialRequest extends PlaceCall, AttemptRefs {}

/** Places calls and follows their callbacks. */
export class OutboundDialer {
  #o: OutboundDialerOptions;
  #attempts: AttemptStore;
  #now: () => number;
  #log: Logger;

  /** Creates a dialer. */
  constructor(options: OutboundDialerOptions) {
    this.#o = options;
    this.#attempts = options.attempts ?? new MemoryAttemptStore();
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? getLogger(["bridge", "outbound"]);
  }

  /** The attempts seen (for records and tests). */
  get attempts(): AttemptStore {
    return this.#attempts;
  }

  /**
   * Creates the call through Twilio's REST API. Throws {@link
   * import("./twilio_calls.ts").TwilioRestError} when Twilio refuses it, and
   * an Error when no caller id is configured.
   */
  async place(request: DialRequest): Promise<TwilioCall> {
    const agent = this.#o.agents.book.forCallOut(request.agent);
    if (agent === undefined) throw new Error(`Unknown agent ${JSON.stringify(request.agent)}.`);
    const from = agent.outbound.from ?? this.#o.from;
    if (from === undefined) {
      throw new Error(
        `No caller id for agent ${agent.name}: set TWILIO_PHONE_NUMBER or the agent's from.`,
      );
    }
    const ticket = this.#o.tickets.seal({
      agent: agent.name,
      context: request.context,
      ...(request.campaignId !== undefined ? { campaignId: request.campaignId } : {}),
      ...(request.contactId !== undefined ? { contactId: request.contactId } : {}),
    });
    const base = this.#o.publicUrl;
    const refs = new URLSearchParams();
    if (request.campaignId !== undefined) refs.set("campaign", request.campaignId);
    if (request.contactId !== undefined) refs.set("contact", request.contactId);
    const query = refs.size > 0 ? `?${refs}` : "";
    const call = await this.#o.calls.create({
      to: request.to,
      from,
      url: `${base}${OUTBOUND_ROUTES.twiml}?t=${ticket}`,
      statusCallback: `${base}${OUTBOUND_ROUTES.status}${query}`,
      asyncAmdStatusCallback: `${base}${OUTBOUND_ROUTES.amd}${query}`,
    });
    await this.#attempts.update(call.sid, {
      agent: agent.name,
      to: maskPhoneNumber(request.to),
      ...(request.campaignId !== undefined ? { campaignId: request.campaignId } : {}),
      ...(request.contactId !== undefined ? { contactId: request.contactId } : {}),
      ...(parseCallStatus(call.status) !== undefined
        ? { status: parseCallStatus(call.status) }
        : {}),
    });
    this.#log.info("Placed an outbound call.", {
      callSid: call.sid,
      agent: agent.name,
      status: call.status,
      ...(request.campaignId !== undefined ? { campaignId: request.campaignId } : {}),
    });
    return call;
  }

  /**
   * A status callback (form of a signature-checked request; `query` is its
   * URL's search params). Unknown statuses are ignored; a final status
   * finishes the attempt once.
   */
  async onStatus(form: URLSearchParams, query: URLSearchParams): Promise<void> {
    const callSid = form.get("CallSid");
    const status = parseCallStatus(form.get("CallStatus"));
    if (callSid === null || status === undefined) {
      this.#log.warn("Ignored a status callback without CallSid or a known CallStatus.", {
        callStatus: form.get("CallStatus")?.slice(0, 32),
      });
      return;
    }
    await this.#record(callSid, status, parseAnsweredBy(form.get("AnsweredBy")), refsOf(query));
  }

  /**
   * Asks Twilio for the call (`GET …/Calls/{CallSid}.json`) when its status
   * callback may have been lost (the server was down when the call ended): a
   * final status finishes the attempt as the callback would have, once (a
   * callback that did arrive wins), and Twilio's `answered_by` stands in for
   * a lost AMD callback. Returns the status (undefined when not one of
   * Twilio's). Throws {@link import("./twilio_calls.ts").TwilioRestError}
   * when Twilio cannot answer (404 for a call it does not know).
   */
  async reconcile(callSid: string, refs: AttemptRefs): Promise<CallStatus | undefined> {
    const call = await this.#o.calls.fetch(callSid);
    const status = parseCallStatus(call.status);
    if (status === undefined) return undefined;
    const seen = (await this.#attempts.get(callSid))?.answeredBy;
    await this.#record(callSid, status, seen ?? parseCallAnsweredBy(call.answeredBy), refs);
    return status;
  }

  /** An AMD callback: records `AnsweredBy` and tells the live call. */
  async onAnsweredBy(form: URLSearchParams, query: URLSearchParams): Promise<void> {
    const callSid = form.get("CallSid");
    const answeredBy = parseAnsweredBy(form.get("AnsweredBy"));
    if (callSid === null || answeredBy === undefined) {
      this.#log.warn("Ignored an AMD callback without CallSid or a known AnsweredBy.", {
        answeredBy: form.get("AnsweredBy")?.slice(0, 32),
      });
      return;
    }
    await this.#attempts.update(callSid, { answeredBy, ...refsOf(query) });
    this.#log.info("Answering-machine detection: {answeredBy}.", { callSid, answeredBy });
    this.#o.onAmd?.(callSid, answeredBy);
  }

  /** Records a status (and AMD result) Twilio reported; a final status finishes the attempt. */
  async #record(
    callSid: string,
    status: CallStatus,
    answeredBy: AnsweredBy | undefined,
    refs: AttemptRefs,
  ): Promise<void> {
    await this.#attempts.update(callSid, {
      status,
      ...(answeredBy !== undefined ? { answeredBy } : {}),
      ...refs,
    });
    if (FINAL_STATUSES.has(status)) await this.#finish(callSid, status, refs);
  }

  async #finish(
    callSid: string,
    status: CallStatus,
    refs: AttemptRefs,
  ): Promise<void> {
    const attempt = await this.#attempts.get(callSid);
    const outcome = outcomeOf(status, attempt?.answeredBy);
    if (outcome === undefined) return;
    const first = await this.#attempts.finish(
      callSid,
      outcome,
      new Date(this.#now()).toISOString(),
    );
    if (!first) return;
    this.#log.info("Outbound call finished: {outcome}.", { callSid, outcome });
    try {
      await this.#o.onFinished?.({
        callSid,
        outcome,
        answeredBy: attempt?.answeredBy,
        campaignId: refs.campaignId ?? attempt?.campaignId,
        contactId: refs.contactId ?? attempt?.contactId,
        agent: attempt?.agent,
      });
    } catch (error) {
      this.#log.error("Handling the end of outbound call {callSid} failed: {error}", {
        callSid,
        error: errorMessage(error),
      });
    }
  }
}

function refsOf(query: URLSearchParams): AttemptRefs {
  const campaignId = query.get("campaign")?.slice(0, 64);
  const contactId = query.get("contact")?.slice(0, 64);
  return {
    ...(campaignId ? { campaignId } : {}),
    ...(contactId ? { contactId } : {}),
  };
}
