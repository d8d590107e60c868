/**
 * Runs the post-call analysis of a call record for the agent that took the
 * call (its `analysis:` and instructions), with the whole transcript: the
 * analysis sees the words, the record keeps only its result.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import {
  type AnalysisPrices,
  type AnalysisSpec,
  analyzeCall,
  type CallAnalysis,
  type ResponsesClient,
} from "../analysis/mod.ts";
import type { CallRecord } from "./call_record.ts";

/** What the analyst needs to know of an agent. */
export interface AnalyzedAgent {
  instructions: string;
  analysis: AnalysisSpec | undefined;
}

/** Options of {@link RecordAnalyst}. */
export interface RecordAnalystOptions {
  /** The agent of that name now (the environment's when undefined), if any. */
  agent: (name: string | undefined) => AnalyzedAgent | undefined;
  client: Pick<ResponsesClient, "create">;
  prices: AnalysisPrices;
  /** Pause before a retry [1000 ms, doubling]. */
  retryDelayMs?: number;
  logger?: Logger;
}

/** Analyzes call records. */
export class RecordAnalyst {
  #o: RecordAnalystOptions;

  /** Creates the analyst. */
  constructor(options: RecordAnalystOptions) {
    this.#o = options;
  }

  /** The agent's analysis spec for `record`, if it asks for one. */
  specFor(record: CallRecord): AnalysisSpec | undefined {
    return this.#o.agent(record.agent)?.analysis;
  }

  /** The analysis of `record`; undefined when its agent asks for none. Never throws. */
  async analyze(record: CallRecord): Promise<CallAnalysis | undefined> {
    const agent = this.#o.agent(record.agent);
    if (agent?.analysis === undefined) return undefined;
    const analysis = await analyzeCall({
      spec: agent.analysis,
      agentInstructions: agent.instructions,
      transcript: record.transcript,
      client: this.#o.client,
      prices: this.#o.prices,
      ...(this.#o.retryDelayMs !== undefined ? { retryDelayMs: this.#o.retryDelayMs } : {}),
    });
    const log = this.#o.logger;
    if (analysis.status === "ok") {
      log?.info("Call analyzed ({model}, ${cost}).", {
        callSid: record.callSid,
        model: analysis.model,
        cost: analysis.estimatedCostUsd,
      });
    } else {
      log?.error("The analysis of the call failed after {attempts} tries: {error}", {
        callSid: record.callSid,
        attempts: analysis.attempts,
        error: analysis.error,
      });
    }
    return analysis;
  }
}
