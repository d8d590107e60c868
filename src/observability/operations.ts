/**
 * Everything an operator needs, wired from the configuration: metrics,
 * traces, OpenAI health for readiness, and call records (store + webhook).
 * `createApp`/`startServer` take {@link Operations.appOptions}.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import type { Tracer } from "@opentelemetry/api";
import type { AppOptions } from "../http/app.ts";
import type { Config } from "../config_types.ts";
import { type CallObserver, combineObservers } from "../bridge/call_observer.ts";
import { CallRecorder } from "../calls/call_recorder.ts";
import { type CallStore, KvCallStore } from "../calls/call_store.ts";
import { RecordWebhook } from "../calls/record_webhook.ts";
import { BridgeMetrics } from "./bridge_metrics.ts";
import { CallTracing } from "./call_tracing.ts";
import { OpenAIHealth, type OpenAIHealthOptions } from "./openai_health.ts";

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
  /** `fetch` of the webhook. */
  fetch?: typeof fetch;
  /** Pauses before webhook retries, ms. */
  webhookRetryDelaysMs?: readonly number[];
  /** Ms one webhook attempt may take. */
  webhookTimeoutMs?: number;
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
  readonly webhook: RecordWebhook | undefined;
  #config: Config;

  private constructor(options: OperationsOptions, store: CallStore | undefined) {
    const { config } = options;
    const log = options.logger ?? getLogger(["bridge", "ops"]);
    this.#config = config;
    this.store = store;
    this.health = new OpenAIHealth(options.health);
    this.metrics = new BridgeMetrics({
      prices: config.prices,
      openaiFailing: () => this.health.failing(),
    });
    this.tracing = new CallTracing(options.tracer ? { tracer: options.tracer } : {});
    this.webhook = config.callRecordWebhook === undefined ? undefined : new RecordWebhook({
      url: config.callRecordWebhook.url,
      secret: config.callRecordWebhook.secret,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.webhookRetryDelaysMs ? { retryDelaysMs: options.webhookRetryDelaysMs } : {}),
      ...(options.webhookTimeoutMs ? { timeoutMs: options.webhookTimeoutMs } : {}),
      logger: log,
    });
    this.recorder = new CallRecorder({
      store,
      webhook: this.webhook,
      prices: config.prices,
      logger: log,
      onResult: (what, ok) => {
        if (what === "store") this.metrics.callRecords.inc({ result: ok ? "stored" : "failed" });
        else this.metrics.webhookDeliveries.inc({ result: ok ? "delivered" : "failed" });
      },
    });
  }

  /** Opens the call store (unless given) and sets everything up. */
  static async create(options: OperationsOptions): Promise<Operations> {
    let store: CallStore | undefined;
    if (options.store !== undefined) {
      store = options.store ?? undefined;
    } else if (options.config.callStore !== undefined) {
      store = await KvCallStore.open({
        path: options.config.callStore.path,
        retentionDays: options.config.callRecordRetentionDays,
      });
    }
    return new Operations(options, store);
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

  /** The options to pass to `createApp`/`startServer`. */
  appOptions(): Pick<
    AppOptions,
    "observeCall" | "metrics" | "isReady" | "notReadyReason" | "onCallRejected" | "onTransfer"
  > {
    return {
      observeCall: (startedAt, call) => this.observeCall(startedAt, call),
      metrics: { render: () => this.metrics.render(), token: this.#config.metricsToken },
      isReady: () => this.isReady(),
      notReadyReason: () => this.health.problem(),
      onCallRejected: () => this.metrics.callRejected(),
      onTransfer: (mode, result) => this.metrics.transfers.inc({ mode, result }),
    };
  }

  /** Stops webhook retries, waits for pending writes, then closes the store. */
  async close(): Promise<void> {
    await this.webhook?.close();
    await this.recorder.idle();
    this.store?.close();
  }

  /** Same as {@link Operations.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
