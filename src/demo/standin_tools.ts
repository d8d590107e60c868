/**
 * How the Realtime stand-in calls a tool without any intelligence: it picks
 * the first function tool the session declares that neither ends nor
 * transfers the call, and fills its arguments with examples taken from the
 * tool's JSON Schema (`examples[0]`, `default`, `const`, `enum[0]`, else a
 * value of the right type). Sans-IO and deterministic, so a tester at the
 * softphone and the tests see the same call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exampleArguments, standinToolChoice } from "./standin_tools.ts";
 * const tools = [
 *   { type: "function", name: "end_call", parameters: { type: "object" } },
 *   { type: "function", name: "lookup_listing", parameters: {
 *     type: "object",
 *     properties: { listing_id: { type: "string", examples: ["L-1001"] }, beds: { type: "integer" } },
 *     required: ["listing_id"],
 *   } },
 * ];
 * assert.deepEqual(standinToolChoice(tools), {
 *   name: "lookup_listing", arguments: { listing_id: "L-1001" },
 * });
 * assert.equal(standinToolChoice(tools.slice(0, 1)), undefined);
 * assert.deepEqual(exampleArguments({ type: "object", properties: { n: { type: "number", minimum: 3 } } }), { n: 3 });
 * ```
 *
 * @module
 */
import { END_CALL_TOOL } from "../tools/tool_registry.ts";

/** A tool call the stand-in makes: a declared tool's name and example arguments. */
export interface StandinToolChoice {
  name: string;
  arguments: Record<string, unknown>;
}

type Schema = Record<string, unknown>;

function isObject(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Tools the stand-in never calls on its own: they end or hand over the call. */
function endsTheCall(name: string): boolean {
  return name === END_CALL_TOOL || /^transfer/i.test(name);
}

/**
 * The tool to call among the session's `tools`: the first `type: "function"`
 * tool whose name is not `end_call` and does not start with `transfer`;
 * undefined when there is none.
 */
export function standinToolChoice(tools: unknown): StandinToolChoice | undefined {
  if (!Array.isArray(tools)) return undefined;
  for (const tool of tools) {
    if (!isObject(tool) || tool.type !== "function" || typeof tool.name !== "string") continue;
    if (endsTheCall(tool.name)) continue;
    const args = exampleValue(isObject(tool.parameters) ? tool.parameters : {}, 0);
    return { name: tool.name, arguments: isObject(args) ? args : {} };
  }
  return undefined;
}

/**
 * Example arguments for an object schema: its required properties (all of
 * them when none is required), each an example of its own schema.
 */
export function exampleArguments(schema: Schema): Record<string, unknown> {
  const value = exampleValue(schema, 0);
  return isObject(value) ? value : {};
}

function exampleValue(schema: Schema, depth: number): unknown {
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if ("default" in schema) return schema.default;
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "string":
      return "example";
    case "integer":
    case "number":
      return typeof schema.minimum === "number" ? schema.minimum : 1;
    case "boolean":
      return true;
    case "array":
      return [];
    case "null":
      return null;
    default: {
      if (type !== "object" && !isObject(schema.properties)) return "example";
      const properties = isObject(schema.properties) ? schema.properties : {};
      const required = Array.isArray(schema.required)
        ? schema.required.filter((name): name is string => typeof name === "string")
        : [];
      const names = required.length > 0 ? required : Object.keys(properties);
      const out: Record<string, unknown> = {};
      if (depth >= 4) return out;
      for (const name of names) {
        const property = properties[name];
        out[name] = exampleValue(isObject(property) ? property : {}, depth + 1);
      }
      return out;
    }
  }
}

/** What the stand-in says (as transcript) when a tool's output came back: short, one line. */
export function toolConfirmation(name: string, output: string): string {
  const flat = output.replace(/\s+/g, " ").trim();
  const shown = flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
  return `${name} answered: ${shown} (the offline demo plays a chime, then your words)`;
}
