/**
 * Interruptions decided by the bridge: the rule that spans the collaborators
 * when the session runs server VAD with `interrupt_response: false` and
 * `create_response: false` (see {@link InterruptionDecision} for the
 * decision itself).
 *
 * - The caller starts speaking over interruptible speech: in `cut` mode the
 *   audio stops at once (Twilio `clear`) but is kept ({@link
 *   AssistantAudio.hold}); in `confirm` mode it keeps playing. Nothing goes
 *   upstream yet.
 * - **Real**: the interruption is committed upstream (`response.cancel`,
 *   `conversation.item.truncate` at what was heard) and the caller's turn is
 *   answered (`response.create` once committed).
 * - **False** (too short, no words, only backchannels): the rest of the
 *   answer plays from where the caller stopped hearing it, no truncate, no
 *   response to the noise, and its user item is deleted from the
 *   conversation (`conversation.item.delete`); the log keeps it as a false
 *   interruption.
 * - Over uninterruptible speech nothing stops; a real turn is answered after
 *   it, a false one is dropped.
 * - Any other caller turn (nothing playing) is answered once committed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCallParts } from "./call_parts.ts";
 * import { encodeBase64 } from "../audio/base64.ts";
 * import type { TwilioSid } from "../twilio/media_stream_messages.ts";
 * import { Interruptions } from "./interruptions.ts";
 * const parts = createCallParts({
 *   sessionUpdate: { type: "session.update", session: {} },
 *   interruptions: { minSpeechMs: 250, backchannels: ["mm-hmm"], mode: "cut",
 *     transcription: false, prefixPaddingMs: 300, silenceDurationMs: 500 },
 * });
 * const session = parts.sessions.opened(parts.sessions.begin()) && parts.sessions.live()!;
 * const interruptions = new Interruptions(parts);
 * parts.audio.attach("MZ1" as TwilioSid, 0); // a SID as the parser checked it
 * parts.responses.created("resp_1");
 * parts.audio.delta("resp_1", "item_a", encodeBase64(new Uint8Array(8000).fill(0x55)), 0); // 1 s of audio
 * parts.out.take(); // the audio went to Twilio
 * parts.now = 300;
 * interruptions.speechStarted(session, "item_u", 0);
 * const toTwilio = parts.out.take().flatMap((c) => c.type === "to_twilio" ? [c.message.event] : []);
 * assert.deepEqual(toTwilio, ["clear"]); // cut at once, nothing upstream yet
 * parts.now = 1000; // 200 ms of speech: 0 + 300 + 200 + 500
 * interruptions.speechStopped(session, 1000);
 * const resumed = parts.out.take().filter((c) => c.type === "to_twilio" && c.message.event === "media");
 * assert.ok(resumed.length > 0); // the rest of the answer, from 300 ms on
 * ```
 *
 * @module
 */
import { cancelResponse, deleteItem } from "../openai/client_events.ts";
import { commitCut } from "./barge_in.ts";
import type { CallParts } from "./call_parts.ts";
import {
  type DecisionStep,
  InterruptionDecision,
  type InterruptionSettings,
  type Verdict,
} from "./interruption_decision.ts";
import type { LiveSession } from "./session_lifecycle.ts";
import { answerTurn } from "./response_requests.ts";

const MAX_REMEMBERED = 16;

function remember(set: Set<string>, value: string): void {
  set.add(value);
  if (set.size > MAX_REMEMBERED) set.delete(set.values().next().value as string);
}

/** The bridge's interruption handling of one call. */
export class Interruptions {
  #p: CallParts;
  #decision: InterruptionDecision;
  /** User items committed by the VAD (recent ones). */
  #committed = new Set<string>();
  /** User items to answer once committed. */
  #answerOnCommit = new Set<string>();
  /** User items to delete once committed (false interruptions). */
  #deleteOnCommit = new Set<string>();
  /** Where the caller was in the assistant's answer when the held speech began. */
  #heldAt: { itemId: string; heardMs: number } | undefined;

  /** Creates the rule over `parts` (whose options carry the settings). */
  constructor(parts: CallParts) {
    this.#p = parts;
    this.#decision = new InterruptionDecision(parts.options.interruptions as InterruptionSettings);
  }

  /** The decision collaborator (read-only use: its stage). */
  get decision(): InterruptionDecision {
    return this.#decision;
  }

  /** `input_audio_buffer.speech_started` of user item `itemId`. */
  speechStarted(session: LiveSession, itemId: string, audioStartMs: number): void {
    const p = this.#p;
    if (p.ending.ending) {
      p.out.log("debug", "Caller speech during the farewell is ignored.");
      return;
    }
    const stage = this.#decision.stage;
    if (stage === "speaking_over" || stage === "protected") return; // already deciding
    const busy = p.responses.active !== undefined || p.audio.busy(p.now);
    if (!busy && stage !== "awaiting_words") {
      this.#answerWhenCommitted(itemId); // a plain turn
      return;
    }
    const active = p.responses.active;
    const protectedSpeech = !p.options.interruptResponse || p.audio.protectedPlaying(p.now) ||
      (active !== undefined && p.responses.uninterruptible(active));
    const step = this.#decision.speechStarted({
      now: p.now,
      audioStartMs,
      itemId,
      over: protectedSpeech ? "protected" : "interruptible",
    });
    this.#apply(session, step);
    if (!protectedSpeech && this.#decision.settings.mode === "cut" && !p.audio.holding) {
      const heard = p.audio.heardNow(p.now);
      if (p.audio.hold(p.now)) this.#heldAt = heard;
    }
  }

  /** `input_audio_buffer.speech_stopped` at `audioEndMs`. */
  speechStopped(session: LiveSession, audioEndMs: number): void {
    this.#apply(session, this.#decision.speechStopped({ now: this.#p.now, audioEndMs }));
  }

  /** `input_audio_buffer.committed`: user item `itemId` is in the conversation. */
  committed(session: LiveSession, itemId: string): void {
    remember(this.#committed, itemId);
    if (this.#deleteOnCommit.delete(itemId)) {
      this.#dismiss(session, itemId);
    } else if (this.#answerOnCommit.delete(itemId)) {
      answerTurn(this.#p);
    }
  }

  /** The words of user item `itemId` (input transcription). */
  words(session: LiveSession, itemId: string, transcript: string): void {
    this.#apply(session, this.#decision.words(itemId, transcript));
  }

  /** The decision timer fired. */
  timer(session: LiveSession): void {
    this.#apply(session, this.#decision.timer(this.#p.now));
  }

  /**
   * The session is being replaced or the call ends: a speech still being
   * decided counts as false (the held answer goes on), nothing is owed upstream.
   */
  reset(): void {
    this.#decision.reset();
    this.#p.out.cancelTimer("interruption");
    if (this.#p.audio.holding) this.#p.audio.resume(this.#p.now);
    this.#heldAt = undefined;
    this.#answerOnCommit.clear();
    this.#deleteOnCommit.clear();
  }

  #answerWhenCommitted(itemId: string): void {
    if (this.#committed.has(itemId)) answerTurn(this.#p);
    else remember(this.#answerOnCommit, itemId);
  }

  #apply(session: LiveSession, step: DecisionStep): void {
    if (step.cancelTimer) this.#p.out.cancelTimer("interruption");
    if (step.verdict !== undefined) this.#verdict(session, step.verdict);
    if (step.timerMs !== undefined) this.#p.out.setTimer("interruption", step.timerMs);
  }

  #verdict(session: LiveSession, verdict: Verdict): void {
    const p = this.#p;
    p.out.observe({
      kind: "interruption",
      verdict: verdict.kind,
      speechMs: verdict.speechMs,
      protected: verdict.protected,
    });
    const details = {
      itemId: verdict.itemId,
      verdict: verdict.kind,
      speechMs: verdict.speechMs,
      words: verdict.words?.slice(0, 80),
    };
    if (verdict.kind === "real") {
      p.out.log("info", "The caller interrupted the assistant.", details);
      if (!verdict.protected) this.#commit(session);
      this.#answerWhenCommitted(verdict.itemId);
      return;
    }
    p.out.log("info", "False interruption: the assistant goes on.", details);
    const heldAt = this.#heldAt;
    this.#heldAt = undefined;
    if (p.audio.holding) p.audio.resume(p.now);
    p.conversation.falseInterruption(verdict.itemId, {
      verdict: verdict.kind,
      transcript: verdict.words?.trim(),
      speechMs: verdict.speechMs,
      resumedItemId: heldAt?.itemId,
      resumedAtMs: heldAt?.heardMs,
      at: verdict.startedAt,
    });
    p.out.observe({
      kind: "false_interruption",
      itemId: verdict.itemId,
      verdict: verdict.kind,
      speechMs: verdict.speechMs,
      ...(verdict.words !== undefined ? { text: verdict.words.trim() } : {}),
      ...(heldAt !== undefined
        ? { resumedItemId: heldAt.itemId, resumedAtMs: heldAt.heardMs }
        : {}),
    });
    this.#answerOnCommit.delete(verdict.itemId);
    if (this.#committed.has(verdict.itemId)) this.#dismiss(session, verdict.itemId);
    else remember(this.#deleteOnCommit, verdict.itemId);
  }

  /**
   * A false interruption's user item leaves the conversation, and the caller's
   * turn owes nothing (a new session must not answer it either).
   */
  #dismiss(session: LiveSession, itemId: string): void {
    this.#p.out.toOpenAI(session, deleteItem(itemId));
    if (this.#p.turn.lastCommitted === itemId) this.#p.turn.answered();
  }

  /** A real interruption: stop the response upstream and truncate what was not heard. */
  #commit(session: LiveSession): void {
    const p = this.#p;
    this.#heldAt = undefined;
    const active = p.responses.active;
    if (active !== undefined) {
      p.audio.dropResponse(active);
      p.out.toOpenAI(session, cancelResponse(active));
      p.responses.cancelled();
    }
    const cut = p.audio.holding ? p.audio.commitHold() : p.audio.bargeIn(p.now);
    if (cut !== undefined) commitCut(p, session, cut);
  }
}
