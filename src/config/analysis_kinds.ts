/**
 * The value kind of `ANALYSIS_EXTRACT`: a JSON Schema (an object) written
 * inline as JSON or in a `.json` file, checked at start-up to be one the
 * strict structured output can take (see `src/analysis/`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { extractSchema } from "./analysis_kinds.ts";
 * assert.match(extractSchema().accepted, /JSON Schema/);
 * ```
 *
 * @module
 */
import { toStrictSchema } from "../analysis/mod.ts";
import type { Kind } from "./setting.ts";

/** An object JSON Schema, inline (`{…}`) or the path of a JSON file. */
export function extractSchema(): Kind<Record<string, unknown>> {
  return {
    accepted: "a JSON Schema of an object, inline ({...}) or the path of a .json file",
    parse(raw, ctx) {
      let text = raw;
      if (!raw.startsWith("{")) {
        try {
          text = ctx.readTextFile(raw);
        } catch (error) {
          return ctx.problem(
            `${ctx.name} could not be read from ${JSON.stringify(raw)} (${
              error instanceof Error ? error.name : "error"
            }). Write the JSON Schema inline ({...}) or give the path of a .json file.`,
          );
        }
      }
      let schema: unknown;
      try {
        schema = JSON.parse(text);
      } catch {
        return ctx.problem(
          `${ctx.name} is not valid JSON. Write a JSON Schema such as {"type": "object", "properties": {...}}.`,
        );
      }
      const strict = toStrictSchema(schema);
      if (typeof strict === "string") return ctx.problem(`${ctx.name}: ${strict}.`);
      return schema as Record<string, unknown>;
    },
  };
}
