/**
 * The GPT-Live engine adapter of one session (sans-IO): it turns the call
 * core's commands (Realtime-shaped client events) into GPT-Live client
 * events, and GPT-Live's events into the server events the core acts on, so
 * the core, its endings, tools, records, metrics and live view stay the same
 * for both engines.
 *
 * - **Session**: the core's `session.update` becomes `session.start` (model,
 *   instructions, voice, `audio.format {audio/pcmu, 8000}`, Responses
 *   delegation with the function and MCP tools); everything else waits for
 *   `session.started` (the contract: nothing before it).
 * - **Replies and interruptions**: read from the output track by
 *   {@link LiveReplies} (`live_replies.ts`). A `response.create` with
 *   instructions (greeting, farewell, filler) becomes a
 *   `session.commentary.append`; the reply that follows is that response.
 *   Truncates are dropped (GPT-Live has none; the record keeps what was
 *   played, from the marks).
 * - **Tools**: a function call inside `response.event` becomes a response
 *   with `response.function_call_arguments.done`; its output goes back as
 *   `response.item.create`, the core's next `response.create` as a bare
 *   `response.create` (Responses delegation).
 * - **Continuation**: a new session hears the replayed conversation as one
 *   `session.instructions.append` after `session.started`.
 *
 * The session's state:
 *
 * ```mermaid
 * stateDiagram-v2
 *   [*] --> new
 *   new --> starting: session.start sent
 *   new --> closed: session.closed
 *   starting --> started: session.started (queued events sent)
 *   starting --> closed: session.closed
 *   started --> closed: session.closed
 * ```
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LiveEngine } from "./live_engine.ts";
 * import { encodeBase64 } from "../audio/base64.ts";
 * const engine = new LiveEngine({ generation: 1, backendModel: "gpt-5-mini" });
 * const start = engine.fromCore({ type: "session.update", session: {
 *   model: "gpt-live-1", instructions: "Be brief.", audio: { output: { voice: "marin" } }, tools: [],
 * } });
 * assert.equal(start.send[0].type, "session.start");
 * // Caller audio waits for session.started.
 * const audio = encodeBase64(new Uint8Array([0xff, 0xff])); // "//8="
 * assert.deepEqual(engine.fromCore({ type: "input_audio_buffer.append", audio }).send, []);
 * const started = engine.fromEngine({ type: "session.started", sessionId: "live_1", expiresAt: undefined });
 * assert.deepEqual(started.send, [{ type: "session.input_audio.append", audio: "//8=" }]);
 * ```
 *
 * @module
 */
import type { ClientEvent } from "../openai/client_events.ts";
import type { ServerEvent } from "../openai/server_events.ts";
import {
  LIVE_AUDIO_FORMAT,
  type LiveClientEvent,
  type LiveServerEvent,
  type LiveSessionConfig,
} from "../openai/live_events.ts";
import { liveHistory, liveHistoryLine } from "../prompts/mod.ts";
import { checkMove, type MoveTable } from "../core/state_moves.ts";
import { LiveReplies, type ReplyState } from "./live_replies.ts";

/** Events kept while waiting for `session.started` (about 20 s of caller audio). */
const MAX_QUEUED = 1000;

/** What one input made of the session. */
export interface LiveStep {
  /** To send to GPT-Live, in order. */
  send: LiveClientEvent[];
  /** For the call core, in order. */
  events: ServerEvent[];
  /** The session is over (`session.closed`): close its socket with this reason. */
  closed?: string;
  /** `session.started`: the session's id and deadline (unix s). */
  started?: { sessionId: string; expiresAt: number | undefined };
  /** Cumulative billed seconds of this session (`session.usage.updated`, `session.closed`). */
  usageSeconds?: number;
}

/** Where the session stands. */
export type LivePhase = "new" | "starting" | "started" | "closed";

/** The allowed moves of {@link LivePhase} (checked on each move). */
export const LIVE_PHASE_MOVES: MoveTable<LivePhase> = {
  new: ["starting", "closed"],
  starting: ["started", "closed"],
  started: ["closed"],
  closed: [],
};

/** Options of {@link LiveEngine}. */
export interface LiveEngineOptions {
  /** The session's generation (ids stay unique across a call's sessions). */
  generation: number;
  /** The Responses model tool calls are delegated to. */
  backendModel: string;
}

/** The adapter of one GPT-Live session (see the module doc). */
export class LiveEngine {
  #o: LiveEngineOptions;
  #phase: LivePhase = "new";
  #queue: LiveClientEvent[] = [];
  #history: string[] = [];
  #ids = 0;
  /** Function outputs sent since the last `response.create`. */
  #outputsPending = false;
  #replies = new LiveReplies({
    id: (kind) => this.#id(kind),
    responseDone: (responseId, status) => this.#responseDone(responseId, status),
  });
  /** Backend (Responses) tokens not yet reported in a `response.done`. */
  #backendUsage = { input: 0, cached: 0, output: 0 };

  /** Creates the adapter of one session. */
  constructor(options: LiveEngineOptions) {
    this.#o = options;
  }

  /** Where the session stands. */
  get phase(): LivePhase {
    return this.#phase;
  }

  /** Whether the model is in a reply. */
  get reply(): ReplyState {
    return this.#replies.state;
  }

  /** Translates one core command for this session. */
  fromCore(event: ClientEvent): LiveStep {
    const step: LiveStep = { send: [], events: [] };
    if (this.#phase === "closed") return step;
    if (event.type === "session.update") {
      if (this.#phase === "new") {
        this.#move("starting");
        step.send.push({ type: "session.start", session: this.#sessionConfig(event.session) });
      }
      return step;
    }
    for (const live of this.#translate(event)) {
      if (this.#phase === "started") step.send.push(live);
      else if (this.#queue.length < MAX_QUEUED) this.#queue.push(live);
    }
    return step;
  }

  /** Translates one GPT-Live event for the core. */
  fromEngine(event: LiveServerEvent): LiveStep {
    const step: LiveStep = { send: [], events: [] };
    if (this.#phase === "closed") return step;
    switch (event.type) {
      case "session.started":
        if (this.#phase !== "starting") return step;
        this.#move("started");
        step.started = { sessionId: event.sessionId, expiresAt: event.expiresAt };
        if (this.#history.length > 0) {
          step.send.push({
            type: "session.instructions.append",
            delegation_id: null,
            content: liveHistory(this.#history),
          });
          this.#history = [];
        }
        step.send.push(...this.#queue);
        this.#queue = [];
        return step;
      case "session.output_audio.delta":
        this.#replies.audio(event.delta, step.events);
        return step;
      case "session.output_transcript.delta":
        this.#replies.outputTranscript(event.delta);
        return step;
      case "session.input_transcript.delta":
        this.#replies.callerWords(event.delta, step.events, event.endMs - event.startMs);
        return step;
      case "function_call":
        this.#onFunctionCall(event, step.events);
        return step;
      case "backend_usage": {
        // Responses usage, counted as text tokens in the core's (Realtime) usage shape.
        const u = event.usage;
        const count = (v: unknown) => typeof v === "number" && Number.isFinite(v) ? v : 0;
        const cached = count((u.input_tokens_details as Record<string, unknown>)?.cached_tokens);
        this.#backendUsage.input += count(u.input_tokens);
        this.#backendUsage.cached += cached;
        this.#backendUsage.output += count(u.output_tokens);
        return step;
      }
      case "session.usage.updated":
        step.usageSeconds = event.seconds;
        return step;
      case "session.closed":
        this.#replies.close(step.events);
        this.#move("closed");
        step.closed = event.reason;
        if (event.seconds !== undefined) step.usageSeconds = event.seconds;
        return step;
      case "error":
        step.events.push({
          type: "error",
          code: event.code,
          errorType: event.errorType,
          message: event.message,
          param: event.param,
          eventId: undefined,
        });
        return step;
      case "other":
        return step;
    }
  }

  #move(to: LivePhase): void {
    checkMove("GPT-Live session", LIVE_PHASE_MOVES, this.#phase, to);
    this.#phase = to;
  }

  #id(kind: string): string {
    return `live_${kind}_${this.#o.generation}_${++this.#ids}`;
  }

  /** The `session.start` config from the core's Realtime `session.update` (listed fields only). */
  #sessionConfig(session: Record<string, unknown>): LiveSessionConfig {
    const audio = session.audio as { output?: { voice?: unknown } } | undefined;
    const voice = audio?.output?.voice;
    const tools = Array.isArray(session.tools) ? session.tools as Record<string, unknown>[] : [];
    const reasoning = session.reasoning as { effort?: string } | undefined;
    const config: LiveSessionConfig = {
      model: String(session.model ?? ""),
      instructions: String(session.instructions ?? ""),
      audio: {
        format: LIVE_AUDIO_FORMAT,
        output: {
          voice: typeof voice === "string" || (typeof voice === "object" && voice !== null)
            ? voice as string | { id: string }
            : "marin",
        },
      },
    };
    if (tools.length > 0) {
      config.delegation = {
        type: "responses",
        responses: {
          model: this.#o.backendModel,
          tools: tools.map(responsesTool),
          ...(reasoning?.effort !== undefined ? { reasoning: { effort: reasoning.effort } } : {}),
        },
      };
    }
    return config;
  }

  /** The GPT-Live events of one core command (empty: it has no GPT-Live counterpart). */
  #translate(event: ClientEvent): LiveClientEvent[] {
    switch (event.type) {
      case "input_audio_buffer.append":
        return [{ type: "session.input_audio.append", audio: event.audio }];
      case "input_audio_buffer.clear":
      case "conversation.item.truncate":
      case "session.update":
      // Bridge-decided interruptions are Realtime's (GPT-Live agents never have them).
      case "response.cancel":
      case "conversation.item.delete":
        return []; // no commit, no client truncate: the model yields by itself
      case "conversation.item.create": {
        const item = event.item;
        if (item.type === "function_call_output") {
          this.#outputsPending = true;
          return [{
            type: "response.item.create",
            item: { type: "function_call_output", call_id: item.call_id, output: item.output },
          }];
        }
        const line = item.type === "function_call"
          ? liveHistoryLine("tool", `${item.name}(${item.arguments})`)
          : liveHistoryLine(
            item.role === "assistant" ? "assistant" : "user",
            item.content.map((c) => c.text).join(" "),
          );
        if (this.#phase !== "started") {
          this.#history.push(line); // a replay into a new session: told once it started
          return [];
        }
        return [{ type: "session.instructions.append", delegation_id: null, content: line }];
      }
      case "response.create": {
        if (this.#outputsPending) {
          this.#outputsPending = false;
          return [{ type: "response.create" }];
        }
        const instructions = event.response?.instructions;
        return instructions === undefined
          ? [] // the model answers by itself; its next reply is this response
          : [{ type: "session.commentary.append", delegation_id: null, content: instructions }];
      }
    }
  }

  #responseDone(responseId: string, status: string): ServerEvent {
    const { input, cached, output } = this.#backendUsage;
    this.#backendUsage = { input: 0, cached: 0, output: 0 };
    const usage = input + output === 0 ? undefined : {
      input_tokens: input,
      output_tokens: output,
      input_token_details: { text_tokens: input, cached_tokens: cached },
      output_token_details: { text_tokens: output },
    };
    return { type: "response.done", responseId, status, errorCode: undefined, usage };
  }

  #onFunctionCall(
    call: Extract<LiveServerEvent, { type: "function_call" }>,
    events: ServerEvent[],
  ): void {
    this.#replies.closeCallerTurn(events);
    const responseId = this.#id("call");
    events.push(
      { type: "response.created", responseId },
      {
        type: "response.function_call_arguments.done",
        responseId,
        callId: call.callId,
        name: call.name,
        arguments: call.arguments,
      },
      this.#responseDone(responseId, "completed"),
    );
  }
}

/** A Realtime tool declaration as a Responses tool (function tools are flat in both; MCP the same). */
function responsesTool(tool: Record<string, unknown>): Record<string, unknown> {
  if (tool.type !== "function") return tool;
  return {
    type: "function",
    name: tool.name,
    description: tool.description,
    parameters: tool.parameters,
  };
}
