/**
 * Builders for the OpenAI Realtime (GA) client events the bridge sends.
 * Every builder returns the serialized JSON text, ready for the socket.
 *
 * @module
 */

/** A JSON object sent to OpenAI as one client event. */
export type ClientEvent = { type: string } & Record<string, unknown>;

/**
 * Encodes `input_audio_buffer.append` for one base64 μ-law frame, without a
 * parse/serialize round trip of the payload.
 *
 * @example
 * ```ts
 * import { encodeAppend } from "./client_events.ts";
 * const event = JSON.parse(encodeAppend("f39/fw=="));
 * if (event.type !== "input_audio_buffer.append" || event.audio !== "f39/fw==") throw new Error();
 * ```
 */
export function encodeAppend(audio: string): string {
  return `{"type":"input_audio_buffer.append","audio":${JSON.stringify(audio)}}`;
}

/** Encodes `conversation.item.truncate` for what the caller heard of an assistant item. */
export function encodeTruncate(itemId: string, audioEndMs: number): string {
  return JSON.stringify({
    type: "conversation.item.truncate",
    item_id: itemId,
    content_index: 0,
    audio_end_ms: Math.max(0, Math.floor(audioEndMs)),
  });
}

/** Encodes a `function_call_output` item answering a model's tool call. */
export function encodeFunctionCallOutput(callId: string, output: unknown): string {
  return JSON.stringify({
    type: "conversation.item.create",
    item: { type: "function_call_output", call_id: callId, output: JSON.stringify(output) },
  });
}

/** Options of one `response.create`. */
export interface ResponseOptions {
  /** Instructions for this response only (they replace the session's). */
  instructions?: string;
  /** `"none"` stops the model from calling tools in this response. */
  toolChoice?: "auto" | "none";
  /** Free-form metadata echoed back in `response.created`/`response.done`. */
  metadata?: Record<string, string>;
}

/** Encodes `response.create`, with optional per-response overrides. */
export function encodeResponseCreate(options: ResponseOptions = {}): string {
  const response: Record<string, unknown> = {};
  if (options.instructions !== undefined) response.instructions = options.instructions;
  if (options.toolChoice !== undefined) response.tool_choice = options.toolChoice;
  if (options.metadata !== undefined) response.metadata = options.metadata;
  return JSON.stringify(
    Object.keys(response).length === 0
      ? { type: "response.create" }
      : { type: "response.create", response },
  );
}

/** Encodes `input_audio_buffer.clear` (drops caller audio not yet committed). */
export function encodeInputClear(): string {
  return '{"type":"input_audio_buffer.clear"}';
}
