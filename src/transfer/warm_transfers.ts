/**
 * Warm transfers of this process: each places the person's leg through
 * Twilio's Calls API, answers Twilio's callbacks about it (the routes of
 * `transfer_routes.ts` hand them over, signature already checked), and
 * tells the call what came of it.
 *
 * Per destination, in order (the decisions are {@link WarmAttempts}'):
 *
 * 1. `POST /2010-04-01/Accounts/{AccountSid}/Calls.json` with `To` = the
 *    destination, `From` = the number the caller called (else
 *    `TWILIO_PHONE_NUMBER`), `Url` = the briefing route, `StatusCallback`
 *    (initiated, ringing, answered, completed), `MachineDetection=Enable`,
 *    `AsyncAmd=true` with `AsyncAmdStatusCallback`, and `Timeout` = the ring
 *    timeout. Every URL carries a signed token naming the transfer and leg
 *    (`transfer_token.ts`), never a raw call reference.
 * 2. The person answers: Twilio fetches the briefing route, which answers
 *    the briefing inside a `<Gather numDigits="1">` (press 1 or 2).
 * 3. `Digits=1`: the person's TwiML is `<Dial><Conference>NAME` (NAME random
 *    per transfer) with a `join` status callback; once Twilio reports the
 *    person in (`participant-join`), the caller's call is updated through
 *    REST with the same, so the caller never enters an empty conference.
 *    The call is told `accepted` first, so the `stop` that follows the
 *    update is taken as the hand-over, not a hang-up. No join within 5 s:
 *    the person's leg is ended and the agent says the fallback line.
 * 4. Anything else (2, no key, busy, no answer, failed, canceled, a machine)
 *    tries the next destination; after the last, the call is told `failed`
 *    and the agent says the fallback line. The caller is never moved unless
 *    a person accepted.
 *
 * If the caller hangs up meanwhile, the person's leg is ended through REST:
 * `Status=canceled` while it rings, `completed` once answered.
 *
 * Transfers live in this process, with the caller's media stream. With the
 * shared store ({@link WarmTransfersOptions.relay}), Twilio's callbacks may
 * reach any instance: one that does not hold the transfer answers the TwiML
 * from the transfer's shared record and relays the callback to the holder
 * (`transfer_relay.ts`), which handles it as its own; if the holder's
 * verdict differs (the caller hung up meanwhile), it ends the person's leg.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { CreateCallParams, TwilioCall } from "../outbound/twilio_calls.ts";
import { TRANSFER_CALLER_GONE, TRANSFER_DECLINED } from "../prompts/mod.ts";
import { maskPhoneNumbersIn } from "../security/phone_numbers.ts";
import { newTransferId, type TransferTokens } from "./transfer_token.ts";
import { TRANSFER_ROUTES } from "./transfer_paths.ts";
import type { TransferReport, TransferResult } from "./transfer_report.ts";
import type { RelayedCallback, RelayedRoute, TransferRelay } from "./transfer_relay.ts";
import {
  briefingTwiml,
  conferenceTwiml,
  hangUpTwiml,
  sayAndHangUpTwiml,
} from "./transfer_twiml.ts";
import {
  type LegTimeline,
  maskDestination,
  WarmAttempts,
  type WarmEffect,
} from "./warm_attempts.ts";
import { errorMessage } from "../observability/error_message.ts";

/** Seconds past the ring timeout before a leg Twilio said nothing more about is given up. */
const RING_GRACE_SECONDS = 10;

/** Ms from the accept to Twilio's report that the person is in the conference, at most. */
const JOIN_WAIT_MS = 5000;

/** A step the softphone's live view and the logs show. */
export interface TransferStep {
  step:
    | "calling"
    | "ringing"
    | "answered"
    | "accepted"
    | "declined"
    | "no_key"
    | "busy"
    | "no-answer"
    | "failed"
    | "canceled"
    | "hung_up"
    | "machine"
    | "not_placed"
    | "nobody"
    | "caller_hung_up";
  /** 1-based index of the destination. */
  destination: number;
}

/** What a call asks for. */
export interface WarmTransferRequest {
  /** The caller's CallSid (moved into the conference on accept). */
  callerCallSid: string;
  /** The call's agent (undefined: the default agent), for the transfer's report. */
  agent?: string | undefined;
  /** Caller id of the person's leg (E.164). */
  from: string;
  destinations: readonly string[];
  ringTimeoutSeconds: number;
  /** What the person hears before pressing 1 or 2. */
  briefing: string;
  /** The verdict: `accepted` (the caller is being moved) or `failed` (nobody took it). */
  onResult(result: "accepted" | "failed"): void;
  /** Each step, for the live view. */
  onStep?(step: TransferStep): void;
}

/** A transfer under way, as its call holds it. */
export interface WarmTransferHandle {
  /** The caller is gone (or the call ended otherwise): end the person's leg. */
  cancel(): void;
  /** The legs so far (numbers masked), for the call record. */
  timeline(): LegTimeline[];
}

/** The part of Twilio's Calls resource a transfer uses (`outbound/twilio_calls.ts`). */
export interface TransferCalls {
  create(params: CreateCallParams): Promise<TwilioCall>;
  updateTwiml(callSid: string, twiml: string): Promise<TwilioCall>;
  end(callSid: string, status: "completed" | "canceled"): Promise<TwilioCall>;
}

/** Options of {@link WarmTransfers}. */
export interface WarmTransfersOptions {
  calls: TransferCalls;
  tokens: TransferTokens;
  /** `PUBLIC_URL`, no trailing slash. */
  publicUrl: string;
  logger: Logger;
  /** Monotonic clock in ms. Default `performance.now`. */
  now?: () => number;
  /** Called once per transfer with how it ended (metrics, webhooks). */
  onFinished?: (report: TransferReport) => void;
  /** The shared store: callbacks that reach another instance are relayed here. */
  relay?: TransferRelay;
}

interface Transfer {
  id: string;
  request: WarmTransferRequest;
  attempts: WarmAttempts;
  conference: string;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The accepted leg, until Twilio reports its person in the conference. */
  joining: { leg: number; timer: ReturnType<typeof setTimeout> } | undefined;
  reported: boolean;
  overAt: number | undefined;
  /** Stops following the transfer's relayed callbacks. */
  unfollow: (() => void) | undefined;
}

/** Transfers are forgotten this long after they ended (late callbacks still get an answer). */
const KEEP_MS = 10 * 60_000;

/** The warm transfers of this process. */
export class WarmTransfers {
  #options: WarmTransfersOptions;
  #now: () => number;
  #transfers = new Map<string, Transfer>();

  /** Creates the service. */
  constructor(options: WarmTransfersOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Starts calling the destinations of `request`. */
  start(request: WarmTransferRequest): WarmTransferHandle {
    this.#forgetOld();
    const id = newTransferId();
    const transfer: Transfer = {
      id,
      request,
      attempts: new WarmAttempts(request.destinations, this.#now),
      conference: `transfer-${id}`,
      timer: undefined,
      joining: undefined,
      reported: false,
      overAt: undefined,
      unfollow: undefined,
    };
    this.#transfers.set(id, transfer);
    const first = transfer.attempts.start();
    const shared = this.#share(transfer);
    // The person's leg is placed once other instances can answer its callbacks.
    if (shared === undefined) this.#apply(transfer, first);
    else shared.then(() => this.#apply(transfer, transfer.attempts.over ? [] : first));
    return {
      cancel: () => {
        if (transfer.joining !== undefined) {
          // The caller hung up between the accept and the person's join: end the person's leg.
          this.#stopJoining(transfer);
          this.#endAcceptedLeg(transfer);
          this.#step(transfer, "caller_hung_up");
          this.#report(transfer, "caller_hung_up");
          return;
        }
        if (transfer.attempts.over) return;
        this.#step(transfer, "caller_hung_up");
        this.#apply(transfer, transfer.attempts.callerGone());
      },
      timeline: () => transfer.attempts.timeline(),
    };
  }

  /** Twilio fetches the briefing: the person answered leg `token`. Answers TwiML. */
  briefing(token: string | null, form: URLSearchParams): string | Promise<string> {
    return this.#route("briefing", token, form, (t, f) => this.#briefing(t, f));
  }

  /** The `<Gather>` action: the key the person pressed (none: a decline). Answers TwiML. */
  answer(token: string | null, form: URLSearchParams): string | Promise<string> {
    return this.#route("answer", token, form, (t, f) => this.#answer(t, f));
  }

  /** The person's conference status callback: once they are in, the caller is moved. */
  conference(token: string | null, form: URLSearchParams): void | Promise<unknown> {
    return this.#route("conference", token, form, (t, f) => this.#conference(t, f));
  }

  /** A status callback of a person's leg. */
  status(token: string | null, form: URLSearchParams): void | Promise<unknown> {
    return this.#route("status", token, form, (t, f) => this.#status(t, f));
  }

  /** The async AMD result of a person's leg. */
  amd(token: string | null, form: URLSearchParams): void | Promise<unknown> {
    return this.#route("amd", token, form, (t, f) => this.#amd(t, f));
  }

  /** Routes a callback to the instance holding its transfer: here (`here`) or by the relay. */
  #route<T>(
    route: RelayedRoute,
    token: string | null,
    form: URLSearchParams,
    here: (token: string | null, form: URLSearchParams) => T,
  ): T | Promise<string> {
    return this.#elsewhere(token) ? this.#remote(route, token, form) : here(token, form);
  }

  #briefing(token: string | null, form: URLSearchParams): string {
    const found = this.#find(token, form);
    if (found === undefined) return hangUpTwiml();
    const { transfer, leg } = found;
    if (transfer.attempts.phase === "canceled") return sayAndHangUpTwiml(TRANSFER_CALLER_GONE);
    transfer.attempts.answered(leg);
    if (!transfer.attempts.isBriefing(leg)) return hangUpTwiml();
    this.#step(transfer, "answered");
    this.#apply(transfer, []); // the ring timer no longer applies
    return briefingTwiml({
      briefing: transfer.request.briefing,
      action: this.#url(TRANSFER_ROUTES.answer, transfer, leg),
    });
  }

  #answer(token: string | null, form: URLSearchParams): string {
    const found = this.#find(token, form);
    if (found === undefined) return hangUpTwiml();
    const { transfer, leg } = found;
    if (transfer.attempts.phase === "canceled") return sayAndHangUpTwiml(TRANSFER_CALLER_GONE);
    if (!transfer.attempts.isBriefing(leg)) return hangUpTwiml();
    const digits = form.get("Digits") ?? undefined;
    const effects = transfer.attempts.digits(leg, digits);
    const accepted = effects.some((e) => e.do === "accept");
    if (!accepted) this.#step(transfer, digits ? "declined" : "no_key", leg);
    this.#apply(transfer, effects);
    return accepted
      ? conferenceTwiml(
        transfer.conference,
        this.#url(TRANSFER_ROUTES.conference, transfer, leg),
      )
      : sayAndHangUpTwiml(TRANSFER_DECLINED);
  }

  #conference(token: string | null, form: URLSearchParams): void {
    const found = this.#find(token, form);
    if (found === undefined) return;
    const { transfer, leg } = found;
    if (form.get("StatusCallbackEvent") !== "participant-join") return;
    if (transfer.joining?.leg !== leg) return;
    this.#stopJoining(transfer);
    this.#accept(transfer, leg);
  }

  #status(token: string | null, form: URLSearchParams): void {
    const found = this.#find(token, form);
    if (found === undefined) return;
    const { transfer, leg } = found;
    const status = form.get("CallStatus") ?? "";
    const before = transfer.attempts.leg;
    const effects = transfer.attempts.status(leg, status);
    if (status === "ringing" && transfer.attempts.phase === "ringing") {
      this.#step(transfer, "ringing");
    } else if (transfer.attempts.leg !== before || effects.some((e) => e.do === "failed")) {
      const step = status === "completed" ? "hung_up" : status;
      this.#step(transfer, step as TransferStep["step"], leg);
    }
    this.#apply(transfer, effects);
  }

  #amd(token: string | null, form: URLSearchParams): void {
    const found = this.#find(token, form);
    if (found === undefined) return;
    const { transfer, leg } = found;
    const effects = transfer.attempts.answeredBy(leg, form.get("AnsweredBy") ?? "unknown");
    if (effects.length > 0) this.#step(transfer, "machine", leg);
    this.#apply(transfer, effects);
  }

  #find(
    token: string | null,
    form: URLSearchParams,
  ): { transfer: Transfer; leg: number } | undefined {
    const opened = this.#options.tokens.openWarm(token);
    const transfer = opened === undefined ? undefined : this.#transfers.get(opened.id);
    if (opened === undefined || transfer === undefined) {
      this.#options.logger.warn("A transfer callback names no transfer of this instance.");
      return undefined;
    }
    const known = transfer.attempts.callSidOf(opened.leg);
    const callSid = form.get("CallSid");
    if (known !== undefined && callSid !== null && callSid !== known) {
      this.#options.logger.warn("A transfer callback came for another call; ignored.");
      return undefined;
    }
    return { transfer, leg: opened.leg };
  }

  #url(route: string, transfer: Transfer | string, leg: number): string {
    const id = typeof transfer === "string" ? transfer : transfer.id;
    const token = this.#options.tokens.warm(id, leg);
    return `${this.#options.publicUrl}${route}?t=${token}`;
  }

  /** Whether the callback's transfer is held by another instance (and the store is shared). */
  #elsewhere(token: string | null): boolean {
    if (this.#options.relay === undefined) return false;
    const opened = this.#options.tokens.openWarm(token);
    return opened !== undefined && !this.#transfers.has(opened.id);
  }

  /**
   * Writes what other instances need to answer the transfer's callbacks,
   * and follows them; resolves once written (or failed: logged).
   */
  #share(transfer: Transfer): Promise<void> | undefined {
    const relay = this.#options.relay;
    if (relay === undefined) return undefined;
    const { request } = transfer;
    const ttlMs = request.destinations.length *
        (request.ringTimeoutSeconds + RING_GRACE_SECONDS) * 1000 + KEEP_MS;
    transfer.unfollow = relay.follow(transfer.id, (event) => this.#relayed(transfer, event));
    return relay.publish(transfer.id, {
      briefing: request.briefing,
      conference: transfer.conference,
      destinations: request.destinations,
    }, ttlMs).catch((error) => this.#failedRest("share the transfer with other instances", error));
  }

  /**
   * A callback that reached an instance without the transfer: answered from
   * the shared record, and relayed to the instance that holds it.
   */
  async #remote(
    route: RelayedRoute,
    token: string | null,
    form: URLSearchParams,
  ): Promise<string> {
    const relay = this.#options.relay!;
    const opened = this.#options.tokens.openWarm(token)!;
    try {
      const shared = await relay.get(opened.id);
      if (shared?.ended !== undefined) {
        // The transfer is over on its instance: nobody to hand the person to.
        const spoken = route === "briefing" || route === "answer";
        return spoken && shared.ended === "caller_hung_up"
          ? sayAndHangUpTwiml(TRANSFER_CALLER_GONE)
          : hangUpTwiml();
      }
      if (
        shared === undefined || !await relay.append(opened.id, {
          route,
          leg: opened.leg,
          token: token!,
          form: [...form],
        })
      ) {
        this.#options.logger.warn("A transfer callback names no transfer of any instance.");
        return hangUpTwiml();
      }
      this.#options.logger.info("Warm transfer: relayed a {route} callback to its instance.", {
        route,
      });
      if (route === "briefing") {
        return briefingTwiml({
          briefing: shared.briefing,
          action: this.#url(TRANSFER_ROUTES.answer, opened.id, opened.leg),
        });
      }
      if (route === "answer") {
        return form.get("Digits") === "1"
          ? conferenceTwiml(
            shared.conference,
            this.#url(TRANSFER_ROUTES.conference, opened.id, opened.leg),
          )
          : sayAndHangUpTwiml(TRANSFER_DECLINED);
      }
      return hangUpTwiml(); // a status callback: its body is not read
    } catch (error) {
      this.#failedRest("relay a callback to the transfer's instance", error);
      return hangUpTwiml();
    }
  }

  /**
   * A callback another instance received and answered: handled as this
   * instance's own. When this instance would have hung up on the person
   * instead (the caller is gone, the leg is no longer the one briefed), the
   * person's leg is ended.
   */
  #relayed(transfer: Transfer, event: RelayedCallback): void {
    // The token was checked where Twilio called; it must name this transfer.
    if (this.#options.tokens.openWarm(event.token)?.id !== transfer.id) return;
    const form = new URLSearchParams(event.form);
    const hungUp = (twiml: string) =>
      twiml === hangUpTwiml() || twiml === sayAndHangUpTwiml(TRANSFER_CALLER_GONE);
    try {
      switch (event.route) {
        case "briefing":
          if (hungUp(this.#briefing(event.token, form))) this.#endRelayedLeg(form);
          return;
        case "answer":
          if (hungUp(this.#answer(event.token, form)) && form.get("Digits") === "1") {
            this.#endRelayedLeg(form);
          }
          return;
        case "status":
          return this.#status(event.token, form);
        case "amd":
          return this.#amd(event.token, form);
        case "conference":
          return this.#conference(event.token, form);
      }
    } catch (error) {
      this.#failedRest("handle a relayed callback", error);
    }
  }

  #endRelayedLeg(form: URLSearchParams): void {
    const callSid = form.get("CallSid");
    if (callSid === null) return;
    this.#options.calls.end(callSid, "completed").catch((error) =>
      this.#failedRest("end the person's call", error)
    );
  }

  #step(transfer: Transfer, step: TransferStep["step"], leg = transfer.attempts.leg): void {
    const destination = leg + 1;
    this.#options.logger.info("Warm transfer: {step} (destination {destination}, {to}).", {
      step,
      destination,
      to: maskDestination(transfer.request.destinations[leg] ?? ""),
    });
    try {
      transfer.request.onStep?.({ step, destination });
    } catch {
      // the live view must never break a transfer
    }
  }

  #apply(transfer: Transfer, effects: WarmEffect[]): void {
    for (const effect of effects) {
      switch (effect.do) {
        case "place":
          this.#place(transfer, effect.leg);
          break;
        case "end_leg":
          this.#options.calls.end(effect.callSid, effect.status).catch((error) =>
            this.#failedRest("end the person's call", error)
          );
          break;
        case "accept":
          this.#awaitJoin(transfer, effect.leg);
          break;
        case "failed":
          this.#step(transfer, "nobody");
          transfer.request.onResult("failed");
          this.#report(transfer, "fallback");
          break;
      }
    }
    // One ring timer, for the current leg while it dials or rings.
    clearTimeout(transfer.timer);
    transfer.timer = undefined;
    const phase = transfer.attempts.phase;
    if (phase === "dialing" || phase === "ringing") {
      const leg = transfer.attempts.leg;
      transfer.timer = setTimeout(() => {
        transfer.timer = undefined;
        this.#apply(transfer, transfer.attempts.ringTimeout(leg));
      }, (transfer.request.ringTimeoutSeconds + RING_GRACE_SECONDS) * 1000);
    }
    if (transfer.attempts.over) {
      transfer.overAt ??= this.#now();
      if (phase === "canceled") this.#report(transfer, "caller_hung_up");
    }
  }

  #place(transfer: Transfer, leg: number): void {
    const { request } = transfer;
    this.#step(transfer, "calling", leg);
    this.#options.calls.create({
      to: request.destinations[leg],
      from: request.from,
      url: this.#url(TRANSFER_ROUTES.briefing, transfer, leg),
      statusCallback: this.#url(TRANSFER_ROUTES.status, transfer, leg),
      asyncAmdStatusCallback: this.#url(TRANSFER_ROUTES.amd, transfer, leg),
      timeoutSeconds: request.ringTimeoutSeconds,
      machineDetection: "Enable",
    }).then(
      (call) => this.#apply(transfer, transfer.attempts.placed(leg, call.sid)),
      (error) => {
        this.#failedRest("place the person's call", error);
        this.#step(transfer, "not_placed", leg);
        this.#apply(transfer, transfer.attempts.placeFailed(leg));
      },
    );
  }

  /** A person pressed 1: their TwiML joins the conference; the caller waits for the join. */
  #awaitJoin(transfer: Transfer, leg: number): void {
    const timer = setTimeout(() => {
      transfer.joining = undefined;
      this.#options.logger.warn("Warm transfer: the person never joined the conference.");
      this.#endAcceptedLeg(transfer);
      this.#step(transfer, "nobody", leg);
      transfer.request.onResult("failed");
      this.#report(transfer, "fallback");
    }, JOIN_WAIT_MS);
    transfer.joining = { leg, timer };
  }

  #stopJoining(transfer: Transfer): void {
    if (transfer.joining !== undefined) clearTimeout(transfer.joining.timer);
    transfer.joining = undefined;
  }

  #endAcceptedLeg(transfer: Transfer): void {
    const callSid = transfer.attempts.callSidOf(transfer.attempts.leg);
    if (callSid === undefined) return;
    this.#options.calls.end(callSid, "completed").catch((error) =>
      this.#failedRest("end the person's call", error)
    );
  }

  /**
   * The person is in the conference: the call hears `accepted` first (the
   * stream's end is then the hand-over), then the caller is moved into it.
   */
  #accept(transfer: Transfer, leg: number): void {
    this.#step(transfer, "accepted", leg);
    transfer.request.onResult("accepted");
    this.#report(transfer, "transferred");
    this.#options.calls.updateTwiml(
      transfer.request.callerCallSid,
      conferenceTwiml(transfer.conference),
    ).catch((error) => {
      this.#failedRest("move the caller to the person", error);
      // The caller stays with the agent: end the person's leg, and the agent says the fallback.
      const callSid = transfer.attempts.callSidOf(leg);
      if (callSid !== undefined) {
        this.#options.calls.end(callSid, "completed").catch(() => {});
      }
      transfer.request.onResult("failed");
    });
  }

  #report(transfer: Transfer, result: TransferResult): void {
    if (transfer.reported) return;
    transfer.reported = true;
    transfer.unfollow?.();
    this.#options.relay?.end(transfer.id, result === "caller_hung_up" ? result : "over").catch(
      (error) => this.#failedRest("mark the shared transfer over", error),
    );
    this.#options.onFinished?.({
      mode: "warm",
      callSid: transfer.request.callerCallSid,
      agent: transfer.request.agent,
      result,
      legs: transfer.attempts.timeline(),
    });
  }

  #failedRest(what: string, error: unknown): void {
    this.#options.logger.warn("Warm transfer: could not {what}: {error}", {
      what,
      error: maskPhoneNumbersIn(errorMessage(error)),
    });
  }

  #forgetOld(): void {
    const now = this.#now();
    for (const [id, transfer] of this.#transfers) {
      if (transfer.overAt !== undefined && now - transfer.overAt > KEEP_MS) {
        this.#transfers.delete(id);
      }
    }
  }
}
