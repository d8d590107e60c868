/**
 * The filler: when a tool has been running for about a second and the
 * caller hears nothing, the assistant says a short sentence ("One moment,
 * let me check.") so that the line is never silent. Sans-IO: the call core
 * tells it when tools start and finish and when assistant audio plays, asks
 * {@link FillerPlanner.nextAt} when to look again, and sends the event of
 * {@link fillerResponseEvent} when {@link FillerPlanner.due} returns a text.
 *
 * One filler per wait: a batch of tools started together gets one sentence;
 * if the model spoke its own preamble after the tools started, no filler.
 * The filler is an out-of-band response (`conversation: "none"`): it is not
 * added to the conversation, so the model does not repeat or answer it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FillerPlanner } from "./tool_filler.ts";
 * const planner = new FillerPlanner({ delayMs: 1000 });
 * planner.toolStarted("call_1", "One moment, let me check.", 0);
 * assert.equal(planner.nextAt(), 1000);
 * assert.equal(planner.due(999), undefined);
 * assert.equal(planner.due(1000), "One moment, let me check.");
 * assert.equal(planner.due(1500), undefined, "once per wait");
 * planner.toolFinished("call_1");
 * assert.equal(planner.nextAt(), undefined);
 * ```
 *
 * @module
 */

/** How long a tool may run in silence before the filler, in ms. */
export const FILLER_DELAY_MS = 1000;

/** Options of {@link FillerPlanner}. */
export interface FillerPlannerOptions {
  /** Default {@link FILLER_DELAY_MS}. */
  delayMs?: number;
}

/** Decides when the caller hears a filler during slow tools. */
export class FillerPlanner {
  #delayMs: number;
  /** Pending tools: their filler text and start time. */
  #pending = new Map<string, { filler: string | undefined; startedAt: number }>();
  /** The current wait (since the first pending tool, or the last assistant audio) and whether it had its filler. */
  #waitStartedAt: number | undefined;
  #spoken = false;

  /** Creates a planner. */
  constructor(options: FillerPlannerOptions = {}) {
    this.#delayMs = options.delayMs ?? FILLER_DELAY_MS;
  }

  /** A tool started at `now`; `filler` is its (or its agent's) sentence, or undefined for none. */
  toolStarted(callId: string, filler: string | undefined, now: number): void {
    if (this.#pending.size === 0) {
      this.#waitStartedAt = now;
      this.#spoken = false;
    }
    this.#pending.set(callId, { filler, startedAt: now });
  }

  /** A tool finished (its output went to the model). */
  toolFinished(callId: string): void {
    this.#pending.delete(callId);
    if (this.#pending.size === 0) this.#waitStartedAt = undefined;
  }

  /**
   * Assistant audio played at `now` (e.g. the model's own preamble): the
   * silence restarts from here and this wait needs no filler.
   */
  assistantSpoke(now: number): void {
    if (this.#pending.size === 0) return;
    this.#waitStartedAt = now;
    this.#spoken = true;
  }

  /** When to call {@link due} next (ms on the caller's clock), or undefined for never. */
  nextAt(): number | undefined {
    if (this.#waitStartedAt === undefined || this.#spoken) return undefined;
    if (this.#filler() === undefined) return undefined;
    return this.#waitStartedAt + this.#delayMs;
  }

  /** The sentence to say now, if any (then none again for this wait). */
  due(now: number): string | undefined {
    const at = this.nextAt();
    if (at === undefined || now < at) return undefined;
    this.#spoken = true;
    return this.#filler();
  }

  /** The filler of the earliest pending tool that has one. */
  #filler(): string | undefined {
    for (const { filler } of this.#pending.values()) if (filler !== undefined) return filler;
    return undefined;
  }
}

/**
 * The `response.create` that says `text` out of band: audio only, no tools,
 * not added to the conversation.
 */
export function fillerResponseEvent(text: string) {
  return {
    type: "response.create" as const,
    response: {
      conversation: "none",
      output_modalities: ["audio"],
      tool_choice: "none" as const,
      input: [],
      instructions: `Say exactly this, and nothing else: "${text.replaceAll('"', "'")}"`,
    },
  };
}
