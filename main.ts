/**
 * Entry point: reads the configuration (environment, then `.env`), sets up
 * logging and serves calls until SIGINT or SIGTERM. With `--healthcheck` it
 * only asks the running server's `/healthz` and exits 0 or 1 (for Docker).
 *
 * @module
 */
import {
  ConfigError,
  describeConfig,
  environment,
  loadEnvFile,
  onDenoDeploy,
  parseConfig,
  secretValues,
} from "./src/config/mod.ts";
import { configureLogging, getBridgeLogger } from "./src/observability/logging.ts";
import { drainApp } from "./src/http/drain.ts";
import { PortInUseError, type RunningServer, startServer } from "./src/http/server.ts";
import { StopSignals } from "./src/http/stop_signals.ts";
import { securityWarnings } from "./src/security/call_admission.ts";
import { Operations } from "./src/observability/operations.ts";
import { AgentsHolder, loadAgents } from "./src/agents/agent_book.ts";
import { healthcheck, HEALTHCHECK_FLAG } from "./src/cli/healthcheck.ts";
import { OutboundService } from "./src/outbound/outbound_service.ts";
import { registerCampaignCron } from "./src/outbound/campaign_cron.ts";
import { CallCheckpoints } from "./src/calls/call_checkpoints.ts";
import { KvCallStore } from "./src/calls/call_store.ts";
import { openKvWaiting } from "./src/calls/kv_commit.ts";
import { TransferRelay } from "./src/transfer/mod.ts";
import { SharedCallState } from "./src/calls/shared_call_state.ts";

// Deno Deploy runs only crons registered at the top level of the main module, before the
// configuration is read; CAMPAIGN_DISPATCH=cron plugs the campaign dispatcher into it later.
registerCampaignCron();

/** Options of {@link main}. */
export interface MainOptions {
  /**
   * Ends the process once a SIGINT or SIGTERM drain is over (main's signal
   * listeners are removed first). Default `Deno.exit(0)`; `deno task dev`
   * raises the signal again so that `deno run --watch` ends too.
   */
  exit?: (signal: "SIGINT" | "SIGTERM") => void;
}

/** Runs the server until SIGINT or SIGTERM; returns the exit code. */
export async function main(options: MainOptions = {}): Promise<number> {
  let config;
  let variables: Record<string, string>;
  try {
    variables = loadEnvFile();
    config = parseConfig(variables);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 1;
    }
    console.error(error instanceof Error ? error.message : String(error));
    return 1;
  }
  const env = environment();
  const loadAgentsFile = () => loadAgents({ config, file: config.agentsFile, env });
  const loaded = loadAgentsFile();
  if (!loaded.ok) {
    console.error(
      `The agents file has ${loaded.problems.length} problem(s); fix them, then start again (see docs/agents.md):\n` +
        loaded.problems.map((problem) => `- ${problem}`).join("\n"),
    );
    return 1;
  }
  const agents = new AgentsHolder(loaded.book);
  const baseSecrets = secretValues(config);
  /** Every `${VAR}` value of the agents files loaded so far (a reload adds, never forgets). */
  const agentSecrets = new Set(loaded.secrets);
  const setUpLogging = () =>
    configureLogging({
      level: config.logLevel,
      format: config.logFormat,
      personalData: config.redact,
      secrets: [...baseSecrets, ...agentSecrets],
    });
  await setUpLogging();
  const log = getBridgeLogger("server");
  log.info("Agents: {agents} (from {source}).", {
    agents: agents.book.profiles.map((p) => p.name),
    source: agents.book.source,
  });
  for (const warning of [...config.warnings, ...securityWarnings(config), ...loaded.warnings]) {
    log.warn(warning);
  }
  // The call store's file, opened once: this process's only handle of it, closed last at exit.
  let storeKv: Deno.Kv | undefined;
  let operations: Operations;
  try {
    storeKv = config.callStore === undefined
      ? undefined
      : await openKvWaiting(config.callStore.path);
    operations = await Operations.create({
      config,
      agents: { profiles: () => agents.book.profiles },
      ...(storeKv
        ? { store: KvCallStore.on(storeKv, config.retentionDays), outboxKv: storeKv }
        : {}),
    });
  } catch (error) {
    storeKv?.close();
    console.error(
      `Could not open the call store (CALL_STORE_PATH): ${
        error instanceof Error ? error.message : String(error)
      }. Check the path and permissions, or set CALL_STORE_PATH=off.`,
    );
    return 1;
  }
  // Outbound calls and campaigns (API_TOKEN): campaigns live in the call store's KV.
  let outbound: OutboundService | undefined;
  if (config.apiToken !== undefined) {
    outbound = OutboundService.create({
      config,
      // The same agents as inbound calls: a SIGHUP reload applies to new outbound calls too.
      agents,
      ...(storeKv ? { kv: storeKv, kvBorrowed: true } : {}),
      registry: operations.metrics.registry,
      events: operations.webhooks,
    });
    if (storeKv === undefined) {
      log.warn(
        "CALL_STORE_PATH=off: POST /calls works, campaigns are off (they live in the call store).",
      );
    }
  }
  // Checkpoints of calls in the call store, so a call whose instance died goes on in a new stream.
  const checkpoints = storeKv === undefined ? undefined : new CallCheckpoints(storeKv, {
    // A checkpoint outlives its last write by the longest call (4 h when calls have no limit).
    ttlMs: (config.maxCallSeconds > 0 ? config.maxCallSeconds : 4 * 3600) * 1000,
  });
  // Per-call state other instances may need (the caller context of the context webhook).
  const callState = storeKv === undefined ? undefined : new SharedCallState(storeKv);
  // Warm transfers other instances answer Twilio's callbacks for (and relay them to the holder).
  const transferRelay = storeKv === undefined ? undefined : new TransferRelay(storeKv);
  let server: RunningServer;
  try {
    server = startServer({
      config,
      ...operations.appOptions(),
      agents,
      ...(checkpoints ? { checkpoints } : {}),
      ...(outbound ? { outbound } : {}),
      ...(callState ? { callState } : {}),
      ...(transferRelay ? { transferRelay } : {}),
      onListen: ({ hostname, port }) => {
        log.info("Listening on {hostname}:{port}.", { ...describeConfig(config), hostname, port });
      },
    });
  } catch (error) {
    await Promise.all([operations.close(), outbound?.close()]).catch(() => {});
    storeKv?.close();
    if (error instanceof PortInUseError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
  const signals = new StopSignals();
  const listeners = new Map<"SIGINT" | "SIGTERM", () => void>();
  const exit = (signal: "SIGINT" | "SIGTERM") => {
    for (const [name, listener] of listeners) Deno.removeSignalListener(name, listener);
    (options.exit ?? (() => Deno.exit(0)))(signal);
  };
  const stop = (signal: "SIGINT" | "SIGTERM") => {
    switch (signals.receive(signal, performance.now())) {
      case "ignore":
        // `deno task` forwards a copy of a signal sent to the whole process group.
        log.info("Received {signal} again within 2 s (a forwarded copy); still draining.", {
          signal,
        });
        return;
      case "exit":
        log.warn("Received {signal} again; exiting now.", { signal });
        exit(signal);
        return;
      case "drain":
        break;
    }
    log.info("Received {signal}; draining, then shutting down.", {
      signal,
      drainSeconds: config.drainSeconds,
    });
    // Deno Deploy kills 5 s after SIGINT: keep the goodbyes short there.
    const farewellMs = onDenoDeploy(variables) ? 1000 : 8000;
    // Handing calls over needs their checkpoints in a store the other instances read.
    const mode = config.drainMode === "handover" && checkpoints !== undefined
      ? "handover"
      : "goodbye";
    if (mode !== config.drainMode) {
      log.warn("DRAIN_MODE=handover needs a call store (CALL_STORE_PATH); saying goodbye instead.");
    }
    drainApp(server.app, {
      drainMs: config.drainSeconds * 1000,
      farewellMs,
      logger: log,
      mode,
    })
      .then((result) => {
        log.info("Drained; closing the server.", { ...result });
        // Never hang on a socket that will not close.
        return Promise.race([
          server.shutdown(),
          new Promise((resolve) => setTimeout(resolve, 3000)),
        ]);
      })
      .catch((error) => log.error("Drain failed: {error}", { error: String(error) }))
      // Flush call records still being written, then exit.
      .finally(() =>
        Promise.all([operations.close(), outbound?.close()]).catch(() => {}).finally(() => {
          // Every part is closed: the one handle of the call store's file goes last.
          storeKv?.close();
          exit(signal);
        })
      );
  };
  try {
    // SIGHUP reloads the agents file: new calls get the new agents; a bad file keeps the old ones.
    Deno.addSignalListener("SIGHUP", () => {
      const result = agents.reload(loadAgentsFile);
      if (!result.ok) {
        log.error("Agents file not reloaded; the previous agents stay. Problems: {problems}", {
          problems: result.problems,
        });
        return;
      }
      const fresh = result.secrets.filter((secret) => !agentSecrets.has(secret));
      for (const secret of fresh) agentSecrets.add(secret);
      (fresh.length > 0 ? setUpLogging() : Promise.resolve()).then(() => {
        log.info("Agents file reloaded: {agents} (from {source}).", {
          agents: agents.book.profiles.map((p) => p.name),
          source: agents.book.source,
        });
        for (const warning of result.warnings) log.warn(warning);
      });
    });
  } catch {
    // No SIGHUP on this platform (Windows).
  }
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      const listener = () => stop(signal);
      Deno.addSignalListener(signal, listener);
      listeners.set(signal, listener);
    } catch {
      // Signals are not available on every platform (e.g. SIGTERM on Windows).
    }
  }
  await server.finished;
  return 0;
}

if (import.meta.main) {
  // `phone-bridge --healthcheck`: probe the running server's /healthz (Docker HEALTHCHECK).
  if (Deno.args[0] === HEALTHCHECK_FLAG) Deno.exit(await healthcheck(loadEnvFile()));
  const code = await main();
  if (code !== 0) Deno.exit(code);
}
