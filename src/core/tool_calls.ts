/**
 * The model's function calls: the built-in endings (`end_call`,
 * `transfer_call`) start the wrap-up, custom tools go to the runner (all
 * calls of a response run in parallel; {@link Responses} holds the next
 * `response.create` until every output is in), unknown tools get an error
 * output. Every output is recorded in the conversation, so a session that
 * replaces the current one gets it replayed even when it could not be sent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCallParts } from "./call_parts.ts";
 * import { ToolCalls } from "./tool_calls.ts";
 * import { WarmHandoff } from "./warm_handoff.ts";
 * const parts = createCallParts({
 *   sessionUpdate: { type: "session.update", session: {} },
 *   customTools: ["lookup"],
 * });
 * const tools = new ToolCalls(parts, { wrapUp: () => {}, handoff: new WarmHandoff(parts) });
 * tools.called("resp_1", "call_1", "lookup", '{"id":"7"}');
 * assert.deepEqual(parts.out.take().filter((c) => c.type === "run_tool"), [
 *   { type: "run_tool", callId: "call_1", name: "lookup", arguments: '{"id":"7"}' },
 * ]);
 * assert.equal(parts.responses.busy, true);
 * ```
 *
 * @module
 */
import { functionCallOutput } from "../openai/client_events.ts";
import { flushResponse, requestResponse } from "./response_requests.ts";
import { END_CALL_TOOL } from "../tools/tool_registry.ts";
import type { Ending } from "./call_ending.ts";
import type { CallParts } from "./call_parts.ts";
import type { WarmHandoff } from "./warm_handoff.ts";

/** What the tool rules need from the rest of the core. */
export interface ToolCallHooks {
  /** Starts winding the call up after the response `afterResponseId`. */
  wrapUp(ending: Ending, afterResponseId: string): void;
  /** The warm transfer (see `warm_handoff.ts`). */
  handoff: WarmHandoff;
}

/** Function calls of one call. */
export class ToolCalls {
  #p: CallParts;
  #hooks: ToolCallHooks;

  /** Creates the rules over `parts`. */
  constructor(parts: CallParts, hooks: ToolCallHooks) {
    this.#p = parts;
    this.#hooks = hooks;
  }

  /** The model called `name` (call `callId`) in response `responseId`. */
  called(responseId: string, callId: string, name: string, args: string): void {
    const p = this.#p;
    p.counts.toolCalls++;
    p.out.observe({ kind: "tool_call", name, callId, arguments: args });
    p.conversation.functionCall(callId, name, args, p.now);
    if (this.#isWarmTransfer(name)) {
      this.#warmTransfer(callId, name, args);
      return;
    }
    const ending = this.#endingFor(name);
    if (ending !== undefined) {
      if (p.ending.ending) {
        this.#answer(callId, name, { ok: true, note: "already ending" });
        return;
      }
      p.out.log("info", ending.logMessage, { reason: reasonOf(args) });
      this.#answer(callId, name, { ok: true });
      this.#hooks.wrapUp(ending, responseId);
      return;
    }
    if (!p.options.customTools.includes(name)) {
      p.out.log("warning", "The model called an unknown tool.", { tool: name });
      this.#answer(callId, name, { error: `Unknown tool "${name}". Do not call it again.` });
      requestResponse(this.#p, {});
      return;
    }
    const first = !p.responses.toolsRunning;
    p.responses.toolStarted(callId);
    p.out.runTool(callId, name, args);
    if (first && p.options.toolFillerAfterMs > 0) {
      p.out.setTimer("tool_filler", p.options.toolFillerAfterMs);
    }
  }

  /**
   * A tool has run for a while: unless something is playing or being said
   * (a preamble of the model's own), the model says a short filler, out of
   * band, so the caller never waits in silence.
   */
  fillerDue(): void {
    const p = this.#p;
    const session = p.sessions.live();
    if (session === undefined || !p.responses.toolsRunning || p.ending.ending) return;
    if (p.audio.busy(p.now)) return;
    const event = p.responses.outOfBand({
      instructions: p.options.prompts.toolFiller,
      toolChoice: "none",
    });
    if (event === undefined) return;
    p.out.log("info", "A tool is taking a while; the assistant tells the caller to hold on.");
    p.out.toOpenAI(session, event);
  }

  /** A custom tool finished with `output` (a result or an error object). */
  finished(callId: string, output: unknown): void {
    if (!this.#p.responses.toolFinished(callId)) return;
    if (!this.#p.responses.toolsRunning) this.#p.out.cancelTimer("tool_filler");
    this.#output(callId, output);
    if (!this.#p.ending.ending) {
      requestResponse(this.#p, {}, { uninterruptible: speaksUninterrupted(output) });
    } else flushResponse(this.#p); // a farewell may wait for this output
  }

  #isWarmTransfer(name: string): boolean {
    const { transferEnabled, transferToolName, transferMode } = this.#p.options;
    return transferEnabled && transferMode === "warm" && name === transferToolName;
  }

  /**
   * A warm transfer: the assistant tells the caller it is getting someone and
   * stays with them, while the handoff briefs and calls a person.
   */
  #warmTransfer(callId: string, name: string, args: string): void {
    const p = this.#p;
    const handoff = this.#hooks.handoff;
    if (p.ending.ending || handoff.active) {
      this.#answer(callId, name, {
        ok: false,
        note: p.ending.ending
          ? "The call is ending."
          : "A person is already being called; keep the caller company meanwhile.",
      });
      if (!p.ending.ending) requestResponse(this.#p, {});
      return;
    }
    const reason = reasonOf(args);
    p.out.log("info", "The assistant is calling a person to take the call (warm transfer).", {
      reason,
    });
    this.#answer(callId, name, { ok: true, status: "calling a person; stay with the caller" });
    handoff.begin(reason);
    requestResponse(this.#p, { instructions: p.options.prompts.transferHold });
  }

  #endingFor(name: string): (Ending & { logMessage: string }) | undefined {
    const { prompts, transferEnabled, transferToolName } = this.#p.options;
    if (name === END_CALL_TOOL) {
      return {
        instructions: prompts.farewell,
        reason: "The assistant ended the call.",
        outcome: "assistant_ended",
        logMessage: "The assistant is ending the call.",
      };
    }
    if (name === transferToolName && transferEnabled) {
      return {
        instructions: prompts.transfer,
        reason: "The assistant transferred the call.",
        outcome: "transferred",
        logMessage: "The assistant is transferring the call to a person.",
      };
    }
    return undefined;
  }

  /**
   * Answers a call the core handles itself (no tool runs: an ending, a warm
   * transfer, an unknown tool) and reports the answer; `failed` for an error
   * or a refusal (`ok: false`).
   */
  #answer(callId: string, name: string, output: Record<string, unknown>): void {
    this.#output(callId, output);
    this.#p.out.observe({
      kind: "tool_answered",
      name,
      callId,
      output: JSON.stringify(output),
      failed: "error" in output || output.ok === false,
    });
  }

  /** Records a tool output and sends it when a session is open (a new one gets it replayed). */
  #output(callId: string, output: unknown): void {
    const p = this.#p;
    p.conversation.functionCallOutput(callId, JSON.stringify(output), p.now);
    const session = p.sessions.live();
    if (session !== undefined) p.out.toOpenAI(session, functionCallOutput(callId, output));
  }
}

function reasonOf(args: string): string | undefined {
  try {
    const parsed = JSON.parse(args);
    return typeof parsed?.reason === "string" ? parsed.reason.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a tool's output asks for the answer it leads to to be heard whole:
 * `speak_uninterrupted: true` in the output, or in an HTTP tool's JSON
 * (`{status, data: {speak_uninterrupted: true, …}}`).
 */
function speaksUninterrupted(output: unknown): boolean {
  if (typeof output !== "object" || output === null) return false;
  const o = output as Record<string, unknown>;
  if (o.speak_uninterrupted === true) return true;
  const data = o.data;
  return typeof data === "object" && data !== null &&
    (data as Record<string, unknown>).speak_uninterrupted === true;
}
