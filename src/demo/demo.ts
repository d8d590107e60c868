/**
 * The offline demo: the real server with the browser softphone, talking to a
 * local stand-in for the Realtime API instead of OpenAI. No key, no network:
 * everything except the intelligence is real (media streams, barge-in,
 * truncation, the `end_call` path, the agents file with an HTTP tool whose
 * backend the demo serves itself, call records and `/metrics`). Run it with
 * `deno task demo` and open http://localhost:5050.
 *
 * The agents come from `demo_agents.yaml` (embedded), unless `AGENTS_FILE` is
 * set. Before loading the file the demo sets `DEMO_HOST` and `DEMO_PORT` to
 * its own local address, so `http://${DEMO_HOST}:${DEMO_PORT}/demo/listings/{listing_id}`
 * reaches the listings table of `demo_listings.ts` on whatever port the demo got.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../config/mod.ts";
 * import { loadDemoAgents } from "./demo.ts";
 * const config = parseConfig({ OPENAI_API_KEY: "sk-test-0123456789abcdefghij" });
 * const loaded = loadDemoAgents(config, {}, { host: "127.0.0.1", port: 5050 });
 * assert.ok(loaded.ok);
 * assert.deepEqual(loaded.book.profiles.map((p) => p.name), ["front-desk", "listings", "live-desk"]);
 * assert.equal(loaded.book.byName("live-desk")?.engine, "live");
 * ```
 *
 * @module
 */
import { ConfigError, parseConfig, secretValues } from "../config/mod.ts";
import type { Config } from "../config/mod.ts";
import { loadEnvFile } from "../config/mod.ts";
import { AgentsHolder, loadAgents, type LoadAgentsResult } from "../agents/agent_book.ts";
import { Operations } from "../observability/operations.ts";
import { DemoListings, LISTINGS_PATH } from "./demo_listings.ts";
import demoAgentsText from "./demo_agents.yaml" with { type: "text" };
import { configureLogging, getBridgeLogger } from "../observability/logging.ts";
import {
  PortInUseError,
  type RunningServer,
  startServer,
  type StartServerOptions,
} from "../http/server.ts";
import { standinNote, StandinRealtime, type StandinRealtimeOptions } from "./standin_realtime.ts";
import { StandinLive, type StandinLiveOptions } from "./standin_live.ts";
import { errorMessage } from "../observability/error_message.ts";

/** The key the demo gives the bridge: the stand-in ignores it. */
const DEMO_API_KEY = "demo-no-key-needed";

/** What the softphone page says in the demo: the Realtime API is a stand-in, and what it does. */
export const DEMO_NOTICE =
  "Offline demo: the Realtime API is a local stand-in, not a model. It says your agent's greeting in its own voice (one tone per word), plays your words back after a beep and calls your agent's first tool every second turn. It does not follow the agent's instructions or transcribe you (caller turns show their length), and it answers at once, so the latencies shown are the bridge's alone.";

/** How the demo's agents file is named in messages (its text is embedded in the module graph). */
export const DEMO_AGENTS_FILE = "src/demo/demo_agents.yaml";

/** Where the demo is reachable from itself: `DEMO_HOST` and `DEMO_PORT` of the agents file. */
export interface DemoAddress {
  /** `127.0.0.1` when listening on every IPv4 address, `[::1]` on every IPv6 one; an IPv6 address in brackets. */
  host: string;
  port: number;
}

/** The agents file did not load; `problems` are `file:line: field: problem` lines. */
export class DemoAgentsError extends Error {
  readonly problems: readonly string[];

  /** One error for all `problems`. */
  constructor(problems: readonly string[]) {
    super(
      `The agents file has ${problems.length} problem(s); fix them, then start again (see docs/agents.md):\n` +
        problems.map((problem) => `- ${problem}`).join("\n"),
    );
    this.name = "DemoAgentsError";
    this.problems = problems;
  }
}

/**
 * The demo's agents: `demo_agents.yaml` unless `AGENTS_FILE` is set in `env`
 * (`off`: the environment's single agent), with `${DEMO_HOST}` and
 * `${DEMO_PORT}` set to `address`.
 */
export function loadDemoAgents(
  config: Config,
  env: Record<string, string | undefined>,
  address: DemoAddress,
): LoadAgentsResult {
  const own = env.AGENTS_FILE?.trim()
    ? config.agentsFile
    : { path: DEMO_AGENTS_FILE, required: true };
  return loadAgents({
    config,
    file: own,
    env: { ...env, DEMO_HOST: address.host, DEMO_PORT: String(address.port) },
    readTextFile: (path) =>
      path === DEMO_AGENTS_FILE ? demoAgentsText : Deno.readTextFileSync(path),
  });
}

/** Options of {@link startDemo}. */
export interface StartDemoOptions {
  /** Environment (PORT, HOST, GREETING, …); the demo overrides the OpenAI and softphone settings. */
  env?: Record<string, string | undefined>;
  /** Stand-in settings (VAD, silence timeout). */
  standin?: StandinRealtimeOptions;
  /** GPT-Live stand-in settings (default: the Realtime stand-in's silence timeout). */
  liveStandin?: StandinLiveOptions;
  /** Server options (port, hostname, onCallFinished, …). */
  server?: Partial<Omit<StartServerOptions, "config">>;
  /**
   * Metrics (`/metrics`) and call records; the demo closes them at shutdown.
   * Default none ({@link openDemo} opens them as configured).
   */
  operations?: Operations;
}

/** A running demo: the server, its stand-in, its agents and its listings backend. */
export interface RunningDemo extends AsyncDisposable {
  server: RunningServer;
  standin: StandinRealtime;
  /** The GPT-Live stand-in (agents on `engine: live`). */
  liveStandin: StandinLive;
  /** The agents (`DEMO_HOST` and `DEMO_PORT` resolved to {@link RunningServer.localUrl}'s). */
  agents: AgentsHolder;
  /** `${VAR}` values of the agents file besides `DEMO_HOST` and `DEMO_PORT` (to redact from logs). */
  agentSecrets: string[];
  /** The tool backend at `/demo/listings`. */
  listings: DemoListings;
  /** Metrics and call records, when given. */
  operations: Operations | undefined;
  /** Stops the server (and its calls), then the stand-in, then closes the operations. */
  shutdown(): Promise<void>;
}

/**
 * The demo's environment: `env` with the softphone on, a dummy key and the
 * Realtime URL pointed at the stand-in.
 */
export function demoEnv(
  env: Record<string, string | undefined>,
  standinUrl: string,
  liveStandinUrl?: string,
): Record<string, string | undefined> {
  return {
    // Readable log lines unless the environment asks for JSON.
    LOG_FORMAT: "pretty",
    ...env,
    OPENAI_API_KEY: DEMO_API_KEY,
    OPENAI_REALTIME_URL: standinUrl,
    ...(liveStandinUrl !== undefined ? { OPENAI_LIVE_URL: liveStandinUrl } : {}),
    SOFTPHONE: "on",
  };
}

/**
 * Starts the stand-ins (Realtime, and GPT-Live for agents on `engine: live`)
 * and the server pointed at them.
 *
 * @example
 * ```ts ignore
 * import { startDemo } from "./demo.ts";
 * await using demo = startDemo({ server: { port: 0, hostname: "127.0.0.1" } });
 * console.log(`open ${demo.server.localUrl}`);
 * ```
 *
 * @throws {ConfigError} when the environment has invalid values.
 * @throws {PortInUseError} when the port is taken.
 * @throws {DemoAgentsError} when the agents file has problems (nothing is left listening).
 */
export function startDemo(options: StartDemoOptions = {}): RunningDemo {
  const env = options.env ?? {};
  const standin = StandinRealtime.start(options.standin);
  const liveStandin = StandinLive.start(
    options.liveStandin ??
      (options.standin?.silenceTimeoutMs !== undefined
        ? { silenceTimeoutMs: options.standin.silenceTimeoutMs }
        : {}),
  );
  const listings = new DemoListings();
  const operations = options.operations;
  let server: RunningServer;
  let agents: AgentsHolder;
  let loaded: LoadAgentsResult;
  let address: DemoAddress;
  try {
    const config = parseConfig(demoEnv(env, standin.url, liveStandin.url));
    // Checked before the port is bound; loaded again below with the port actually bound.
    const checked = loadDemoAgents(config, env, { host: "127.0.0.1", port: 0 });
    if (!checked.ok) throw new DemoAgentsError(checked.problems);
    agents = new AgentsHolder(checked.book);
    server = startServer({
      softphoneNotice: DEMO_NOTICE,
      // The stand-in reports caller turns without words (it cannot transcribe): say so, and how long.
      softphoneUntranscribedNote: (speechMs) => standinNote(speechMs ?? 0),
      ...operations?.appOptions(),
      ...options.server,
      config,
      agents,
      routes: [{ test: () => true, methods: "any", handle: (r, path) => listings.handle(r, path) }],
    });
    address = { host: new URL(server.localUrl).hostname, port: server.port };
    loaded = agents.reload(() => loadDemoAgents(config, env, address));
  } catch (error) {
    standin.close();
    liveStandin.close();
    operations?.close();
    throw error;
  }
  const shutdown = async () => {
    await server.shutdown();
    await standin.close();
    await liveStandin.close();
    await operations?.close();
  };
  if (!loaded.ok) {
    // Only when the file changed between the two loads.
    shutdown();
    throw new DemoAgentsError(loaded.problems);
  }
  return {
    server,
    standin,
    liveStandin,
    agents,
    agentSecrets: loaded.secrets.filter((s) => s !== address.host && s !== String(address.port)),
    listings,
    operations,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}

/**
 * {@link startDemo} with metrics and call records as configured: `/metrics`
 * (open unless `METRICS_TOKEN` is set) and the call store (`CALL_STORE_PATH`,
 * default `calls.kv` in the working directory; `deno task calls` reads it).
 * This is what `deno task demo` runs.
 *
 * @throws {ConfigError}, {@link DemoAgentsError}, {@link PortInUseError}, or the
 * call store's error when it cannot be opened.
 */
export async function openDemo(options: StartDemoOptions = {}): Promise<RunningDemo> {
  const config = parseConfig(demoEnv(options.env ?? {}, "ws://127.0.0.1:1/v1/realtime"));
  const operations = await Operations.create({ config });
  return startDemo({ ...options, operations });
}

/** The start-up line's facts: where to call, the tool, metrics and records. */
export function demoStartLine(config: Config, demo: RunningDemo, host: string): string {
  const base = `http://${host}:${demo.server.port}`;
  const tool = demo.agents.book.profiles.find((p) => p.httpTools.length > 0);
  const toolText = tool === undefined
    ? "The stand-in repeats what you say."
    : `The stand-in repeats what you say; pick the agent ${tool.name} and every second thing you say makes it call ${
      tool.httpTools[0].name
    }${
      demo.agents.book.source === DEMO_AGENTS_FILE
        ? ` (served by the demo at ${base}${LISTINGS_PATH})`
        : ""
    }.`;
  const metrics = demo.operations === undefined
    ? "no metrics"
    : `metrics at ${base}/metrics${config.metricsToken ? " (Bearer METRICS_TOKEN)" : ""}`;
  const store = demo.operations?.store === undefined
    ? "calls not recorded (CALL_STORE_PATH=off)"
    : `calls recorded in ${config.callStore?.path ?? "the managed KV"} (deno task calls)`;
  return `Offline demo: open ${base} and press Call. ${toolText} Agents: ${
    demo.agents.book.profiles.map((p) => p.name).join(", ")
  } (from ${demo.agents.book.source}); ${metrics}; ${store}.`;
}

async function main(): Promise<number> {
  const env = loadEnvFile();
  let config;
  try {
    config = parseConfig(demoEnv(env, "ws://127.0.0.1:1/v1/realtime"));
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : String(error));
    return 1;
  }
  const silenceText = env.DEMO_SILENCE_TIMEOUT_SECONDS?.trim() || "20";
  const silence = /^\d+(\.\d+)?$/.test(silenceText) ? Number(silenceText) : NaN;
  if (!(silence >= 1 && silence <= 3600)) {
    console.error(
      `DEMO_SILENCE_TIMEOUT_SECONDS must be a number of seconds from 1 to 3600, got ${
        JSON.stringify(silenceText.slice(0, 40))
      }.`,
    );
    return 1;
  }
  const secrets = secretValues(config).filter((secret) => secret !== DEMO_API_KEY);
  await configureLogging({ level: config.logLevel, format: config.logFormat, secrets });
  const log = getBridgeLogger("demo");
  for (const warning of config.warnings) log.warn(warning);
  let demo: RunningDemo;
  try {
    demo = await openDemo({
      env,
      standin: {
        silenceTimeoutMs: Number.isFinite(silence) && silence > 0 ? silence * 1000 : 20_000,
      },
    });
  } catch (error) {
    if (error instanceof PortInUseError || error instanceof DemoAgentsError) {
      console.error(error.message);
      return 1;
    }
    if (error instanceof ConfigError) throw error;
    console.error(
      `Could not open the call store (CALL_STORE_PATH): ${
        errorMessage(error)
      }. Check the path and permissions, or set CALL_STORE_PATH=off.`,
    );
    return 1;
  }
  if (demo.agentSecrets.length > 0) {
    // The agents file's `${VAR}` values are redacted like the configuration's secrets.
    await configureLogging({
      level: config.logLevel,
      format: config.logFormat,
      secrets: [...secrets, ...demo.agentSecrets],
    });
  }
  const hostname = config.hostname;
  const host = hostname === "0.0.0.0" || hostname === "::" ? "localhost" : hostname;
  // The line is the message itself (braces escaped), so the pretty log does not repeat it.
  const line = `${
    demoStartLine(config, demo, host)
  } The stand-in hangs up after ${silence} s of silence.`;
  log.info(line.replaceAll("{", "{{").replaceAll("}", "}}"));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    demo.shutdown().then(() => Deno.exit(0));
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, stop);
    } catch {
      // Not every platform has every signal.
    }
  }
  await demo.server.finished;
  return 0;
}

if (import.meta.main) {
  const code = await main();
  if (code !== 0) Deno.exit(code);
}
