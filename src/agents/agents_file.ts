/**
 * Reading the agents file: YAML (or JSON, which is YAML too) parsed with
 * line numbers, `${VAR}` resolved from the environment, then checked against
 * the committed JSON Schema (`src/agents/agents.schema.json`) and the rules a
 * schema cannot say (unique names and numbers, URL placeholders that name a
 * parameter, a readable `instructions_file`).
 *
 * Every problem is reported at once, each as `file:line: path.to.field: problem`.
 * Values of `${VAR}` are secrets: they never appear in a message, and the
 * caller gets them back (`secrets`) to redact them from logs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAgentsFile } from "./agents_file.ts";
 * const bad = parseAgentsFile("agents:\n  - name: a\n    voice: robot\n", {
 *   path: "agents.yaml", env: {},
 * });
 * assert.equal(bad.ok, false);
 * if (!bad.ok) assert.match(bad.problems[0], /^agents\.yaml:3: agents\[0\]\.voice: must be/);
 * const good = parseAgentsFile('{"agents": [{"name": "a", "greeting": "Hi ${WHO}"}]}', {
 *   path: "agents.json", env: { WHO: "there" },
 * });
 * assert.equal(good.ok && good.file.agents[0].greeting, "Hi there");
 * ```
 *
 * @module
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv/dist/ajv.js";
import { LineCounter, parseDocument } from "yaml";
import schema from "./agents.schema.json" with { type: "json" };
import { compileParameters } from "./http_tool.ts";

/** An agent as written in the file (after `${VAR}` resolution and validation). */
export interface AgentEntry {
  name: string;
  numbers?: string[];
  instructions?: string;
  instructions_file?: string;
  greeting?: string | null;
  filler?: string;
  voice?: string;
  model?: string;
  reasoning_effort?: "minimal" | "low" | "medium" | "high" | "xhigh";
  language?: string;
  record_keypad_digits?: boolean;
  turn_detection?: {
    type: "server_vad" | "semantic_vad";
    threshold?: number;
    prefix_padding_ms?: number;
    silence_duration_ms?: number;
    eagerness?: "low" | "medium" | "high" | "auto";
    interrupt_response?: boolean;
  };
  tools?: ToolEntry[];
  wording?: {
    farewell?: string;
    transfer?: string;
    time_limit?: string;
    idle?: string;
    drain?: string;
  };
  context_webhook?: { url: string; timeout_seconds?: number; headers?: Record<string, string> };
}

/** An HTTP tool as written in the file. */
export interface HttpToolEntry {
  type: "http";
  name: string;
  description: string;
  parameters: Record<string, unknown>;
  request: { method?: "GET" | "POST"; url: string; headers?: Record<string, string> };
  timeout_seconds?: number;
}

/** An MCP server as written in the file. */
export interface McpToolEntry {
  type: "mcp";
  server_label: string;
  server_url: string;
  server_description?: string;
  headers?: Record<string, string>;
  authorization?: string;
  allowed_tools?: string[];
  require_approval?: "always" | "never" | {
    always?: { tool_names: string[] };
    never?: { tool_names: string[] };
  };
  approve_tools?: string[];
}

/** A transfer tool as written in the file. */
export interface TransferToolEntry {
  type: "transfer";
  name: string;
  number: string;
  description?: string;
}

/** A tool of an agent. */
export type ToolEntry = HttpToolEntry | McpToolEntry | TransferToolEntry;

/** The whole file. */
export interface AgentsFileData {
  agents: AgentEntry[];
}

/** Options of {@link parseAgentsFile}. */
export interface ParseAgentsFileOptions {
  /** The file's path as shown in messages; `instructions_file` is relative to its folder. */
  path: string;
  /** Where `${VAR}` values come from. */
  env: Record<string, string | undefined>;
  /** Reads an `instructions_file`; throws when it cannot. Default `Deno.readTextFileSync`. */
  readTextFile?: (path: string) => string;
}

/** Result of {@link parseAgentsFile}. */
export type AgentsFileResult =
  | {
    ok: true;
    file: AgentsFileData;
    /** `instructions_file` contents, by agent index. */
    instructions: Map<number, string>;
    /** Every value that came from a `${VAR}`: redact them from logs. */
    secrets: string[];
  }
  | { ok: false; problems: string[] };

/** Names of the tools the bridge declares itself. */
const RESERVED_TOOL_NAMES = new Set(["end_call", "transfer_call"]);
const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const PLACEHOLDER = /\{([A-Za-z0-9_]+)\}/g;

let validator: ValidateFunction<AgentsFileData> | undefined;

/** The schema's validator, compiled on first use (not at import: most servers have no file). */
function validateFile(data: unknown): data is AgentsFileData {
  validator ??= new Ajv({
    allErrors: true,
    discriminator: true,
    verbose: true,
    strict: true,
    strictRequired: false,
  }).compile<AgentsFileData>(schema);
  return validator(data);
}

type Segment = string | number;

/** `agents[1].tools[0].request.url` */
export function formatPath(path: readonly Segment[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === "" ? "(top level)" : out;
}

/**
 * Parses, resolves and validates an agents file. Never throws.
 */
export function parseAgentsFile(text: string, options: ParseAgentsFileOptions): AgentsFileResult {
  const file = options.path;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => {
        const line = error.linePos?.[0]?.line ?? lineCounter.linePos(error.pos[0]).line;
        return `${file}:${line}: ${error.message.split("\n")[0]}`;
      }),
    };
  }
  /** The line of the node at `path`, or of its closest existing ancestor. */
  const lineOf = (path: readonly Segment[]): number => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] };
      if (node?.range !== undefined) return lineCounter.linePos(node.range[0]).line;
    }
    return 1;
  };
  const problems: string[] = [];
  const problem = (path: readonly Segment[], message: string) => {
    const line = `${file}:${lineOf(path)}: ${formatPath(path)}: ${message}`;
    if (!problems.includes(line)) problems.push(line);
  };

  const secrets: string[] = [];
  const data = resolveVariables(doc.toJS(), [], options.env, secrets, problem);
  if (!validateFile(data)) {
    for (const [path, message] of schemaProblems(validator?.errors ?? [])) problem(path, message);
    return { ok: false, problems };
  }
  const instructions = checkRules(data, options, problem);
  return problems.length > 0
    ? { ok: false, problems }
    : { ok: true, file: data, instructions, secrets: [...new Set(secrets)] };
}

/** Replaces `${VAR}` in every string; a missing or empty variable is a problem naming it. */
function resolveVariables(
  value: unknown,
  path: Segment[],
  env: Record<string, string | undefined>,
  secrets: string[],
  problem: (path: readonly Segment[], message: string) => void,
): unknown {
  if (typeof value === "string") {
    return value.replace(VARIABLE, (whole, name: string) => {
      const resolved = env[name];
      if (resolved === undefined || resolved === "") {
        problem(path, `the environment variable ${name} is not set (used as ${whole}).`);
        return "";
      }
      secrets.push(resolved);
      return resolved;
    });
  }
  if (Array.isArray(value)) {
    return value.map((item, i) => resolveVariables(item, [...path, i], env, secrets, problem));
  }
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map((
        [key, item],
      ) => [key, resolveVariables(item, [...path, key], env, secrets, problem)]),
    );
  }
  return value;
}

function pointerToPath(pointer: string): Segment[] {
  if (pointer === "") return [];
  return pointer.slice(1).split("/").map((raw) => {
    const part = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    return /^\d+$/.test(part) ? Number(part) : part;
  });
}

function describe(schemaNode: unknown): string | undefined {
  const description = (schemaNode as { description?: unknown } | undefined)?.description;
  if (typeof description !== "string") return undefined;
  const first = description.split(/(?<=[a-z]{3}\.)\s/)[0].replace(/\.$/, "");
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/** Turns Ajv errors into one readable message per field. */
function schemaProblems(errors: readonly ErrorObject[]): Array<[Segment[], string]> {
  const out: Array<[Segment[], string]> = [];
  // A failed anyOf replaces its branches' errors at the same place.
  const anyOfAt = new Set(errors.filter((e) => e.keyword === "anyOf").map((e) => e.instancePath));
  for (const error of errors) {
    const path = pointerToPath(error.instancePath);
    const params = error.params as Record<string, unknown>;
    if (anyOfAt.has(error.instancePath) && error.keyword !== "anyOf") continue;
    switch (error.keyword) {
      case "required":
        out.push([[...path, String(params.missingProperty)], "is required."]);
        break;
      case "additionalProperties": {
        const allowed = Object.keys(
          (error.parentSchema as { properties?: object } | undefined)?.properties ?? {},
        );
        out.push([
          [...path, String(params.additionalProperty)],
          `is not a known field${allowed.length > 0 ? ` (known: ${allowed.join(", ")})` : ""}.`,
        ]);
        break;
      }
      case "enum":
        out.push([path, `must be one of ${(params.allowedValues as unknown[]).join(", ")}.`]);
        break;
      case "anyOf":
      case "pattern":
        out.push([path, `must be ${describe(error.parentSchema) ?? error.message}.`]);
        break;
      case "not":
        out.push([path, "set either instructions or instructions_file, not both."]);
        break;
      case "discriminator":
        out.push([
          [...path, "type"],
          params.error === "mapping" ? "must be one of http, mcp or transfer." : "is required.",
        ]);
        break;
      case "type":
        out.push([
          path,
          `must be ${
            ["a", "e", "i", "o"].includes(String(params.type)[0]) ? "an" : "a"
          } ${params.type}.`,
        ]);
        break;
      default:
        out.push([path, `${error.message ?? "is invalid"}.`]);
    }
  }
  return out;
}

/** Rules beyond the schema; returns the `instructions_file` contents by agent index. */
function checkRules(
  data: AgentsFileData,
  options: ParseAgentsFileOptions,
  problem: (path: readonly Segment[], message: string) => void,
): Map<number, string> {
  const names = new Map<string, number>();
  const numbers = new Map<string, string>();
  const instructions = new Map<number, string>();
  const readTextFile = options.readTextFile ?? Deno.readTextFileSync;
  data.agents.forEach((agent, i) => {
    const first = names.get(agent.name);
    if (first !== undefined) {
      problem(["agents", i, "name"], `"${agent.name}" is already the name of agents[${first}].`);
    } else names.set(agent.name, i);
    agent.numbers?.forEach((number, n) => {
      const owner = numbers.get(number);
      if (owner !== undefined) {
        problem(["agents", i, "numbers", n], `${number} already reaches the agent "${owner}".`);
      } else numbers.set(number, agent.name);
    });
    if (agent.instructions_file !== undefined) {
      const path = resolveRelative(options.path, agent.instructions_file);
      try {
        const text = readTextFile(path).trim();
        if (text === "") problem(["agents", i, "instructions_file"], `${path} is empty.`);
        else instructions.set(i, text);
      } catch (error) {
        problem(
          ["agents", i, "instructions_file"],
          `cannot read ${path} (${
            error instanceof Error ? error.name : "error"
          }); the path is relative to the agents file.`,
        );
      }
    }
    const toolNames = new Set<string>();
    const labels = new Set<string>();
    let transfers = 0;
    agent.tools?.forEach((tool, t) => {
      const at = ["agents", i, "tools", t];
      if (tool.type === "mcp") {
        if (labels.has(tool.server_label)) {
          problem([...at, "server_label"], `"${tool.server_label}" is used twice in this agent.`);
        }
        labels.add(tool.server_label);
        return;
      }
      if (tool.type === "transfer" && ++transfers > 1) {
        problem(
          [...at, "type"],
          "an agent has at most one transfer tool; give the others their own agent and number.",
        );
      }
      if (
        tool.name === "end_call" || (tool.type === "http" && RESERVED_TOOL_NAMES.has(tool.name))
      ) {
        problem(
          [...at, "name"],
          `"${tool.name}" is a built-in tool of the bridge; pick another name.`,
        );
      } else if (toolNames.has(tool.name)) {
        problem([...at, "name"], `"${tool.name}" is used twice in this agent.`);
      }
      toolNames.add(tool.name);
      if (tool.type === "http") checkHttpTool(tool, at, problem);
    });
  });
  return instructions;
}

function checkHttpTool(
  tool: HttpToolEntry,
  at: Segment[],
  problem: (path: readonly Segment[], message: string) => void,
): void {
  try {
    compileParameters(tool.parameters);
  } catch (error) {
    problem(
      [...at, "parameters"],
      `is not a valid JSON Schema: ${error instanceof Error ? error.message : String(error)}.`,
    );
  }
  const properties = Object.keys(
    (tool.parameters.properties as Record<string, unknown> | undefined) ?? {},
  );
  for (const [, name] of tool.request.url.matchAll(PLACEHOLDER)) {
    if (!properties.includes(name)) {
      problem(
        [...at, "request", "url"],
        `the placeholder {${name}} is not a property of parameters (known: ${
          properties.join(", ") || "none"
        }).`,
      );
    }
  }
}

/** `dir/agents.yaml` + `prompts/a.md` → `dir/prompts/a.md` (absolute paths kept). */
export function resolveRelative(base: string, relative: string): string {
  if (relative.startsWith("/")) return relative;
  const slash = base.lastIndexOf("/");
  return slash < 0 ? relative : `${base.slice(0, slash + 1)}${relative}`;
}
