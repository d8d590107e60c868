/**
 * `{{caller.*}}` templates: an agent's instructions, greeting and filler may
 * name fields of the context webhook's answer, filled per call.
 *
 * `{{caller.name}}` is the field `name`; `{{caller.address.city}}` a nested
 * one; `{{caller.name|there}}` gives a fallback when the field is missing
 * (without one, a missing field becomes an empty string). Values are cut to
 * {@link MAX_TEMPLATE_VALUE_CHARS} characters and kept on one line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fillCallerTemplate } from "./caller_templates.ts";
 * const text = "The caller is {{caller.name|unknown}} from {{ caller.address.city }}.";
 * assert.equal(fillCallerTemplate(text, { name: "Ada", address: { city: "Paris" } }),
 *   "The caller is Ada from Paris.");
 * assert.equal(fillCallerTemplate(text, undefined), "The caller is unknown from .");
 * ```
 *
 * @module
 */

/** Longest value put into a template, in characters. */
export const MAX_TEMPLATE_VALUE_CHARS = 500;

const TEMPLATE = /\{\{\s*caller\.([A-Za-z0-9_.-]+)\s*(?:\|([^}]*))?\}\}/g;

/** Whether `text` uses any `{{caller.*}}` template. */
export function hasCallerTemplates(text: string | undefined): boolean {
  return text !== undefined && new RegExp(TEMPLATE.source).test(text);
}

/** Fills the `{{caller.*}}` templates of `text` from `caller` (undefined: no context). */
export function fillCallerTemplate(
  text: string,
  caller: Readonly<Record<string, unknown>> | undefined,
): string {
  return text.replace(TEMPLATE, (_, path: string, fallback: string | undefined) => {
    let value: unknown = caller;
    for (const key of path.split(".")) {
      value = typeof value === "object" && value !== null && !Array.isArray(value)
        ? (value as Record<string, unknown>)[key]
        : undefined;
    }
    if (value === undefined || value === null || value === "") return fallback?.trim() ?? "";
    const shown = typeof value === "object" ? JSON.stringify(value) : String(value);
    return shown.replace(/\s+/g, " ").trim().slice(0, MAX_TEMPLATE_VALUE_CHARS);
  });
}
