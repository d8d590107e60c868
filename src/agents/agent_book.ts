/**
 * The agents of this server and how a call finds its agent: by the called
 * number (E.164), else the first agent without numbers, else the first agent.
 * {@link AgentsHolder} swaps the whole set at once when the file is reloaded
 * (SIGHUP) and keeps the old set when the new file is bad.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../config/mod.ts";
 * import { AgentsHolder, loadAgents } from "./agent_book.ts";
 * const config = parseConfig({ OPENAI_API_KEY: "sk-test-0123456789abcdefghij" });
 * const files: Record<string, string> = {
 *   "agents.yaml": "agents:\n  - name: front-desk\n  - name: listings\n    numbers: ['+15005550001']\n",
 * };
 * const read = (path: string) => files[path] ?? (() => { throw new Deno.errors.NotFound(path); })();
 * const loaded = loadAgents({ config, file: { path: "agents.yaml", required: true }, env: {}, readTextFile: read });
 * assert.ok(loaded.ok);
 * const holder = new AgentsHolder(loaded.book);
 * assert.equal(holder.book.forNumber("+15005550001").name, "listings");
 * assert.equal(holder.book.forNumber("+15559990000").name, "front-desk");
 * files["agents.yaml"] = "agents: []\n";
 * assert.equal(holder.reload(() => loadAgents({ config, file: { path: "agents.yaml", required: true }, env: {}, readTextFile: read })).ok, false);
 * assert.equal(holder.book.forNumber("+15005550001").name, "listings");
 * ```
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import {
  type AgentsFileData,
  FileTooLarge,
  MAX_AGENTS_FILE_BYTES,
  parseAgentsFile,
  readTextFileUpTo,
} from "./agents_file.ts";
import { type AgentProfile, environmentProfile, fileProfiles } from "./agent_profile.ts";

/** The agents of the server, looked up by called number or by name. */
export class AgentBook {
  readonly profiles: readonly AgentProfile[];
  /** Where the profiles came from: the file's path, or "environment". */
  readonly source: string;
  #byNumber = new Map<string, AgentProfile>();
  #byName = new Map<string, AgentProfile>();
  #default: AgentProfile;

  /** `profiles` must be non-empty, with unique names. */
  constructor(profiles: readonly AgentProfile[], source: string) {
    if (profiles.length === 0) throw new Error("An agent book needs at least one profile.");
    this.profiles = profiles;
    this.source = source;
    for (const profile of profiles) {
      this.#byName.set(profile.name, profile);
      for (const number of profile.numbers) this.#byNumber.set(number, profile);
    }
    this.#default = profiles.find((p) => p.numbers.length === 0) ?? profiles[0];
  }

  /** The agent for calls to `to` (a called number; spaces and dashes are ignored). */
  forNumber(to: string | null | undefined): AgentProfile {
    if (to === null || to === undefined) return this.#default;
    return this.#byNumber.get(to.replace(/[\s().-]/g, "")) ?? this.#default;
  }

  /** The agent named `name`, if any (e.g. from a stream token). */
  byName(name: string | undefined): AgentProfile | undefined {
    return name === undefined ? undefined : this.#byName.get(name);
  }

  /** The agent of calls whose number reaches no agent. */
  get defaultProfile(): AgentProfile {
    return this.#default;
  }

  /**
   * The agent that places a call asked for by `name` (`POST /calls`,
   * campaigns): that agent, the default one when no name is given, or
   * undefined when no agent has that name.
   */
  forCallOut(name: string | undefined): AgentProfile | undefined {
    return name === undefined ? this.#default : this.#byName.get(name);
  }

  /** Every agent's name (for error messages and the softphone). */
  get names(): string[] {
    return this.profiles.map((profile) => profile.name);
  }
}

/** Where the agents file is (`AGENTS_FILE`); `required`: a missing file is an error. */
export interface AgentsFileSetting {
  path: string;
  required: boolean;
}

/** Options of {@link loadAgents}. */
export interface LoadAgentsOptions {
  config: Config;
  /** The agents file, or undefined for the environment's single agent. */
  file: AgentsFileSetting | undefined;
  /** Where `${VAR}` values come from. */
  env: Record<string, string | undefined>;
  /** Reads the agents file and its instructions files; default {@link readTextFileUpTo}. */
  readTextFile?: (path: string, maxBytes: number) => string;
}

/** Result of {@link loadAgents}. */
export type LoadAgentsResult =
  | { ok: true; book: AgentBook; secrets: string[]; warnings: string[] }
  | { ok: false; problems: string[] };

/**
 * Reads the agents file into an {@link AgentBook}: the environment's single
 * agent when there is no file (and none is required). Never throws.
 */
export function loadAgents(options: LoadAgentsOptions): LoadAgentsResult {
  const environment = () => ({
    ok: true as const,
    book: new AgentBook([environmentProfile(options.config)], "environment"),
    secrets: [],
    warnings: [],
  });
  if (options.file === undefined) return environment();
  const readTextFile = options.readTextFile ?? readTextFileUpTo;
  const { path, required } = options.file;
  let text: string;
  try {
    text = readTextFile(path, MAX_AGENTS_FILE_BYTES);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound && !required) return environment();
    if (error instanceof FileTooLarge) {
      return {
        ok: false,
        problems: [
          `${path}: the agents file is over ${MAX_AGENTS_FILE_BYTES} bytes (1 MiB), with its instructions files; shorten it.`,
        ],
      };
    }
    return {
      ok: false,
      problems: [
        `${path}: cannot read the agents file (${
          error instanceof Error ? error.name : "error"
        }). Check AGENTS_FILE, or set AGENTS_FILE=off to use the environment's single agent.`,
      ],
    };
  }
  const parsed = parseAgentsFile(text, {
    path,
    env: options.env,
    readTextFile,
    defaultEngine: options.config.engine,
    allowInsecureUpstream: options.config.allowInsecureUpstream,
  });
  if (!parsed.ok) return parsed;
  const needs = warmTransferNeeds(parsed.file, options.config, path);
  if (needs.length > 0) return { ok: false, problems: needs };
  try {
    return {
      ok: true,
      book: new AgentBook(
        fileProfiles(parsed.file, parsed.instructions, options.config, parsed.secrets),
        path,
      ),
      secrets: parsed.secrets,
      warnings: parsed.warnings,
    };
  } catch (error) {
    // A bug of ours, never a crash of a reload: the old agents stay.
    return {
      ok: false,
      problems: [
        `${path}: the agents could not be set up (${
          error instanceof Error ? error.name : "error"
        }); please report this.`,
      ],
    };
  }
}

/**
 * Holds the current {@link AgentBook}. A reload replaces it at once: calls
 * already running keep the profile they started with (they hold it, not the
 * book), new calls get the new profiles.
 */
export class AgentsHolder {
  #book: AgentBook;

  /** Starts with `book`. */
  constructor(book: AgentBook) {
    this.#book = book;
  }

  /** The current agents. */
  get book(): AgentBook {
    return this.#book;
  }

  /**
   * Loads again; on problems the current book stays and the problems are
   * returned. Never throws: a `load` that throws is a problem too.
   */
  reload(load: () => LoadAgentsResult): LoadAgentsResult {
    let result: LoadAgentsResult;
    try {
      result = load();
    } catch (error) {
      result = {
        ok: false,
        problems: [
          `the agents file could not be loaded (${
            error instanceof Error ? error.name : "error"
          }); please report this.`,
        ],
      };
    }
    if (result.ok) this.#book = result.book;
    return result;
  }
}

/**
 * A warm transfer places the person's call through Twilio's REST API and has
 * Twilio fetch the briefing under `PUBLIC_URL`: one problem per warm tool
 * when the environment lacks what it needs.
 */
function warmTransferNeeds(file: AgentsFileData, config: Config, path: string): string[] {
  const missing = [
    ...(config.twilioAccountSid === undefined ? ["TWILIO_ACCOUNT_SID"] : []),
    ...(config.twilioAuthToken === undefined ? ["TWILIO_AUTH_TOKEN"] : []),
    ...(config.publicUrl === undefined ? ["PUBLIC_URL"] : []),
  ];
  if (missing.length === 0) return [];
  const problems: string[] = [];
  file.agents.forEach((agent, i) =>
    agent.tools?.forEach((tool, t) => {
      if (tool.type !== "transfer" || tool.mode !== "warm") return;
      problems.push(
        `${path}: agents[${i}].tools[${t}].mode: a warm transfer places the person's call through Twilio's REST API and needs ${
          missing.join(", ")
        } in the environment; set ${missing.length === 1 ? "it" : "them"}, or use mode: cold.`,
      );
    })
  );
  return problems;
}
