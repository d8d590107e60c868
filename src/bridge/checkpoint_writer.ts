/**
 * Writes one call's checkpoint (`calls/call_checkpoints.ts`) as its turns
 * complete, off the audio path: the call runner calls {@link
 * CheckpointWriter.save} when the stream starts and after each completed
 * turn (a response done, the caller's words transcribed, a tool's output),
 * never per frame. Writes are coalesced: while one is in flight, only the
 * latest conversation waits for the next one, so a call makes at most one
 * write at a time and a few per turn. {@link CheckpointWriter.ended} records
 * how the stream ended: a call that is over is marked so (no instance will
 * resume it); a call handed over or whose stream was lost keeps its
 * conversation for the next stream,
 * and so does a cold transfer (`transferring`: should nobody answer, the
 * caller comes back to the agent in a stream that replays it).
 * A failed write is logged, never fatal to the call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CallCheckpoints } from "../calls/call_checkpoints.ts";
 * import { CheckpointWriter } from "./checkpoint_writer.ts";
 * const kv = await Deno.openKv(":memory:");
 * const store = new CallCheckpoints(kv, { ttlMs: 60_000 });
 * const writer = new CheckpointWriter(store, { streamPath: "/media-stream" });
 * writer.save("CA1", []);
 * writer.save("CA1", [{ kind: "user", itemId: "i1", transcript: "Hi", at: 0 }]);
 * await writer.ended("CA1", "assistant_ended", []);
 * assert.equal((await store.get("CA1"))?.state, "over");
 * assert.ok(writer.writes <= 3);
 * kv.close();
 * ```
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { CallCheckpoints, CallSnapshot } from "../calls/call_checkpoints.ts";
import type { ConversationEntry } from "../core/conversation_log.ts";
import type { CallOutcome } from "../core/call_types.ts";
import { errorMessage } from "../observability/error_message.ts";

/**
 * Outcomes after which the call goes on in another stream (it is not over):
 * handed over by a draining instance, or lost (the socket closed without
 * `stop`, the instance alive).
 */
const HANDED_OVER_OUTCOMES: ReadonlySet<CallOutcome> = new Set<CallOutcome>([
  "handed_over",
  "stream_lost",
]);

/** What the call runner tells the checkpoint of its call. */
export interface CheckpointSink {
  /** The stream started or a turn completed: write the conversation (coalesced, in the background). */
  save(callSid: string, conversation: readonly ConversationEntry[]): void;
  /** The stream ended with `outcome`; resolves once recorded (or failed). */
  ended(
    callSid: string,
    outcome: CallOutcome,
    conversation: readonly ConversationEntry[],
  ): Promise<void>;
}

/** Writes the checkpoint of one call. */
export class CheckpointWriter implements CheckpointSink {
  /** Writes made so far (for tests and the cost figures of docs/performance.md). */
  writes = 0;
  #store: CallCheckpoints;
  #base: Omit<CallSnapshot, "conversation">;
  #log: Logger | undefined;
  #inFlight: Promise<void> | undefined;
  #pending: { callSid: string; conversation: readonly ConversationEntry[] } | undefined;
  #over = false;
  #coldTransfer: boolean;

  /**
   * `base`: the stream path, agent and caller context written with each
   * conversation; `options.coldTransfer`: the agent's transfer is cold (a
   * `transferred` call may come back).
   */
  constructor(
    store: CallCheckpoints,
    base: Omit<CallSnapshot, "conversation">,
    logger?: Logger,
    options: { coldTransfer?: boolean } = {},
  ) {
    this.#store = store;
    this.#base = base;
    this.#log = logger;
    this.#coldTransfer = options.coldTransfer ?? false;
  }

  save(callSid: string, conversation: readonly ConversationEntry[]): void {
    if (this.#over) return;
    this.#pending = { callSid, conversation: [...conversation] };
    this.#inFlight ??= this.#drain();
  }

  async ended(
    callSid: string,
    outcome: CallOutcome,
    conversation: readonly ConversationEntry[],
  ): Promise<void> {
    if (this.#over) return;
    if (HANDED_OVER_OUTCOMES.has(outcome)) {
      this.save(callSid, conversation);
      this.#over = true;
      await this.#inFlight;
      return;
    }
    this.#over = true;
    this.#pending = undefined;
    await this.#inFlight;
    if (outcome === "transferred" && this.#coldTransfer) {
      const snapshot = { ...this.#base, conversation: [...conversation] };
      await this.#write(() => this.#store.markTransferring(callSid, snapshot));
      return;
    }
    await this.#write(() => this.#store.markOver(callSid, outcome));
  }

  /** Resolves when no write is in flight. */
  async idle(): Promise<void> {
    while (this.#inFlight !== undefined) await this.#inFlight;
  }

  async #drain(): Promise<void> {
    while (this.#pending !== undefined) {
      const { callSid, conversation } = this.#pending;
      this.#pending = undefined;
      await this.#write(() => this.#store.save(callSid, { ...this.#base, conversation }));
    }
    this.#inFlight = undefined;
  }

  async #write(work: () => Promise<unknown>): Promise<void> {
    this.writes++;
    try {
      await work();
    } catch (error) {
      this.#log?.warn("Could not write the call's checkpoint: {error}", {
        error: errorMessage(error),
      });
    }
  }
}
