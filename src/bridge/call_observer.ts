/**
 * The observer of one call: what metrics and traces hear from the call
 * runner. The runner forwards the core's `observe` commands, the time it spent
 * relaying each audio frame, and the final summary. Observers must be cheap
 * and must not throw (the runner guards against it anyway).
 *
 * @module
 */
import type { CallObservation } from "../core/call_types.ts";
import type { CallSummary } from "./call_summary.ts";
import type { CallSoFar } from "./call_summary.ts";
import type { UpgradeFailure } from "../openai/upgrade_failure.ts";
import type { ToolRunReport } from "./tool_runs.ts";
import type { TransferStep } from "../transfer/mod.ts";

/** A custom tool finished (reported by the runner, which runs the tools). */
export interface ToolFinished extends ToolRunReport {
  /** The model's call id (matches the `tool_call` observation). */
  callId: string;
  /** The output delivered to the model (a result or the bridge's error object). */
  output: unknown;
}

/** Which way an audio frame went. */
export type RelayDirection = "caller_to_openai" | "openai_to_caller";

/** Receives what happens in one call. */
export interface CallObserver {
  /** Something the core reported, at `now` (the runner's monotonic clock, ms). */
  observe(event: CallObservation, now: number): void;
  /**
   * The bridge relayed one audio frame; `ms` from receiving it to handing it to
   * the other socket. Optional: called for every frame, so an observer that
   * does not need it leaves it out and costs nothing per frame.
   */
  relayed?(direction: RelayDirection, ms: number): void;
  /**
   * The stream's `start` was admitted (the call's first stream): what is
   * known so far; optional. The call record's stub is written from it.
   */
  started?(call: CallSoFar): void;
  /** The call is over (both sockets closed). */
  finished(summary: CallSummary): void;
  /** OpenAI refused a Realtime upgrade (e.g. HTTP 401: the key); optional. */
  openaiRefused?(failure: UpgradeFailure): void;
  /** A custom tool finished, at `now`; optional. */
  toolFinished?(tool: ToolFinished, now: number): void;
  /** A step of a warm transfer (calling, ringing, accepted, …), at `now`; optional. */
  transferStep?(step: TransferStep, now: number): void;
}

/**
 * One observer that forwards to several.
 *
 * @example
 * ```ts
 * import { combineObservers } from "./call_observer.ts";
 * const seen: string[] = [];
 * const observer = combineObservers([
 *   { observe: (e) => seen.push(e.kind), finished: () => {} },
 * ]);
 * observer.observe({ kind: "caller_speech_stopped" }, 0);
 * if (seen[0] !== "caller_speech_stopped") throw new Error();
 * if (observer.relayed !== undefined) throw new Error("nobody listens to relayed frames");
 * ```
 */
export function combineObservers(observers: readonly CallObserver[]): CallObserver {
  const relaying = observers.filter((o) => o.relayed !== undefined);
  return {
    observe: (event, now) => observers.forEach((o) => o.observe(event, now)),
    ...(relaying.length === 0 ? {} : {
      relayed: (direction: RelayDirection, ms: number) => {
        for (const o of relaying) o.relayed!(direction, ms);
      },
    }),
    started: (call) => observers.forEach((o) => o.started?.(call)),
    finished: (summary) => observers.forEach((o) => o.finished(summary)),
    openaiRefused: (failure) => observers.forEach((o) => o.openaiRefused?.(failure)),
    toolFinished: (tool, now) => observers.forEach((o) => o.toolFinished?.(tool, now)),
    transferStep: (step, now) => observers.forEach((o) => o.transferStep?.(step, now)),
  };
}
