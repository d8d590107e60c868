/**
 * The offline demo: the real server with the browser softphone, talking to a
 * local stand-in for the Realtime API instead of OpenAI. No key, no network:
 * everything except the intelligence is real (media streams, barge-in,
 * truncation, the `end_call` path). Run it with `deno task demo` and open
 * http://localhost:5050.
 *
 * @module
 */
import { ConfigError, parseConfig } from "../config.ts";
import { loadEnvFile } from "../env_file.ts";
import { configureLogging, getBridgeLogger } from "../logging.ts";
import {
  PortInUseError,
  type RunningServer,
  startServer,
  type StartServerOptions,
} from "../server.ts";
import { StandinRealtime, type StandinRealtimeOptions } from "./standin_realtime.ts";

/** The key the demo gives the bridge: the stand-in ignores it. */
export const DEMO_API_KEY = "demo-no-key-needed";

/** Options of {@link startDemo}. */
export interface StartDemoOptions {
  /** Environment (PORT, HOST, GREETING, …); the demo overrides the OpenAI and softphone settings. */
  env?: Record<string, string | undefined>;
  /** Stand-in settings (VAD, silence timeout). */
  standin?: StandinRealtimeOptions;
  /** Server options (port, hostname, onCallFinished, …). */
  server?: Partial<Omit<StartServerOptions, "config">>;
}

/** A running demo: the server and its stand-in. */
export interface RunningDemo extends AsyncDisposable {
  server: RunningServer;
  standin: StandinRealtime;
  /** Stops the server (and its calls), then the stand-in. */
  shutdown(): Promise<void>;
}

/**
 * The demo's environment: `env` with the softphone on, a dummy key and the
 * Realtime URL pointed at the stand-in.
 */
export function demoEnv(
  env: Record<string, string | undefined>,
  standinUrl: string,
): Record<string, string | undefined> {
  return {
    // Readable log lines unless the environment asks for JSON.
    LOG_FORMAT: "pretty",
    ...env,
    OPENAI_API_KEY: DEMO_API_KEY,
    OPENAI_REALTIME_URL: standinUrl,
    SOFTPHONE: "on",
  };
}

/**
 * Starts the stand-in and the server pointed at it.
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
 */
export function startDemo(options: StartDemoOptions = {}): RunningDemo {
  const standin = StandinRealtime.start(options.standin);
  let server: RunningServer;
  try {
    const config = parseConfig(demoEnv(options.env ?? {}, standin.url));
    server = startServer({ ...options.server, config });
  } catch (error) {
    standin.close();
    throw error;
  }
  const shutdown = async () => {
    await server.shutdown();
    await standin.close();
  };
  return { server, standin, shutdown, [Symbol.asyncDispose]: shutdown };
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
  await configureLogging({ level: config.logLevel, format: config.logFormat, secrets: [] });
  const log = getBridgeLogger("demo");
  for (const warning of config.warnings) log.warn(warning);
  let demo: RunningDemo;
  try {
    demo = startDemo({
      env,
      standin: {
        silenceTimeoutMs: Number.isFinite(silence) && silence > 0 ? silence * 1000 : 20_000,
      },
      server: {
        onListen: ({ hostname, port }) => {
          const host = hostname === "0.0.0.0" || hostname === "::" ? "localhost" : hostname;
          log.info(
            "Offline demo on {hostname}:{port}: open http://{host}:{port} and press Call. " +
              "The stand-in repeats what you say and hangs up after {silence} s of silence.",
            { hostname, port, host, silence },
          );
        },
      },
    });
  } catch (error) {
    if (!(error instanceof PortInUseError)) throw error;
    console.error(error.message);
    return 1;
  }
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
