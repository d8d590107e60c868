/**
 * `deno task call` and `deno task campaign`: place a call or start a campaign
 * from a shell, through the running server's control API (it owns the
 * Twilio callbacks and the campaign queue). Reads `API_TOKEN` and `PORT`
 * from the environment or `.env`; `--server URL` (or `BRIDGE_URL`) points at
 * another server.
 *
 * ```sh
 * deno task call +15551234567 --agent listings --context '{"name": "Ada"}'
 * deno task campaign leads.csv --agent listings --concurrency 3 --window 09:00-18:00
 * ```
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runCallCommand } from "./control_client.ts";
 * const printed: string[] = [];
 * const code = await runCallCommand(["+15551234567", "--context", "{not json"], {
 *   env: { API_TOKEN: "t".repeat(32) },
 *   print: (line) => printed.push(line),
 * });
 * assert.equal(code, 2);
 * assert.match(printed[0], /--context must be a JSON object/);
 * ```
 *
 * @module
 */
import { loadEnvFile } from "../config/mod.ts";
import { readCappedText } from "../security/limits.ts";
import { errorMessage } from "../observability/error_message.ts";

/** Largest answer of the server printed, in bytes (a campaign's progress is the biggest). */
const MAX_CONTROL_ANSWER_BYTES = 16 * 1024 * 1024;

/** Dependencies of the commands (tests inject them). */
export interface ControlClientOptions {
  env: Record<string, string | undefined>;
  fetch?: typeof fetch;
  print?: (line: string) => void;
  readTextFile?: (path: string) => Promise<string>;
}

const CALL_USAGE =
  `Usage: deno task call +15551234567 [--agent NAME] [--context JSON] [--server URL]`;
const CAMPAIGN_USAGE =
  `Usage: deno task campaign FILE.csv --agent NAME [--concurrency N] [--window 09:00-18:00] [--timezone ZONE] [--max-attempts N] [--server URL]
       deno task campaign --delete ID [--server URL]`;
const SERVER_HELP =
  "  --server URL      the running server (default BRIDGE_URL, else http://127.0.0.1:$PORT)\n" +
  "Needs API_TOKEN (the server's, from the environment or .env). See docs/outbound.md.";
const CALL_HELP = [
  CALL_USAGE,
  "Places one outbound call through the running server.",
  "  --agent NAME      the agent of the agents file that makes the call (default: the default agent)",
  '  --context JSON    a JSON object the agent is told about the callee, e.g. \'{"name": "Ada"}\'',
  SERVER_HELP,
].join("\n");
const CAMPAIGN_HELP = [
  CAMPAIGN_USAGE,
  "Starts a campaign on the running server from a CSV with a header row: a to column, optionally",
  "timezone (IANA); every other column goes into the contact's context.",
  "  --agent NAME          the agent that makes the calls",
  "  --concurrency N       calls at once",
  "  --window HH:MM-HH:MM  the local hours calls may be placed in",
  "  --timezone ZONE       the IANA time zone of rows without one",
  "  --max-attempts N      attempts per number (default 3)",
  "  --delete ID           erase campaign ID and its contacts (numbers, context) instead",
  SERVER_HELP,
].join("\n");

/**
 * Splits `args` into positionals and `--name value` options; `{ help: true }`
 * for `--help` or `-h` anywhere.
 */
export function parseArgs(
  args: readonly string[],
  known: readonly string[],
): { positional: string[]; options: Record<string, string> } | { error: string } | {
  help: true;
} {
  if (args.includes("--help") || args.includes("-h")) return { help: true };
  const positional: string[] = [];
  const options: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (!known.includes(name)) return { error: `Unknown option --${name}.` };
    const value = inline ?? args[++i];
    if (value === undefined) return { error: `--${name} needs a value.` };
    options[name] = value;
  }
  return { positional, options };
}

function target(options: Record<string, string>, env: ControlClientOptions["env"]) {
  const base = options.server ?? env.BRIDGE_URL ?? `http://127.0.0.1:${env.PORT ?? "5050"}`;
  return base.replace(/\/+$/, "");
}

async function send(
  url: string,
  init: RequestInit,
  o: ControlClientOptions,
): Promise<number> {
  const print = o.print ?? console.log;
  const token = o.env.API_TOKEN?.trim();
  if (!token) {
    print("API_TOKEN is not set: set it (in .env too) to the server's API_TOKEN.");
    return 2;
  }
  let response: Response;
  try {
    response = await (o.fetch ?? fetch)(url, {
      ...init,
      headers: { ...init.headers as Record<string, string>, authorization: `Bearer ${token}` },
    });
  } catch (error) {
    print(
      `Could not reach the server at ${new URL(url).origin} (${
        errorMessage(error)
      }). Start it with deno task start, or pass --server URL.`,
    );
    return 1;
  }
  const read = await readCappedText(response, MAX_CONTROL_ANSWER_BYTES);
  print(
    read.ok
      ? read.text.trimEnd()
      : `The server's answer was over ${MAX_CONTROL_ANSWER_BYTES} bytes.`,
  );
  return response.ok ? 0 : 1;
}

/** `deno task call`. Returns the exit code. */
export async function runCallCommand(
  args: readonly string[],
  o: ControlClientOptions,
): Promise<number> {
  const print = o.print ?? console.log;
  const parsed = parseArgs(args, ["agent", "context", "server"]);
  if ("help" in parsed) {
    print(CALL_HELP);
    return 0;
  }
  if ("error" in parsed || parsed.positional.length !== 1) {
    print(`${"error" in parsed ? parsed.error + "\n" : ""}${CALL_USAGE}`);
    return 2;
  }
  const { positional: [to], options } = parsed;
  let context: unknown;
  if (options.context !== undefined) {
    try {
      context = JSON.parse(options.context);
    } catch {
      context = undefined;
    }
    if (typeof context !== "object" || context === null || Array.isArray(context)) {
      print(`--context must be a JSON object, e.g. '{"name": "Ada"}'.\n${CALL_USAGE}`);
      return 2;
    }
  }
  return await send(`${target(options, o.env)}/calls`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      to,
      ...(options.agent !== undefined ? { agent: options.agent } : {}),
      ...(context !== undefined ? { context } : {}),
    }),
  }, o);
}

/** `deno task campaign`. Returns the exit code. */
export async function runCampaignCommand(
  args: readonly string[],
  o: ControlClientOptions,
): Promise<number> {
  const print = o.print ?? console.log;
  const parsed = parseArgs(args, [
    "agent",
    "concurrency",
    "window",
    "timezone",
    "max-attempts",
    "server",
    "delete",
  ]);
  if ("help" in parsed) {
    print(CAMPAIGN_HELP);
    return 0;
  }
  if (!("error" in parsed) && parsed.options.delete !== undefined) {
    if (parsed.positional.length > 0 || !/^[A-Za-z0-9_]{1,64}$/.test(parsed.options.delete)) {
      print(CAMPAIGN_USAGE);
      return 2;
    }
    const url = `${target(parsed.options, o.env)}/campaigns/${parsed.options.delete}`;
    return await send(url, { method: "DELETE" }, o);
  }
  if ("error" in parsed || parsed.positional.length !== 1) {
    print(`${"error" in parsed ? parsed.error + "\n" : ""}${CAMPAIGN_USAGE}`);
    return 2;
  }
  const { positional: [file], options } = parsed;
  let csv: string;
  try {
    csv = await (o.readTextFile ?? Deno.readTextFile)(file);
  } catch (error) {
    print(`Could not read ${file}: ${errorMessage(error)}`);
    return 1;
  }
  const query = new URLSearchParams();
  for (
    const [option, name] of [
      ["agent", "agent"],
      ["concurrency", "concurrency"],
      ["window", "window"],
      ["timezone", "timezone"],
      ["max-attempts", "maxAttempts"],
    ]
  ) {
    if (options[option] !== undefined) query.set(name, options[option]);
  }
  return await send(`${target(options, o.env)}/campaigns?${query}`, {
    method: "POST",
    headers: { "content-type": "text/csv" },
    body: csv,
  }, o);
}

if (import.meta.main) {
  const [command, ...rest] = Deno.args;
  const options = { env: loadEnvFile() };
  Deno.exitCode = command === "campaign"
    ? await runCampaignCommand(rest, options)
    : await runCallCommand(rest, options);
}
