/**
 * Post-call analysis of one call: the agent's instructions and the call's
 * transcript (tool calls and results included) go to the Responses API with
 * the agent's strict output format; the answer is parsed and validated
 * against that schema. A malformed or mismatching answer, a timeout or a
 * server error is tried again (up to `maxAttempts`); then the analysis is
 * stored as an error, never half: either every asked field or none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { analysisCostUsd } from "./call_analyzer.ts";
 * // 1M input tokens of which 0.5M cached, and 0.1M output, at $0.25 / $0.025 / $2.
 * const cost = analysisCostUsd(
 *   { input: 1_000_000, cachedInput: 500_000, output: 100_000, reasoning: 50_000 },
 *   { input: 0.25, cachedInput: 0.025, output: 2 },
 * );
 * assert.equal(cost, 0.3375);
 * ```
 *
 * @module
 */
import { Ajv } from "ajv/dist/ajv.js";
import { ANALYSIS_PROMPTS } from "../prompts/mod.ts";
import { analysisFormat, type AnalysisSpec } from "./analysis_spec.ts";
import {
  type AnalysisTokens,
  NO_TOKENS,
  type ResponsesClient,
  type StructuredOutcome,
} from "./responses_client.ts";

/** USD per 1M tokens of the analysis model. */
export interface AnalysisPrices {
  input: number;
  cachedInput: number;
  output: number;
}

/** The analysis kept in a call record. */
export interface CallAnalysis {
  /** `ok`: every asked field is there and matches the schema; `error`: none is. */
  status: "ok" | "error";
  model: string;
  /** ISO time it finished. */
  analyzedAt: string;
  summary?: string;
  extraction?: unknown;
  success?: { passed: boolean; reason: string };
  /** What went wrong (status `error`). */
  error?: string;
  /** Requests made. */
  attempts: number;
  /** Tokens of all attempts. */
  tokens: AnalysisTokens;
  /** Their estimated cost. */
  estimatedCostUsd: number;
}

/** One line of the transcript, as the analysis reads it. */
export interface AnalysisLine {
  role: "caller" | "assistant" | "tool_call" | "tool_result";
  text: string | null;
  atMs: number;
}

/** What {@link analyzeCall} needs. */
export interface AnalyzeCallInput {
  spec: AnalysisSpec;
  /** The agent's instructions (the model reads them to judge the call). */
  agentInstructions: string;
  transcript: readonly AnalysisLine[];
  client: Pick<ResponsesClient, "create">;
  prices: AnalysisPrices;
  /** Requests at most [3]. */
  maxAttempts?: number;
  /** Pause before a retry [1000 ms, doubled each time]. */
  retryDelayMs?: number;
  now?: () => Date;
}

/** Estimated cost in USD (cached input at its price, reasoning counted in output). */
export function analysisCostUsd(tokens: AnalysisTokens, prices: AnalysisPrices): number {
  const uncached = Math.max(0, tokens.input - tokens.cachedInput);
  const usd = (uncached * prices.input + tokens.cachedInput * prices.cachedInput +
    tokens.output * prices.output) / 1_000_000;
  return Math.round(usd * 1_000_000) / 1_000_000;
}

const WHO: Record<AnalysisLine["role"], string> = {
  caller: "Caller",
  assistant: "Assistant",
  tool_call: "Tool call",
  tool_result: "Tool result",
};

/** The request input: the agent's instructions, then the transcript. */
function analysisInput(
  agentInstructions: string,
  transcript: readonly AnalysisLine[],
): string {
  const clock = (ms: number) => {
    const s = Math.round(ms / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  };
  const lines = transcript.map((line) =>
    `[${clock(line.atMs)}] ${WHO[line.role]}: ${line.text ?? "(not transcribed)"}`
  );
  return [
    "The assistant's instructions:",
    agentInstructions,
    "",
    "The call's transcript:",
    ...(lines.length > 0 ? lines : ["(nobody spoke)"]),
  ].join("\n");
}

function addTokens(a: AnalysisTokens, b: AnalysisTokens): AnalysisTokens {
  return {
    input: a.input + b.input,
    cachedInput: a.cachedInput + b.cachedInput,
    output: a.output + b.output,
    reasoning: a.reasoning + b.reasoning,
  };
}

/** Analyzes one call. Never throws: a failure is an analysis with status `error`. */
export async function analyzeCall(input: AnalyzeCallInput): Promise<CallAnalysis> {
  const { spec } = input;
  const now = input.now ?? (() => new Date());
  let tokens = NO_TOKENS;
  let attempts = 0;
  const result = (fields: Partial<CallAnalysis> & Pick<CallAnalysis, "status">): CallAnalysis => ({
    model: spec.model,
    analyzedAt: now().toISOString(),
    ...fields,
    attempts,
    tokens,
    estimatedCostUsd: analysisCostUsd(tokens, input.prices),
  });
  const format = analysisFormat(spec);
  if (typeof format === "string") return result({ status: "error", error: format });
  const validate = new Ajv({ strict: false, allErrors: false }).compile(format.schema);
  const instructions = [
    ANALYSIS_PROMPTS.instructions,
    ...(spec.summary ? [ANALYSIS_PROMPTS.summary] : []),
    ...(spec.extract !== undefined ? [ANALYSIS_PROMPTS.extraction] : []),
    ...(spec.success !== undefined ? [ANALYSIS_PROMPTS.success(spec.success)] : []),
  ].join("\n");
  const request = {
    model: spec.model,
    instructions,
    input: analysisInput(input.agentInstructions, input.transcript),
    format,
  };
  const maxAttempts = input.maxAttempts ?? 3;
  let delay = input.retryDelayMs ?? 1000;
  let lastError = "no attempt";
  while (attempts < maxAttempts) {
    if (attempts > 0) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
    }
    attempts++;
    const outcome: StructuredOutcome = await input.client.create(request);
    tokens = addTokens(tokens, outcome.tokens);
    if (!outcome.ok) {
      lastError = outcome.error;
      if (!outcome.retry) break;
      continue;
    }
    let answer: unknown;
    try {
      answer = JSON.parse(outcome.text);
    } catch {
      lastError = "the answer is not JSON";
      continue;
    }
    if (!validate(answer)) {
      const first = validate.errors?.[0];
      lastError = `the answer does not match the schema (${first?.instancePath || "/"} ${
        first?.message ?? "is invalid"
      })`;
      continue;
    }
    const fields = answer as Pick<CallAnalysis, "summary" | "extraction" | "success">;
    return result({
      status: "ok",
      ...(spec.summary ? { summary: fields.summary } : {}),
      ...(spec.extract !== undefined ? { extraction: fields.extraction } : {}),
      ...(spec.success !== undefined ? { success: fields.success } : {}),
    });
  }
  return result({ status: "error", error: lastError });
}
