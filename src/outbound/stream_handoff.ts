/**
 * Carries an outbound call's conversation from one media stream to the next.
 * Playing keypad tones (`send_dtmf`) replaces the call's TwiML through REST:
 * Twilio stops the current stream, plays the digits, then opens a new stream
 * for the same CallSid. The old stream's conversation is kept here between
 * the two, with the call's caller context (`{{caller.*}}` of the agent's
 * instructions), so the new session continues it instead of starting over.
 *
 * The REST update and the old stream run on the instance that served the
 * call; the new stream may land on any instance behind the load balancer.
 * With a shared call store the conversation is also kept there
 * (`calls/shared_call_state.ts`), and the instance taking the new stream
 * brings it over before the upgrade ({@link StreamHandoff.bring}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StreamHandoff } from "./stream_handoff.ts";
 * const handoff = new StreamHandoff({ now: () => 0 });
 * handoff.expectNewStream("CA1");
 * handoff.streamEnded("CA1", [{ kind: "user", itemId: "i1", transcript: "Press 1 for sales", at: 0 }], {
 *   name: "Ada",
 * });
 * assert.deepEqual(handoff.callerOf("CA1"), { name: "Ada" });
 * assert.equal(handoff.resumeFor("CA1")?.length, 1);
 * assert.equal(handoff.resumeFor("CA1"), undefined); // once
 * ```
 *
 * @module
 */
import type { ConversationEntry } from "../core/conversation_log.ts";
import type { SharedCallState } from "../calls/shared_call_state.ts";

/** What a call's next stream gets: its conversation, and its caller context if any. */
interface HandedOver {
  entries: readonly ConversationEntry[];
  caller?: Readonly<Record<string, unknown>>;
}

/** Options of {@link StreamHandoff}. */
export interface StreamHandoffOptions {
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
  /** How long a conversation waits for its next stream. Default 60 s. */
  keepMs?: number;
  /** Where conversations also wait, for a next stream on another instance. */
  shared?: SharedCallState;
  /** Where a failed shared write or read is reported. */
  onError?: (error: unknown) => void;
}

/** Conversations between an outbound call's streams. */
export class StreamHandoff {
  #now: () => number;
  #keepMs: number;
  #shared: SharedCallState | undefined;
  #writes = new Set<Promise<void>>();
  #onError: (error: unknown) => void;
  /** Calls whose TwiML was replaced: their next stream continues the conversation. */
  #expected = new Map<string, number>();
  #waiting = new Map<string, HandedOver & { at: number }>();

  /** Creates an empty handoff. */
  constructor(options: StreamHandoffOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#keepMs = options.keepMs ?? 60_000;
    this.#shared = options.shared;
    this.#onError = options.onError ?? (() => {});
  }

  /** The call's TwiML is being replaced: keep its conversation when this stream ends. */
  expectNewStream(callSid: string): void {
    this.#expected.set(callSid, this.#now());
  }

  /** The replacement failed: the stream goes on. */
  cancel(callSid: string): void {
    this.#expected.delete(callSid);
  }

  /**
   * A stream ended: its conversation waits for the next stream when one is
   * expected (here, and in the shared store for another instance). Returns
   * whether one is expected; {@link StreamHandoff.idle} waits for the write.
   */
  streamEnded(
    callSid: string,
    entries: readonly ConversationEntry[],
    caller?: Readonly<Record<string, unknown>>,
  ): boolean {
    this.#forgetOld();
    if (!this.#expected.delete(callSid)) return false;
    const handedOver: HandedOver = {
      entries: [...entries],
      ...(caller !== undefined ? { caller } : {}),
    };
    this.#waiting.set(callSid, { ...handedOver, at: this.#now() });
    const write = this.#shared?.put("stream_handoff", callSid, handedOver, this.#keepMs)
      .catch(this.#onError);
    if (write !== undefined) {
      this.#writes.add(write);
      write.finally(() => this.#writes.delete(write));
    }
    return true;
  }

  /** Resolves when the shared writes under way are done. */
  async idle(): Promise<void> {
    await Promise.all([...this.#writes]);
  }

  /**
   * Before the upgrade of `callSid`'s next stream: brings its conversation
   * from the shared store when it waits on another instance. Undefined when
   * there is nothing to fetch.
   */
  bring(callSid: string): Promise<void> | undefined {
    if (this.#shared === undefined || this.#waiting.has(callSid)) return undefined;
    return this.#shared.get<HandedOver | ConversationEntry[]>("stream_handoff", callSid).then(
      (kept) => {
        if (kept === undefined) return;
        // An instance of the previous release kept the conversation alone.
        const handedOver = Array.isArray(kept) ? { entries: kept } : kept;
        this.#waiting.set(callSid, { ...handedOver, at: this.#now() });
      },
      this.#onError,
    );
  }

  /** The caller context the next stream of `callSid` carries on with (it stays for {@link resumeFor}). */
  callerOf(callSid: string): Readonly<Record<string, unknown>> | undefined {
    this.#forgetOld();
    return this.#waiting.get(callSid)?.caller;
  }

  /** The conversation a new stream of `callSid` continues (once), if any. */
  resumeFor(callSid: string): readonly ConversationEntry[] | undefined {
    this.#forgetOld();
    const waiting = this.#waiting.get(callSid);
    this.#waiting.delete(callSid);
    return waiting?.entries;
  }

  #forgetOld(): void {
    const cutoff = this.#now() - this.#keepMs;
    for (const [callSid, w] of this.#waiting) if (w.at < cutoff) this.#waiting.delete(callSid);
    for (const [callSid, at] of this.#expected) if (at < cutoff) this.#expected.delete(callSid);
  }
}
