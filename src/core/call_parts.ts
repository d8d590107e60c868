/**
 * The collaborators of one call, owned by the call core and shared with the
 * rule modules that span several of them (`wrap_up.ts`, `session_handover.ts`).
 * Each collaborator owns its state; this bag only holds them together with
 * the command output, the resolved options, the clock and the counters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCallParts } from "./call_parts.ts";
 * const parts = createCallParts({ sessionUpdate: { type: "session.update", session: {} } });
 * assert.equal(parts.sessions.state.name, "connecting");
 * assert.equal(parts.ending.state.stage, "idle");
 * assert.equal(parts.responses.idle, true);
 * ```
 *
 * @module
 */
import { AssistantAudio } from "./assistant_audio.ts";
import { CallEnding } from "./call_ending.ts";
import {
  type CallCoreOptions,
  type CallStats,
  resolveCoreOptions,
  type ResolvedCoreOptions,
} from "./call_core_options.ts";
import { CallerTurn } from "./caller_turn.ts";
import { ConversationLog } from "./conversation_log.ts";
import { CoreOutput } from "./core_output.ts";
import { Responses } from "./responses.ts";
import { SessionLifecycle } from "./session_lifecycle.ts";

/** Counters the core keeps itself (the others come from the collaborators). */
export type CallCounter = Exclude<
  keyof CallStats,
  "framesOut" | "droppedLateDeltas" | "droppedQueuedFrames"
>;

/** The collaborators and shared facts of one call. */
export interface CallParts {
  readonly options: ResolvedCoreOptions;
  readonly out: CoreOutput;
  readonly sessions: SessionLifecycle;
  readonly audio: AssistantAudio;
  readonly responses: Responses;
  readonly ending: CallEnding;
  readonly turn: CallerTurn;
  readonly conversation: ConversationLog;
  readonly counts: Record<CallCounter, number>;
  /** The time of the input being handled (ms). */
  now: number;
  /** Twilio's StreamSid, once `start` arrived. */
  streamSid: string | undefined;
}

/** Creates the collaborators of a call with `options` resolved. */
export function createCallParts(options: CallCoreOptions): CallParts {
  const resolved = resolveCoreOptions(options);
  const out = new CoreOutput({ observations: resolved.observations });
  const conversation = new ConversationLog();
  if (resolved.resume !== undefined) conversation.restore(resolved.resume);
  return {
    options: resolved,
    out,
    sessions: new SessionLifecycle(),
    audio: new AssistantAudio(
      { markIntervalMs: resolved.markIntervalMs, maxMarkIntervalMs: resolved.maxMarkIntervalMs },
      {
        send: (message) => out.toTwilio(message),
        onFirstAudio: (responseId, itemId) =>
          out.observe({ kind: "assistant_audio_started", responseId, itemId }),
      },
    ),
    responses: new Responses(),
    ending: new CallEnding(),
    turn: new CallerTurn({ maxQueuedFrames: resolved.maxQueuedFrames }),
    conversation,
    counts: {
      framesIn: 0,
      bargeIns: 0,
      truncates: 0,
      responses: 0,
      toolCalls: 0,
      openaiErrors: 0,
      sessionRenewals: 0,
      reconnects: 0,
    },
    now: 0,
    streamSid: undefined,
  };
}

/** The call's counters from the core and its collaborators. */
export function callStats(parts: CallParts): CallStats {
  return {
    ...parts.counts,
    framesOut: parts.audio.framesOut,
    droppedLateDeltas: parts.audio.droppedLateDeltas,
    droppedQueuedFrames: parts.turn.droppedQueuedFrames,
  };
}
