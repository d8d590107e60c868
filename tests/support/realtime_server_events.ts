/**
 * OpenAI Realtime (GA) server events as the socket carries them: one builder
 * per event the call core acts on, each returning the wire JSON object with
 * every field the GA schema requires (`event_id`, `output_index`,
 * `content_index`, …). `tests/support_realtime_server_events_test.ts` checks
 * each one against `../shared/realtime-schema/realtime-events.schema.json`
 * in strict mode. {@link CoreDriver} sends them through the real parser.
 *
 * @example
 * ```ts
 * import { parseServerEvent } from "../../src/openai/server_events.ts";
 * import { committed } from "./realtime_server_events.ts";
 *
 * const wire = committed({ eventId: "event_1", itemId: "item_u1" });
 * const parsed = parseServerEvent(JSON.stringify(wire));
 * if (!parsed.ok || parsed.event.type !== "input_audio_buffer.committed") throw new Error();
 * ```
 *
 * @module
 */

/** One server event as JSON, before it is serialized. */
export type WireEvent = Record<string, unknown>;

/** Fields every builder takes: the server's id of the event. */
export interface EventBase {
  eventId: string;
}

/** Token usage of a response (`response.usage`), as the server reports it. */
export interface WireUsage {
  total_tokens?: number;
  input_tokens?: number;
  output_tokens?: number;
  input_token_details?: {
    text_tokens?: number;
    audio_tokens?: number;
    cached_tokens?: number;
    image_tokens?: number;
  };
  output_token_details?: { text_tokens?: number; audio_tokens?: number };
}

/** `response.created`: a response started (status `in_progress`, no output yet). */
export function responseCreated(e: EventBase & { responseId: string }): WireEvent {
  return {
    type: "response.created",
    event_id: e.eventId,
    response: { id: e.responseId, object: "realtime.response", status: "in_progress", output: [] },
  };
}

/** `response.done`: a response ended with `status` (and its usage, when given). */
export function responseDone(
  e: EventBase & { responseId: string; status: string; usage?: WireUsage },
): WireEvent {
  const response: Record<string, unknown> = {
    id: e.responseId,
    object: "realtime.response",
    status: e.status,
    output: [],
  };
  if (e.usage !== undefined) response.usage = e.usage;
  return { type: "response.done", event_id: e.eventId, response };
}

/** `response.output_audio.delta`: base64 μ-law audio of an output item. */
export function audioDelta(
  e: EventBase & { responseId: string; itemId: string; delta: string; outputIndex?: number },
): WireEvent {
  return {
    type: "response.output_audio.delta",
    event_id: e.eventId,
    response_id: e.responseId,
    item_id: e.itemId,
    output_index: e.outputIndex ?? 0,
    content_index: 0,
    delta: e.delta,
  };
}

/** `response.output_audio.done`: the audio of an output item is complete. */
export function audioDone(
  e: EventBase & { responseId: string; itemId: string; outputIndex?: number },
): WireEvent {
  return {
    type: "response.output_audio.done",
    event_id: e.eventId,
    response_id: e.responseId,
    item_id: e.itemId,
    output_index: e.outputIndex ?? 0,
    content_index: 0,
  };
}

/** `response.output_audio_transcript.done`: the text of what an output item said. */
export function outputTranscriptDone(
  e: EventBase & { responseId: string; itemId: string; transcript: string; outputIndex?: number },
): WireEvent {
  return {
    type: "response.output_audio_transcript.done",
    event_id: e.eventId,
    response_id: e.responseId,
    item_id: e.itemId,
    output_index: e.outputIndex ?? 0,
    content_index: 0,
    transcript: e.transcript,
  };
}

/** `response.function_call_arguments.done`: the model calls tool `name`. */
export function functionCallDone(
  e: EventBase & {
    responseId: string;
    itemId: string;
    callId: string;
    name: string;
    arguments: string;
    outputIndex?: number;
  },
): WireEvent {
  return {
    type: "response.function_call_arguments.done",
    event_id: e.eventId,
    response_id: e.responseId,
    item_id: e.itemId,
    output_index: e.outputIndex ?? 0,
    call_id: e.callId,
    name: e.name,
    arguments: e.arguments,
  };
}

/** `input_audio_buffer.speech_started`: server VAD heard the caller begin. */
export function speechStarted(
  e: EventBase & { audioStartMs: number; itemId: string },
): WireEvent {
  return {
    type: "input_audio_buffer.speech_started",
    event_id: e.eventId,
    audio_start_ms: e.audioStartMs,
    item_id: e.itemId,
  };
}

/** `input_audio_buffer.speech_stopped`: server VAD heard the caller stop. */
export function speechStopped(e: EventBase & { audioEndMs: number; itemId: string }): WireEvent {
  return {
    type: "input_audio_buffer.speech_stopped",
    event_id: e.eventId,
    audio_end_ms: e.audioEndMs,
    item_id: e.itemId,
  };
}

/** `input_audio_buffer.committed`: the caller's turn becomes user item `itemId`. */
export function committed(
  e: EventBase & { itemId: string; previousItemId?: string | null },
): WireEvent {
  return {
    type: "input_audio_buffer.committed",
    event_id: e.eventId,
    previous_item_id: e.previousItemId ?? null,
    item_id: e.itemId,
  };
}

/** `conversation.item.input_audio_transcription.completed`: the words of a user item. */
export function transcriptionCompleted(
  e: EventBase & { itemId: string; transcript: string; seconds?: number },
): WireEvent {
  return {
    type: "conversation.item.input_audio_transcription.completed",
    event_id: e.eventId,
    item_id: e.itemId,
    content_index: 0,
    transcript: e.transcript,
    usage: { type: "duration", seconds: e.seconds ?? 1 },
  };
}

/** `conversation.item.truncated`: the server cut an assistant item's audio at `audioEndMs`. */
export function truncated(e: EventBase & { itemId: string; audioEndMs: number }): WireEvent {
  return {
    type: "conversation.item.truncated",
    event_id: e.eventId,
    item_id: e.itemId,
    content_index: 0,
    audio_end_ms: e.audioEndMs,
  };
}

/** The `error` object of an {@link errorEvent}. */
export interface WireError {
  /** `invalid_request_error`, `server_error`, … (default `invalid_request_error`). */
  type?: string;
  code?: string | null;
  message?: string;
  param?: string | null;
  /** The client event that caused it, if any. */
  eventId?: string | null;
}

/** `error`: the server rejected a client event, or something failed. */
export function errorEvent(e: EventBase & { error: WireError }): WireEvent {
  return {
    type: "error",
    event_id: e.eventId,
    error: {
      type: e.error.type ?? "invalid_request_error",
      code: e.error.code ?? null,
      message: e.error.message ?? "error",
      param: e.error.param ?? null,
      event_id: e.error.eventId ?? null,
    },
  };
}
