/**
 * Parsing of the OpenAI Realtime (GA) server events the bridge acts on.
 * Everything else is passed through as `{ type: "other" }` so that new or
 * unexpected events never break a call.
 *
 * @module
 */
import { type Base64, isBase64 } from "../audio/base64.ts";

/** A server event, narrowed to the fields the bridge uses. */
export type ServerEvent =
  | { type: "session.created" | "session.updated" }
  | {
    type: "response.created";
    responseId: string;
    /** `metadata.purpose` of a response the bridge asked for out of band (e.g. `transfer_briefing`). */
    purpose?: string;
  }
  | {
    type: "response.done";
    responseId: string;
    /** See `response.created`. */
    purpose?: string;
    /** The text of its `output_text` parts (a text-only response), when any. */
    text?: string;
    status: string;
    /** Error code from `status_details.error.code` for failed responses. */
    errorCode: string | undefined;
    usage: Record<string, unknown> | undefined;
  }
  | { type: "response.output_audio.delta"; responseId: string; itemId: string; delta: Base64 }
  | { type: "response.output_audio.done"; responseId: string; itemId: string }
  | {
    type: "response.function_call_arguments.done";
    responseId: string;
    callId: string;
    name: string;
    arguments: string;
  }
  | { type: "input_audio_buffer.speech_started"; audioStartMs: number; itemId: string }
  | { type: "input_audio_buffer.speech_stopped"; audioEndMs: number; itemId: string }
  | { type: "input_audio_buffer.committed"; itemId: string }
  | {
    type: "conversation.item.input_audio_transcription.completed";
    itemId: string;
    transcript: string;
    /** Ms of audio transcribed, when the usage is by duration (`usage.seconds`). */
    audioMs?: number;
  }
  | {
    type: "response.output_audio_transcript.done";
    responseId: string;
    itemId: string;
    transcript: string;
  }
  | { type: "conversation.item.truncated"; itemId: string; audioEndMs: number }
  | ({ type: "error"; eventId: string | undefined } & ErrorFields)
  | { type: "other"; eventType: string };

/** A field read as a string, or undefined (shared by the never-throwing parsers of `src/openai/`). */
export function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/** A field read as a plain object, or undefined. */
export function rec(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : undefined;
}

/**
 * One text frame read as an event: its object and string `type`; or the
 * error saying the frame is not an event of `peer` (shared by the Realtime
 * and GPT-Live parsers; {@link lacks} names a missing field).
 */
export function readEventFrame(text: string, peer: string):
  | {
    ok: true;
    obj: Record<string, unknown>;
    type: string;
  }
  | { ok: false; error: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, error: `${peer} event is not valid JSON.` };
  }
  const obj = rec(data);
  const type = str(obj?.type);
  if (obj === undefined || type === undefined) {
    return { ok: false, error: `${peer} event has no string "type" field.` };
  }
  return { ok: true, obj, type };
}

/** The error of an event of `peer` whose `type` lacks `what` (made only when one does). */
export function lacks(peer: string, type: string, what: string): { ok: false; error: string } {
  return { ok: false, error: `${peer} event ${type} lacks ${what}.` };
}

/** The error of an event of `peer` whose `type` has a `what` that is not base64 (an audio delta). */
export function notBase64(peer: string, type: string, what: string): { ok: false; error: string } {
  return { ok: false, error: `${peer} event ${type} has a ${what} that is not base64.` };
}

/** The fields of an `error` event's `error` object (Realtime and GPT-Live alike). */
export interface ErrorFields {
  code: string | undefined;
  errorType: string | undefined;
  message: string;
  param: string | undefined;
}

/** Reads {@link ErrorFields} (shared by the Realtime and GPT-Live parsers). */
export function errorFields(value: unknown): ErrorFields {
  const error = rec(value) ?? {};
  return {
    code: str(error.code),
    errorType: str(error.type),
    message: str(error.message) ?? "(no message)",
    param: str(error.param),
  };
}

/** The purpose (from `metadata`) and the output text of a done response, when it has them. */
function responseExtras(response: Record<string, unknown>): { purpose?: string; text?: string } {
  const purpose = str(rec(response.metadata)?.purpose);
  const output = Array.isArray(response.output) ? response.output : [];
  const texts: string[] = [];
  for (const item of output) {
    const content = rec(item)?.content;
    if (!Array.isArray(content)) continue;
    for (const part of content) {
      const p = rec(part);
      if (p?.type === "output_text" && typeof p.text === "string") texts.push(p.text);
    }
  }
  return {
    ...(purpose !== undefined ? { purpose } : {}),
    ...(texts.length > 0 ? { text: texts.join("\n") } : {}),
  };
}

/** Result of {@link parseServerEvent}. */
export type ServerEventResult = { ok: true; event: ServerEvent } | { ok: false; error: string };

/**
 * Parses one text frame from the Realtime API. Never throws.
 *
 * @example
 * ```ts
 * import { parseServerEvent } from "./server_events.ts";
 * const r = parseServerEvent('{"type":"response.created","response":{"id":"resp_1"}}');
 * if (!r.ok || r.event.type !== "response.created" || r.event.responseId !== "resp_1") throw new Error();
 * ```
 */
export function parseServerEvent(text: string): ServerEventResult {
  const frame = readEventFrame(text, "OpenAI");
  if (!frame.ok) return frame;
  const { obj, type } = frame;
  switch (type) {
    case "session.created":
    case "session.updated":
      return { ok: true, event: { type } };
    case "response.created": {
      const response = rec(obj.response);
      const id = str(response?.id);
      if (id === undefined) return lacks("OpenAI", type, "response.id");
      const purpose = str(rec(response?.metadata)?.purpose);
      return {
        ok: true,
        event: { type, responseId: id, ...(purpose !== undefined ? { purpose } : {}) },
      };
    }
    case "response.done": {
      const response = rec(obj.response);
      const id = str(response?.id);
      if (response === undefined || id === undefined) return lacks("OpenAI", type, "response.id");
      return {
        ok: true,
        event: {
          type,
          responseId: id,
          status: str(response.status) ?? "unknown",
          errorCode: str(rec(rec(response.status_details)?.error)?.code),
          usage: rec(response.usage),
          ...responseExtras(response),
        },
      };
    }
    case "response.output_audio.delta": {
      const responseId = str(obj.response_id);
      const itemId = str(obj.item_id);
      const delta = obj.delta;
      if (responseId === undefined || itemId === undefined || typeof delta !== "string") {
        return lacks("OpenAI", type, "response_id, item_id or delta");
      }
      if (!isBase64(delta)) return notBase64("OpenAI", type, "delta");
      return { ok: true, event: { type, responseId, itemId, delta } };
    }
    case "response.output_audio.done": {
      const responseId = str(obj.response_id);
      const itemId = str(obj.item_id);
      if (responseId === undefined || itemId === undefined) {
        return lacks("OpenAI", type, "response_id or item_id");
      }
      return { ok: true, event: { type, responseId, itemId } };
    }
    case "response.function_call_arguments.done": {
      const callId = str(obj.call_id);
      const name = str(obj.name);
      if (callId === undefined || name === undefined) {
        return lacks("OpenAI", type, "call_id or name");
      }
      return {
        ok: true,
        event: {
          type,
          responseId: str(obj.response_id) ?? "",
          callId,
          name,
          arguments: str(obj.arguments) ?? "{}",
        },
      };
    }
    case "input_audio_buffer.speech_started":
      return {
        ok: true,
        event: { type, audioStartMs: num(obj.audio_start_ms), itemId: str(obj.item_id) ?? "" },
      };
    case "input_audio_buffer.speech_stopped":
      return {
        ok: true,
        event: { type, audioEndMs: num(obj.audio_end_ms), itemId: str(obj.item_id) ?? "" },
      };
    case "input_audio_buffer.committed": {
      const itemId = str(obj.item_id);
      return itemId === undefined
        ? lacks("OpenAI", type, "item_id")
        : { ok: true, event: { type, itemId } };
    }
    case "conversation.item.input_audio_transcription.completed": {
      const itemId = str(obj.item_id);
      const transcript = str(obj.transcript);
      if (itemId === undefined || transcript === undefined) {
        return lacks("OpenAI", type, "item_id or transcript");
      }
      const usage = rec(obj.usage);
      const seconds = usage?.type === "duration" ? num(usage.seconds) : 0;
      const audioMs = seconds > 0 ? { audioMs: Math.round(seconds * 1000) } : {};
      return { ok: true, event: { type, itemId, transcript, ...audioMs } };
    }
    case "response.output_audio_transcript.done": {
      const itemId = str(obj.item_id);
      const transcript = str(obj.transcript);
      if (itemId === undefined || transcript === undefined) {
        return lacks("OpenAI", type, "item_id or transcript");
      }
      return {
        ok: true,
        event: { type, itemId, transcript, responseId: str(obj.response_id) ?? "" },
      };
    }
    case "conversation.item.truncated":
      return {
        ok: true,
        event: { type, itemId: str(obj.item_id) ?? "", audioEndMs: num(obj.audio_end_ms) },
      };
    case "error":
      return {
        ok: true,
        event: { type, ...errorFields(obj.error), eventId: str(rec(obj.error)?.event_id) },
      };
    default:
      return { ok: true, event: { type: "other", eventType: type } };
  }
}
