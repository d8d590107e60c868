/**
 * What one agent profile makes of a call: its `session.update` (voice,
 * model, instructions with `{{caller.*}}` filled, turn detection, language,
 * reasoning effort, function tools and MCP servers), its tools as
 * {@link ToolDefinition}s the call runner executes, and its Realtime URL.
 *
 * An HTTP tool's URL and headers stay in its handler: the declaration sent
 * to OpenAI has only its name, description and parameters. MCP servers are
 * declared with their headers, which OpenAI needs to call them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../config/mod.ts";
 * import { environmentProfile } from "./agent_profile.ts";
 * import { profileSessionUpdate } from "./profile_session.ts";
 * const config = parseConfig({ OPENAI_API_KEY: "sk-test-0123456789abcdefghij" });
 * const profile = { ...environmentProfile(config), voice: "marin", instructions: "Hi {{caller.name|there}}." };
 * const event = profileSessionUpdate(profile, config, [], { name: "Ada" });
 * assert.equal(event.session.audio.output.voice, "marin");
 * assert.equal(event.session.instructions, "Hi Ada.");
 * ```
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import { buildSessionUpdate } from "../openai/session_config.ts";
import { realtimeUrl } from "../config/mod.ts";
import { mcpToolDeclaration } from "../openai/mcp_events.ts";
import { type ToolDefinition, TRANSFER_CALL_TOOL } from "../tools/tool_registry.ts";
import type { InterruptionSettings } from "../core/interruption_decision.ts";
import type { AgentProfile } from "./agent_profile.ts";
import type { SocketEngine } from "../bridge/realtime_sockets.ts";
import { fillCallerTemplate } from "./caller_templates.ts";
import { HttpTool, type HttpToolOptions } from "./http_tool.ts";

/**
 * The profile's `session.update`. `tools` are the function tools besides the
 * built-ins (e.g. {@link profileTools}); `caller` the context webhook's answer.
 */
export function profileSessionUpdate(
  profile: AgentProfile,
  config: Config,
  tools: readonly ToolDefinition[],
  caller?: Readonly<Record<string, unknown>>,
) {
  // One transfer tool per agent, under the agent's name for it (the core's `transferToolName`).
  const transfer = profile.transfers[0];
  const event = buildSessionUpdate({
    openaiModel: profile.model,
    voice: profile.voice,
    systemMessage: fillCallerTemplate(profile.instructions, caller),
    turnDetection: profile.turnDetection,
    noiseReduction: config.noiseReduction,
    transcriptionModel: config.transcriptionModel,
    transferNumber: transfer?.destinations[0],
    reasoningEffort: profile.reasoningEffort,
    truncation: config.truncation,
    parallelToolCalls: config.parallelToolCalls,
    bridgeDecidesInterruptions: profile.interruptions.resume,
  }, tools);
  const session = event.session;
  const transcription = session.audio.input.transcription;
  return {
    ...event,
    session: {
      ...session,
      audio: {
        ...session.audio,
        input: {
          ...session.audio.input,
          transcription: transcription !== null && profile.language !== undefined
            ? { ...transcription, language: profile.language }
            : transcription,
        },
      },
      tools: [
        ...session.tools.map((tool) =>
          tool.name === TRANSFER_CALL_TOOL && transfer !== undefined
            ? { ...tool, name: transfer.name, description: transfer.description }
            : tool
        ),
        ...profile.mcpServers.map(mcpToolDeclaration),
      ],
    },
  };
}

/**
 * The call core's interruption settings of the profile, or undefined when
 * OpenAI interrupts by itself (`resume: false`). Speech is measured with the
 * VAD's prefix padding and silence; with semantic_vad neither is known and
 * both count as 0 (speech looks longer: the decision errs towards real), and
 * backchannels are told by their words.
 */
function profileInterruptions(
  profile: AgentProfile,
  config: Config,
): InterruptionSettings | undefined {
  const spec = profile.interruptions;
  if (!spec.resume) return undefined;
  const td = profile.turnDetection;
  return {
    minSpeechMs: spec.minSpeechMs,
    backchannels: spec.backchannels,
    mode: spec.mode,
    transcription: config.transcriptionModel !== undefined,
    prefixPaddingMs: td.type === "server_vad" ? td.prefixPaddingMs : 0,
    silenceDurationMs: td.type === "server_vad" ? td.silenceDurationMs : 0,
    semanticVad: td.type === "semantic_vad",
  };
}

const toolCache = new WeakMap<AgentProfile, ToolDefinition[]>();

/** The profile's HTTP tools as runnable {@link ToolDefinition}s (built once per profile). */
export function profileTools(
  profile: AgentProfile,
  options: HttpToolOptions = {},
): ToolDefinition[] {
  if (options.fetch !== undefined) {
    return profile.httpTools.map((spec) => new HttpTool(spec, options).definition());
  }
  let tools = toolCache.get(profile);
  if (tools === undefined) {
    tools = profile.httpTools.map((spec) => new HttpTool(spec).definition());
    toolCache.set(profile, tools);
  }
  return tools;
}

/**
 * The WebSocket URL of the profile's engine: Realtime's with `?model=`, or
 * GPT-Live's sessions URL (no query string: the model goes in `session.start`).
 */
export function profileSocketUrl(profile: AgentProfile, config: Config): string {
  if (profile.engine === "live") return config.openaiLiveUrl;
  return realtimeUrl({ openaiRealtimeUrl: config.openaiRealtimeUrl, openaiModel: profile.model });
}

/** The engine the call runner's sockets speak for the profile. */
export function profileEngine(profile: AgentProfile): SocketEngine {
  return profile.engine === "live"
    ? { kind: "live", backendModel: profile.backendModel }
    : { kind: "realtime" };
}

/**
 * What the call core does differently on the profile's engine. GPT-Live:
 * the caller's audio goes on during the farewell (its timeline advances with
 * the input), the model always yields to the caller, and no timed renewal
 * (a session that closes is continued by a new one, see docs/call-flow.md).
 * Realtime: the interruption settings of {@link profileInterruptions}.
 */
export function profileCoreOptions(profile: AgentProfile, config: Config) {
  const keys = {
    recordKeypadDigits: profile.recordKeypadDigits,
    ...(profile.keypad !== undefined ? { keypad: profile.keypad } : {}),
  };
  return profile.engine === "live"
    ? { continuousInput: true, interruptResponse: true, renewAfterMs: 0, ...keys }
    : {
      ...keys,
      interruptResponse: profile.turnDetection.interruptResponse,
      // Realtime: the bridge decides interruptions (see docs/call-flow.md).
      interruptions: profileInterruptions(profile, config),
      greetingInterruptible: profile.interruptions.greetingInterruptible,
    };
}
