/**
 * The conversation log: what was said in a call, turn by turn, as far as the
 * bridge can know it (transcripts of the caller when input transcription is
 * on, the assistant's output transcripts, tool calls and their outputs).
 *
 * It serves call records (the transcript of a call) and session renewal
 * (replaying the conversation into a new Realtime session as text items).
 *
 * @module
 */

/** One entry of the conversation, in the order the turns happened. */
export type ConversationEntry =
  | {
    kind: "user";
    itemId: string;
    /** The caller's words, when input transcription is on and has finished ("" for none). */
    transcript: string | undefined;
    /** Ms of audio transcribed, when the transcription reports its duration. */
    speechMs?: number;
    /**
     * What the model was given when the transcript shows less (keys the
     * caller pressed, masked in records): replayed into a new session.
     */
    modelText?: string;
    /** Time the turn was committed (ms, the core's clock). */
    at: number;
  }
  | {
    kind: "assistant";
    itemId: string;
    responseId: string;
    /**
     * What the caller heard the assistant say. After a barge-in this is the
     * part of the output transcript proportional to the audio heard
     * (approximate: transcripts carry no timing).
     */
    transcript: string | undefined;
    /** Whole ms the caller heard, when the item was truncated by a barge-in. */
    heardMs: number | undefined;
    at: number;
  }
  /**
   * Caller speech over the assistant that was not an interruption (too
   * short, no words, or only backchannels): the assistant went on from
   * `resumedAtMs` of item `resumedItemId`; the user item left the conversation.
   */
  | {
    kind: "false_interruption";
    itemId: string;
    /** `false` (too short or no words) or `backchannel` (only backchannel words). */
    verdict: "false" | "backchannel";
    /** The caller's words, when transcribed. */
    transcript: string | undefined;
    speechMs: number;
    /** The assistant item the caller was hearing, and where it went on from (ms). */
    resumedItemId: string | undefined;
    resumedAtMs: number | undefined;
    at: number;
  }
  | { kind: "function_call"; callId: string; name: string; arguments: string; at: number }
  | { kind: "function_call_output"; callId: string; output: string; at: number };

/**
 * How a caller turn whose transcription heard no words reads (records, live
 * view), from its length when reported.
 *
 * @example
 * ```ts
 * import { noWordsNote } from "./conversation_log.ts";
 * if (noWordsNote(800) !== "(0.8 s of speech, no words transcribed)") throw new Error();
 * ```
 */
export function noWordsNote(speechMs: number | undefined): string {
  return speechMs === undefined
    ? "(speech, no words transcribed)"
    : `(${(speechMs / 1000).toFixed(1)} s of speech, no words transcribed)`;
}

/** Token usage summed over the call's responses (from `response.done`). */
export interface TokenUsage {
  inputTextTokens: number;
  inputAudioTokens: number;
  inputCachedTokens: number;
  outputTextTokens: number;
  outputAudioTokens: number;
}

/** Maximum entries kept; the oldest are dropped beyond it. */
const MAX_ENTRIES = 2000;

function cutAtWord(text: string, ratio: number): string {
  if (ratio >= 1) return text;
  if (ratio <= 0) return "";
  const cut = Math.round(text.length * ratio);
  const space = text.lastIndexOf(" ", cut);
  return (space > 0 ? text.slice(0, space) : text.slice(0, cut)).trimEnd() + "…";
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0;
}

/**
 * Token counts of one `response.done` usage block (missing fields count 0).
 *
 * @example
 * ```ts
 * import { parseUsage } from "./conversation_log.ts";
 * const u = parseUsage({ output_token_details: { audio_tokens: 12 } });
 * if (u.outputAudioTokens !== 12 || u.inputTextTokens !== 0) throw new Error();
 * ```
 */
export function parseUsage(usage: Record<string, unknown> | undefined): TokenUsage {
  const input = (usage?.input_token_details ?? {}) as Record<string, unknown>;
  const output = (usage?.output_token_details ?? {}) as Record<string, unknown>;
  return {
    inputTextTokens: count(input.text_tokens),
    inputAudioTokens: count(input.audio_tokens),
    inputCachedTokens: count(input.cached_tokens),
    outputTextTokens: count(output.text_tokens),
    outputAudioTokens: count(output.audio_tokens),
  };
}

/**
 * The turns of one call.
 *
 * @example
 * ```ts
 * import { ConversationLog } from "./conversation_log.ts";
 * const log = new ConversationLog();
 * log.userItem("item_u1", 0);
 * log.userTranscript("item_u1", "What are your hours?");
 * log.assistantItem("item_a1", "resp_1", 10);
 * log.assistantTranscript("item_a1", "We are open nine to five.");
 * if (log.entries.length !== 2) throw new Error();
 * ```
 */
export class ConversationLog {
  #entries: ConversationEntry[] = [];
  #byItem = new Map<string, ConversationEntry>();
  /** Truncation ratios of assistant items whose transcript has not arrived yet. */
  #heardRatio = new Map<string, number>();
  #usage: TokenUsage = {
    inputTextTokens: 0,
    inputAudioTokens: 0,
    inputCachedTokens: 0,
    outputTextTokens: 0,
    outputAudioTokens: 0,
  };

  /** All entries, oldest first. */
  get entries(): readonly ConversationEntry[] {
    return this.#entries;
  }

  /** Tokens used so far. */
  get usage(): TokenUsage {
    return { ...this.#usage };
  }

  /** Number of caller turns. */
  get userTurns(): number {
    return this.#entries.filter((e) => e.kind === "user").length;
  }

  /** Number of assistant turns. */
  get assistantTurns(): number {
    return this.#entries.filter((e) => e.kind === "assistant").length;
  }

  /**
   * Continues the conversation of an earlier media stream of the same call
   * (Twilio opens a new stream after the bridge played keypad tones).
   */
  restore(entries: readonly ConversationEntry[]): void {
    for (const entry of entries) this.#push({ ...entry });
  }

  #push(entry: ConversationEntry): void {
    this.#entries.push(entry);
    if ("itemId" in entry) this.#byItem.set(entry.itemId, entry);
    if (this.#entries.length > MAX_ENTRIES) {
      const old = this.#entries.shift();
      if (old !== undefined && "itemId" in old) this.#byItem.delete(old.itemId);
    }
  }

  /** A caller turn was committed (`input_audio_buffer.committed`). */
  userItem(itemId: string, at: number): void {
    if (itemId === "" || this.#byItem.has(itemId)) return;
    this.#push({ kind: "user", itemId, transcript: undefined, at });
  }

  /**
   * A caller turn the bridge wrote (keys pressed): `shown` in the record,
   * `modelText` what the model got.
   */
  userText(itemId: string, at: number, shown: string, modelText: string): void {
    if (itemId === "" || this.#byItem.has(itemId)) return;
    this.#push({
      kind: "user",
      itemId,
      transcript: shown,
      ...(modelText !== shown ? { modelText } : {}),
      at,
    });
  }

  /** The caller's turn was transcribed (`speechMs`: the audio's length, when reported). */
  userTranscript(itemId: string, transcript: string, speechMs?: number): void {
    const entry = this.#byItem.get(itemId);
    if (entry?.kind === "user" || entry?.kind === "false_interruption") {
      entry.transcript = transcript.trim();
    }
    if (entry?.kind === "user" && speechMs !== undefined) entry.speechMs = speechMs;
  }

  /** Caller speech `itemId` was a false interruption: its turn (if logged) becomes one. */
  falseInterruption(
    itemId: string,
    details: Omit<Extract<ConversationEntry, { kind: "false_interruption" }>, "kind" | "itemId">,
  ): void {
    const entry: ConversationEntry = { kind: "false_interruption", itemId, ...details };
    const user = this.#byItem.get(itemId);
    if (user?.kind === "user") {
      entry.at = user.at;
      entry.transcript ??= user.transcript;
      const index = this.#entries.lastIndexOf(user);
      if (index >= 0) this.#entries[index] = entry;
      this.#byItem.set(itemId, entry);
      return;
    }
    if (user === undefined) this.#push(entry);
  }

  /** False interruptions so far. */
  get falseInterruptions(): number {
    return this.#entries.filter((e) => e.kind === "false_interruption").length;
  }

  /** An assistant item started (first audio or transcript). */
  assistantItem(itemId: string, responseId: string, at: number): void {
    if (itemId === "" || this.#byItem.has(itemId)) return;
    this.#push({
      kind: "assistant",
      itemId,
      responseId,
      transcript: undefined,
      heardMs: undefined,
      at,
    });
  }

  /** The assistant item's full output transcript arrived. */
  assistantTranscript(itemId: string, transcript: string): void {
    const entry = this.#byItem.get(itemId);
    if (entry?.kind !== "assistant") return;
    const ratio = this.#heardRatio.get(itemId);
    this.#heardRatio.delete(itemId);
    entry.transcript = ratio === undefined
      ? transcript.trim()
      : cutAtWord(transcript.trim(), ratio);
  }

  /** The assistant item was truncated at `heardMs` of `sentMs` by a barge-in. */
  assistantTruncated(itemId: string, heardMs: number, sentMs: number): void {
    const entry = this.#byItem.get(itemId);
    if (entry?.kind !== "assistant") return;
    entry.heardMs = heardMs;
    const ratio = sentMs > 0 ? heardMs / sentMs : 0;
    if (entry.transcript === undefined) this.#heardRatio.set(itemId, ratio);
    else entry.transcript = cutAtWord(entry.transcript, ratio);
  }

  /** The model called a tool. */
  functionCall(callId: string, name: string, args: string, at: number): void {
    this.#push({ kind: "function_call", callId, name, arguments: args, at });
  }

  /** The bridge answered a tool call. */
  functionCallOutput(callId: string, output: string, at: number): void {
    this.#push({ kind: "function_call_output", callId, output, at });
  }

  /** Adds a `response.done` usage block. */
  addUsage(usage: Record<string, unknown> | undefined): void {
    if (usage === undefined) return;
    const parsed = parseUsage(usage);
    this.#usage.inputTextTokens += parsed.inputTextTokens;
    this.#usage.inputAudioTokens += parsed.inputAudioTokens;
    this.#usage.inputCachedTokens += parsed.inputCachedTokens;
    this.#usage.outputTextTokens += parsed.outputTextTokens;
    this.#usage.outputAudioTokens += parsed.outputAudioTokens;
  }
}
