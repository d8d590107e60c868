/**
 * The `session` object the Realtime API (GA) reports in `session.created`
 * before any `session.update`: its defaults. Used by the offline demo's
 * stand-in server and by the tests' fake Realtime server.
 *
 * @module
 */

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
 *
 * @example
 * ```ts
 * import { gaSessionDefaults } from "./session_defaults.ts";
 * const session = gaSessionDefaults({ id: "sess_1", model: "gpt-realtime", instructions: "" });
 * if (session.type !== "realtime") throw new Error();
 * ```
 */
export function gaSessionDefaults(options: SessionDefaultsOptions): Record<string, unknown> {
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
