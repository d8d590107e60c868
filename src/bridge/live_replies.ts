/**
 * GPT-Live's replies, read from its output track (sans-IO): the output is
 * one continuous track for the life of the session, silent between replies
 * and without ids [SDK][TRV in `/work/shared/gpt-live-protocol.md` §5], so a
 * reply starts with the first audible delta and ends after
 * {@link QUIET_END_MS} of silence. The caller's words
 * (`session.input_transcript.delta`) arriving while the model speaks, then
 * the track going quiet, is the model yielding (there is no yield event,
 * §7): the core hears `input_audio_buffer.speech_started` on that very delta,
 * so it clears Twilio's queue at once, and the reply ends `cancelled`. Words
 * followed by {@link TALKED_ON_MS} more speech were a backchannel. An empty
 * or whitespace transcript is no words: never a barge-in.
 *
 * The model's state:
 *
 * ```mermaid
 * stateDiagram-v2
 *   [*] --> quiet
 *   quiet --> speaking: an audible delta (response.created)
 *   speaking --> quiet: 500 ms of silence, silence after the caller's words, or the session closed
 * ```
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LiveReplies } from "./live_replies.ts";
 * import { encodeBase64 } from "../audio/base64.ts";
 * import type { ServerEvent } from "../openai/server_events.ts";
 * let n = 0;
 * const replies = new LiveReplies({
 *   id: (kind) => `${kind}_${++n}`,
 *   responseDone: (responseId, status) =>
 *     ({ type: "response.done", responseId, status, errorCode: undefined, usage: undefined }),
 * });
 * const events: ServerEvent[] = [];
 * replies.audio(encodeBase64(new Uint8Array(800).fill(0xff)), events); // the silent track: nothing
 * replies.audio(encodeBase64(new Uint8Array(800).fill(0x21)), events);
 * assert.deepEqual(events.map((e) => e.type), ["response.created", "response.output_audio.delta"]);
 * assert.equal(replies.state, "speaking");
 * ```
 *
 * @module
 */
import type { ServerEvent } from "../openai/server_events.ts";
import { checkMove, type MoveTable } from "../core/state_moves.ts";
import { BYTES_PER_MS } from "../audio/frames.js";
import { type Base64, decodeBase64 } from "../audio/base64.ts";

/** Ms of silent output that end a reply. */
export const QUIET_END_MS = 500;
/** Ms of audible output after the caller's words that show the model talked on (a backchannel). */
export const TALKED_ON_MS = 800;

/** Whether the model is in a reply. */
export type ReplyState = "quiet" | "speaking";

/** The allowed moves of {@link ReplyState} (checked on each move). */
export const REPLY_MOVES: MoveTable<ReplyState> = {
  quiet: ["speaking"],
  speaking: ["quiet"],
};

/** What the replies need from their session's adapter. */
export interface LiveRepliesOptions {
  /** A new id of `kind` (unique in the call). */
  id(kind: string): string;
  /** The `response.done` of `responseId` (with the backend usage not yet reported). */
  responseDone(responseId: string, status: string): ServerEvent;
}

/** The model's replies and the caller's words of one session (see the module doc). */
export class LiveReplies {
  #o: LiveRepliesOptions;
  #state: ReplyState = "quiet";
  /** The reply being spoken. */
  #reply: { responseId: string; itemId: string; quietMs: number; transcript: string } | undefined;
  /** The model's words that arrived between replies (they open the next one). */
  #early = "";
  /** The caller's words since the model's last reply started, and the ms of speech they span. */
  #caller: { itemId: string; text: string; announced: boolean; speechMs: number } | undefined;
  /** Audible ms the model spoke since the caller's words arrived over its reply; undefined: none. */
  #overlapMs: number | undefined;

  /** Creates the replies of one session. */
  constructor(options: LiveRepliesOptions) {
    this.#o = options;
  }

  /** Whether the model is in a reply. */
  get state(): ReplyState {
    return this.#state;
  }

  /** The model's words (`session.output_transcript.delta`). */
  outputTranscript(delta: string): void {
    // Words between replies open the next one (the track has no ids to tell otherwise).
    if (this.#reply !== undefined) this.#reply.transcript += delta;
    else this.#early += delta;
  }

  /** The session closed: a reply under way ends `incomplete`. */
  close(events: ServerEvent[]): void {
    if (this.#reply !== undefined) this.#endReply("incomplete", events);
  }

  #move(to: ReplyState): void {
    checkMove("GPT-Live reply", REPLY_MOVES, this.#state, to);
    this.#state = to;
  }

  /** One delta of the output track. */
  audio(delta: Base64, events: ServerEvent[]): void {
    const { ms, audible } = measure(delta);
    if (this.#reply === undefined) {
      if (!audible) return; // the track between replies
      this.#startReply(events);
    }
    const reply = this.#reply!;
    if (audible) {
      reply.quietMs = 0;
      if (this.#overlapMs !== undefined) {
        this.#overlapMs += ms;
        if (this.#overlapMs >= TALKED_ON_MS) this.#overlapMs = undefined; // a backchannel
      }
      events.push({
        type: "response.output_audio.delta",
        responseId: reply.responseId,
        itemId: reply.itemId,
        delta,
      });
      return;
    }
    if (this.#overlapMs !== undefined) {
      // The caller spoke over the reply and the model went quiet: it yielded.
      this.#overlapMs = undefined;
      this.#announceCaller(events);
      this.#endReply("cancelled", events);
      return;
    }
    reply.quietMs += ms;
    events.push({
      type: "response.output_audio.delta",
      responseId: reply.responseId,
      itemId: reply.itemId,
      delta,
    });
    if (reply.quietMs >= QUIET_END_MS) this.#endReply("completed", events);
  }

  #startReply(events: ServerEvent[]): void {
    this.#move("speaking");
    this.closeCallerTurn(events);
    this.#reply = {
      responseId: this.#o.id("resp"),
      itemId: this.#o.id("item"),
      quietMs: 0,
      transcript: this.#early,
    };
    this.#early = "";
    events.push({ type: "response.created", responseId: this.#reply.responseId });
  }

  #endReply(status: "completed" | "cancelled" | "incomplete", events: ServerEvent[]): void {
    const reply = this.#reply!;
    this.#move("quiet");
    this.#reply = undefined;
    this.#overlapMs = undefined;
    events.push({
      type: "response.output_audio.done",
      responseId: reply.responseId,
      itemId: reply.itemId,
    });
    if (reply.transcript !== "") {
      events.push({
        type: "response.output_audio_transcript.done",
        responseId: reply.responseId,
        itemId: reply.itemId,
        transcript: reply.transcript,
      });
    }
    events.push(this.#o.responseDone(reply.responseId, status));
  }

  /**
   * The caller's words arrived (`session.input_transcript.delta`), spanning
   * `speechMs` of the session timeline (`end_ms - start_ms`). An empty or
   * whitespace delta is no words (noise, or a stand-in that does not
   * transcribe): it never makes a barge-in nor starts the caller's turn; it
   * only adds its length to the turn.
   */
  callerWords(delta: string, events: ServerEvent[], speechMs = 0): void {
    this.#caller ??= { itemId: this.#o.id("caller"), text: "", announced: false, speechMs: 0 };
    this.#caller.text += delta;
    this.#caller.speechMs += Math.max(0, speechMs);
    if (delta.trim() === "") return;
    if (this.#state === "speaking") {
      // Over the model's reply: a barge-in only if the model yields (goes quiet).
      this.#overlapMs ??= 0;
      return;
    }
    this.#announceCaller(events);
  }

  /** The caller's turn is under way (the core hears speech start: it clears what plays). */
  #announceCaller(events: ServerEvent[]): void {
    const caller = this.#caller;
    if (caller === undefined || caller.announced) return;
    caller.announced = true;
    events.push({
      type: "input_audio_buffer.speech_started",
      audioStartMs: 0,
      itemId: caller.itemId,
    });
  }

  /** The model starts a reply: the caller's words so far are one finished turn. */
  closeCallerTurn(events: ServerEvent[]): void {
    const caller = this.#caller;
    if (caller === undefined) return;
    this.#caller = undefined;
    this.#announceCaller(events);
    events.push(
      { type: "input_audio_buffer.speech_stopped", audioEndMs: 0, itemId: caller.itemId },
      { type: "input_audio_buffer.committed", itemId: caller.itemId },
      {
        type: "conversation.item.input_audio_transcription.completed",
        itemId: caller.itemId,
        transcript: caller.text.trim(),
        // A turn without words reports its length (the live view and the record show it).
        ...(caller.text.trim() === "" && caller.speechMs > 0 ? { audioMs: caller.speechMs } : {}),
      },
    );
  }
}

/**
 * The length of a base64 μ-law chunk (8 bytes a ms) and whether any sample
 * is above a whisper: μ-law 0xFF/0x7F are ±0; the inverted low 7 bits grow
 * with loudness.
 */
export function measure(delta: string): { ms: number; audible: boolean } {
  const bytes = decodeBase64(delta);
  if (bytes === undefined) return { ms: 0, audible: false };
  let audible = false;
  for (let i = 0; i < bytes.length; i++) {
    if ((~bytes[i] & 0x7f) > 2) {
      audible = true;
      break;
    }
  }
  return { ms: bytes.length / BYTES_PER_MS, audible };
}
