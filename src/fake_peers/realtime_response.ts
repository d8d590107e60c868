/**
 * One assistant response as a Realtime (GA) server streams it, sans-IO: each
 * method returns the server events to send, in the order the live API sends
 * them, and keeps the response's output items, audio and usage.
 *
 * Per audio message item: `response.output_item.added`,
 * `conversation.item.added`, `response.content_part.added`,
 * `response.output_audio.delta`… / `response.output_audio_transcript.delta`…,
 * then `response.output_audio.done`, `response.output_audio_transcript.done`,
 * `response.content_part.done`, `response.output_item.done`,
 * `conversation.item.done`. Per function call: `response.output_item.added`,
 * `conversation.item.added`, `response.function_call_arguments.delta`,
 * `.done`, `response.output_item.done`, `conversation.item.done`. The
 * response starts with `response.created` and ends with one `response.done`
 * listing every item in `output` with a usage block.
 *
 * @example
 * ```ts
 * import { RealtimeConversation } from "./realtime_conversation.ts";
 * import { RealtimeResponse } from "./realtime_response.ts";
 * const response = new RealtimeResponse({
 *   conversation: new RealtimeConversation(),
 *   outputAudio: () => ({ format: { type: "audio/pcmu" }, voice: "marin" }),
 * });
 * const events = [...response.created()];
 * events.push(...response.openMessage("item_a").events);
 * events.push(...response.audio(new Uint8Array(800)));
 * events.push(...response.transcript("Hi."));
 * events.push(...response.functionCall("end_call", { reason: "done" }).events);
 * events.push(...response.finish());
 * const done = events.at(-1) as { type: string; response: { output: unknown[] } };
 * if (done.type !== "response.done" || done.response.output.length !== 2) {
 *   throw new Error("response.done lists both items");
 * }
 * ```
 *
 * @module
 */
import type { ConversationItem, RealtimeConversation } from "./realtime_conversation.ts";
import { realtimeId } from "./realtime_ids.ts";
import { encodeBase64 } from "../audio/base64.ts";
import { BYTES_PER_MS } from "../audio/frames.js";

/** A server event before its `event_id` is stamped (plain JSON). */
export type ServerEvent = { type: string; [key: string]: unknown };

/** Final status of {@link RealtimeResponse.finish}. */
export type FinishStatus = "completed" | "incomplete" | "failed";

/** Why a response was cancelled (`status_details.reason`). */
export type CancelReason = "turn_detected" | "client_cancelled";

/** Status of a response. */
export type ResponseStatus = "in_progress" | FinishStatus | "cancelled";

/** The input side of the usage block (what the prompt cost). */
export interface InputUsage {
  text_tokens: number;
  audio_tokens: number;
  cached_tokens: number;
}

/** A usage block with the fake server's figures (250 input tokens, 128 of them cached). */
export const FAKE_INPUT_USAGE: InputUsage = {
  text_tokens: 200,
  audio_tokens: 50,
  cached_tokens: 128,
};

/**
 * The `usage` of a done response: the input's tokens (cached ones text first)
 * and the output's text and audio tokens, as the GA `response.done` reports them.
 */
export function responseUsage(
  input: InputUsage,
  textTokens: number,
  audioTokens: number,
): Record<string, unknown> {
  const inputTokens = input.text_tokens + input.audio_tokens;
  return {
    total_tokens: inputTokens + audioTokens + textTokens,
    input_tokens: inputTokens,
    output_tokens: audioTokens + textTokens,
    input_token_details: {
      text_tokens: input.text_tokens,
      audio_tokens: input.audio_tokens,
      image_tokens: 0,
      cached_tokens: input.cached_tokens,
      cached_tokens_details: {
        text_tokens: Math.min(input.cached_tokens, input.text_tokens),
        audio_tokens: Math.max(0, input.cached_tokens - input.text_tokens),
        image_tokens: 0,
      },
    },
    output_token_details: { text_tokens: textTokens, audio_tokens: audioTokens },
  };
}

/** Options of {@link RealtimeResponse}. */
export interface RealtimeResponseOptions {
  /** The conversation the output items are added to (and audio counted in). */
  conversation: RealtimeConversation;
  /** The session's output audio now (read when `response.created` and `.done` are built). */
  outputAudio: () => { format: Record<string, unknown>; voice: string };
  /** Response id (default generated, `resp_…`). */
  id?: string;
  /** `conversation_id` reported (default `conv_fake`). */
  conversationId?: string;
  /** Input usage reported (default {@link FAKE_INPUT_USAGE}). */
  inputUsage?: InputUsage;
  /**
   * True when the server stops this response by itself when the caller
   * interrupts (speech with `interrupt_response`) or truncates one of its
   * items. Default false: the one who scripts it decides.
   */
  interruptible?: boolean;
}

/** The text tokens a function call is counted as in the usage block. */
const FUNCTION_CALL_TOKENS = 20;

/** An assistant response being built. */
export class RealtimeResponse {
  /** The response id (`resp_…`). */
  readonly id: string;
  /** Every output item, in output order (the objects are updated as items close). */
  readonly output: ConversationItem[] = [];
  /** See {@link RealtimeResponseOptions.interruptible}. */
  readonly interruptible: boolean;

  #conversation: RealtimeConversation;
  #outputAudio: RealtimeResponseOptions["outputAudio"];
  #conversationId: string;
  #inputUsage: InputUsage;
  #status: ResponseStatus = "in_progress";
  #statusDetails: unknown = null;
  #audioBytes = 0;
  #open: { itemId: string; index: number; previous: string | null; transcript: string } | undefined;
  #transcriptChars = 0;

  constructor(options: RealtimeResponseOptions) {
    this.id = options.id ?? realtimeId("resp");
    this.#conversation = options.conversation;
    this.#outputAudio = options.outputAudio;
    this.#conversationId = options.conversationId ?? "conv_fake";
    this.#inputUsage = options.inputUsage ?? FAKE_INPUT_USAGE;
    this.interruptible = options.interruptible ?? false;
  }

  /** `in_progress` until finished or cancelled. */
  get status(): ResponseStatus {
    return this.#status;
  }

  /** True once finished or cancelled. */
  get done(): boolean {
    return this.#status !== "in_progress";
  }

  /** Bytes of audio in this response. */
  get audioBytes(): number {
    return this.#audioBytes;
  }

  /** Id of the message item audio and transcript deltas go to, if one is open. */
  get openMessageId(): string | undefined {
    return this.#open?.itemId;
  }

  /** True when `itemId` is one of this response's output items. */
  hasItem(itemId: string): boolean {
    return this.output.some((item) => item.id === itemId);
  }

  /** `response.created` (status `in_progress`, empty output). */
  created(): ServerEvent[] {
    return [{ type: "response.created", response: this.#responseObject() }];
  }

  /**
   * Opens an assistant audio message item: `response.output_item.added`,
   * `conversation.item.added`, `response.content_part.added`. A message
   * already open is closed first (completed).
   */
  openMessage(itemId: string = realtimeId("item")): { itemId: string; events: ServerEvent[] } {
    if (this.done) return { itemId, events: [] };
    const events = this.#open ? this.closeMessage("completed") : [];
    const item: ConversationItem = {
      id: itemId,
      object: "realtime.item",
      type: "message",
      status: "in_progress",
      role: "assistant",
      content: [],
    };
    const { index, previous, added } = this.#addOutputItem(item);
    this.#open = { itemId, index, previous, transcript: "" };
    events.push(
      ...added,
      {
        type: "response.content_part.added",
        ...this.#partBase(),
        part: { type: "audio", transcript: "" },
      },
    );
    return { itemId, events };
  }

  /** `response.output_audio.delta` with `bytes` for the open message (none open: nothing). */
  audio(bytes: Uint8Array): ServerEvent[] {
    if (this.done || !this.#open) return [];
    this.#audioBytes += bytes.length;
    this.#conversation.countAudio(this.#open.itemId, bytes.length);
    return [{
      type: "response.output_audio.delta",
      ...this.#partBase(),
      delta: encodeBase64(bytes),
    }];
  }

  /** `response.output_audio_transcript.delta` for the open message (none open: nothing). */
  transcript(delta: string): ServerEvent[] {
    if (this.done || !this.#open) return [];
    this.#open.transcript += delta;
    this.#transcriptChars += delta.length;
    return [{ type: "response.output_audio_transcript.delta", ...this.#partBase(), delta }];
  }

  /** Closes the open message item with `status` (nothing open: nothing). */
  closeMessage(status: "completed" | "incomplete" = "completed"): ServerEvent[] {
    const open = this.#open;
    if (!open) return [];
    const base = this.#partBase();
    this.#open = undefined;
    const transcript = open.transcript;
    const item = this.output[open.index];
    item.status = status;
    item.content = [{ type: "output_audio", transcript }];
    return [
      { type: "response.output_audio.done", ...base },
      { type: "response.output_audio_transcript.done", ...base, transcript },
      { type: "response.content_part.done", ...base, part: { type: "audio", transcript } },
      {
        type: "response.output_item.done",
        response_id: this.id,
        output_index: open.index,
        item: { ...item },
      },
      { type: "conversation.item.done", previous_item_id: open.previous, item: { ...item } },
    ];
  }

  /**
   * A whole function-call item (an open message stays open, like a model that
   * calls a tool while speaking).
   *
   * @param args a JSON string or a value to stringify
   */
  functionCall(
    name: string,
    args: string | Record<string, unknown>,
    callId: string = realtimeId("call"),
    itemId: string = realtimeId("item"),
  ): { callId: string; itemId: string; events: ServerEvent[] } {
    if (this.done) return { callId, itemId, events: [] };
    const argumentsText = typeof args === "string" ? args : JSON.stringify(args);
    const item: ConversationItem = {
      id: itemId,
      object: "realtime.item",
      type: "function_call",
      status: "in_progress",
      name,
      call_id: callId,
      arguments: "",
    };
    const { index, previous, added } = this.#addOutputItem(item);
    const base = { response_id: this.id, item_id: itemId, output_index: index, call_id: callId };
    const events: ServerEvent[] = [
      ...added,
      { type: "response.function_call_arguments.delta", ...base, delta: argumentsText },
      { type: "response.function_call_arguments.done", ...base, name, arguments: argumentsText },
    ];
    item.status = "completed";
    item.arguments = argumentsText;
    events.push(
      {
        type: "response.output_item.done",
        response_id: this.id,
        output_index: index,
        item: { ...item },
      },
      { type: "conversation.item.done", previous_item_id: previous, item: { ...item } },
    );
    return { callId, itemId, events };
  }

  /**
   * Ends the response: closes the open message (`completed`, or `incomplete`
   * for any other status) and sends `response.done` with `status` and usage.
   */
  finish(status: FinishStatus = "completed"): ServerEvent[] {
    if (this.done) return [];
    const events = this.closeMessage(status === "completed" ? "completed" : "incomplete");
    const details = status === "completed"
      ? null
      : status === "incomplete"
      ? { type: "incomplete", reason: "max_output_tokens", error: null }
      : { type: "failed", reason: null, error: { type: "server_error", code: "server_error" } };
    events.push(...this.#end(status, details));
    return events;
  }

  /**
   * Cancels the response like the live server (barge-in or `response.cancel`):
   * the open message closes `incomplete`, nothing more is produced, and
   * `response.done` has status `cancelled` and `status_details.reason`.
   */
  cancel(reason: CancelReason = "turn_detected"): ServerEvent[] {
    if (this.done) return [];
    const events = this.closeMessage("incomplete");
    events.push(...this.#end("cancelled", { type: "cancelled", reason, error: null }));
    return events;
  }

  /** Adds an item to the output and the conversation: its two `…added` events. */
  #addOutputItem(
    item: ConversationItem,
  ): { index: number; previous: string | null; added: ServerEvent[] } {
    const index = this.output.length;
    this.output.push(item);
    const previous = this.#conversation.add(item);
    return {
      index,
      previous,
      added: [
        {
          type: "response.output_item.added",
          response_id: this.id,
          output_index: index,
          item: { ...item },
        },
        { type: "conversation.item.added", previous_item_id: previous, item: { ...item } },
      ],
    };
  }

  #partBase() {
    const open = this.#open!;
    return {
      response_id: this.id,
      item_id: open.itemId,
      output_index: open.index,
      content_index: 0,
    };
  }

  #end(status: Exclude<ResponseStatus, "in_progress">, details: unknown): ServerEvent[] {
    this.#status = status;
    this.#statusDetails = details;
    return [{ type: "response.done", response: this.#responseObject() }];
  }

  #responseObject(): Record<string, unknown> {
    const done = this.done;
    const audioTokens = Math.ceil(this.#audioBytes / BYTES_PER_MS / 50);
    const textTokens = Math.ceil(this.#transcriptChars / 4) +
      this.output.filter((item) => item.type === "function_call").length * FUNCTION_CALL_TOKENS;
    const input = this.#inputUsage;
    return {
      object: "realtime.response",
      id: this.id,
      status: this.#status,
      status_details: done ? this.#statusDetails : null,
      output: done ? this.output.map((item) => ({ ...item })) : [],
      conversation_id: this.#conversationId,
      output_modalities: ["audio"],
      max_output_tokens: "inf",
      audio: { output: this.#outputAudio() },
      usage: done ? responseUsage(input, textTokens, audioTokens) : null,
      metadata: null,
    };
  }
}
