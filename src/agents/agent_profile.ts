/**
 * Agent profiles: what one agent overrides of the environment's single
 * agent (instructions, greeting, voice, model, reasoning effort, turn
 * detection, language, tools, caller context, and how it calls out). The
 * same profile takes the calls to its numbers and places the calls made in
 * its name (`POST /calls`, campaigns).
 *
 * Without an agents file, {@link environmentProfile} is the only profile,
 * so nothing changes for existing users. A profile of the file starts from
 * the same environment values and replaces what it sets ({@link fileProfiles}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../config/mod.ts";
 * import { environmentProfile, fileProfiles } from "./agent_profile.ts";
 * const config = parseConfig({ OPENAI_API_KEY: "sk-test-0123456789abcdefghij", VOICE: "cedar" });
 * assert.equal(environmentProfile(config).voice, "cedar");
 * const [listings] = fileProfiles(
 *   { agents: [{ name: "listings", voice: "marin", greeting: null }] }, new Map(), config,
 * );
 * assert.equal(listings.voice, "marin");
 * assert.equal(listings.greeting, undefined);
 * assert.equal(listings.instructions, config.systemMessage);
 * ```
 *
 * @module
 */
import type { Config, TurnDetection } from "../config/mod.ts";
import { backchannelsFor, type CallPrompts, TOOL_DESCRIPTIONS } from "../prompts/mod.ts";
import type { KeypadOptions } from "../core/keypad.ts";
import { TRANSFER_CALL_DECLARATION, TRANSFER_CALL_TOOL } from "../tools/tool_registry.ts";
import type { AgentEntry, AgentsFileData } from "./agents_file.ts";
import { agentEngine, defaultModel, type Engine } from "./engine_rules.ts";
import { DEFAULT_HTTP_TOOL_TIMEOUT_MS, type HttpToolSpec } from "./http_tool.ts";
import type { WebhookEventType } from "../webhooks/mod.ts";
import { type AnalysisSpec, asksForAnything } from "../analysis/mod.ts";

/** The name of the profile built from the environment. */
export const ENVIRONMENT_PROFILE_NAME = "default";

/** Default timeout of the context webhook, in ms. */
const DEFAULT_CONTEXT_TIMEOUT_MS = 2000;

/** An MCP server declared to the Realtime session (OpenAI calls it itself). */
export interface McpServerSpec {
  serverLabel: string;
  serverUrl: string;
  serverDescription?: string | undefined;
  /** Sent to OpenAI, which sends them to the MCP server. */
  headers?: Record<string, string> | undefined;
  /** OAuth access token; sent to OpenAI, like headers. */
  authorization?: string | undefined;
  allowedTools?: string[] | undefined;
  /** As in the GA `MCPTool`; this bridge's default is `"never"`. */
  requireApproval: "always" | "never" | {
    always?: { tool_names: string[] };
    never?: { tool_names: string[] };
  };
  /** Tools the bridge approves when asked; other approval requests are declined. */
  approveTools: string[];
}

/** A function tool that hands the caller to a person. */
export interface TransferSpec {
  name: string;
  /** `cold`: Twilio dials once the agent hung up; `warm`: the agent briefs the person first. */
  mode: TransferMode;
  /** E.164 numbers or SIP URIs, tried in order (at least one). */
  destinations: readonly string[];
  /** Seconds each destination rings. */
  ringTimeoutSeconds: number;
  description: string;
}

/** How a transfer hands the caller over. */
export type TransferMode = "cold" | "warm";

/** Seconds a transfer destination rings by default. */
const DEFAULT_RING_TIMEOUT_SECONDS = 20;

/** Where the caller's context comes from before the greeting. */
export interface ContextWebhookSpec {
  url: string;
  timeoutMs: number;
  headers: Record<string, string>;
}

/** How an agent's callers interrupt it (see `src/core/interruption_decision.ts`). */
export interface InterruptionsSpec {
  /** The bridge decides interruptions and resumes after false ones; false: OpenAI cancels on any speech. */
  resume: boolean;
  mode: "cut" | "confirm";
  minSpeechMs: number;
  /** Words that never interrupt. */
  backchannels: readonly string[];
  /** Whether the caller can interrupt the greeting. */
  greetingInterruptible: boolean;
}

/** How an agent calls out (`outbound:` of the agents file). */
export interface OutboundProfile {
  /** Caller id (E.164); undefined: `TWILIO_PHONE_NUMBER`. */
  from: string | undefined;
  /** Said first when a person answers; undefined: it waits for the callee. */
  greeting: string | undefined;
  /** Said once on an answering machine, then hang up; undefined: hang up at once. */
  voicemail: string | undefined;
  /** Whether the model gets the `send_dtmf` tool (phone menus). */
  sendDtmf: boolean;
  /** How the callee's keypad digits are gathered; undefined: the core's default. */
  keypad: KeypadOptions | undefined;
}

/** Default pause that ends gathered keypad digits, in seconds (`outbound.dtmf.timeout_seconds`). */
const DEFAULT_DTMF_TIMEOUT_SECONDS = 3;

/** One agent, ready for calls. */
export interface AgentProfile {
  /** Unique; in call records, metrics and the stream token. */
  name: string;
  /** Called numbers (E.164) that reach this agent; empty for a default agent. */
  numbers: readonly string[];
  /** The system message; may hold `{{caller.*}}` templates. */
  instructions: string;
  /** Said first, or undefined for none; may hold `{{caller.*}}` templates. */
  greeting: string | undefined;
  /** Said when a tool is slow, or undefined to let the model speak for itself. */
  filler: string | undefined;
  voice: string;
  /** The speech-to-speech engine (see docs/agents.md). */
  engine: Engine;
  /** The engine's model. */
  model: string;
  /** `engine: live`: the Responses model tool calls are delegated to. */
  backendModel: string;
  reasoningEffort: "minimal" | "low" | "medium" | "high" | "xhigh" | undefined;
  turnDetection: TurnDetection;
  /** The caller's language (ISO 639-1), for transcription; undefined: detected. */
  language: string | undefined;
  /** Keep the keys the caller presses in records and the live view (else each is `•`). */
  recordKeypadDigits: boolean;
  /** How the caller's keys are gathered (`dtmf:`); undefined: the core's default. */
  keypad: KeypadOptions | undefined;
  httpTools: readonly HttpToolSpec[];
  mcpServers: readonly McpServerSpec[];
  transfers: readonly TransferSpec[];
  contextWebhook: ContextWebhookSpec | undefined;
  /** Wording that replaces the default endings' (see `src/prompts/mod.ts`). */
  prompts: Partial<CallPrompts>;
  interruptions: InterruptionsSpec;
  /** How it calls out. */
  outbound: OutboundProfile;
  /** Webhooks of this agent's events (the environment's `WEBHOOK_URL` gets them too). */
  webhooks: readonly AgentWebhookSpec[];
  /** Post-call analysis of its calls; undefined: none. */
  analysis: AnalysisSpec | undefined;
  /** Twilio records its calls after this consent line; undefined: no recording. */
  recording: RecordingSpec | undefined;
}

/** How an agent's calls are recorded. */
export interface RecordingSpec {
  /** Said first by Twilio, in full; the recording starts after it. */
  consent: string;
  channels: "mono" | "dual";
}

/** The environment's transfer tool: `TRANSFER_NUMBERS` (or `TRANSFER_NUMBER`) and `TRANSFER_MODE`. */
function environmentTransfers(config: Config): TransferSpec[] {
  const destinations = config.transferNumbers ??
    (config.transferNumber === undefined ? undefined : [config.transferNumber]);
  if (destinations === undefined || destinations.length === 0) return [];
  return [{
    name: TRANSFER_CALL_TOOL,
    mode: config.transferMode,
    destinations,
    ringTimeoutSeconds: DEFAULT_RING_TIMEOUT_SECONDS,
    description: transferDescription(config.transferMode),
  }];
}

/** The built-in description of a transfer tool in `mode`. */
function transferDescription(mode: TransferMode): string {
  return mode === "warm"
    ? TOOL_DESCRIPTIONS.warmTransferCall
    : TRANSFER_CALL_DECLARATION.description;
}

/** A webhook of the agents file. */
export interface AgentWebhookSpec {
  url: string;
  /** The events it gets; undefined: all. */
  events: readonly WebhookEventType[] | undefined;
  /** `whsec_<base64>` (checked when the file was read). */
  secret: string;
}

/** A comma-separated list of words (INTERRUPTION_BACKCHANNELS), or undefined when unset. */
function wordList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value.split(",").map((w) => w.trim()).filter((w) => w !== "");
}

/**
 * The environment's agent calling out: no greeting (`GREETING` welcomes
 * callers, not callees), so it waits for the callee; no voicemail message,
 * so it hangs up on machines.
 */
const QUIET_OUTBOUND: OutboundProfile = {
  from: undefined,
  greeting: undefined,
  voicemail: undefined,
  sendDtmf: false,
  keypad: undefined,
};

/** The single agent configured by the environment (`SYSTEM_MESSAGE`, `VOICE`, …). */
export function environmentProfile(config: Config): AgentProfile {
  return {
    name: ENVIRONMENT_PROFILE_NAME,
    numbers: [],
    instructions: config.systemMessage,
    greeting: config.greeting,
    filler: undefined,
    voice: config.voice,
    engine: config.engine,
    model: defaultModel(config.engine, config),
    backendModel: config.liveBackendModel,
    reasoningEffort: config.reasoningEffort,
    turnDetection: config.turnDetection,
    language: undefined,
    recordKeypadDigits: config.recordKeypadDigits,
    keypad: undefined,
    httpTools: [],
    mcpServers: [],
    transfers: environmentTransfers(config),
    contextWebhook: undefined,
    prompts: {},
    interruptions: {
      resume: config.interruptionResume,
      mode: config.interruptionMode,
      minSpeechMs: config.interruptionMinSpeechMs,
      backchannels: wordList(config.interruptionBackchannels) ?? backchannelsFor(undefined),
      greetingInterruptible: config.greetingInterruptible,
    },
    outbound: QUIET_OUTBOUND,
    webhooks: [],
    analysis: environmentAnalysis(config),
    recording: config.recordingConsent === undefined
      ? undefined
      : { consent: config.recordingConsent, channels: config.recordingChannels },
  };
}

/**
 * The profiles of a validated agents file, on top of the environment's
 * values. `instructions` holds the `instructions_file` contents by agent
 * index; `secrets` the file's `${VAR}` values, which its HTTP tools redact
 * from their outputs.
 */
export function fileProfiles(
  file: AgentsFileData,
  instructions: ReadonlyMap<number, string>,
  config: Config,
  secrets: readonly string[] = [],
): AgentProfile[] {
  const base = environmentProfile(config);
  return file.agents.map((agent, i) => ({
    name: agent.name,
    numbers: agent.numbers ?? [],
    instructions: agent.instructions ?? instructions.get(i) ?? base.instructions,
    greeting: agent.greeting === undefined
      ? base.greeting
      : agent.greeting === null || agent.greeting.trim() === ""
      ? undefined
      : agent.greeting,
    filler: agent.filler,
    voice: agent.voice ?? base.voice,
    engine: agentEngine(agent, config.engine),
    model: agent.model ?? defaultModel(agentEngine(agent, config.engine), config),
    backendModel: agent.backend_model ?? base.backendModel,
    reasoningEffort: agent.reasoning_effort ?? base.reasoningEffort,
    turnDetection: turnDetection(agent.turn_detection, base.turnDetection),
    language: agent.language,
    recordKeypadDigits: agent.record_keypad_digits ?? base.recordKeypadDigits,
    keypad: agent.dtmf === undefined ? base.keypad : keypadOptions(agent.dtmf, undefined),
    ...tools(agent, secrets),
    prompts: { ...wording(agent.wording), ...transferWording(agent) },
    interruptions: interruptions(agent, base.interruptions, config),
    contextWebhook: agent.context_webhook === undefined ? undefined : {
      url: agent.context_webhook.url,
      timeoutMs: (agent.context_webhook.timeout_seconds ?? DEFAULT_CONTEXT_TIMEOUT_MS / 1000) *
        1000,
      headers: agent.context_webhook.headers ?? {},
    },
    outbound: outbound(agent.outbound),
    analysis: fileAnalysis(agent.analysis, config),
    recording: agent.recording === undefined
      ? undefined
      : { consent: agent.recording.consent, channels: agent.recording.channels ?? "dual" },
    webhooks: (agent.webhooks ?? []).map((webhook) => ({
      url: webhook.url,
      events: webhook.events,
      secret: webhook.secret,
    })),
  }));
}

function interruptions(
  agent: AgentEntry,
  base: InterruptionsSpec,
  config: Config,
): InterruptionsSpec {
  const entry = agent.interruptions ?? {};
  return {
    resume: entry.resume ?? base.resume,
    mode: entry.mode ?? base.mode,
    minSpeechMs: entry.min_speech_ms ?? base.minSpeechMs,
    backchannels: entry.backchannels ?? wordList(config.interruptionBackchannels) ??
      backchannelsFor(agent.language),
    greetingInterruptible: agent.greeting_interruptible ?? base.greetingInterruptible,
  };
}

/** The transfer tool's `briefing` and `fallback`, as the call's wording. */
function transferWording(agent: AgentEntry): Partial<CallPrompts> {
  const tool = agent.tools?.find((t) => t.type === "transfer");
  if (tool?.type !== "transfer") return {};
  return {
    ...(tool.briefing !== undefined ? { transferBriefing: tool.briefing } : {}),
    ...(tool.fallback !== undefined ? { transferFallback: tool.fallback } : {}),
  };
}

function outbound(entry: AgentEntry["outbound"]): OutboundProfile {
  if (entry === undefined) return QUIET_OUTBOUND;
  return {
    from: entry.from,
    greeting: entry.greeting,
    voicemail: entry.voicemail,
    sendDtmf: entry.send_dtmf === true,
    keypad: entry.dtmf === undefined
      ? undefined
      : keypadOptions(entry.dtmf, DEFAULT_DTMF_TIMEOUT_SECONDS),
  };
}

/**
 * An agent's `dtmf:` (or `outbound.dtmf:`) as the core's keypad options;
 * `defaultSeconds` undefined: the core's default pause.
 */
function keypadOptions(
  dtmf: { collect_until?: "#" | "*"; timeout_seconds?: number; sensitive?: boolean },
  defaultSeconds: number | undefined,
): KeypadOptions {
  const seconds = dtmf.timeout_seconds ?? defaultSeconds;
  return {
    ...(dtmf.collect_until !== undefined ? { collectUntil: dtmf.collect_until } : {}),
    ...(seconds !== undefined ? { timeoutMs: seconds * 1000 } : {}),
    ...(dtmf.sensitive === true ? { sensitive: true } : {}),
  };
}

/** The environment's agent's analysis (`ANALYSIS_*`), when any is asked for. */
function environmentAnalysis(config: Config): AnalysisSpec | undefined {
  const spec: AnalysisSpec = {
    summary: config.analysisSummary,
    extract: config.analysisExtract,
    success: config.analysisSuccess,
    model: config.analysisModel,
  };
  return asksForAnything(spec) ? spec : undefined;
}

/** An agent's `analysis:`, when it asks for anything. */
function fileAnalysis(entry: AgentEntry["analysis"], config: Config): AnalysisSpec | undefined {
  if (entry === undefined) return undefined;
  const spec: AnalysisSpec = {
    summary: entry.summary ?? false,
    extract: entry.extract,
    success: entry.success,
    model: entry.model ?? config.analysisModel,
  };
  return asksForAnything(spec) ? spec : undefined;
}

function wording(entry: AgentEntry["wording"]): Partial<CallPrompts> {
  if (entry === undefined) return {};
  const prompts: Partial<CallPrompts> = {};
  if (entry.farewell !== undefined) prompts.farewell = entry.farewell;
  if (entry.transfer !== undefined) prompts.transfer = entry.transfer;
  if (entry.time_limit !== undefined) prompts.timeLimit = entry.time_limit;
  if (entry.idle !== undefined) prompts.idle = entry.idle;
  if (entry.drain !== undefined) prompts.drain = entry.drain;
  if (entry.resumed !== undefined) prompts.resumed = entry.resumed;
  return prompts;
}

function turnDetection(
  entry: AgentEntry["turn_detection"],
  base: TurnDetection,
): TurnDetection {
  if (entry === undefined) return base;
  const interruptResponse = entry.interrupt_response ?? base.interruptResponse;
  if (entry.type === "semantic_vad") {
    return {
      type: "semantic_vad",
      eagerness: entry.eagerness ?? (base.type === "semantic_vad" ? base.eagerness : "auto"),
      interruptResponse,
    };
  }
  const server = base.type === "server_vad"
    ? base
    : { threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500 };
  return {
    type: "server_vad",
    threshold: entry.threshold ?? server.threshold,
    prefixPaddingMs: entry.prefix_padding_ms ?? server.prefixPaddingMs,
    silenceDurationMs: entry.silence_duration_ms ?? server.silenceDurationMs,
    interruptResponse,
  };
}

function tools(
  agent: AgentEntry,
  secrets: readonly string[],
): Pick<AgentProfile, "httpTools" | "mcpServers" | "transfers"> {
  const httpTools: HttpToolSpec[] = [];
  const mcpServers: McpServerSpec[] = [];
  const transfers: TransferSpec[] = [];
  for (const tool of agent.tools ?? []) {
    switch (tool.type) {
      case "http":
        httpTools.push({
          name: tool.name,
          description: tool.description,
          parameters: tool.parameters,
          method: tool.request.method ?? "GET",
          url: tool.request.url,
          headers: tool.request.headers ?? {},
          timeoutMs: (tool.timeout_seconds ?? DEFAULT_HTTP_TOOL_TIMEOUT_MS / 1000) * 1000,
          secrets,
          ...(tool.sensitive ? { sensitive: true } : {}),
        });
        break;
      case "mcp":
        mcpServers.push({
          serverLabel: tool.server_label,
          serverUrl: tool.server_url,
          serverDescription: tool.server_description,
          headers: tool.headers,
          authorization: tool.authorization,
          allowedTools: tool.allowed_tools,
          requireApproval: tool.require_approval ?? "never",
          approveTools: tool.approve_tools ?? [],
        });
        break;
      case "transfer": {
        const mode = tool.mode ?? "cold";
        transfers.push({
          name: tool.name,
          mode,
          destinations: tool.destinations ?? (tool.number === undefined ? [] : [tool.number]),
          ringTimeoutSeconds: tool.ring_timeout_seconds ?? DEFAULT_RING_TIMEOUT_SECONDS,
          description: tool.description ?? transferDescription(mode),
        });
        break;
      }
    }
  }
  return { httpTools, mcpServers, transfers };
}
