/**
 * A warm transfer, as the call core sees it: the model called a warm
 * transfer tool, so the assistant stays with the caller while the bridge
 * briefs and calls a person; the call either goes on (nobody took it: the
 * assistant says the fallback line) or ends as a hand-over (`stop` after the
 * caller was moved to the person).
 *
 * ```mermaid
 * stateDiagram-v2
 *   [*] --> idle
 *   idle --> briefing: warm transfer tool (a session is open)
 *   idle --> calling: warm transfer tool (no session: the reason is the briefing)
 *   briefing --> calling: the briefing response is done, or its timer ran out
 *   calling --> moving: a person accepted
 *   calling --> idle: every destination failed (fallback line)
 *   moving --> idle: the caller could not be moved (fallback line)
 * ```
 *
 * In `moving`, Twilio's `stop` (or the stream closing) ends the call as
 * `transferred`.
 *
 * The briefing is an out-of-band text response on the call's own Realtime
 * session (`conversation: "none"`, `output_modalities: ["text"]`, tagged with
 * `metadata.purpose`), so it covers everything said so far and never reaches
 * the caller; the GA API runs it alongside the caller's responses. Its timer
 * bounds how long the person's call waits for it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCallParts } from "./call_parts.ts";
 * import { WarmHandoff } from "./warm_handoff.ts";
 * const parts = createCallParts({ sessionUpdate: { type: "session.update", session: {} } });
 * const handoff = new WarmHandoff(parts);
 * handoff.begin("billing question"); // no session open: the reason is the briefing
 * const placed = parts.out.take().find((c) => c.type === "place_transfer");
 * assert.deepEqual(placed, { type: "place_transfer", briefing: "A caller needs a person: billing question" });
 * handoff.result("accepted");
 * assert.equal(handoff.state, "moving");
 * ```
 *
 * @module
 */
import { responseCreate } from "../openai/client_events.ts";
import { requestResponse } from "./response_requests.ts";
import { transferBriefingFromReason } from "../prompts/mod.ts";
import type { CallParts } from "./call_parts.ts";
import { checkMove, type MoveTable } from "./state_moves.ts";

/** `metadata.purpose` of the briefing response. */
export const BRIEFING_PURPOSE = "transfer_briefing";

/** Ms the person's call waits for the model's briefing before it goes with the tool's reason. */
export const BRIEFING_WAIT_MS = 1200;

/** Where a warm transfer stands. */
export type HandoffState = "idle" | "briefing" | "calling" | "moving";

/** The allowed moves (checked on each move; the diagram in the module doc). */
export const HANDOFF_MOVES: MoveTable<HandoffState> = {
  idle: ["briefing", "calling"],
  briefing: ["calling"],
  calling: ["moving", "idle"],
  moving: ["idle"],
};

/** The warm transfer of one call. */
export class WarmHandoff {
  #p: CallParts;
  #state: HandoffState = "idle";
  #reason: string | undefined;

  /** Creates the handoff over `parts`. */
  constructor(parts: CallParts) {
    this.#p = parts;
  }

  /** The current state. */
  get state(): HandoffState {
    return this.#state;
  }

  /** Whether a transfer is under way (briefing, calling or moving). */
  get active(): boolean {
    return this.#state !== "idle";
  }

  /** Whether the caller is being moved to the person: Twilio's `stop` is the hand-over. */
  get moving(): boolean {
    return this.#state === "moving";
  }

  #move(to: HandoffState): void {
    checkMove("warm transfer", HANDOFF_MOVES, this.#state, to);
    this.#state = to;
  }

  /** The model called the warm transfer tool (with `reason`): brief, then call. */
  begin(reason: string | undefined): void {
    const p = this.#p;
    this.#reason = reason;
    const session = p.sessions.live();
    if (session === undefined) {
      this.#move("calling");
      this.#place(transferBriefingFromReason(reason));
      return;
    }
    this.#move("briefing");
    p.out.toOpenAI(
      session,
      responseCreate({
        instructions: p.options.prompts.transferBriefing,
        conversation: "none",
        outputModalities: ["text"],
        toolChoice: "none",
        metadata: { purpose: BRIEFING_PURPOSE },
      }),
    );
    p.out.setTimer("transfer_briefing", BRIEFING_WAIT_MS);
  }

  /** The briefing response is done (`text` its output, if any). */
  briefingDone(text: string | undefined): void {
    if (this.#state !== "briefing") return; // late, after its timer
    this.#p.out.cancelTimer("transfer_briefing");
    this.#move("calling");
    const briefing = text?.trim();
    this.#place(
      briefing !== undefined && briefing !== ""
        ? briefing
        : transferBriefingFromReason(this.#reason),
    );
  }

  /** The briefing took too long: call with the tool's reason. */
  briefingTimedOut(): void {
    if (this.#state !== "briefing") return;
    this.#p.out.log("warning", "No transfer briefing from the model in time; using the reason.");
    this.#move("calling");
    this.#place(transferBriefingFromReason(this.#reason));
  }

  /** The bridge's verdict on the person's call. */
  result(result: "accepted" | "failed"): void {
    if (this.#state !== "calling" && !(this.#state === "moving" && result === "failed")) return;
    if (result === "accepted") {
      this.#move("moving");
      this.#p.out.log("info", "A person accepted the transfer; the caller is being moved.");
      return;
    }
    this.#move("idle");
    this.#p.out.log("info", "Nobody took the transfer; the assistant tells the caller.");
    requestResponse(this.#p, { instructions: this.#p.options.prompts.transferFallback });
  }

  #place(briefing: string): void {
    this.#p.out.push({ type: "place_transfer", briefing: briefing.slice(0, 1500) });
  }
}
