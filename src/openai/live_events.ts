/**
 * The GPT-Live (`/v1/live/sessions`) events the bridge exchanges: the client
 * events it sends, and a never-throwing parser of the server events it acts
 * on (the rest pass as `other`). Shapes from `/work/shared/gpt-live-protocol.md`
 * (compiled 2026-12-07 from the `openai` npm package 7.60.0 `resources/live`,
 * developers.openai.com voice-websockets and live-delegation guides, and
 * Microsoft's GPT-Live reference); the schema the fake server checks them
 * against is `tests/fixtures/gpt-live-events.schema.json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLiveEvent } from "./live_events.ts";
 * const r = parseLiveEvent('{"type":"session.usage.updated","usage":{"seconds":12.5}}');
 * assert.deepEqual(r, { ok: true, event: { type: "session.usage.updated", seconds: 12.5 } });
 * ```
 *
 * @module
 */
import {
  type ErrorFields,
  errorFields,
  lacks,
  notBase64,
  readEventFrame,
  rec,
  str,
} from "./server_events.ts";
import { type Base64, isBase64 } from "../audio/base64.ts";

/** `audio.format` of a Twilio bridge: μ-law 8 kHz both ways, the rate spelled out. */
export const LIVE_AUDIO_FORMAT = { type: "audio/pcmu", rate: 8000 } as const;

/** The `session` of `session.start`: only fields the contract lists (the config is strict). */
export interface LiveSessionConfig {
  model: string;
  instructions: string;
  audio: { format: typeof LIVE_AUDIO_FORMAT; output: { voice: string | { id: string } } };
  delegation?: {
    type: "responses";
    responses: {
      model: string;
      tools: Record<string, unknown>[];
      reasoning?: { effort: string };
    };
  };
}

/** Every client event the bridge sends to GPT-Live. */
export type LiveClientEvent =
  | { type: "session.start"; session: LiveSessionConfig }
  | { type: "session.input_audio.append"; audio: string }
  | { type: "session.commentary.append"; delegation_id: string | null; content: string }
  | { type: "session.instructions.append"; delegation_id: string | null; content: string }
  | {
    type: "response.item.create";
    item: { type: "function_call_output"; call_id: string; output: string };
  }
  | { type: "response.create" }
  | { type: "session.close" };

/** Why a session closed (`session.closed.reason`). */
export type LiveCloseReason =
  | "close_requested"
  | "expired"
  | "content"
  | "remote_hangup"
  | "connection_lost"
  | string;

/** A GPT-Live server event, narrowed to what the bridge uses. */
export type LiveServerEvent =
  | { type: "session.started"; sessionId: string; expiresAt: number | undefined }
  | { type: "session.output_audio.delta"; delta: Base64 }
  | { type: "session.input_transcript.delta"; delta: string; startMs: number; endMs: number }
  | { type: "session.output_transcript.delta"; delta: string }
  | {
    type: "function_call";
    delegationId: string | undefined;
    callId: string;
    name: string;
    arguments: string;
  }
  | { type: "backend_usage"; usage: Record<string, unknown> }
  | { type: "session.usage.updated"; seconds: number }
  | { type: "session.closed"; reason: LiveCloseReason; seconds: number | undefined }
  | ({ type: "error" } & ErrorFields)
  | { type: "other"; eventType: string };

/** Result of {@link parseLiveEvent}. */
export type LiveEventResult = { ok: true; event: LiveServerEvent } | { ok: false; error: string };

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** Parses one text frame from GPT-Live. Never throws. */
export function parseLiveEvent(text: string): LiveEventResult {
  const frame = readEventFrame(text, "GPT-Live");
  if (!frame.ok) return frame;
  const { obj, type } = frame;
  switch (type) {
    case "session.started": {
      const session = rec(obj.session);
      const id = str(session?.id);
      if (id === undefined) return lacks("GPT-Live", type, "session.id");
      return { ok: true, event: { type, sessionId: id, expiresAt: num(session?.expires_at) } };
    }
    case "session.output_audio.delta": {
      const delta = obj.delta;
      if (typeof delta !== "string") return lacks("GPT-Live", type, "delta");
      if (!isBase64(delta)) return notBase64("GPT-Live", type, "delta");
      return { ok: true, event: { type, delta } };
    }
    case "session.input_transcript.delta": {
      const delta = str(obj.delta);
      if (delta === undefined) return lacks("GPT-Live", type, "delta");
      return {
        ok: true,
        event: { type, delta, startMs: num(obj.start_ms) ?? 0, endMs: num(obj.end_ms) ?? 0 },
      };
    }
    case "session.output_transcript.delta": {
      const delta = str(obj.delta);
      return delta === undefined
        ? lacks("GPT-Live", type, "delta")
        : { ok: true, event: { type, delta } };
    }
    case "response.event":
      return parseResponseEvent(obj);
    case "session.usage.updated": {
      const seconds = num(rec(obj.usage)?.seconds);
      return seconds === undefined
        ? lacks("GPT-Live", type, "usage.seconds")
        : { ok: true, event: { type, seconds } };
    }
    case "session.closed":
      return {
        ok: true,
        event: {
          type,
          reason: str(obj.reason) ?? "unknown",
          seconds: num(rec(obj.usage)?.seconds),
        },
      };
    case "error":
      return { ok: true, event: { type, ...errorFields(obj.error) } };
    default:
      return { ok: true, event: { type: "other", eventType: type } };
  }
}

/**
 * A `response.event` of Responses delegation: a completed client function
 * call (`response.output_item.done` with a `function_call` item), or the
 * backend's usage (`response.completed`/`response.done`); others pass.
 */
function parseResponseEvent(obj: Record<string, unknown>): LiveEventResult {
  const inner = rec(obj.event);
  const innerType = str(inner?.type);
  const delegationId = str(obj.delegation_id);
  if (innerType === "response.output_item.done") {
    const item = rec(inner?.item);
    if (item?.type === "function_call" && item.status !== "incomplete") {
      const callId = str(item.call_id);
      const name = str(item.name);
      if (callId === undefined || name === undefined) {
        return { ok: false, error: "GPT-Live function call lacks call_id or name." };
      }
      return {
        ok: true,
        event: {
          type: "function_call",
          delegationId,
          callId,
          name,
          arguments: str(item.arguments) ?? "{}",
        },
      };
    }
  }
  if (innerType === "response.completed" || innerType === "response.done") {
    const usage = rec(rec(inner?.response)?.usage);
    if (usage !== undefined) return { ok: true, event: { type: "backend_usage", usage } };
  }
  return { ok: true, event: { type: "other", eventType: `response.event/${innerType ?? "?"}` } };
}

/** The JSON text of a client event (audio appends without serializing an object). */
export function encodeLiveEvent(event: LiveClientEvent): string {
  if (event.type === "session.input_audio.append") {
    return `{"type":"session.input_audio.append","audio":${JSON.stringify(event.audio)}}`;
  }
  return JSON.stringify(event);
}
