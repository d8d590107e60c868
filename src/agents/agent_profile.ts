/**
 * Agent profiles: what one agent overrides of the environment's single
 * agent (instructions, greeting, voice, model, reasoning effort, turn
 * detection, language, tools, caller context).
 *
 * Without an agents file, {@link environmentProfile} is the only profile,
 * so nothing changes for existing users. A profile of the file starts from
 * the same environment values and replaces what it sets ({@link fileProfiles}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../config.ts";
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
import type { Config, TurnDetection } from "../config_types.ts";
import type { CallPrompts } from "../prompts.ts";
import { TRANSFER_CALL_DECLARATION, TRANSFER_CALL_TOOL } from "../tools/tool_registry.ts";
import type { AgentEntry, AgentsFileData } from "./agents_file.ts";
import { DEFAULT_HTTP_TOOL_TIMEOUT_MS, type HttpToolSpec } from "./http_tool.ts";

/** The name of the profile built from the environment. */
export const ENVIRONMENT_PROFILE_NAME = "default";

/** Default timeout of the context webhook, in ms. */
export const DEFAULT_CONTEXT_TIMEOUT_MS = 2000;

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

/** A function tool that hands the caller to a phone number. */
export interface TransferSpec {
  name: string;
  number: string;
  description: string;
}

/** Where the caller's context comes from before the greeting. */
export interface ContextWebhookSpec {
  url: string;
  timeoutMs: number;
  headers: Record<string, string>;
}

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
  model: string;
  reasoningEffort: "minimal" | "low" | "medium" | "high" | "xhigh" | undefined;
  turnDetection: TurnDetection;
  /** The caller's language (ISO 639-1), for transcription; undefined: detected. */
  language: string | undefined;
  /** Keep the keys the caller presses in records and the live view (else each is `•`). */
  recordKeypadDigits: boolean;
  httpTools: readonly HttpToolSpec[];
  mcpServers: readonly McpServerSpec[];
  transfers: readonly TransferSpec[];
  contextWebhook: ContextWebhookSpec | undefined;
  /** Wording that replaces the default endings' (see `src/prompts.ts`). */
  prompts: Partial<CallPrompts>;
}

/** The single agent configured by the environment (`SYSTEM_MESSAGE`, `VOICE`, …). */
export function environmentProfile(config: Config): AgentProfile {
  return {
    name: ENVIRONMENT_PROFILE_NAME,
    numbers: [],
    instructions: config.systemMessage,
    greeting: config.greeting,
    filler: undefined,
    voice: config.voice,
    model: config.openaiModel,
    reasoningEffort: config.reasoningEffort,
    turnDetection: config.turnDetection,
    language: undefined,
    recordKeypadDigits: config.recordKeypadDigits,
    httpTools: [],
    mcpServers: [],
    transfers: config.transferNumber === undefined ? [] : [{
      name: TRANSFER_CALL_TOOL,
      number: config.transferNumber,
      description: TRANSFER_CALL_DECLARATION.description,
    }],
    contextWebhook: undefined,
    prompts: {},
  };
}

/**
 * The profiles of a validated agents file, on top of the environment's
 * values. `instructions` holds the `instructions_file` contents by agent index.
 */
export function fileProfiles(
  file: AgentsFileData,
  instructions: ReadonlyMap<number, string>,
  config: Config,
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
    model: agent.model ?? base.model,
    reasoningEffort: agent.reasoning_effort ?? base.reasoningEffort,
    turnDetection: turnDetection(agent.turn_detection, base.turnDetection),
    language: agent.language,
    recordKeypadDigits: agent.record_keypad_digits ?? base.recordKeypadDigits,
    ...tools(agent),
    prompts: wording(agent.wording),
    contextWebhook: agent.context_webhook === undefined ? undefined : {
      url: agent.context_webhook.url,
      timeoutMs: (agent.context_webhook.timeout_seconds ?? DEFAULT_CONTEXT_TIMEOUT_MS / 1000) *
        1000,
      headers: agent.context_webhook.headers ?? {},
    },
  }));
}

function wording(entry: AgentEntry["wording"]): Partial<CallPrompts> {
  if (entry === undefined) return {};
  const prompts: Partial<CallPrompts> = {};
  if (entry.farewell !== undefined) prompts.farewell = entry.farewell;
  if (entry.transfer !== undefined) prompts.transfer = entry.transfer;
  if (entry.time_limit !== undefined) prompts.timeLimit = entry.time_limit;
  if (entry.idle !== undefined) prompts.idle = entry.idle;
  if (entry.drain !== undefined) prompts.drain = entry.drain;
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
      case "transfer":
        transfers.push({
          name: tool.name,
          number: tool.number,
          description: tool.description ?? TRANSFER_CALL_DECLARATION.description,
        });
        break;
    }
  }
  return { httpTools, mcpServers, transfers };
}
