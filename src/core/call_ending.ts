/**
 * How a call ends, as one state machine shared by every ending: `end_call`,
 * `transfer_call`, the time limit, the idle caller and the drain all go
 * through the same farewell, and every other way out (the caller hung up, an
 * error, a refusal) goes straight to `done`. The moves are {@link ENDING_MOVES},
 * checked on each (`state_moves.ts`).
 *
 * ```mermaid
 * stateDiagram-v2
 *   [*] --> idle
 *   idle --> tool_pending: end_call / transfer_call (its response still active)
 *   idle --> farewell_requested: limit, idle caller, drain, tool (response done)
 *   tool_pending --> farewell_requested: the tool's response is done
 *   tool_pending --> done: watchdog, hang-up
 *   farewell_requested --> farewell_playing: first farewell audio
 *   farewell_requested --> grace: farewell done without audio
 *   farewell_playing --> grace: Twilio echoed the farewell's last mark
 *   farewell_playing --> farewell_requested: new session before the farewell was all sent
 *   grace --> done: grace period over
 *   idle --> done: hang-up, error, refusal
 *   farewell_requested --> done: watchdog
 *   farewell_playing --> done: play-out timeout, hang-up
 * ```
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CallEnding } from "./call_ending.ts";
 * const ending = new CallEnding();
 * const goodbye = { instructions: "Say goodbye.", reason: "done", outcome: "assistant_ended" } as const;
 * assert.equal(ending.begin(goodbye, undefined), "request_farewell");
 * ending.responseCreated("resp_bye");
 * assert.equal(ending.audioStarted("resp_bye"), true);
 * assert.equal(ending.state.stage, "farewell_playing");
 * assert.equal(ending.responseDone("resp_bye"), "farewell_complete");
 * ending.waitForMark("m7");
 * assert.equal(ending.isFinalMark("m7"), true);
 * ending.startGrace();
 * assert.deepEqual(ending.finish("assistant_ended", "done"), true);
 * assert.equal(ending.finish("caller_hung_up", "late"), false); // only once
 * ```
 *
 * @module
 */
import type { CallOutcome } from "./call_types.ts";
import { checkMove, type MoveTable } from "./state_moves.ts";

/** One way of winding a call up: the last sentence asked of the assistant, and the outcome. */
export interface Ending {
  /** Per-response instructions of the farewell. */
  instructions: string;
  /** The finish reason once it is over. */
  reason: string;
  outcome: CallOutcome;
}

/** Where the ending of a call stands. */
export type EndingState =
  /** The call goes on. */
  | { stage: "idle" }
  /** A tool asked to end the call; its response is still active. */
  | { stage: "tool_pending"; ending: Ending; toolResponseId: string }
  /** The farewell was asked for (`farewellResponseId` once created). */
  | { stage: "farewell_requested"; ending: Ending; farewellResponseId: string | undefined }
  /**
   * The farewell's audio is streaming (`finalMark` undefined) or complete
   * and waiting for Twilio to echo `finalMark`.
   */
  | {
    stage: "farewell_playing";
    ending: Ending;
    farewellResponseId: string;
    finalMark: string | undefined;
  }
  /** The farewell played: a short grace period before hanging up. */
  | { stage: "grace"; ending: Ending }
  /** The call is over. */
  | { stage: "done"; outcome: CallOutcome; reason: string };

/** The allowed moves between the stages of {@link EndingState} (the diagram above). */
export const ENDING_MOVES: MoveTable<EndingState["stage"]> = {
  idle: ["tool_pending", "farewell_requested", "done"],
  tool_pending: ["farewell_requested", "done"],
  farewell_requested: ["farewell_playing", "grace", "done"],
  farewell_playing: ["grace", "farewell_requested", "done"],
  grace: ["done"],
  done: [],
};

/** The ending of one call. */
export class CallEnding {
  #state: EndingState = { stage: "idle" };

  #move(to: EndingState): void {
    checkMove("call ending", ENDING_MOVES, this.#state.stage, to.stage);
    this.#state = to;
  }

  /** The current state (read-only). */
  get state(): Readonly<EndingState> {
    return this.#state;
  }

  /** Whether the call is winding up or over (caller audio no longer interrupts). */
  get ending(): boolean {
    return this.#state.stage !== "idle";
  }

  /** Whether the call is over. */
  get done(): boolean {
    return this.#state.stage === "done";
  }

  /** The ending under way, if any. */
  get current(): Ending | undefined {
    const s = this.#state;
    return s.stage === "idle" || s.stage === "done" ? undefined : s.ending;
  }

  /**
   * Starts winding up. With `afterResponseId` (a tool's response still
   * active) the farewell waits for that response; else it is due now.
   */
  begin(
    ending: Ending,
    afterResponseId: string | undefined,
  ): "request_farewell" | "wait" | "ignored" {
    if (this.#state.stage !== "idle") return "ignored";
    if (afterResponseId !== undefined) {
      this.#move({ stage: "tool_pending", ending, toolResponseId: afterResponseId });
      return "wait";
    }
    this.#move({ stage: "farewell_requested", ending, farewellResponseId: undefined });
    return "request_farewell";
  }

  /** The farewell is (re)requested: its instructions, or undefined when no farewell is due. */
  requestFarewell(): string | undefined {
    const s = this.#state;
    if (!this.farewellOwed || s.stage === "idle" || s.stage === "done" || s.stage === "grace") {
      return undefined;
    }
    this.#move({ stage: "farewell_requested", ending: s.ending, farewellResponseId: undefined });
    return s.ending.instructions;
  }

  /** Whether a new session must be asked for the farewell again (it was not heard yet). */
  get farewellOwed(): boolean {
    const s = this.#state;
    return s.stage === "tool_pending" || s.stage === "farewell_requested" ||
      (s.stage === "farewell_playing" && s.finalMark === undefined);
  }

  /** A response was created: the first one after the request is the farewell. */
  responseCreated(responseId: string): void {
    const s = this.#state;
    if (s.stage === "farewell_requested" && s.farewellResponseId === undefined) {
      s.farewellResponseId = responseId;
    }
  }

  /** Audio of `responseId` arrived; true when the farewell just started playing. */
  audioStarted(responseId: string): boolean {
    const s = this.#state;
    if (s.stage !== "farewell_requested" || s.farewellResponseId !== responseId) return false;
    this.#move({
      stage: "farewell_playing",
      ending: s.ending,
      farewellResponseId: responseId,
      finalMark: undefined,
    });
    return true;
  }

  /** Response `responseId` is done: what the ending must do next. */
  responseDone(responseId: string): "request_farewell" | "farewell_complete" | undefined {
    const s = this.#state;
    if (s.stage === "tool_pending" && s.toolResponseId === responseId) return "request_farewell";
    if (
      (s.stage === "farewell_requested" && s.farewellResponseId === responseId) ||
      (s.stage === "farewell_playing" && s.finalMark === undefined &&
        s.farewellResponseId === responseId)
    ) {
      return "farewell_complete";
    }
    return undefined;
  }

  /** All farewell audio is sent: wait for Twilio to echo `mark` (its end). */
  waitForMark(mark: string): void {
    const s = this.#state;
    if (s.stage === "farewell_requested") {
      this.#move({
        stage: "farewell_playing",
        ending: s.ending,
        farewellResponseId: s.farewellResponseId ?? "",
        finalMark: mark,
      });
    } else if (s.stage === "farewell_playing") s.finalMark = mark;
  }

  /** Whether `name` is the farewell's last mark. */
  isFinalMark(name: string): boolean {
    const s = this.#state;
    return s.stage === "farewell_playing" && s.finalMark === name;
  }

  /** The farewell played (or there was none to play): hang up after the grace period. */
  startGrace(): void {
    const ending = this.current;
    if (ending !== undefined) this.#move({ stage: "grace", ending });
  }

  /** The call is over; false when it already was. */
  finish(outcome: CallOutcome, reason: string): boolean {
    if (this.#state.stage === "done") return false;
    this.#move({ stage: "done", outcome, reason });
    return true;
  }
}
