/**
 * The session side of a Realtime (GA) server: the `session` object the API
 * reports in `session.created` before any `session.update` (its defaults),
 * how a `session.update` merges into it, and what the audio formats imply
 * (bytes per ms, output voice). Shared by the tests' fake Realtime server and
 * the offline demo's stand-in.
 *
 * @example
 * ```ts
 * import { gaSessionDefaults, mergeSessionUpdate, outputAudioOf } from "./realtime_session_state.ts";
 * const created = gaSessionDefaults({ id: "sess_1", model: "gpt-realtime", instructions: "" });
 * const session = mergeSessionUpdate(created, {
 *   type: "realtime",
 *   audio: { output: { format: { type: "audio/pcmu" }, voice: "marin" } },
 * });
 * const out = outputAudioOf(session);
 * if (out.voice !== "marin" || out.bytesPerMs !== 8) throw new Error("merge lost a field");
 * // Untouched fields keep their defaults.
 * const input = (session.audio as { input: { format: { type: string } } }).input;
 * if (input.format.type !== "audio/pcm") throw new Error("input format changed");
 * ```
 *
 * @module
 */

/** A Realtime `session` object (plain JSON). */
export type RealtimeSessionObject = Record<string, unknown>;

/** Options of {@link gaSessionDefaults}. */
export interface SessionDefaultsOptions {
  /** Session id, e.g. `sess_…`. */
  id: string;
  /** Model name from the connection URL. */
  model: string;
  /** The default instructions the server reports. */
  instructions: string;
  /** Unix seconds at which the session expires. Default: an hour from now. */
  expiresAt?: number;
}

/**
 * The GA defaults: 24 kHz PCM in and out, `server_vad`, voice `alloy`, no tools.
 */
export function gaSessionDefaults(options: SessionDefaultsOptions): RealtimeSessionObject {
  return {
    type: "realtime",
    object: "realtime.session",
    id: options.id,
    model: options.model,
    output_modalities: ["audio"],
    instructions: options.instructions,
    tools: [],
    tool_choice: "auto",
    max_output_tokens: "inf",
    tracing: null,
    truncation: "auto",
    prompt: null,
    expires_at: options.expiresAt ?? Math.floor(Date.now() / 1000) + 3600,
    audio: {
      input: {
        format: { type: "audio/pcm", rate: 24000 },
        transcription: null,
        noise_reduction: null,
        turn_detection: {
          type: "server_vad",
          threshold: 0.5,
          prefix_padding_ms: 300,
          silence_duration_ms: 200,
          idle_timeout_ms: null,
          create_response: true,
          interrupt_response: true,
        },
      },
      output: { format: { type: "audio/pcm", rate: 24000 }, voice: "alloy", speed: 1 },
    },
    include: null,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Merges a `session.update`'s `session` into the effective session like the
 * live API: the fields present replace the current ones; `session`,
 * `session.audio`, `session.audio.input` and `session.audio.output` merge
 * field by field, any other value (a format, `turn_detection`, `tools`, …) is
 * replaced as a whole. Neither argument is modified.
 */
export function mergeSessionUpdate(
  base: RealtimeSessionObject,
  patch: unknown,
): RealtimeSessionObject {
  const merge = (current: unknown, update: unknown, path: string): unknown => {
    if (!isRecord(current) || !isRecord(update)) return structuredClone(update);
    const out: Record<string, unknown> = { ...current };
    for (const [key, value] of Object.entries(update)) {
      const child = path === "" ? key : `${path}.${key}`;
      out[key] = child === "audio" || child === "audio.input" || child === "audio.output"
        ? merge(current[key], value, child)
        : structuredClone(value);
    }
    return out;
  };
  return merge(base, patch, "") as RealtimeSessionObject;
}

/** Bytes per ms of an audio format object: `audio/pcm` (24 kHz, 16 bit) 48, `audio/pcmu`/`pcma` 8. */
function audioBytesPerMs(format: unknown): number {
  const type = isRecord(format) ? format.type : undefined;
  return type === "audio/pcm" ? 48 : 8;
}

/** The session's `audio.input` or `audio.output` object (empty when absent). */
function audioPart(
  session: RealtimeSessionObject,
  part: "input" | "output",
): Record<string, unknown> {
  const audio = isRecord(session.audio) ? session.audio : {};
  const value = audio[part];
  return isRecord(value) ? value : {};
}

/** A switch of server VAD (true unless turned off; false without turn detection). */
function turnSwitch(
  session: RealtimeSessionObject,
  key: "interrupt_response" | "create_response",
): boolean {
  const td = audioPart(session, "input").turn_detection;
  if (!isRecord(td)) return false;
  return td[key] !== false;
}

/** The session's output audio: format object (default 24 kHz PCM), voice and bytes per ms. */
export function outputAudioOf(
  session: RealtimeSessionObject,
): { format: Record<string, unknown>; voice: string; bytesPerMs: number } {
  const output = audioPart(session, "output");
  const format = isRecord(output.format) ? output.format : { type: "audio/pcm", rate: 24000 };
  const voice = typeof output.voice === "string" ? output.voice : "alloy";
  return { format, voice, bytesPerMs: audioBytesPerMs(format) };
}

/** The session's input audio format and its bytes per ms. */
export function inputAudioOf(
  session: RealtimeSessionObject,
): { format: unknown; bytesPerMs: number } {
  const input = audioPart(session, "input");
  return { format: input.format, bytesPerMs: audioBytesPerMs(input.format) };
}

/**
 * Whether server VAD cancels the response in progress when the caller starts
 * speaking (`turn_detection.interrupt_response`, true unless turned off, false
 * without turn detection).
 */
export function interruptsResponse(session: RealtimeSessionObject): boolean {
  return turnSwitch(session, "interrupt_response");
}

/**
 * Whether server VAD answers a turn by itself when the caller stops
 * (`turn_detection.create_response`, true unless turned off, false without
 * turn detection). With `interrupt_response` off as well the model never
 * answers on its own; VAD events are still emitted (GA session schema,
 * `/work/shared/realtime-schema/`, `RealtimeSessionCreateRequestGA` turn
 * detection).
 */
export function createsResponse(session: RealtimeSessionObject): boolean {
  return turnSwitch(session, "create_response");
}
