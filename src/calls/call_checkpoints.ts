/**
 * Call checkpoints: what a call needs to go on in a new media stream on any
 * instance, kept in the shared call store (Deno KV) under
 * `["call_checkpoints", CallSid]`. After each completed turn the call's
 * conversation (the caller's words, the assistant's words as heard, tool
 * calls and their outputs) is written with what rebuilds its session: the
 * stream path it started on (the agent, and the call the stream token
 * binds), the agent's name and the caller context. Each write expires after
 * the maximum call duration.
 *
 * When a stream ends, the `<Connect action>` request may reach any
 * instance: {@link CallCheckpoints.claimResume} decides there, in one atomic
 * commit, whether the call goes on in a new stream. A call that is over
 * (hang-up, `end_call`, transfer, voicemail, a goodbye: {@link
 * CallCheckpoints.markOver}) is never resumed; a call is resumed at most
 * `maxResumes` times.
 *
 * A cold transfer may bring the caller back: its stream ends `transferring`
 * (the conversation kept); when nobody answered, {@link
 * CallCheckpoints.reopenAfterTransfer} hands the conversation to the
 * fallback stream (on any instance), and when a person did, the call is
 * `over`.
 *
 * A checkpoint moves along {@link CHECKPOINT_MOVES}, checked on each write
 * (`core/state_moves.ts`); a first write starts it `live`:
 *
 * ```mermaid
 * stateDiagram-v2
 *   [*] --> live
 *   live --> resuming: claimResume (the stream was lost)
 *   resuming --> live: save (the new stream started)
 *   live --> over: markOver (hang-up, end_call, warm transfer, goodbye)
 *   resuming --> over: markOver
 *   live --> transferring: markTransferring (a cold transfer dials)
 *   resuming --> transferring: markTransferring
 *   transferring --> resuming: reopenAfterTransfer (nobody answered)
 *   transferring --> over: markOver (a person answered, the caller hung up)
 * ```
 *
 * (`resuming` stays `resuming` when the new stream never came and Twilio
 * asks again.)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CallCheckpoints } from "./call_checkpoints.ts";
 * const kv = await Deno.openKv(":memory:");
 * const checkpoints = new CallCheckpoints(kv, { ttlMs: 3_600_000 });
 * await checkpoints.save("CA1", { streamPath: "/media-stream", conversation: [] });
 * assert.equal((await checkpoints.claimResume("CA1", 3)).verdict, "resume");
 * await checkpoints.markOver("CA1", "assistant_ended");
 * assert.equal((await checkpoints.claimResume("CA1", 3)).verdict, "over");
 * kv.close();
 * ```
 *
 * @module
 */
import type { ConversationEntry } from "../core/conversation_log.ts";
import { commitKv } from "./kv_commit.ts";
import { checkMove, type MoveTable } from "../core/state_moves.ts";

/** Where a checkpointed call stands. */
export type CheckpointState = "live" | "resuming" | "transferring" | "over";

/** Allowed moves of a checkpoint (staying in a state is no move). */
export const CHECKPOINT_MOVES: MoveTable<CheckpointState> = {
  live: ["resuming", "transferring", "over"],
  resuming: ["live", "transferring", "over"],
  transferring: ["resuming", "over"],
  over: [],
};

/** What rebuilds a call's session in a new stream, and its conversation so far. */
export interface CallSnapshot {
  /** The path of the call's first media stream (names its agent and bound call). */
  streamPath: string;
  /** The agent's name the stream token binds (agents file), if any. */
  agent?: string;
  /** The caller context from the context webhook, if any. */
  caller?: Record<string, unknown>;
  conversation: readonly ConversationEntry[];
}

/** A stored checkpoint. */
export interface CallCheckpoint extends CallSnapshot {
  callSid: string;
  state: CheckpointState;
  /** How the call ended, once `over`. */
  ending?: string;
  /** Streams opened again for this call so far. */
  resumes: number;
  /** Wall-clock ms of the last write. */
  savedAt: number;
}

/** What {@link CallCheckpoints.claimResume} decided. */
export type ResumeClaim =
  | { verdict: "resume"; checkpoint: CallCheckpoint }
  /** The call is over: hang up. */
  | { verdict: "over"; ending: string | undefined }
  /** `maxResumes` reached: the apology. */
  | { verdict: "cap" }
  /** A cold transfer is dialing the call's destinations. */
  | { verdict: "transferring"; agent: string | undefined }
  /** No checkpoint (none kept, expired, or a store per instance). */
  | { verdict: "unknown" };

/** Options of {@link CallCheckpoints}. */
export interface CallCheckpointsOptions {
  /** How long a checkpoint is kept after its last write (the maximum call duration). */
  ttlMs: number;
  /** Wall clock in ms. Default `Date.now`. */
  now?: () => number;
}

const KEY = "call_checkpoints";
const TRIES = 20;
/** Deno KV takes values up to 64 KiB: the conversation is cut to fit under this. */
export const MAX_CHECKPOINT_BYTES = 60_000;
const encoder = new TextEncoder();

/**
 * The latest entries of `conversation` whose checkpoint fits in
 * {@link MAX_CHECKPOINT_BYTES} (the oldest turns go first, as the replay
 * limits of a renewed session would drop them).
 */
function fitConversation(
  checkpoint: CallCheckpoint,
): CallCheckpoint {
  let conversation = checkpoint.conversation;
  let bytes = encoder.encode(JSON.stringify(checkpoint)).length;
  if (bytes <= MAX_CHECKPOINT_BYTES) return checkpoint;
  const sizes = conversation.map((e) => encoder.encode(JSON.stringify(e)).length + 1);
  let drop = 0;
  while (bytes > MAX_CHECKPOINT_BYTES && drop < conversation.length) bytes -= sizes[drop++];
  conversation = conversation.slice(drop);
  return { ...checkpoint, conversation };
}

/** Checks a move; a checkpoint not stored yet counts as `live` (where it starts). */
function assertMove(from: CheckpointState | undefined, to: CheckpointState): void {
  checkMove("call checkpoint", CHECKPOINT_MOVES, from ?? "live", to);
}

/** Checkpoints in one Deno KV (shared by every instance using it). */
export class CallCheckpoints {
  readonly ttlMs: number;
  #kv: Deno.Kv;
  #now: () => number;

  /** Uses `kv` (not closed here). */
  constructor(kv: Deno.Kv, options: CallCheckpointsOptions) {
    this.#kv = kv;
    this.ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
  }

  /** The stored checkpoint, or undefined. */
  async get(callSid: string): Promise<CallCheckpoint | undefined> {
    return (await this.#kv.get<CallCheckpoint>([KEY, callSid])).value ?? undefined;
  }

  /**
   * Writes the call's snapshot (one read, one write); the call is `live`
   * again after a resume. A call already over is left as it is (false).
   */
  save(callSid: string, snapshot: CallSnapshot): Promise<boolean> {
    return this.#update(callSid, (current) => {
      if (current?.state === "over") return undefined;
      // A later stream that knows less (the one after keypad tones) keeps what the first knew.
      return fitConversation({
        ...snapshot,
        ...(snapshot.agent ?? current?.agent) !== undefined
          ? { agent: snapshot.agent ?? current?.agent }
          : {},
        ...(snapshot.caller ?? current?.caller) !== undefined
          ? { caller: snapshot.caller ?? current?.caller }
          : {},
        conversation: [...snapshot.conversation],
        callSid,
        state: "live",
        resumes: current?.resumes ?? 0,
        savedAt: this.#now(),
      });
    });
  }

  /**
   * A cold transfer dials the call's destinations: the conversation is kept
   * for the fallback stream, should nobody answer. A call already over is
   * left as it is (false).
   */
  markTransferring(callSid: string, snapshot: CallSnapshot): Promise<boolean> {
    return this.#update(
      callSid,
      (current) =>
        current?.state === "over" ? undefined : fitConversation({
          ...current,
          ...snapshot,
          conversation: [...snapshot.conversation],
          callSid,
          state: "transferring",
          resumes: current?.resumes ?? 0,
          savedAt: this.#now(),
        }),
    );
  }

  /**
   * Nobody answered a cold transfer: the call goes back to the agent in a
   * new stream (`/media-stream/resumed/<CallSid>`) that replays the
   * conversation. The checkpoint, or undefined when the call is not
   * transferring (no checkpoint, or already reopened).
   */
  async reopenAfterTransfer(callSid: string): Promise<CallCheckpoint | undefined> {
    let reopened: CallCheckpoint | undefined;
    await this.#update(callSid, (current) => {
      if (current?.state !== "transferring") return undefined;
      return reopened = { ...current, state: "resuming", savedAt: this.#now() };
    });
    return reopened;
  }

  /**
   * The call is over (`ending`: how): it is never resumed. What it said and
   * the caller context go at once (only a resume needed them; the call's
   * record keeps the conversation, redacted as configured): the checkpoint
   * keeps how the call ended until it expires.
   */
  async markOver(callSid: string, ending: string): Promise<void> {
    await this.#update(callSid, (current) => {
      if (current?.state === "over") return undefined;
      const { caller: _caller, ...kept } = current ?? { streamPath: "", resumes: 0 };
      return {
        ...kept,
        conversation: [],
        callSid,
        state: "over",
        ending,
        savedAt: this.#now(),
      };
    });
  }

  /**
   * At the `<Connect action>` request: resume the call unless it is over or
   * was resumed `maxResumes` times already (one atomic commit). A call whose
   * resumed stream never came (still `resuming`) may be resumed again.
   */
  async claimResume(callSid: string, maxResumes: number): Promise<ResumeClaim> {
    for (let i = 0; i < TRIES; i++) {
      const entry = await this.#kv.get<CallCheckpoint>([KEY, callSid]);
      const current = entry.value;
      if (current === null) return { verdict: "unknown" };
      if (current.state === "over") return { verdict: "over", ending: current.ending };
      if (current.state === "transferring") {
        return { verdict: "transferring", agent: current.agent };
      }
      if (current.resumes >= maxResumes) return { verdict: "cap" };
      const next: CallCheckpoint = {
        ...current,
        state: "resuming",
        resumes: current.resumes + 1,
        savedAt: this.#now(),
      };
      assertMove(current.state, next.state);
      const result = await commitKv(
        this.#kv.atomic().check(entry).set([KEY, callSid], next, { expireIn: this.ttlMs }),
      );
      if (result.ok) return { verdict: "resume", checkpoint: next };
    }
    throw new Error(`Could not claim the resume of call ${callSid}: too much contention.`);
  }

  /** Applies `change` (undefined: no write) with a versionstamp check; true when written. */
  async #update(
    callSid: string,
    change: (current: CallCheckpoint | undefined) => CallCheckpoint | undefined,
  ): Promise<boolean> {
    for (let i = 0; i < TRIES; i++) {
      const entry = await this.#kv.get<CallCheckpoint>([KEY, callSid]);
      const next = change(entry.value ?? undefined);
      if (next === undefined) return false;
      assertMove(entry.value?.state, next.state);
      const result = await commitKv(
        this.#kv.atomic().check(entry).set([KEY, callSid], next, { expireIn: this.ttlMs }),
      );
      if (result.ok) return true;
    }
    throw new Error(`Could not write the checkpoint of call ${callSid}: too much contention.`);
  }
}
