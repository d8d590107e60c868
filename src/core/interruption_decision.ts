/**
 * The interruption decision: is the caller's speech over the assistant a
 * real interruption, or a false one (a cough, a "mm-hmm", a car horn) after
 * which the assistant should go on where it was?
 *
 * The bridge configures server VAD with `interrupt_response: false` and
 * `create_response: false`, so the server neither cancels nor answers on its
 * own: this collaborator decides. Speech is measured as the live API reports
 * it: `speech_started.audio_start_ms` includes `prefix_padding_ms` and
 * `speech_stopped.audio_end_ms` includes `silence_duration_ms`, so the speech
 * itself lasted about `end − start − prefix − silence`.
 *
 * - Shorter than `minSpeechMs` with no words besides backchannels (or no
 *   words at all): **false**.
 * - Words that are all backchannels ("mm-hmm", "okay", …): **backchannel**
 *   (false too). Words are only waited for while the speech is short enough
 *   to be one ({@link BACKCHANNEL_MAX_MS}), and at most
 *   {@link WORDS_WAIT_MS} after `speech_stopped`, so a resumed sentence
 *   still reaches the caller within 400 ms; without input transcription the
 *   duration alone decides.
 * - Otherwise **real**; speech that goes on past the bound is real before it
 *   stops (a timer), so a real interruption is not held up by the VAD's
 *   silence.
 *
 * Speech over uninterruptible speech (a greeting marked so, a tool output
 * flagged `speak_uninterrupted`, a consent line) is `protected`: the same
 * verdict, but the assistant was never stopped; a real one is answered
 * after.
 *
 * The moves are {@link INTERRUPTION_MOVES}, checked on each
 * (`state_moves.ts`); `tests/state_diagrams_test.ts` holds the table and this
 * diagram together.
 *
 * ```mermaid
 * stateDiagram-v2
 *   [*] --> idle
 *   idle --> speaking_over: speech_started over interruptible speech
 *   idle --> protected: speech_started over uninterruptible speech
 *   speaking_over --> idle: decided (stopped, or still speaking past the bound)
 *   speaking_over --> awaiting_words: stopped, short enough to be a backchannel
 *   protected --> idle: decided
 *   protected --> awaiting_words: stopped, short enough to be a backchannel
 *   awaiting_words --> idle: words, or the wait is over
 * ```
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InterruptionDecision } from "./interruption_decision.ts";
 * const decide = new InterruptionDecision({
 *   minSpeechMs: 250, backchannels: ["mm-hmm", "okay"], mode: "cut",
 *   transcription: false, prefixPaddingMs: 300, silenceDurationMs: 500,
 * });
 * decide.speechStarted({ now: 1000, audioStartMs: 700, itemId: "item_u", over: "interruptible" });
 * assert.equal(decide.stage, "speaking_over");
 * // 200 ms of speech: 700 + 300 (prefix) + 200 + 500 (silence).
 * const step = decide.speechStopped({ now: 1700, audioEndMs: 1700 });
 * assert.equal(step.verdict?.kind, "false");
 * assert.equal(step.verdict?.speechMs, 200);
 * assert.equal(decide.stage, "idle");
 * ```
 *
 * @module
 */
import { checkMove, type MoveTable } from "./state_moves.ts";

/** Speech longer than this is real whatever its words (no "mm-hmm" lasts a second). */
export const BACKCHANNEL_MAX_MS = 1000;
/** Ms after `speech_stopped` the decision waits for the words of short speech. */
export const WORDS_WAIT_MS = 250;

/** Where the decision stands. */
export type InterruptionStage =
  /** No caller speech over the assistant. */
  | "idle"
  /** The caller speaks over interruptible speech (cut mode: its audio is held). */
  | "speaking_over"
  /** The caller speaks over speech that may not be interrupted. */
  | "protected"
  /** The caller stopped; short enough to be a backchannel: waiting for the words. */
  | "awaiting_words";

/** The allowed moves between the stages (the diagram above). */
export const INTERRUPTION_MOVES: MoveTable<InterruptionStage> = {
  idle: ["speaking_over", "protected"],
  speaking_over: ["idle", "awaiting_words"],
  protected: ["idle", "awaiting_words"],
  awaiting_words: ["idle"],
};

/** How interruptions are decided (per agent, see `interruptions:` in the agents file). */
export interface InterruptionSettings {
  /** Speech shorter than this (with no other words than backchannels) is not an interruption. */
  minSpeechMs: number;
  /** Words and short phrases that never interrupt. */
  backchannels: readonly string[];
  /** `cut`: stop the audio at once and resume on a false one; `confirm`: keep talking until real. */
  mode: "cut" | "confirm";
  /** Input transcription is on: words can be waited for. */
  transcription: boolean;
  /** The VAD's `prefix_padding_ms` (included in `audio_start_ms`). */
  prefixPaddingMs: number;
  /** The VAD's `silence_duration_ms` (included in `audio_end_ms`). */
  silenceDurationMs: number;
  /**
   * semantic_vad: `speech_stopped` comes when the model decides the turn is
   * over (up to seconds after the speech), so the duration says little. No
   * timer decides while the caller speaks, and with transcription the words
   * decide whatever the length (waited for as above). Default false.
   */
  semanticVad?: boolean;
}

/** What the caller's speech was. */
export type VerdictKind = "real" | "false" | "backchannel";

/** The decision about one stretch of caller speech. */
export interface Verdict {
  kind: VerdictKind;
  /** The user item the VAD commits for it. */
  itemId: string;
  /** Speech length (ms); a lower bound when decided while still speaking. */
  speechMs: number;
  /** The words, when transcribed in time. */
  words: string | undefined;
  /** The speech was over uninterruptible speech (nothing was stopped). */
  protected: boolean;
  /** When the speech started (the core's clock). */
  startedAt: number;
  /** The caller is still speaking (decided by the timer). */
  stillSpeaking: boolean;
}

/** What one input produced: a verdict, and the decision timer to (re)set or cancel. */
export interface DecisionStep {
  verdict?: Verdict;
  /** Set the decision timer to fire this many ms from now. */
  timerMs?: number;
  /** Cancel the decision timer. */
  cancelTimer?: boolean;
}

interface Span {
  itemId: string;
  startedAt: number;
  audioStartMs: number;
  protected: boolean;
  speechMs: number | undefined;
  words: string | undefined;
}

/** Lower case, no punctuation, hyphens joined ("Mm-hmm." → "mmhmm"). */
function normalizeWords(text: string): string {
  return text.toLowerCase().replace(/[-‐‑]/g, "").replace(/[^\p{L}\p{N}']+/gu, " ").trim()
    .replace(/\s+/g, " ");
}

/**
 * Whether `words` are only backchannels from `list` (one or several, e.g.
 * "Yeah, okay."); false for no words.
 */
export function onlyBackchannels(words: string, list: readonly string[]): boolean {
  const tokens = normalizeWords(words).split(" ").filter((t) => t !== "");
  if (tokens.length === 0) return false;
  const phrases = list.map((p) => normalizeWords(p).split(" ")).filter((p) => p[0] !== "");
  // covered[i]: tokens[0..i) can be split into phrases of the list.
  const covered = [true, ...tokens.map(() => false)];
  for (let i = 0; i < tokens.length; i++) {
    if (!covered[i]) continue;
    for (const phrase of phrases) {
      if (phrase.every((word, k) => tokens[i + k] === word)) covered[i + phrase.length] = true;
    }
  }
  return covered[tokens.length];
}

/** The interruption decision of one call. */
export class InterruptionDecision {
  #settings: InterruptionSettings;
  #stage: InterruptionStage = "idle";
  #span: Span | undefined;

  /** Creates the decision with its settings. */
  constructor(settings: InterruptionSettings) {
    this.#settings = settings;
  }

  /** The settings in use. */
  get settings(): Readonly<InterruptionSettings> {
    return this.#settings;
  }

  /** Where the decision stands. */
  get stage(): InterruptionStage {
    return this.#stage;
  }

  /** The user item of the speech being decided, if any. */
  get itemId(): string | undefined {
    return this.#span?.itemId;
  }

  /** Whether the speech being decided is over uninterruptible speech. */
  get protected(): boolean {
    return this.#span?.protected === true;
  }

  #move(to: InterruptionStage): void {
    checkMove("interruption decision", INTERRUPTION_MOVES, this.#stage, to);
    this.#stage = to;
  }

  /** The longest speech that can still be a backchannel (words are worth waiting for). */
  get #wordsBound(): number {
    const s = this.#settings;
    if (!s.transcription) return s.minSpeechMs;
    return s.semanticVad ? Number.POSITIVE_INFINITY : Math.max(BACKCHANNEL_MAX_MS, s.minSpeechMs);
  }

  /**
   * The caller started speaking over the assistant (`over`), at `now`. Any
   * speech still waiting for its words is decided first (by its duration).
   */
  speechStarted(
    input: {
      now: number;
      audioStartMs: number;
      itemId: string;
      over: "interruptible" | "protected";
    },
  ): DecisionStep {
    const earlier = this.#stage === "awaiting_words" ? this.#decide(false) : undefined;
    this.#span = {
      itemId: input.itemId,
      startedAt: input.now,
      audioStartMs: input.audioStartMs,
      protected: input.over === "protected",
      speechMs: undefined,
      words: undefined,
    };
    this.#move(input.over === "protected" ? "protected" : "speaking_over");
    const verdict = earlier !== undefined ? { verdict: earlier } : {};
    if (this.#settings.semanticVad) return verdict; // decided when the VAD says the turn ended
    // Still speaking once this much time has passed: longer than the bound.
    return { ...verdict, timerMs: this.#wordsBound + this.#settings.silenceDurationMs };
  }

  /** The VAD heard the caller stop (`audio_end_ms`) at `now`. */
  speechStopped(input: { now: number; audioEndMs: number }): DecisionStep {
    const span = this.#span;
    if (span === undefined || (this.#stage !== "speaking_over" && this.#stage !== "protected")) {
      return {};
    }
    const s = this.#settings;
    span.speechMs = Math.max(
      0,
      input.audioEndMs - span.audioStartMs - s.prefixPaddingMs - s.silenceDurationMs,
    );
    if (span.words !== undefined || !s.transcription || span.speechMs >= this.#wordsBound) {
      return { verdict: this.#decide(false), cancelTimer: true };
    }
    this.#move("awaiting_words");
    return { timerMs: WORDS_WAIT_MS };
  }

  /** The words of user item `itemId` are in (input transcription). */
  words(itemId: string, transcript: string): DecisionStep {
    const span = this.#span;
    if (span === undefined || span.itemId !== itemId) return {};
    span.words = transcript;
    if (this.#stage !== "awaiting_words") return {};
    return { verdict: this.#decide(false), cancelTimer: true };
  }

  /** The decision timer fired: the caller is still speaking past the bound, or the words are late. */
  timer(now: number): DecisionStep {
    const span = this.#span;
    if (span === undefined || this.#stage === "idle") return {};
    if (this.#stage === "awaiting_words") return { verdict: this.#decide(false) };
    span.speechMs = Math.max(0, now - span.startedAt - this.#settings.silenceDurationMs);
    return { verdict: this.#decide(true) };
  }

  /** Forgets the speech being decided (the session was replaced, or the call is ending). */
  reset(): void {
    this.#span = undefined;
    this.#stage = "idle";
  }

  #decide(stillSpeaking: boolean): Verdict {
    const span = this.#span as Span;
    const speechMs = span.speechMs ?? 0;
    const words = span.words;
    let kind: VerdictKind;
    if (stillSpeaking) kind = "real";
    else if (words !== undefined && onlyBackchannels(words, this.#settings.backchannels)) {
      kind = "backchannel";
    } else if (words !== undefined && normalizeWords(words) !== "") {
      kind = "real";
    } else if (words !== undefined) kind = "false"; // transcribed: no words at all
    else kind = speechMs < this.#settings.minSpeechMs ? "false" : "real";
    this.#move("idle");
    this.#span = undefined;
    return {
      kind,
      itemId: span.itemId,
      speechMs: Math.round(speechMs),
      words,
      protected: span.protected,
      startedAt: span.startedAt,
      stillSpeaking,
    };
  }
}
