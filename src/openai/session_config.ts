/**
 * The GA `session.update` the bridge sends when a Realtime session opens.
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import { toolDeclarations, type ToolDefinition } from "../tools/tool_registry.ts";

/** The subset of {@link Config} that shapes the Realtime session. */
export type SessionSettings =
  & Pick<
    Config,
    | "openaiModel"
    | "voice"
    | "systemMessage"
    | "turnDetection"
    | "noiseReduction"
    | "transcriptionModel"
  >
  & Partial<Pick<Config, "reasoningEffort" | "truncation" | "parallelToolCalls">>
  & {
    /** When set, the session declares the `transfer_call` tool. */
    transferNumber?: string | undefined;
    /**
     * The bridge decides interruptions and when to answer: the VAD neither
     * cancels (`interrupt_response: false`) nor answers (`create_response: false`).
     */
    bridgeDecidesInterruptions?: boolean;
  };

/**
 * Builds the `session.update` event: μ-law in and out (no transcoding),
 * voice, instructions, turn detection and tools, in the GA shape. The
 * optional features (`reasoning`, `truncation`, `parallel_tool_calls`) are
 * sent only when set, so the model's defaults apply otherwise.
 *
 * @example
 * ```ts
 * import { buildSessionUpdate } from "./session_config.ts";
 * const event = buildSessionUpdate({
 *   openaiModel: "gpt-realtime-2.1", voice: "alloy", systemMessage: "Be brief.",
 *   turnDetection: { type: "semantic_vad", eagerness: "auto", interruptResponse: true },
 *   noiseReduction: undefined, transcriptionModel: undefined,
 * });
 * if (event.session.audio.input.format.type !== "audio/pcmu") throw new Error();
 * if ("reasoning" in event.session) throw new Error("not set, not sent");
 * ```
 */
export function buildSessionUpdate(
  settings: SessionSettings,
  tools: readonly ToolDefinition[] = [],
) {
  const td = settings.turnDetection;
  const bridge = settings.bridgeDecidesInterruptions === true;
  const turnDetection = td.type === "server_vad"
    ? {
      type: "server_vad" as const,
      threshold: td.threshold,
      prefix_padding_ms: td.prefixPaddingMs,
      silence_duration_ms: td.silenceDurationMs,
      create_response: !bridge,
      interrupt_response: !bridge && td.interruptResponse,
    }
    : {
      type: "semantic_vad" as const,
      eagerness: td.eagerness,
      create_response: !bridge,
      interrupt_response: !bridge && td.interruptResponse,
    };
  const voice = settings.voice.startsWith("voice_") ? { id: settings.voice } : settings.voice;
  return {
    type: "session.update" as const,
    session: {
      type: "realtime" as const,
      model: settings.openaiModel,
      output_modalities: ["audio"],
      instructions: settings.systemMessage,
      audio: {
        input: {
          format: { type: "audio/pcmu" as const },
          turn_detection: turnDetection,
          noise_reduction: settings.noiseReduction === undefined
            ? null
            : { type: settings.noiseReduction },
          transcription: settings.transcriptionModel === undefined
            ? null
            : { model: settings.transcriptionModel },
        },
        output: { format: { type: "audio/pcmu" as const }, voice },
      },
      tools: toolDeclarations(tools, { transfer: settings.transferNumber !== undefined }),
      tool_choice: "auto",
      ...optionalFeatures(settings),
    },
  };
}

/** The GA `truncation` value of a `TRUNCATION` setting. */
function truncationField(truncation: NonNullable<Config["truncation"]>) {
  return typeof truncation === "number"
    ? { type: "retention_ratio" as const, retention_ratio: truncation }
    : truncation;
}

/** The session fields of the optional features that are set (and only those). */
function optionalFeatures(settings: SessionSettings) {
  return {
    ...(settings.reasoningEffort !== undefined
      ? { reasoning: { effort: settings.reasoningEffort } }
      : {}),
    ...(settings.truncation !== undefined
      ? { truncation: truncationField(settings.truncation) }
      : {}),
    ...(settings.parallelToolCalls !== undefined
      ? { parallel_tool_calls: settings.parallelToolCalls }
      : {}),
  };
}
