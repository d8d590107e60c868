/**
 * What an agent may ask of its engine: the agents file's settings that GPT-Live
 * (`engine: live`) cannot honour are refused with a message naming the setting
 * and what to do, so a file never selects a combination that fails in a call.
 *
 * GPT-Live decides turns itself (full duplex: no `turn_detection`), has no
 * transcription language setting, and its Responses backend runs MCP servers
 * without a way for the bridge to answer approval requests
 * (`/work/shared/gpt-live-protocol.md` §2, §8; checked 2026-12-07).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { engineProblems } from "./engine_rules.ts";
 * const problems = engineProblems({ engine: "live", language: "fr" }, "realtime");
 * assert.equal(problems.length, 1);
 * assert.deepEqual(problems[0][0], ["language"]);
 * ```
 *
 * @module
 */
import { DEFAULT_LIVE_MODEL, DEFAULT_MODEL } from "../config/mod.ts";

/** The fields of an agents-file entry the rules read (see `agents_file.ts`'s `AgentEntry`). */
export interface EngineAgent {
  engine?: Engine;
  voice?: string;
  backend_model?: string;
  turn_detection?: unknown;
  language?: string;
  tools?: ReadonlyArray<{ type: string; require_approval?: unknown; approve_tools?: string[] }>;
}

/** Voices GPT-Live has besides the Realtime ones [SDK, contract §2; checked 2026-12-07]. */
const LIVE_ONLY_VOICES = [
  "beacon",
  "bossa",
  "cinder",
  "delta",
  "gleam",
  "meridian",
  "quartz",
  "ripple",
  "shida",
  "stone",
  "tempo",
  "vesper",
  "willow",
] as const;

/** The engines an agent can run on. */
export type Engine = "realtime" | "live";

/** The engine an agent runs on: its own `engine:`, else the environment's `ENGINE`. */
export function agentEngine(agent: Pick<EngineAgent, "engine">, defaultEngine: Engine): Engine {
  return agent.engine ?? defaultEngine;
}

/** Problems of `agent` with its engine, as [path inside the agent, message]. */
export function engineProblems(
  agent: EngineAgent,
  defaultEngine: Engine,
): Array<[Array<string | number>, string]> {
  const problems: Array<[Array<string | number>, string]> = [];
  if (agentEngine(agent, defaultEngine) === "realtime") {
    if (
      agent.voice !== undefined && (LIVE_ONLY_VOICES as readonly string[]).includes(agent.voice)
    ) {
      problems.push([
        ["voice"],
        `${agent.voice} is a GPT-Live voice; set engine: live, or pick a Realtime voice (alloy ash ballad coral echo sage shimmer verse marin cedar).`,
      ]);
    }
    if (agent.backend_model !== undefined) {
      problems.push([
        ["backend_model"],
        "applies to engine: live only (the model GPT-Live delegates tool calls to); remove it, or set engine: live.",
      ]);
    }
    return problems;
  }
  if (agent.turn_detection !== undefined) {
    problems.push([
      ["turn_detection"],
      "engine: live decides turns itself (it listens while it speaks); remove turn_detection, or use engine: realtime.",
    ]);
  }
  if (agent.language !== undefined) {
    problems.push([
      ["language"],
      "engine: live has no transcription language setting; remove language (say the language in the instructions), or use engine: realtime.",
    ]);
  }
  agent.tools?.forEach((tool, t) => {
    if (tool.type !== "mcp") return;
    const approval = tool.require_approval ?? "never";
    if (approval !== "never" || (tool.approve_tools?.length ?? 0) > 0) {
      problems.push([
        ["tools", t, "require_approval"],
        "engine: live runs MCP servers in its Responses backend, which cannot ask this bridge for approvals; use require_approval: never (and no approve_tools), or engine: realtime.",
      ]);
    }
  });
  return problems;
}

/**
 * The model of an agent on `engine` that names none: `OPENAI_MODEL` when the
 * environment's agent runs on the same engine and it names a model for it,
 * else the engine's default (gpt-realtime-2.1, gpt-live-1).
 */
export function defaultModel(
  engine: Engine,
  config: { engine: Engine; openaiModel: string },
): string {
  if (engine === "realtime") {
    return config.engine === "realtime" ? config.openaiModel : DEFAULT_MODEL;
  }
  return config.engine === "live" && config.openaiModel !== DEFAULT_MODEL
    ? config.openaiModel
    : DEFAULT_LIVE_MODEL;
}
