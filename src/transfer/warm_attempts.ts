/**
 * One warm transfer's calls to its destinations, sans-IO: what Twilio
 * reports about the person's leg goes in (status callbacks, the async AMD
 * result, the key pressed after the briefing, the caller hanging up), what
 * to do comes out (place the next leg, end a leg through REST, move the
 * caller, tell the agent nobody took the call).
 *
 * ```mermaid
 * stateDiagram-v2
 *   [*] --> dialing: start (destination 1)
 *   dialing --> ringing: ringing
 *   dialing --> briefing: answered (in-progress)
 *   ringing --> briefing: answered
 *   ringing --> dialing: busy, no-answer, failed, canceled, ring timeout
 *   briefing --> dialing: declined, no key, hung up, machine
 *   dialing --> failed: not placed (the last destination)
 *   ringing --> failed: the last destination failed
 *   briefing --> failed: the last destination failed
 *   briefing --> accepted: pressed 1
 *   dialing --> canceled: the caller hung up
 *   ringing --> canceled: the caller hung up
 *   briefing --> canceled: the caller hung up
 * ```
 *
 * A failed leg that is not the last starts the next destination's
 * `dialing` (from `dialing` itself, that is staying, not a move). Inputs
 * about another leg than the current one are late and ignored. A
 * machine answer (async AMD: `machine_start`, `machine_end_*`, `fax`) ends
 * that leg through REST and counts as a failed destination.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WarmAttempts } from "./warm_attempts.ts";
 * const attempts = new WarmAttempts(["+15005550001", "+15005550002"], () => 0);
 * assert.deepEqual(attempts.start(), [{ do: "place", leg: 0 }]);
 * attempts.placed(0, "CA1");
 * assert.deepEqual(attempts.status(0, "no-answer"), [{ do: "place", leg: 1 }]);
 * attempts.placed(1, "CA2");
 * attempts.status(1, "in-progress");
 * assert.deepEqual(attempts.digits(1, "1"), [{ do: "accept", leg: 1 }]);
 * assert.equal(attempts.phase, "accepted");
 * ```
 *
 * @module
 */
import { maskPhoneNumber } from "../security/phone_numbers.ts";
import { checkMove, type MoveTable } from "../core/state_moves.ts";

/** Where the transfer stands (the current leg's phase, or the end). */
export type WarmPhase = "dialing" | "ringing" | "briefing" | "accepted" | "failed" | "canceled";

/** The allowed moves (checked on each move; the diagram in the module doc). */
export const WARM_MOVES: MoveTable<WarmPhase> = {
  dialing: ["ringing", "briefing", "failed", "canceled"],
  ringing: ["briefing", "dialing", "failed", "canceled"],
  briefing: ["accepted", "dialing", "failed", "canceled"],
  accepted: [],
  failed: [],
  canceled: [],
};

/** What to do next. */
export type WarmEffect =
  /** Place the call to destination `leg`. */
  | { do: "place"; leg: number }
  /** End leg `callSid` through REST (`canceled` while it rings, `completed` once answered). */
  | { do: "end_leg"; callSid: string; status: "canceled" | "completed" }
  /** The person of `leg` accepted: move the caller to them. */
  | { do: "accept"; leg: number }
  /** Every destination failed: the agent tells the caller. */
  | { do: "failed" };

/** Why a leg did not take the call. */
export type LegFailure =
  | "busy"
  | "no-answer"
  | "failed"
  | "canceled"
  | "declined"
  | "no_key"
  | "hung_up"
  | "machine"
  | "not_placed";

/** One destination's leg, for the call record (the number masked). */
export interface LegTimeline {
  destination: string;
  /** Ms from the transfer's start to the leg's request. */
  placedAtMs: number;
  /** Ms it rang before it was answered or gave up, when it rang. */
  rangMs?: number;
  /** Twilio's `AnsweredBy`, when detection answered. */
  answeredBy?: string;
  /** Ms from the transfer's start to the accept. */
  acceptedAtMs?: number;
  result: "accepted" | LegFailure | "caller_hung_up" | "pending";
}

interface Leg {
  callSid: string | undefined;
  placedAt: number;
  ringingAt: number | undefined;
  answeredAt: number | undefined;
  answeredBy: string | undefined;
  acceptedAt: number | undefined;
  result: LegTimeline["result"];
}

/** The legs of one warm transfer. */
export class WarmAttempts {
  readonly destinations: readonly string[];
  #now: () => number;
  #startedAt: number;
  #phase: WarmPhase = "dialing";
  #leg = 0;
  #legs: Leg[] = [];

  /** A transfer to `destinations`, in order; `now` in ms. */
  constructor(destinations: readonly string[], now: () => number) {
    if (destinations.length === 0) throw new Error("A warm transfer needs a destination.");
    this.destinations = destinations;
    this.#now = now;
    this.#startedAt = now();
  }

  /** The current phase. */
  get phase(): WarmPhase {
    return this.#phase;
  }

  /** The current leg's index. */
  get leg(): number {
    return this.#leg;
  }

  /** Whether the transfer is over (accepted, failed or canceled). */
  get over(): boolean {
    return WARM_MOVES[this.#phase].length === 0;
  }

  /** The CallSid of leg `leg`, once placed. */
  callSidOf(leg: number): string | undefined {
    return this.#legs[leg]?.callSid;
  }

  /** Whether `leg` is the current leg and its person is hearing the briefing. */
  isBriefing(leg: number): boolean {
    return leg === this.#leg && this.#phase === "briefing";
  }

  #move(to: WarmPhase): void {
    checkMove("warm transfer leg", WARM_MOVES, this.#phase, to);
    this.#phase = to;
  }

  #current(leg: number): Leg | undefined {
    return leg === this.#leg && !this.over ? this.#legs[leg] : undefined;
  }

  /** Starts with the first destination. */
  start(): WarmEffect[] {
    this.#legs.push(this.#newLeg());
    return [{ do: "place", leg: 0 }];
  }

  /** Twilio created leg `leg` as `callSid`. */
  placed(leg: number, callSid: string): WarmEffect[] {
    const state = this.#legs[leg];
    if (state === undefined) return [];
    state.callSid = callSid;
    // The caller hung up while the request was in flight: end the new leg at once.
    if (this.#phase === "canceled" && leg === this.#leg) {
      return [{ do: "end_leg", callSid, status: "canceled" }];
    }
    return [];
  }

  /** Twilio refused to place leg `leg`. */
  placeFailed(leg: number): WarmEffect[] {
    const state = this.#current(leg);
    return state === undefined ? [] : this.#fail(state, "not_placed");
  }

  /** A status callback of leg `leg` (`CallStatus`). */
  status(leg: number, status: string): WarmEffect[] {
    const state = this.#current(leg);
    if (state === undefined) return [];
    switch (status) {
      case "ringing":
        if (this.#phase === "dialing") {
          state.ringingAt = this.#now();
          this.#move("ringing");
        }
        return [];
      case "in-progress":
        if (this.#phase === "dialing" || this.#phase === "ringing") this.#answered(state);
        return [];
      case "busy":
      case "no-answer":
      case "failed":
      case "canceled":
        return this.#fail(state, status);
      case "completed":
        // Hung up before accepting (an answered leg), or ended unanswered.
        return this.#fail(state, this.#phase === "briefing" ? "hung_up" : "no-answer");
      default:
        return [];
    }
  }

  /** Twilio fetched the briefing of leg `leg`: the person answered. */
  answered(leg: number): void {
    const state = this.#current(leg);
    if (state !== undefined && (this.#phase === "dialing" || this.#phase === "ringing")) {
      this.#answered(state);
    }
  }

  /** The async AMD result of leg `leg`. */
  answeredBy(leg: number, answeredBy: string): WarmEffect[] {
    const state = this.#current(leg);
    if (state === undefined) return [];
    state.answeredBy = answeredBy.slice(0, 40);
    if (!(answeredBy.startsWith("machine_") || answeredBy === "fax")) return [];
    const end: WarmEffect[] = state.callSid === undefined
      ? []
      : [{ do: "end_leg", callSid: state.callSid, status: "completed" }];
    return [...end, ...this.#fail(state, "machine")];
  }

  /** The key the person of leg `leg` pressed after the briefing (`undefined`: none). */
  digits(leg: number, digits: string | undefined): WarmEffect[] {
    const state = this.#current(leg);
    if (state === undefined || this.#phase !== "briefing") return [];
    if (digits === "1") {
      state.acceptedAt = this.#now();
      state.result = "accepted";
      this.#move("accepted");
      return [{ do: "accept", leg }];
    }
    return this.#fail(state, digits === undefined || digits === "" ? "no_key" : "declined");
  }

  /** Leg `leg` rang too long without a final status from Twilio. */
  ringTimeout(leg: number): WarmEffect[] {
    const state = this.#current(leg);
    if (state === undefined || this.#phase === "briefing") return [];
    const end: WarmEffect[] = state.callSid === undefined
      ? []
      : [{ do: "end_leg", callSid: state.callSid, status: "canceled" }];
    return [...end, ...this.#fail(state, "no-answer")];
  }

  /** The caller hung up: end the person's leg (canceled while it rings, completed once answered). */
  callerGone(): WarmEffect[] {
    if (this.over) return [];
    const state = this.#legs[this.#leg];
    const answered = this.#phase === "briefing";
    state.result = "caller_hung_up";
    this.#move("canceled");
    if (state.callSid === undefined) return []; // ended once placed (see placed)
    return [{ do: "end_leg", callSid: state.callSid, status: answered ? "completed" : "canceled" }];
  }

  /** The legs so far, for the call record. */
  timeline(): LegTimeline[] {
    return this.#legs.map((leg, i) => {
      const entry: LegTimeline = {
        destination: maskDestination(this.destinations[i]),
        placedAtMs: Math.round(leg.placedAt - this.#startedAt),
        result: leg.result,
      };
      if (leg.ringingAt !== undefined) {
        entry.rangMs = Math.round((leg.answeredAt ?? this.#now()) - leg.ringingAt);
      }
      if (leg.answeredBy !== undefined) entry.answeredBy = leg.answeredBy;
      if (leg.acceptedAt !== undefined) {
        entry.acceptedAtMs = Math.round(leg.acceptedAt - this.#startedAt);
      }
      return entry;
    });
  }

  #answered(state: Leg): void {
    state.answeredAt = this.#now();
    this.#move("briefing");
  }

  #newLeg(): Leg {
    return {
      callSid: undefined,
      placedAt: this.#now(),
      ringingAt: undefined,
      answeredAt: undefined,
      answeredBy: undefined,
      acceptedAt: undefined,
      result: "pending",
    };
  }

  /** The current leg failed: the next destination, or the end. */
  #fail(state: Leg, why: LegFailure): WarmEffect[] {
    state.result = why;
    if (state.ringingAt !== undefined && state.answeredAt === undefined) {
      state.answeredAt = this.#now(); // rang until now
    }
    if (this.#leg + 1 >= this.destinations.length) {
      this.#move("failed");
      return [{ do: "failed" }];
    }
    this.#leg++;
    this.#move("dialing");
    this.#legs.push(this.#newLeg());
    return [{ do: "place", leg: this.#leg }];
  }
}

/** A destination for logs and records: a number masked, a SIP URI's user part hidden. */
export function maskDestination(destination: string): string {
  if (/^sips?:/i.test(destination)) return destination.replace(/:(?:[^@]*)@/, ":…@");
  return maskPhoneNumber(destination);
}
