/**
 * What an agent asks of the post-call analysis (`analysis:` in the agents
 * file, `ANALYSIS_*` for the environment's agent), and the strict structured
 * output format it becomes: one object with `summary`, `extraction` and
 * `success` (`{passed, reason}`), each only when asked for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { analysisFormat } from "./analysis_spec.ts";
 *
 * const format = analysisFormat({ summary: true, success: "Booked a viewing.", model: "gpt-5-mini" });
 * if (typeof format === "string") throw new Error(format);
 * assert.equal(format.type, "json_schema");
 * assert.equal(format.strict, true);
 * assert.deepEqual(format.schema.required, ["summary", "success"]);
 * ```
 *
 * @module
 */
import { type JsonSchema, toStrictSchema } from "./strict_schema.ts";

/** The analysis an agent asks for. */
export interface AnalysisSpec {
  /** A few sentences on the call. */
  summary: boolean;
  /** JSON Schema (an object) of the fields to extract, as the author wrote it. */
  extract?: JsonSchema | undefined;
  /** Pass/fail criterion, in words. */
  success?: string | undefined;
  /** Responses API model. */
  model: string;
}

/** The `text.format` of the Responses API request. */
export interface AnalysisFormat {
  type: "json_schema";
  name: string;
  strict: true;
  schema: JsonSchema & { required: string[] };
}

/** Whether the spec asks for anything. */
export function asksForAnything(spec: AnalysisSpec): boolean {
  return spec.summary || spec.extract !== undefined || spec.success !== undefined;
}

/** The strict output format of `spec`, or the problem of its extract schema. */
export function analysisFormat(spec: AnalysisSpec): AnalysisFormat | string {
  const properties: JsonSchema = {};
  if (spec.summary) properties.summary = { type: "string" };
  if (spec.extract !== undefined) {
    const strict = toStrictSchema(spec.extract);
    if (typeof strict === "string") return strict;
    properties.extraction = strict;
  }
  if (spec.success !== undefined) {
    properties.success = {
      type: "object",
      properties: { passed: { type: "boolean" }, reason: { type: "string" } },
      required: ["passed", "reason"],
      additionalProperties: false,
    };
  }
  return {
    type: "json_schema",
    name: "call_analysis",
    strict: true,
    schema: {
      type: "object",
      properties,
      required: Object.keys(properties),
      additionalProperties: false,
    },
  };
}
