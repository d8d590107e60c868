/**
 * Post-call analysis: after a call, off the call path, OpenAI's Responses API
 * reads the agent's instructions and the transcript and answers in a strict
 * JSON schema with a summary, the fields the agent extracts and a pass/fail
 * verdict. See docs/agents.md ("Analysis").
 *
 * @module
 */
export { type JsonSchema, toStrictSchema } from "./strict_schema.ts";
export { analysisFormat, type AnalysisSpec, asksForAnything } from "./analysis_spec.ts";
export { type AnalysisTokens, NO_TOKENS, ResponsesClient } from "./responses_client.ts";
export { type AnalysisPrices, analyzeCall, type CallAnalysis } from "./call_analyzer.ts";
