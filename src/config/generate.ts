/**
 * Generates `.env.example` and `docs/configuration.md` from the table in
 * `spec.ts`. `deno task gen:config` writes both; `--check` only compares
 * them (a test does the same), so the committed files never drift from the
 * table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderConfigurationDoc, renderEnvExample } from "./generate.ts";
 *
 * assert.match(renderEnvExample(), /^OPENAI_API_KEY=sk-\.\.\.$/m);
 * assert.match(renderConfigurationDoc(), /^### `PORT`$/m);
 * ```
 *
 * @module
 */
import { defaultOf } from "./parse.ts";
import type { AnySetting, SectionId } from "./setting.ts";
import { SETTINGS } from "./spec.ts";
import { SECTIONS } from "./sections.ts";

/** The generated files, relative to the repository root. */
export const GENERATED_FILES = {
  envExample: ".env.example",
  configurationDoc: "docs/configuration.md",
} as const;

const ROWS = SETTINGS as readonly AnySetting[];

/** Wraps text into comment lines of at most `width` characters. */
function comment(text: string, width = 100): string[] {
  const lines: string[] = [];
  let line = "#";
  for (const word of text.split(/\s+/)) {
    if (line.length + 1 + word.length > width && line !== "#") {
      lines.push(line);
      line = "#";
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines;
}

/** The default as the docs say it. */
function defaultText(row: AnySetting, code: (text: string) => string): string {
  if (row.defaultDoc !== undefined) return row.defaultDoc;
  if (row.required !== undefined) return "none (required)";
  if (row.default !== undefined) return code(row.default);
  return "unset";
}

function rowsOf(section: SectionId): AnySetting[] {
  return ROWS.filter((row) => row.section === section);
}

/** The `.env.example` text: commented guidance, the required variables first and uncommented. */
export function renderEnvExample(): string {
  const out: string[] = [
    "# Copy this file to .env and fill in OPENAI_API_KEY and TWILIO_AUTH_TOKEN (calls are refused without it).",
    "# The server reads .env from its working directory at start-up (also as a compiled binary).",
    "# Variables set in the real environment win over .env. An empty value counts as unset,",
    "# except GREETING, where an empty value turns the greeting off. A misspelled variable",
    "# (VOICES=coral) gives a start-up warning naming the one you meant.",
    "# Generated from src/config/spec.ts by `deno task gen:config`; all variables are described",
    "# in docs/configuration.md.",
  ];
  for (const [id, section] of Object.entries(SECTIONS) as [SectionId, typeof SECTIONS.required][]) {
    const rows = rowsOf(id);
    if (rows.length === 0) continue;
    out.push("", `# --- ${section.title} ---`);
    for (const row of rows) {
      const secret = row.secret ? " Secret: never logged." : "";
      const fallback = defaultText(row, (text) => text === "" ? "empty" : text);
      const stop = /[.?!]$/.test(fallback) ? "" : ".";
      out.push(
        ...comment(
          `${row.doc} Accepted: ${row.kind.accepted}. Default: ${fallback}${stop}${secret}`,
        ),
      );
      const value = row.example ?? row.default ?? "";
      out.push(`${id === "required" ? "" : "#"}${row.env}=${value}`);
    }
  }
  return `${out.join("\n")}\n`;
}

/** The `docs/configuration.md` text: each section, its intro, and each variable. */
export function renderConfigurationDoc(): string {
  const code = (text: string) => text === "" ? "empty" : `\`${text}\``;
  const out: string[] = [
    "# Configuration",
    "",
    "<!-- Generated from src/config/spec.ts by `deno task gen:config`: edit the table, not this file. -->",
    "",
    "Everything is read from environment variables. For local use put them in `.env` (copy",
    "`.env.example`): the server reads it from its working directory at start-up, also as a compiled",
    "binary, and variables set in the real environment win over it. An empty value counts as unset",
    "(except `GREETING`, where it turns the greeting off).",
    "",
    "At start-up every variable is checked and all problems are listed at once, each naming the",
    "variable, the value (unless it is secret) and what is accepted; the server does not start until",
    "they are fixed. A variable that looks like a misspelled setting (`VOICES=coral`, `VOCIE=marin`, or an unknown",
    "name starting with a prefix of ours such as `OPENAI_` or `TWILIO_`) gives a warning naming the",
    "setting you probably meant. Secret values never appear in messages or logs.",
    "",
    "Contents: " + (Object.entries(SECTIONS) as [SectionId, typeof SECTIONS.required][])
      .filter(([id]) => rowsOf(id).length > 0)
      .map(([, section]) => `[${section.title}](#${anchor(section.title)})`)
      .join(" · "),
  ];
  for (const [id, section] of Object.entries(SECTIONS) as [SectionId, typeof SECTIONS.required][]) {
    const rows = rowsOf(id);
    if (rows.length === 0) continue;
    out.push("", `## ${section.title}`, "", section.intro);
    for (const row of rows) {
      out.push("", `### \`${row.env}\``, "", row.doc, "");
      out.push(`- Default: ${defaultText(row, code)}`);
      out.push(`- Accepted: ${row.kind.accepted}`);
      if (row.secret) out.push("- Secret: yes, never shown in messages or logs");
      else if (row.private) out.push("- Private: logged only as set or not set");
    }
    if (section.notes !== undefined) {
      out.push("", `### Notes on ${section.title}`, "");
      for (const note of section.notes) out.push(`- ${note}`);
    }
  }
  return `${out.join("\n")}\n`;
}

/** A GitHub heading anchor. */
function anchor(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9 -]/g, "").replaceAll(" ", "-");
}

/** The defaults of every row parse with their own kind (checked by the tests). */
export function defaultsParse(): string[] {
  const bad: string[] = [];
  for (const row of ROWS) {
    try {
      defaultOf(row, {});
    } catch {
      bad.push(row.env);
    }
  }
  return bad;
}

/**
 * Writes the generated files under `root`, or with `check` only compares
 * them; returns the paths that differ (or were written).
 *
 * @param root The repository root.
 * @param check Compare only.
 * @returns The paths that were stale.
 */
export function generate(root: string, check: boolean): string[] {
  const files: [string, string][] = [
    [GENERATED_FILES.envExample, renderEnvExample()],
    [GENERATED_FILES.configurationDoc, renderConfigurationDoc()],
  ];
  const stale: string[] = [];
  for (const [path, text] of files) {
    const full = `${root}/${path}`;
    let current: string | undefined;
    try {
      current = Deno.readTextFileSync(full);
    } catch {
      current = undefined;
    }
    if (current === text) continue;
    stale.push(path);
    if (!check) Deno.writeTextFileSync(full, text);
  }
  return stale;
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const stale = generate(root, check);
  if (check && stale.length > 0) {
    console.error(`Out of date: ${stale.join(", ")}. Run \`deno task gen:config\`.`);
    Deno.exit(1);
  }
  console.log(stale.length === 0 ? "Up to date." : `Wrote ${stale.join(", ")}.`);
}
