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
import { type Engine, engineProblems } from "./engine_rules.ts";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv/dist/ajv.js";
import { type Document, isCollection, isScalar, LineCounter, parseDocument, visit } from "yaml";
import schema from "./agents.schema.json" with { type: "json" };
import { closedParameters, compileParameters, fixedPathOf } from "./http_tool.ts";
import { parseWebhookSecret, type WebhookEventType } from "../webhooks/mod.ts";
import { toStrictSchema } from "../analysis/mod.ts";
import { cleartextUpstream } from "../config/mod.ts";
import { errorMessage } from "../observability/error_message.ts";

/**
 * Most bytes of the agents file and the `instructions_file`s it names,
 * together: a bigger set is a problem, not a stall of every call's audio
 * while it is read and parsed.
 */
export const MAX_AGENTS_FILE_BYTES = 1024 * 1024;

/** Most times a YAML file may use its anchors (`*name`); more is refused (an alias bomb). */
const MAX_YAML_ALIASES = 100;

/** An agent as written in the file (after `${VAR}` resolution and validation). */
export interface AgentEntry {
  name: string;
  numbers?: string[];
  instructions?: string;
  instructions_file?: string;
  greeting?: string | null;
  filler?: string;
  voice?: string;
  engine?: "realtime" | "live";
  model?: string;
  backend_model?: string;
  reasoning_effort?: "minimal" | "low" | "medium" | "high" | "xhigh";
  language?: string;
  record_keypad_digits?: boolean;
  dtmf?: { collect_until?: "#" | "*"; timeout_seconds?: number; sensitive?: boolean };
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
    resumed?: string;
  };
  context_webhook?: { url: string; timeout_seconds?: number; headers?: Record<string, string> };
  /** Whether the caller can interrupt the greeting (default true). */
  greeting_interruptible?: boolean;
  interruptions?: {
    backchannels?: string[];
    min_speech_ms?: number;
    resume?: boolean;
    mode?: "cut" | "confirm";
  };
  outbound?: {
    from?: string;
    greeting?: string;
    voicemail?: string;
    send_dtmf?: boolean;
    dtmf?: { collect_until: "#" | "*"; timeout_seconds?: number; sensitive?: boolean };
  };
  webhooks?: { url: string; events?: WebhookEventType[]; secret: string }[];
  recording?: { consent: string; channels?: "mono" | "dual" };
  analysis?: {
    summary?: boolean;
    extract?: Record<string, unknown>;
    success?: string;
    model?: string;
  };
}

/** An HTTP tool as written in the file. */
export interface HttpToolEntry {
  type: "http";
  name: string;
  description: string;
  parameters: Record<string, unknown>;
  request: { method?: "GET" | "POST"; url: string; headers?: Record<string, string> };
  timeout_seconds?: number;
  /** Pauses the call recording while it runs. */
  sensitive?: boolean;
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
  /** One destination (E.164); `destinations` lists several. */
  number?: string;
  /** E.164 numbers or SIP URIs, tried in order. */
  destinations?: string[];
  mode?: "cold" | "warm";
  ring_timeout_seconds?: number;
  briefing?: string;
  fallback?: string;
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
  /**
   * Reads an `instructions_file`; throws when it cannot. Default: reads the
   * file unless it is bigger than `maxBytes` (then throws {@link FileTooLarge}).
   */
  readTextFile?: (path: string, maxBytes: number) => string;
  /** The engine of agents that name none (`ENGINE`). Default `realtime`. */
  defaultEngine?: Engine;
  /**
   * `ALLOW_INSECURE_UPSTREAM`: a cleartext `http://` URL to a host that is
   * not loopback is a warning instead of a problem. Default false.
   */
  allowInsecureUpstream?: boolean;
}

/** A file is bigger than the bytes left for it (see {@link MAX_AGENTS_FILE_BYTES}). */
export class FileTooLarge extends Error {
  override name = "FileTooLarge";
}

/**
 * Reads a text file of at most `maxBytes`, asking its size first: a bigger
 * one is never read (throws {@link FileTooLarge}).
 */
export function readTextFileUpTo(path: string, maxBytes: number): string {
  if (Deno.statSync(path).size > maxBytes) throw new FileTooLarge(path);
  const text = Deno.readTextFileSync(path);
  if (byteLength(text) > maxBytes) throw new FileTooLarge(path);
  return text;
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
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
    /** What is accepted but should be said (a cleartext URL allowed by `ALLOW_INSECURE_UPSTREAM`). */
    warnings: string[];
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
function formatPath(path: readonly Segment[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === "" ? "(top level)" : out;
}

/**
 * Parses, resolves and validates an agents file. Never throws: whatever goes
 * wrong (a syntax error, an alias bomb, a file too big, a failure of the
 * parser itself) is a problem in the list.
 */
export function parseAgentsFile(text: string, options: ParseAgentsFileOptions): AgentsFileResult {
  try {
    return parseChecked(text, options);
  } catch (error) {
    return {
      ok: false,
      problems: [
        `${options.path}: the file could not be checked (${
          error instanceof Error ? error.name : "error"
        }); check its YAML syntax, and report this if it looks right.`,
      ],
    };
  }
}

function parseChecked(text: string, options: ParseAgentsFileOptions): AgentsFileResult {
  const file = options.path;
  const size = byteLength(text);
  if (size > MAX_AGENTS_FILE_BYTES) {
    return { ok: false, problems: [tooLarge(file, size)] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) =>
        `${file}:${lineCounter.linePos(startOfFault(doc, error.pos[0])).line}: ${
          error.message.split("\n")[0]
        }`
      ),
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
  const warnings: string[] = [];
  const report = (list: string[]) => (path: readonly Segment[], message: string) => {
    const line = `${file}:${lineOf(path)}: ${formatPath(path)}: ${message}`;
    if (!list.includes(line)) list.push(line);
  };
  const problem = report(problems);
  const warning = report(warnings);

  let plain: unknown;
  try {
    plain = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    const aliases = error instanceof ReferenceError && /alias/i.test(error.message);
    return {
      ok: false,
      problems: [
        aliases
          ? `${file}: the file uses its anchors (*name) too often (more than ${MAX_YAML_ALIASES} times, or aliases of aliases); write the repeated values out, or use fewer aliases.`
          : `${file}: the file could not be read as YAML (${
            error instanceof Error ? error.name : "error"
          }); check its syntax.`,
      ],
    };
  }
  const secrets: string[] = [];
  const data = resolveVariables(plain, [], options.env, secrets, problem);
  if (!validateFile(data)) {
    for (const [path, message] of schemaProblems(validator?.errors ?? [])) problem(path, message);
    return { ok: false, problems };
  }
  const instructions = checkRules(data, options, MAX_AGENTS_FILE_BYTES - size, problem);
  checkUpstreams(data, (path, raw, what) => {
    const verdict = cleartextUpstream(raw, what, options.allowInsecureUpstream === true, {
      showHost: false,
    });
    if (verdict !== undefined) {
      (verdict.severity === "problem" ? problem : warning)(path, verdict.message);
    }
  });
  return problems.length > 0
    ? { ok: false, problems }
    : { ok: true, file: data, instructions, secrets: [...new Set(secrets)], warnings };
}

function tooLarge(path: string, size: number): string {
  return `${path}: the agents file is ${size} bytes; it and its instructions files may have ${MAX_AGENTS_FILE_BYTES} bytes (1 MiB) together. Shorten the instructions, or move them to an instructions_file.`;
}

/**
 * Where the fault of a syntax error at `pos` starts: the opening quote or
 * bracket of an unclosed quoted string or flow collection that reaches `pos`
 * (the parser reports those where it gave up, often the end of the file),
 * else `pos` itself.
 */
function startOfFault(doc: Document, pos: number): number {
  let start = pos;
  visit(doc, {
    Node(_key, node) {
      const range = node.range;
      if (range === undefined || range === null) return;
      const opened = isScalar(node)
        ? node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE"
        : isCollection(node) && node.flow === true;
      if (opened && range[0] <= pos && pos <= range[1] && range[0] < start) start = range[0];
    },
  });
  return start;
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

/**
 * Every URL of the file the bridge (or OpenAI, for MCP servers) sends
 * secrets or call data to, with what would travel: each goes through the
 * cleartext rule of the environment's upstreams (`cleartextUpstream`).
 */
function checkUpstreams(
  data: AgentsFileData,
  check: (path: readonly Segment[], url: string, what: string) => void,
): void {
  data.agents.forEach((agent, i) => {
    if (agent.context_webhook !== undefined) {
      check(
        ["agents", i, "context_webhook", "url"],
        agent.context_webhook.url,
        "the caller's number and the webhook's headers",
      );
    }
    agent.webhooks?.forEach((webhook, w) => {
      check(["agents", i, "webhooks", w, "url"], webhook.url, "call records and their signatures");
    });
    agent.tools?.forEach((tool, t) => {
      if (tool.type === "http") {
        check(
          ["agents", i, "tools", t, "request", "url"],
          tool.request.url,
          "the tool's arguments, headers and ${VAR} secrets",
        );
      } else if (tool.type === "mcp") {
        // OpenAI calls the server, not the bridge: its headers and authorization would cross
        // the network in cleartext between OpenAI and the server.
        check(
          ["agents", i, "tools", t, "server_url"],
          tool.server_url,
          "OpenAI's calls to the server, with its headers and authorization",
        );
      }
    });
  });
}

/** Rules beyond the schema; returns the `instructions_file` contents by agent index. */
function checkRules(
  data: AgentsFileData,
  options: ParseAgentsFileOptions,
  budget: number,
  problem: (path: readonly Segment[], message: string) => void,
): Map<number, string> {
  const names = new Map<string, number>();
  const numbers = new Map<string, string>();
  const instructions = new Map<number, string>();
  const readTextFile = options.readTextFile ?? readTextFileUpTo;
  let left = budget;
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
        const raw = readTextFile(path, left);
        left -= byteLength(raw);
        if (left < 0) throw new FileTooLarge(path);
        const text = raw.trim();
        if (text === "") problem(["agents", i, "instructions_file"], `${path} is empty.`);
        else instructions.set(i, text);
      } catch (error) {
        if (error instanceof FileTooLarge) {
          problem(
            ["agents", i, "instructions_file"],
            `${path} is too big: the agents file and its instructions files may have ${MAX_AGENTS_FILE_BYTES} bytes (1 MiB) together. Shorten the instructions.`,
          );
        } else {
          problem(
            ["agents", i, "instructions_file"],
            `cannot read ${path} (${
              error instanceof Error ? error.name : "error"
            }); the path is relative to the agents file.`,
          );
        }
      }
    }
    for (const [path, message] of engineProblems(agent, options.defaultEngine ?? "realtime")) {
      problem(["agents", i, ...path], message);
    }
    if (agent.analysis?.extract !== undefined) {
      const strict = toStrictSchema(agent.analysis.extract);
      if (typeof strict === "string") problem(["agents", i, "analysis", "extract"], `${strict}.`);
    }
    agent.webhooks?.forEach((webhook, w) => {
      const key = parseWebhookSecret(webhook.secret);
      if (typeof key === "string") problem(["agents", i, "webhooks", w, "secret"], `${key}.`);
    });
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
        tool.type === "transfer" && tool.number !== undefined && tool.destinations !== undefined
      ) {
        problem(
          [...at, "number"],
          "set either number or destinations, not both (list every destination in destinations).",
        );
      }
      if (tool.type === "transfer" && tool.briefing !== undefined && tool.mode !== "warm") {
        problem(
          [...at, "briefing"],
          "only a warm transfer briefs the person; add mode: warm or remove briefing.",
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
    compileParameters(closedParameters(tool.parameters));
  } catch (error) {
    problem(
      [...at, "parameters"],
      `is not a valid JSON Schema: ${errorMessage(error)}.`,
    );
  }
  const properties = Object.keys(
    (tool.parameters.properties as Record<string, unknown> | undefined) ?? {},
  );
  const url = tool.request.url;
  for (const [, name] of url.matchAll(PLACEHOLDER)) {
    if (!properties.includes(name)) {
      problem(
        [...at, "request", "url"],
        `the placeholder {${name}} is not a property of parameters (known: ${
          properties.join(", ") || "none"
        }).`,
      );
    }
  }
  if (fixedPathOf(url) === undefined) {
    problem(
      [...at, "request", "url"],
      "placeholders may only be in the path or the query, after the host (the bridge keeps every request on the URL's host).",
    );
  }
  // The URL's own query parameters (e.g. `?key=${API_KEY}`) cannot be set by the model.
  const query = url.indexOf("?");
  if (query >= 0 && (tool.request.method ?? "GET") === "GET") {
    const fixed = new URLSearchParams(url.slice(query + 1).split("#")[0]);
    for (const name of properties) {
      if (fixed.has(name) && !fixed.get(name)?.includes(`{${name}}`)) {
        problem(
          [...at, "parameters", "properties", name],
          `is also a query parameter of the URL; rename the property (the model may not set the URL's own parameters).`,
        );
      }
    }
  }
}

/** `dir/agents.yaml` + `prompts/a.md` → `dir/prompts/a.md` (absolute paths kept). */
function resolveRelative(base: string, relative: string): string {
  if (relative.startsWith("/")) return relative;
  const slash = base.lastIndexOf("/");
  return slash < 0 ? relative : `${base.slice(0, slash + 1)}${relative}`;
}
