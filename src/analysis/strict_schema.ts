/**
 * Turns the JSON Schema an author wrote for `analysis.extract` into the form
 * OpenAI's strict Structured Outputs accept, so authors write plain JSON
 * Schema: every object lists all its properties in `required` (a property the
 * author left optional becomes nullable: `"type": ["string", "null"]`) and
 * has `additionalProperties: false`.
 *
 * Sources (read 2026-12-07): the Structured Outputs guide as quoted by
 * OpenAI's SDK (openai/openai-node `src/lib/transform.ts`, commit 7b7d6ca of
 * 2026-08-21: "all fields must be required", objects closed with
 * `additionalProperties: false`, the root an object and not a union, arrays
 * with one `items` schema, and its list of unsupported keywords, used here).
 * Where they disagree: that SDK helper *refuses* an optional property that is
 * not nullable, while the guide's advice (and the issue) is to emulate
 * optional with a union with `null`; this module does the latter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toStrictSchema } from "./strict_schema.ts";
 *
 * const strict = toStrictSchema({
 *   type: "object",
 *   properties: { name: { type: "string" }, intent: { type: "string" } },
 *   required: ["intent"],
 * });
 * assert.deepEqual(strict, {
 *   type: "object",
 *   properties: { name: { type: ["string", "null"] }, intent: { type: "string" } },
 *   required: ["name", "intent"],
 *   additionalProperties: false,
 * });
 * assert.match(String(toStrictSchema({ type: "string" })), /must be an object/);
 * ```
 *
 * @module
 */
import { errorMessage } from "../observability/error_message.ts";

/** A JSON Schema as plain data. */
export type JsonSchema = { [keyword: string]: unknown };

/** Keywords strict mode does not support (from the SDK's list, see the module doc). */
const UNSUPPORTED_KEYWORDS: readonly string[] = [
  "$anchor",
  "$dynamicAnchor",
  "$dynamicRef",
  "$recursiveAnchor",
  "$recursiveRef",
  "allOf",
  "contains",
  "contentEncoding",
  "contentMediaType",
  "contentSchema",
  "dependentRequired",
  "dependentSchemas",
  "dependencies",
  "else",
  "if",
  "maxContains",
  "maxProperties",
  "minContains",
  "minProperties",
  "not",
  "patternProperties",
  "prefixItems",
  "propertyNames",
  "then",
  "unevaluatedItems",
  "unevaluatedProperties",
  "uniqueItems",
  "additionalItems",
];

function isObject(value: unknown): value is JsonSchema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether the schema is an object schema (a `type` of object, or object keywords). */
function objectShaped(schema: JsonSchema): boolean {
  const type = schema.type;
  return type === "object" || (Array.isArray(type) && type.includes("object")) ||
    "properties" in schema;
}

/** The schema, allowing null too. */
function nullable(schema: JsonSchema): JsonSchema {
  const type = schema.type;
  if (typeof type === "string") {
    if (type === "null") return schema;
    const out: JsonSchema = { ...schema, type: [type, "null"] };
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) {
      out.enum = [...schema.enum, null];
    }
    return out;
  }
  if (Array.isArray(type)) {
    return type.includes("null") ? schema : { ...schema, type: [...type, "null"] };
  }
  if (Array.isArray(schema.anyOf)) {
    const hasNull = schema.anyOf.some((branch) => isObject(branch) && branch.type === "null");
    return hasNull ? schema : { ...schema, anyOf: [...schema.anyOf, { type: "null" }] };
  }
  if (Array.isArray(schema.enum)) {
    return schema.enum.includes(null) ? schema : { ...schema, enum: [...schema.enum, null] };
  }
  // A $ref or a const: a union with null, keeping the description outside.
  const { description, ...rest } = schema;
  return {
    ...(description !== undefined ? { description } : {}),
    anyOf: [rest, { type: "null" }],
  };
}

function at(path: readonly string[]): string {
  return path.length === 0 ? "the root" : path.join(".");
}

function strictify(schema: unknown, path: string[]): JsonSchema {
  if (!isObject(schema)) throw new Error(`${at(path)} must be a schema object`);
  for (const keyword of UNSUPPORTED_KEYWORDS) {
    if (keyword in schema) {
      throw new Error(
        `${at(path)} uses ${keyword}, which OpenAI's strict structured output does not support`,
      );
    }
  }
  const out: JsonSchema = { ...schema };
  if (objectShaped(schema)) {
    if (schema.additionalProperties !== undefined && schema.additionalProperties !== false) {
      throw new Error(
        `${
          at(path)
        } allows additional properties; strict structured output needs every property listed (remove additionalProperties)`,
      );
    }
    const properties = isObject(schema.properties) ? schema.properties : {};
    const required = Array.isArray(schema.required) ? schema.required : [];
    for (const name of required) {
      if (typeof name !== "string" || !(name in properties)) {
        throw new Error(
          `${at(path)} requires ${JSON.stringify(name)} but does not list it in properties`,
        );
      }
    }
    const strictProperties: JsonSchema = {};
    for (const [name, property] of Object.entries(properties)) {
      const strict = strictify(property, [...path, name]);
      strictProperties[name] = required.includes(name) ? strict : nullable(strict);
    }
    out.properties = strictProperties;
    out.required = Object.keys(strictProperties);
    out.additionalProperties = false;
  }
  const type = schema.type;
  if (type === "array" || (Array.isArray(type) && type.includes("array"))) {
    if (!isObject(schema.items)) {
      throw new Error(`${at(path)} is an array without one items schema`);
    }
  }
  if (isObject(schema.items)) out.items = strictify(schema.items, [...path, "items"]);
  for (const keyword of ["anyOf", "oneOf"] as const) {
    const branches = schema[keyword];
    if (Array.isArray(branches)) {
      out.anyOf = branches.map((branch, i) => strictify(branch, [...path, `${keyword}[${i}]`]));
      if (keyword === "oneOf") delete out.oneOf;
    }
  }
  for (const keyword of ["$defs", "definitions"] as const) {
    const definitions = schema[keyword];
    if (isObject(definitions)) {
      out[keyword] = Object.fromEntries(
        Object.entries(definitions).map((
          [name, definition],
        ) => [name, strictify(definition, [...path, keyword, name])]),
      );
    }
  }
  return out;
}

/**
 * The strict form of an author's object schema, or a problem in words
 * (naming the place) when it cannot be made strict.
 */
export function toStrictSchema(schema: unknown): JsonSchema | string {
  if (!isObject(schema) || schema.type !== "object") {
    return "the extract schema must be an object schema (type: object) at the root";
  }
  if ("anyOf" in schema || "oneOf" in schema) {
    return "the extract schema's root must be an object, not a union (anyOf/oneOf)";
  }
  try {
    const { $schema: _dialect, $id: _id, ...rest } = schema;
    return strictify(rest, []);
  } catch (error) {
    return errorMessage(error);
  }
}
