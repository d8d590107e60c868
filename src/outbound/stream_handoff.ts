/**
 * Carries an outbound call's conversation from one media stream to the next.
 * Playing keypad tones (`send_dtmf`) replaces the call's TwiML through REST:
 * Twilio stops the current stream, plays the digits, then opens a new stream
 * for the same CallSid. The old stream's conversation is kept here between
 * the two, so the new session continues it instead of starting over.
 *
 * In one process; the REST update, the old stream and the new one all run on
 * the instance that served the call (Twilio reconnects to the same
 * `PUBLIC_URL`; behind a load balancer, use sticky sessions by CallSid or
 * keep conversations in shared storage).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StreamHandoff } from "./stream_handoff.ts";
 * const handoff = new StreamHandoff({ now: () => 0 });
 * handoff.expectNewStream("CA1");
 * handoff.streamEnded("CA1", [{ kind: "user", itemId: "i1", transcript: "Press 1 for sales", at: 0 }]);
 * assert.equal(handoff.resumeFor("CA1")?.length, 1);
 * assert.equal(handoff.resumeFor("CA1"), undefined); // once
 * ```
 *
 * @module
 */
import type { ConversationEntry } from "../core/conversation_log.ts";

/** Options of {@link StreamHandoff}. */
export interface StreamHandoffOptions {
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
  /** How long a conversation waits for its next stream. Default 60 s. */
  keepMs?: number;
}

/** Conversations between an outbound call's streams. */
export class StreamHandoff {
  #now: () => number;
  #keepMs: number;
  /** Calls whose TwiML was replaced: their next stream continues the conversation. */
  #expected = new Map<string, number>();
  #waiting = new Map<string, { entries: readonly ConversationEntry[]; at: number }>();

  /** Creates an empty handoff. */
  constructor(options: StreamHandoffOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#keepMs = options.keepMs ?? 60_000;
  }

  /** The call's TwiML is being replaced: keep its conversation when this stream ends. */
  expectNewStream(callSid: string): void {
    this.#expected.set(callSid, this.#now());
  }

  /** The replacement failed: the stream goes on. */
  cancel(callSid: string): void {
    this.#expected.delete(callSid);
  }

  /** A stream ended: its conversation waits for the next stream when one is expected. */
  streamEnded(callSid: string, entries: readonly ConversationEntry[]): void {
    this.#forgetOld();
    if (!this.#expected.delete(callSid)) return;
    this.#waiting.set(callSid, { entries: [...entries], at: this.#now() });
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
