/**
 * The server side of one GPT-Live session (`/v1/live/sessions`), sans-IO: the
 * part of the fake-peer kit that the tests' fake GPT-Live server and the
 * demo's stand-in share. It answers client events as the contract says
 * (`/work/shared/gpt-live-protocol.md`, compiled 2026-12-07; schema
 * `tests/fixtures/gpt-live-events.schema.json`) and builds the server events
 * a test or stand-in scripts: the continuous output track (100 ms deltas,
 * silence between replies), transcripts on the session timeline, function
 * calls of Responses delegation, usage and closing.
 *
 * Where the contract is silent the kit's choice is marked (e.g. the error a
 * client event before `session.started` gets: undocumented, the kit answers
 * `session_not_started`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LiveServerSession } from "./live_server_session.ts";
 * const session = new LiveServerSession({ now: () => 1_800_000_000 });
 * const early = session.handle({ type: "session.input_audio.append", audio: "//8=" });
 * assert.equal(early.events[0].type, "error"); // nothing before session.started
 * const start = session.handle({ type: "session.start", session: {
 *   model: "gpt-live-1", audio: { format: { type: "audio/pcmu", rate: 8000 } },
 * } });
 * assert.equal(start.events[0].type, "session.started");
 * const strict = new LiveServerSession({ now: () => 0 })
 *   .handle({ type: "session.start", session: { model: "gpt-live-1", voice: "marin" } });
 * assert.equal(strict.events[0].error.param, "session.voice");
 * ```
 *
 * @module
 */
import { decodeBase64, encodeBase64 } from "../audio/base64.ts";
import { BYTES_PER_MS, MULAW_SILENCE } from "../audio/frames.js";

/** An event as sent on the wire (plain JSON). */
// deno-lint-ignore no-explicit-any
export type LiveWireEvent = { type: string; [key: string]: any };

/** What a client event did, for the adapter (recording, scripting). */
export type LiveOutcome =
  | { kind: "started" }
  | { kind: "audio"; bytes: number }
  | { kind: "appended"; what: "instructions" | "thinking" | "commentary"; content: string }
  | { kind: "tool_output"; callId: string; output: string }
  | { kind: "continue" }
  | { kind: "close" }
  | { kind: "refused"; code: string }
  | { kind: "ignored" };

/** Fields `session.start` accepts (the config is strict) [SDK SessionConfig][MS][TRV]. */
const SESSION_FIELDS = new Set([
  "model",
  "instructions",
  "audio",
  "delegation",
  "input",
  "client",
  "safety_identifier",
  "store",
  "triggers",
]);

/** Bytes of one output delta: 100 ms of μ-law 8 kHz [TRV usable-window, measured]. */
export const LIVE_DELTA_BYTES = 800;

/** Options of {@link LiveServerSession}. */
export interface LiveServerSessionOptions {
  /** Wall clock in unix seconds (for `expires_at`). */
  now: () => number;
  /** Seconds a session lives (`expires_at`); the contract documents no maximum. Default 3600. */
  lifetimeSeconds?: number;
  /** The session id (`live_…`). */
  id?: string;
}

/** One GPT-Live session's server side (see the module doc). */
export class LiveServerSession {
  #o: LiveServerSessionOptions;
  #phase: "awaiting_start" | "active" | "closed" = "awaiting_start";
  #session: Record<string, unknown> | undefined;
  #events = 0;
  #calls = 0;
  /** Caller audio received, in ms (the session timeline advances with it). */
  #inputMs = 0;
  /** Function calls waiting for their output. */
  #pendingCalls = new Set<string>();
  readonly id: string;

  /** Creates the session of one socket. */
  constructor(options: LiveServerSessionOptions) {
    this.#o = options;
    this.id = options.id ?? `live_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
  }

  /** `awaiting_start`, `active` or `closed`. */
  get phase(): "awaiting_start" | "active" | "closed" {
    return this.#phase;
  }

  /** The config of `session.start`, once started. */
  get config(): Readonly<Record<string, unknown>> | undefined {
    return this.#session;
  }

  /** Ms of caller audio received (the session timeline). */
  get inputMs(): number {
    return this.#inputMs;
  }

  /** Whether the session delegates to Responses (function tools can be called). */
  get responsesDelegation(): boolean {
    return (this.#session?.delegation as { type?: string } | null | undefined)?.type ===
      "responses";
  }

  /** Answers one client event. */
  handle(event: LiveWireEvent): { events: LiveWireEvent[]; outcome: LiveOutcome } {
    const clientEventId = typeof event.event_id === "string" ? event.event_id : undefined;
    const refuse = (code: string, message: string, param?: string) => ({
      events: [this.#error(code, message, param, clientEventId)],
      outcome: { kind: "refused", code } as LiveOutcome,
    });
    if (this.#phase === "closed") return refuse("session_closed", "The session is closed.");
    if (event.type === "session.start") {
      if (this.#phase !== "awaiting_start") {
        return refuse("session_already_started", "session.start was already sent.");
      }
      const session = event.session;
      if (typeof session !== "object" || session === null || Array.isArray(session)) {
        return refuse("missing_required_parameter", "Missing session.", "session");
      }
      for (const key of Object.keys(session)) {
        if (!SESSION_FIELDS.has(key)) {
          return refuse(
            "unknown_parameter",
            `Unknown parameter: 'session.${key}'.`,
            `session.${key}`,
          );
        }
      }
      if (typeof session.model !== "string") {
        return refuse("missing_required_parameter", "Missing 'session.model'.", "session.model");
      }
      this.#phase = "active";
      this.#session = session;
      return { events: [this.#started()], outcome: { kind: "started" } };
    }
    if (this.#phase === "awaiting_start") {
      // Undocumented: the contract only says to wait for session.started [WS][SDK].
      return refuse("session_not_started", `${event.type} before session.started.`);
    }
    switch (event.type) {
      case "session.input_audio.append": {
        const bytes = typeof event.audio === "string" ? decodeBase64(event.audio)?.length ?? 0 : 0;
        this.#inputMs += bytes / BYTES_PER_MS;
        return { events: [], outcome: { kind: "audio", bytes } };
      }
      case "session.instructions.append":
      case "session.thinking.append":
      case "session.commentary.append": {
        const what = event.type.split(".")[1] as "instructions" | "thinking" | "commentary";
        return {
          events: [this.#stamp({
            type: `${event.type}ed`,
            start_ms: this.#inputMs,
            end_ms: this.#inputMs,
          })],
          outcome: { kind: "appended", what, content: String(event.content ?? "") },
        };
      }
      case "response.item.create": {
        if (!this.responsesDelegation) {
          // Wire-observed wording [TRV].
          return refuse(
            "invalid_request_error",
            "response.item.create requires Responses delegation.",
          );
        }
        const callId = String(event.item?.call_id ?? "");
        if (!this.#pendingCalls.delete(callId)) {
          return refuse("invalid_value", `No function call ${callId} is waiting.`, "item.call_id");
        }
        return {
          events: [],
          outcome: { kind: "tool_output", callId, output: String(event.item?.output ?? "") },
        };
      }
      case "response.create":
        if (!this.responsesDelegation) {
          return refuse("invalid_request_error", "response.create requires Responses delegation.");
        }
        return { events: [], outcome: { kind: "continue" } };
      case "session.close":
        return { events: [this.closed("close_requested")], outcome: { kind: "close" } };
      case "session.update":
      case "session.input_audio.mute":
      case "session.input_audio.unmute":
        return { events: [], outcome: { kind: "ignored" } };
      default:
        // An unknown client event gets an error listing the supported ones [TRV].
        return refuse(
          "invalid_event",
          `Unsupported client event ${event.type}. Supported: session.start, session.update, session.input_audio.append, session.instructions.append, session.thinking.append, session.commentary.append, response.item.create, response.create, session.close.`,
        );
    }
  }

  /**
   * The output track for `bytes` of speech: 100 ms deltas (the last may be
   * shorter), with no event_id or ids [SDK][TRV fixture].
   */
  outputAudio(bytes: Uint8Array): LiveWireEvent[] {
    const events: LiveWireEvent[] = [];
    for (let at = 0; at < bytes.length; at += LIVE_DELTA_BYTES) {
      events.push({
        type: "session.output_audio.delta",
        delta: encodeBase64(bytes.subarray(at, at + LIVE_DELTA_BYTES)),
      });
    }
    return events;
  }

  /** `ms` of the silent track between replies. */
  silence(ms: number): LiveWireEvent[] {
    return this.outputAudio(new Uint8Array(Math.round(ms * BYTES_PER_MS)).fill(MULAW_SILENCE));
  }

  /** What the model says, as transcript deltas on the timeline. */
  outputTranscript(text: string): LiveWireEvent {
    return this.#stamp({
      type: "session.output_transcript.delta",
      delta: text,
      start_ms: this.#inputMs,
      end_ms: this.#inputMs,
    });
  }

  /** What the caller said, on the timeline (ending at the audio received so far). */
  inputTranscript(text: string, durationMs = 500): LiveWireEvent {
    return this.#stamp({
      type: "session.input_transcript.delta",
      delta: text,
      start_ms: Math.max(0, this.#inputMs - durationMs),
      end_ms: this.#inputMs,
    });
  }

  /**
   * The backend calls the client function `name` (Responses delegation):
   * `session.delegation.created`, then the function call inside
   * `response.event` [SDK][TAC][LK].
   */
  functionCall(name: string, args: unknown): { events: LiveWireEvent[]; callId: string } {
    const n = ++this.#calls;
    const delegationId = `dlg_${this.id}_${n}`;
    const responseId = `resp_${this.id}_${n}`;
    const callId = `call_${this.id}_${n}`;
    this.#pendingCalls.add(callId);
    return {
      callId,
      events: [
        this.#stamp({
          type: "session.delegation.created",
          offset_ms: this.#inputMs,
          delegation: {
            id: delegationId,
            type: "delegation",
            target: "responses",
            response_id: responseId,
          },
        }),
        this.#stamp({
          type: "response.event",
          delegation_id: delegationId,
          event: {
            type: "response.output_item.done",
            output_index: 0,
            item: {
              id: `fc_${this.id}_${n}`,
              type: "function_call",
              status: "completed",
              name,
              call_id: callId,
              arguments: JSON.stringify(args),
            },
          },
        }),
      ],
    };
  }

  /** The backend's usage of a delegated response (`response.completed` inside `response.event`). */
  backendUsage(inputTokens: number, outputTokens: number): LiveWireEvent {
    return this.#stamp({
      type: "response.event",
      delegation_id: `dlg_${this.id}_${this.#calls}`,
      event: {
        type: "response.completed",
        response: {
          id: `resp_${this.id}_${this.#calls}`,
          status: "completed",
          usage: {
            input_tokens: inputTokens,
            output_tokens: outputTokens,
            total_tokens: inputTokens + outputTokens,
            input_tokens_details: { cached_tokens: 0 },
          },
        },
      },
    });
  }

  /** Cumulative usage: the seconds of the session timeline so far [SDK][TRV]. */
  usage(): LiveWireEvent {
    return this.#stamp({ type: "session.usage.updated", usage: { seconds: this.#inputMs / 1000 } });
  }

  /** The terminal event (the session is over). */
  closed(
    reason: "close_requested" | "expired" | "content" | "remote_hangup" | "connection_lost",
  ): LiveWireEvent {
    this.#phase = "closed";
    return this.#stamp({
      type: "session.closed",
      reason,
      session: { id: this.id },
      usage: { seconds: this.#inputMs / 1000 },
    });
  }

  #started(): LiveWireEvent {
    const s = this.#session!;
    const audio = (s.audio ?? {}) as { format?: unknown; output?: { voice?: unknown } };
    return this.#stamp({
      type: "session.started",
      session: {
        id: this.id,
        expires_at: Math.floor(this.#o.now()) + (this.#o.lifetimeSeconds ?? 3600),
        model: s.model,
        instructions: s.instructions ?? "",
        audio: {
          output: { voice: audio.output?.voice ?? "marin" },
          format: audio.format ?? { type: "audio/pcm", rate: 24000 },
        },
        delegation: s.delegation ?? null,
        status: "active",
        input: [],
      },
    });
  }

  #error(code: string, message: string, param?: string, clientEventId?: string): LiveWireEvent {
    return this.#stamp({
      type: "error",
      error: {
        type: "invalid_request_error",
        code,
        message,
        ...(param !== undefined ? { param } : {}),
        ...(clientEventId !== undefined ? { client_event_id: clientEventId } : {}),
      },
    });
  }

  #stamp(event: LiveWireEvent): LiveWireEvent {
    return { ...event, event_id: `event_${this.id}_${++this.#events}` };
  }
}
