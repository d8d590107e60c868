/**
 * Everything an operator needs, wired from the configuration: metrics,
 * traces, OpenAI health for readiness, call records (store) and webhooks
 * (durable outbox in the call store's KV).
 * `createApp`/`startServer` take {@link Operations.appOptions}.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import type { Tracer } from "@opentelemetry/api";
import type { AppOptions } from "../http/app.ts";
import type { RecordingReport } from "../http/app_recordings.ts";
import type { TransferReport } from "../transfer/mod.ts";
import type { Config } from "../config/mod.ts";
import { type CallObserver, combineObservers } from "../bridge/call_observer.ts";
import { CallRecorder } from "../calls/call_recorder.ts";
import { AnalysisJobs } from "../calls/analysis_jobs.ts";
import { type CallStore, KvCallStore } from "../calls/call_store.ts";
import { WebhookOutbox, WebhookSender, webhookTargets } from "../webhooks/mod.ts";
import type { AgentWebhooksInput } from "../webhooks/mod.ts";
import { type AnalyzedAgent, RecordAnalyst } from "../calls/record_analyst.ts";
import { type AnalysisPrices, ResponsesClient } from "../analysis/mod.ts";
import { ENVIRONMENT_PROFILE_NAME, environmentProfile } from "../agents/agent_profile.ts";
import { BridgeMetrics } from "./bridge_metrics.ts";
import { CallTracing } from "./call_tracing.ts";
import { OpenAIHealth, type OpenAIHealthOptions } from "./openai_health.ts";
import { errorMessage } from "./error_message.ts";

/** The agents: their webhooks get their calls' events, their analysis runs after their calls. */
export interface OperationsAgents {
  /** The current profiles (an agents file reload swaps them); the same array until then. */
  profiles(): readonly (AgentWebhooksInput & AnalyzedAgent)[];
}

/** Options of {@link Operations.create}. */
export interface OperationsOptions {
  config: Config;
  /**
   * The call store. Default: Deno KV as configured (`config.callStore`);
   * `null` for none.
   */
  store?: CallStore | null;
  /** Tracer for the spans. Default: the global `@opentelemetry/api` tracer. */
  tracer?: Tracer;
  /**
   * The KV of the webhook outbox. Default: the call store's (`config.callStore`)
   * when `store` is not given, else one in memory (not durable; a warning says
   * so when records are off and a webhook is set).
   */
  outboxKv?: Deno.Kv;
  /** The agents (read at each event). Default: the environment's agent. */
  agents?: OperationsAgents;
  /** Ms between looks for analysis jobs other instances left [5000]. */
  analysisPollMs?: number;
  /** Pause before an analysis retry, ms [1000, doubling]. */
  analysisRetryDelayMs?: number;
  /** `fetch` of the webhooks and the analysis. */
  fetch?: typeof fetch;
  /** Pauses before webhook retries, ms. Default `config.webhookRetrySchedule`. */
  webhookRetryDelaysMs?: readonly number[];
  /** Ms one webhook attempt may take. Default `config.webhookTimeoutSeconds`. */
  webhookTimeoutMs?: number;
  /** Ms between looks for due webhook deliveries [5000]. */
  webhookPollMs?: number;
  /** When OpenAI counts as failing. */
  health?: OpenAIHealthOptions;
  logger?: Logger;
}

/** Metrics, traces, readiness and call records of one server. */
export class Operations implements AsyncDisposable {
  readonly metrics: BridgeMetrics;
  readonly health: OpenAIHealth;
  readonly tracing: CallTracing;
  readonly recorder: CallRecorder;
  readonly store: CallStore | undefined;
  readonly webhooks: WebhookSender;
  /** The post-call analyses waiting or running, durable in the outbox's KV. */
  readonly analysisJobs: AnalysisJobs;
  #config: Config;
  #log: Logger;
  /** Recording reports being kept. */
  #pending = new Set<Promise<void>>();
  #outboxKv: { kv: Deno.Kv; owned: boolean };

  private constructor(
    options: OperationsOptions,
    store: CallStore | undefined,
    outboxKv: { kv: Deno.Kv; owned: boolean },
  ) {
    const { config } = options;
    const log = options.logger ?? getLogger(["bridge", "ops"]);
    this.#config = config;
    this.store = store;
    this.health = new OpenAIHealth(options.health);
    this.metrics = new BridgeMetrics({
      prices: config.prices,
      livePricePerMinute: config.priceLivePerMinute,
      openaiFailing: () => this.health.failing(),
    });
    this.tracing = new CallTracing(options.tracer ? { tracer: options.tracer } : {});
    this.#outboxKv = outboxKv;
    this.#log = log;
    const agents: OperationsAgents = options.agents ?? {
      profiles: ((fixed) => () => fixed)([environmentProfile(config)]),
    };
    let targets = { for: undefined as unknown, list: webhookTargets(config.webhook, []) };
    this.webhooks = new WebhookSender({
      outbox: new WebhookOutbox(outboxKv.kv, { retentionDays: config.retentionDays }),
      targets: () => {
        const profiles = agents.profiles();
        if (profiles !== targets.for) {
          targets = { for: profiles, list: webhookTargets(config.webhook, profiles) };
        }
        return targets.list;
      },
      schedule: options.webhookRetryDelaysMs ?? config.webhookRetrySchedule,
      timeoutMs: options.webhookTimeoutMs ?? config.webhookTimeoutSeconds * 1000,
      ...(options.webhookPollMs !== undefined ? { pollMs: options.webhookPollMs } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      logger: getLogger(["bridge", "webhooks"]),
      onResult: (result) => this.metrics.webhookDeliveries.inc({ result }),
    });
    this.analysisJobs = new AnalysisJobs({
      kv: outboxKv.kv,
      run: async (record) => void await this.recorder.analyze(record),
      giveUp: (record, error) => this.recorder.gaveUp(record, error),
      ...(options.analysisPollMs !== undefined ? { pollMs: options.analysisPollMs } : {}),
      logger: getLogger(["bridge", "analysis"]),
    });
    this.recorder = new CallRecorder({
      store,
      events: this.webhooks,
      jobs: this.analysisJobs,
      privacy: { redact: config.redact, storeTranscripts: config.storeTranscripts },
      analyst: new RecordAnalyst({
        agent: (name) =>
          agents.profiles().find((p) => p.name === (name ?? ENVIRONMENT_PROFILE_NAME)),
        client: new ResponsesClient({
          baseUrl: config.openaiBaseUrl,
          apiKey: config.openaiApiKey,
          ...(options.fetch ? { fetch: options.fetch } : {}),
        }),
        prices: analysisPrices(config),
        ...(options.analysisRetryDelayMs !== undefined
          ? { retryDelayMs: options.analysisRetryDelayMs }
          : {}),
        logger: getLogger(["bridge", "analysis"]),
      }),
      prices: config.prices,
      livePricePerMinute: config.priceLivePerMinute,
      logger: log,
      onResult: (_what, ok) => {
        this.metrics.callRecords.inc({ result: ok ? "stored" : "failed" });
      },
    });
  }

  /**
   * Opens the call store and the webhook outbox (unless given), sets
   * everything up and starts the webhook sender.
   */
  static async create(options: OperationsOptions): Promise<Operations> {
    const { config } = options;
    let store: CallStore | undefined;
    if (options.store !== undefined) {
      store = options.store ?? undefined;
    } else if (config.callStore !== undefined) {
      store = await KvCallStore.open({
        path: config.callStore.path,
        retentionDays: config.retentionDays,
      });
    }
    let outboxKv: { kv: Deno.Kv; owned: boolean };
    if (options.outboxKv !== undefined) {
      outboxKv = { kv: options.outboxKv, owned: false };
    } else {
      // With the store from the configuration, the outbox shares its KV handle; else it lives in
      // memory.
      outboxKv = options.store === undefined && store instanceof KvCallStore
        ? { kv: store.kv, owned: false }
        : { kv: await Deno.openKv(":memory:"), owned: true };
      if (config.callStore === undefined && config.webhook !== undefined) {
        (options.logger ?? getLogger(["bridge", "ops"])).warn(
          "CALL_STORE_PATH=off: webhook deliveries wait in memory and are lost if the process stops. Set CALL_STORE_PATH for a durable outbox.",
        );
      }
    }
    const operations = new Operations(options, store, outboxKv);
    await operations.webhooks.start();
    await operations.analysisJobs.start();
    return operations;
  }

  /** The observer of one call (taken by `call.agent`): metrics, spans, OpenAI health and the record. */
  observeCall(startedAt: number, call: { agent?: string } = {}): CallObserver {
    const health: CallObserver = {
      observe: (event) => {
        if (event.kind === "openai_connect") this.health.record(event.ok);
      },
      finished: () => {},
      openaiRefused: (failure) => {
        if (failure.kind === "auth") this.health.recordAuthFailure(failure.status);
      },
    };
    return combineObservers([
      this.metrics.observeCall(startedAt, call),
      this.tracing.observeCall(startedAt),
      health,
      this.recorder.observeCall(startedAt, call),
    ]);
  }

  /** Ready to take calls: OpenAI is not known to be failing. */
  isReady(): boolean {
    return !this.health.failing();
  }

  /**
   * A call recording finished: kept in the call's record (now or when it is
   * written) and sent as `recording.completed`. Never rejects.
   */
  recordingFinished(report: RecordingReport): Promise<void> {
    const { recording } = report;
    const work = (async () => {
      try {
        await this.store?.putRecording?.(report.callSid, recording);
      } catch (error) {
        this.#log.error("Could not keep the recording in the call record: {error}", {
          callSid: report.callSid,
          error: errorMessage(error),
        });
      }
      await this.webhooks.emit({
        type: "recording.completed",
        at: new Date(),
        agent: report.agent ?? undefined,
        data: { callSid: report.callSid, agent: report.agent, recording },
      });
    })();
    this.#pending.add(work);
    work.finally(() => this.#pending.delete(work));
    return work;
  }

  /**
   * A transfer finished: `transfer.completed` when it reached the other
   * party, else `transfer.failed`, with the call's CallSid and the
   * destinations tried (masked). Never rejects.
   */
  transferFinished(report: TransferReport): Promise<void> {
    const work = this.webhooks.emit({
      type: report.result === "transferred" ? "transfer.completed" : "transfer.failed",
      at: new Date(),
      agent: report.agent,
      data: {
        callSid: report.callSid,
        agent: report.agent ?? null,
        mode: report.mode,
        result: report.result,
        legs: report.legs,
      },
    });
    this.#pending.add(work);
    work.finally(() => this.#pending.delete(work));
    return work;
  }

  /** The options to pass to `createApp`/`startServer`. */
  appOptions(): Pick<
    AppOptions,
    | "observeCall"
    | "metrics"
    | "isReady"
    | "notReadyReason"
    | "onCallRejected"
    | "onTransfer"
    | "onRecording"
  > {
    return {
      onRecording: (report) => void this.recordingFinished(report),
      observeCall: (startedAt, call) => this.observeCall(startedAt, call),
      metrics: { render: () => this.metrics.render(), token: this.#config.metricsToken },
      isReady: () => this.isReady(),
      notReadyReason: () => this.health.problem(),
      onCallRejected: () => this.metrics.callRejected(),
      onTransfer: (mode, result, report) => {
        this.metrics.transfers.inc({ mode, result });
        void this.transferFinished(report);
      },
    };
  }

  /** Waits for pending writes, stops the webhook sender, then closes the stores. */
  async close(): Promise<void> {
    await this.recorder.idle();
    await this.analysisJobs.close();
    await Promise.all(this.#pending);
    await this.webhooks.close();
    if (this.#outboxKv.owned) this.#outboxKv.kv.close();
    this.store?.close();
  }

  /** Same as {@link Operations.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The analysis model's prices (`PRICE_ANALYSIS_*`). */
export function analysisPrices(config: Config): AnalysisPrices {
  return {
    input: config.priceAnalysisInput,
    cachedInput: config.priceAnalysisCachedInput,
    output: config.priceAnalysisOutput,
  };
}
