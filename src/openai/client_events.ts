/**
 * The OpenAI Realtime (GA) client events the bridge sends: typed builders
 * that return plain objects (what the call core emits), and one encoder that
 * turns an event into the JSON text for the socket (what the call runner
 * does), with a fast path for the hot `input_audio_buffer.append`.
 *
 * @example
 * ```ts
 * import { appendAudio, encodeClientEvent, truncateItem } from "./client_events.ts";
 * import { encodeBase64 } from "../audio/base64.ts";
 * const append = appendAudio(encodeBase64(new Uint8Array(4).fill(0x7f)));
 * if (JSON.parse(encodeClientEvent(append)).audio !== "f39/fw==") throw new Error();
 * const truncate = truncateItem("item_1", 1234.9);
 * if (truncate.audio_end_ms !== 1234) throw new Error("whole ms, rounded down");
 * ```
 *
 * @module
 */
import type { Base64 } from "../audio/base64.ts";

/** Options of one `response.create`. */
export interface ResponseOptions {
  /** Instructions for this response only (they replace the session's). */
  instructions?: string;
  /** `"none"` stops the model from calling tools in this response. */
  toolChoice?: "auto" | "none";
  /** Free-form metadata echoed back in `response.created`/`response.done`. */
  metadata?: Record<string, string>;
  /** `"none"`: an out-of-band response, not added to the conversation. */
  conversation?: "auto" | "none";
  /** `["text"]`: a text-only response (e.g. a briefing nobody hears). */
  outputModalities?: ["text"] | ["audio"];
}

/** A conversation item the bridge creates (tool outputs and replayed turns). */
export type ClientItem =
  | { type: "function_call_output"; call_id: string; output: string }
  | { type: "function_call"; call_id: string; name: string; arguments: string }
  | {
    type: "message";
    role: "user" | "assistant" | "system";
    content: ({ type: "input_text"; text: string } | { type: "output_text"; text: string })[];
  };

/** Every client event the bridge sends, as an object. */
export type ClientEvent =
  | { type: "session.update"; session: Record<string, unknown> }
  | { type: "input_audio_buffer.append"; audio: Base64 }
  | { type: "input_audio_buffer.clear" }
  | { type: "conversation.item.truncate"; item_id: string; content_index: 0; audio_end_ms: number }
  | { type: "conversation.item.create"; item: ClientItem }
  | { type: "conversation.item.delete"; item_id: string }
  | { type: "response.cancel"; response_id?: string }
  | {
    type: "response.create";
    response?: {
      instructions?: string;
      tool_choice?: "auto" | "none";
      metadata?: Record<string, string>;
      conversation?: "auto" | "none";
      output_modalities?: ["text"] | ["audio"];
    };
  };

/** `input_audio_buffer.append` for one base64 μ-law frame. */
export function appendAudio(audio: Base64): ClientEvent {
  return { type: "input_audio_buffer.append", audio };
}

/** `conversation.item.truncate` at what the caller heard of an assistant item (whole ms). */
export function truncateItem(itemId: string, audioEndMs: number): {
  type: "conversation.item.truncate";
  item_id: string;
  content_index: 0;
  audio_end_ms: number;
} {
  return {
    type: "conversation.item.truncate",
    item_id: itemId,
    content_index: 0,
    audio_end_ms: Math.max(0, Math.floor(audioEndMs)),
  };
}

/** `response.cancel` of response `responseId` (the bridge decided the caller interrupted it). */
export function cancelResponse(responseId: string): ClientEvent {
  return { type: "response.cancel", response_id: responseId };
}

/** `conversation.item.delete`: a false interruption's user item leaves the conversation. */
export function deleteItem(itemId: string): ClientEvent {
  return { type: "conversation.item.delete", item_id: itemId };
}

/** A `function_call_output` item answering a model's tool call. */
export function functionCallOutput(callId: string, output: unknown): ClientEvent {
  return {
    type: "conversation.item.create",
    item: { type: "function_call_output", call_id: callId, output: JSON.stringify(output) },
  };
}

/** `response.create`, with optional per-response overrides. */
export function responseCreate(options: ResponseOptions = {}): ClientEvent {
  const response: NonNullable<Extract<ClientEvent, { type: "response.create" }>["response"]> = {};
  if (options.instructions !== undefined) response.instructions = options.instructions;
  if (options.toolChoice !== undefined) response.tool_choice = options.toolChoice;
  if (options.metadata !== undefined) response.metadata = options.metadata;
  if (options.conversation !== undefined) response.conversation = options.conversation;
  if (options.outputModalities !== undefined) response.output_modalities = options.outputModalities;
  return Object.keys(response).length === 0
    ? { type: "response.create" }
    : { type: "response.create", response };
}

/** A user text message (e.g. the keys the caller pressed). */
export function userText(text: string): ClientEvent {
  return {
    type: "conversation.item.create",
    item: { type: "message", role: "user", content: [{ type: "input_text", text }] },
  };
}

/** `input_audio_buffer.clear` (drops caller audio not yet committed). */
export function clearInput(): ClientEvent {
  return { type: "input_audio_buffer.clear" };
}

/**
 * The JSON text of a client event. `input_audio_buffer.append` (50 a second
 * per call) is written without serializing an object, its audio as it is:
 * the type says it is base64, which needs no escaping.
 */
export function encodeClientEvent(event: ClientEvent): string {
  if (event.type === "input_audio_buffer.append") {
    return `{"type":"input_audio_buffer.append","audio":"${event.audio}"}`;
  }
  return JSON.stringify(event);
}
