/**
 * The bridge's Prometheus metrics and the per-call observer that feeds them.
 *
 * @module
 */
import type { CallObserver } from "../bridge/call_observer.ts";
import type { TokenUsage } from "../core/conversation_log.ts";
import { estimateCostUsd, liveCostUsd, type TokenPrices } from "../calls/prices.ts";
import { DEFAULT_LIVE_PRICE_PER_MINUTE } from "../config/mod.ts";
import { type Counter, type Gauge, type Histogram, MetricsRegistry } from "./metrics.ts";

/** Buckets in seconds for latencies from tens of ms to several seconds. */
const LATENCY_BUCKETS = [0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];
/** Buckets in seconds for call durations. */
const DURATION_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];
/** Buckets in seconds for the bridge's own relay time per frame. */
const RELAY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];

const TOKEN_KINDS: readonly [keyof TokenUsage, string][] = [
  ["inputTextTokens", "input_text"],
  ["inputAudioTokens", "input_audio"],
  ["inputCachedTokens", "input_cached"],
  ["outputTextTokens", "output_text"],
  ["outputAudioTokens", "output_audio"],
];

/** Makes a label value of an external string (error codes, tool names): short, plain. */
function labelValue(value: string): string {
  const cleaned = value.toLowerCase().replace(/[^a-z0-9_.-]/g, "_").slice(0, 64);
  return cleaned === "" ? "unknown" : cleaned;
}

/** Options of {@link BridgeMetrics}. */
export interface BridgeMetricsOptions {
  /** Token prices for the cost estimate. */
  prices: TokenPrices;
  /** USD per minute of a GPT-Live session. Default {@link DEFAULT_LIVE_PRICE_PER_MINUTE}. */
  livePricePerMinute?: number;
  /** Whether OpenAI is known to be failing (exported as a gauge). */
  openaiFailing?: () => boolean;
}

/**
 * All metrics of the bridge. Create one per process, give each call the
 * observer from {@link BridgeMetrics.observeCall}, and serve
 * {@link BridgeMetrics.render} at `/metrics`.
 *
 * @example
 * ```ts
 * import { BridgeMetrics } from "./bridge_metrics.ts";
 * import { DEFAULT_PRICES } from "../calls/prices.ts";
 * const metrics = new BridgeMetrics({ prices: DEFAULT_PRICES });
 * const call = metrics.observeCall(0);
 * call.observe({ kind: "assistant_audio_started", responseId: "r", itemId: "i" }, 850);
 * if (!metrics.render().includes("bridge_call_first_audio_seconds_count 1")) throw new Error();
 * ```
 */
export class BridgeMetrics {
  /** The registry (for tests and extra metrics). */
  readonly registry = new MetricsRegistry();
  readonly activeCalls: Gauge;
  readonly calls: Counter;
  readonly agentCalls: Counter;
  readonly callDuration: Histogram;
  readonly firstAudio: Histogram;
  readonly turnLatency: Histogram;
  readonly turns: Counter;
  readonly bargeIns: Counter;
  readonly interruptions: Counter;
  readonly truncates: Counter;
  readonly truncatesRejected: Counter;
  readonly openaiErrors: Counter;
  readonly openaiConnects: Counter;
  readonly openaiReconnects: Counter;
  readonly sessionRenewals: Counter;
  readonly frames: Counter;
  readonly relayLatency: Histogram;
  /** The two series of {@link relayLatency}, looked up once (one observation per frame). */
  #relayIn: { observe(value: number): void };
  #relayOut: { observe(value: number): void };
  readonly tokens: Counter;
  readonly cost: Counter;
  readonly toolCalls: Counter;
  readonly toolResults: Counter;
  readonly callRecords: Counter;
  readonly webhookDeliveries: Counter;
  readonly transfers: Counter;
  #prices: TokenPrices;
  #livePrice: number;

  /** Registers every metric. */
  constructor(options: BridgeMetricsOptions) {
    this.#prices = options.prices;
    this.#livePrice = options.livePricePerMinute ?? DEFAULT_LIVE_PRICE_PER_MINUTE;
    const r = this.registry;
    this.activeCalls = r.gauge({ name: "bridge_active_calls", help: "Calls in progress." });
    this.calls = r.counter({
      name: "bridge_calls_total",
      help:
        "Calls by outcome: caller_hung_up, assistant_ended, openai_error, bridge_error, refused, rejected, drained, handed_over, stream_lost, transferred, voicemail, machine.",
      labelNames: ["outcome"],
    });
    this.agentCalls = r.counter({
      name: "bridge_agent_calls_total",
      help:
        "Calls by agent of the agents file (default: the environment's agent), counted at call end.",
      labelNames: ["agent"],
    });
    this.callDuration = r.histogram({
      name: "bridge_call_duration_seconds",
      help: "Call duration, from the media stream opening to both sockets closed.",
      labelNames: ["outcome"],
      buckets: DURATION_BUCKETS,
    });
    this.firstAudio = r.histogram({
      name: "bridge_call_first_audio_seconds",
      help: "Time from the call's start to the first assistant audio sent to the caller.",
      buckets: LATENCY_BUCKETS,
    });
    this.turnLatency = r.histogram({
      name: "bridge_assistant_turn_latency_seconds",
      help: "Time from the caller's end of speech (speech_stopped) to the first assistant audio.",
      buckets: LATENCY_BUCKETS,
    });
    this.turns = r.counter({
      name: "bridge_assistant_turns_total",
      help: "Assistant responses by final status (completed, cancelled, incomplete, failed).",
      labelNames: ["status"],
    });
    this.bargeIns = r.counter({
      name: "bridge_barge_ins_total",
      help: "Times a caller interrupted the assistant's audio.",
    });
    this.interruptions = r.counter({
      name: "bridge_interruptions_total",
      help:
        "Caller speech over the assistant decided by the bridge: real, false (too short or no words) or backchannel.",
      labelNames: ["kind"],
    });
    this.truncates = r.counter({
      name: "bridge_truncates_total",
      help: "conversation.item.truncate events sent after barge-ins.",
    });
    this.truncatesRejected = r.counter({
      name: "bridge_truncates_rejected_total",
      help: "Truncates OpenAI answered with an error.",
    });
    this.openaiErrors = r.counter({
      name: "bridge_openai_errors_total",
      help: "OpenAI error events by error code.",
      labelNames: ["code"],
    });
    this.openaiConnects = r.counter({
      name: "bridge_openai_connects_total",
      help: "OpenAI Realtime connection attempts by result (ok, failed).",
      labelNames: ["result"],
    });
    this.openaiReconnects = r.counter({
      name: "bridge_openai_reconnects_total",
      help: "OpenAI sessions reconnected during a call.",
    });
    this.sessionRenewals = r.counter({
      name: "bridge_openai_session_renewals_total",
      help: "OpenAI sessions renewed during a call.",
    });
    this.frames = r.counter({
      name: "bridge_frames_total",
      help:
        "Audio frames relayed, by direction (caller_to_openai, openai_to_caller); counted at call end.",
      labelNames: ["direction"],
    });
    this.relayLatency = r.histogram({
      name: "bridge_relay_latency_seconds",
      help: "Time the bridge takes to relay one audio frame (receive, parse, forward).",
      labelNames: ["direction"],
      buckets: RELAY_BUCKETS,
    });
    this.#relayIn = this.relayLatency.labels({ direction: "caller_to_openai" });
    this.#relayOut = this.relayLatency.labels({ direction: "openai_to_caller" });
    this.tokens = r.counter({
      name: "bridge_tokens_total",
      help: "Realtime tokens by kind, from response.done usage.",
      labelNames: ["kind"],
    });
    this.cost = r.counter({
      name: "bridge_estimated_cost_usd_total",
      help: "Estimated cost of the tokens in USD, from the configured prices.",
    });
    this.toolCalls = r.counter({
      name: "bridge_tool_calls_total",
      help: "Tool calls by the model, by tool name.",
      labelNames: ["tool"],
    });
    this.toolResults = r.counter({
      name: "bridge_tool_results_total",
      help:
        "Results of the custom tools the bridge runs (HTTP tools), by tool and outcome: ok, or the kind of failure (timeout, http_error, unreachable, invalid_arguments, …).",
      labelNames: ["tool", "outcome"],
    });
    this.callRecords = r.counter({
      name: "bridge_call_records_total",
      help: "Call records written, by result (stored, failed).",
      labelNames: ["result"],
    });
    this.webhookDeliveries = r.counter({
      name: "bridge_webhook_deliveries_total",
      help: "Webhook delivery tries, by result (delivered, retrying, dead).",
      labelNames: ["result"],
    });
    this.transfers = r.counter({
      name: "bridge_transfers_total",
      help:
        "Transfers to a person by mode (warm, cold) and result (transferred, fallback: nobody took the call, caller_hung_up).",
      labelNames: ["mode", "result"],
    });
    const failing = options.openaiFailing;
    if (failing !== undefined) {
      r.gauge({
        name: "bridge_openai_failing",
        help: "1 while OpenAI is known to be failing (recent connection attempts all failed).",
        collect: () => failing() ? 1 : 0,
      });
    }
  }

  /** The metrics in the Prometheus text format. */
  render(): string {
    return this.registry.render();
  }

  /** Counts a call refused before it started (`reason` is not a label). */
  callRejected(): void {
    this.calls.inc({ outcome: "rejected" });
  }

  /** The observer of one call that started at `startedAt` (ms, the runner's clock). */
  observeCall(startedAt: number, call: { agent?: string } = {}): CallObserver {
    this.activeCalls.inc();
    let firstAudioSeen = false;
    let speechStoppedAt: number | undefined;
    let finished = false;
    return {
      observe: (event, now) => {
        switch (event.kind) {
          case "openai_connect":
            this.openaiConnects.inc({ result: event.ok ? "ok" : "failed" });
            return;
          case "assistant_audio_started":
            if (!firstAudioSeen) {
              firstAudioSeen = true;
              this.firstAudio.observe({}, (now - startedAt) / 1000);
            }
            if (speechStoppedAt !== undefined) {
              this.turnLatency.observe({}, (now - speechStoppedAt) / 1000);
              speechStoppedAt = undefined;
            }
            return;
          case "caller_speech_stopped":
            speechStoppedAt = now;
            return;
          case "barge_in":
            this.bargeIns.inc();
            this.truncates.inc({}, event.truncates);
            return;
          case "interruption":
            this.interruptions.inc({ kind: event.verdict });
            return;
          case "false_interruption":
            return;
          case "response_done":
            this.turns.inc({ status: labelValue(event.status) });
            for (const [field, kind] of TOKEN_KINDS) this.tokens.inc({ kind }, event.usage[field]);
            this.cost.inc({}, estimateCostUsd(event.usage, this.#prices));
            return;
          case "openai_error":
            this.openaiErrors.inc({ code: labelValue(event.code) });
            if (event.truncateRejected) this.truncatesRejected.inc();
            return;
          case "tool_call":
            this.toolCalls.inc({ tool: labelValue(event.name) });
            return;
          case "openai_reconnected":
            this.openaiReconnects.inc();
            return;
          case "session_renewed":
            this.sessionRenewals.inc();
            return;
          case "response_started":
            return;
        }
      },
      toolFinished: (tool) => {
        // The kind without an HTTP status: a bounded set of label values.
        const outcome = tool.failure?.split(" ")[0] ?? (tool.failed ? "failed" : "ok");
        this.toolResults.inc({ tool: labelValue(tool.name), outcome: labelValue(outcome) });
      },
      relayed: (direction, ms) => {
        (direction === "caller_to_openai" ? this.#relayIn : this.#relayOut).observe(ms / 1000);
      },
      finished: (summary) => {
        if (finished) return;
        finished = true;
        this.activeCalls.inc({}, -1);
        this.calls.inc({ outcome: summary.outcome });
        if (call.agent !== undefined) this.agentCalls.inc({ agent: call.agent.slice(0, 64) });
        this.callDuration.observe({ outcome: summary.outcome }, summary.durationMs / 1000);
        this.frames.inc({ direction: "caller_to_openai" }, summary.stats.framesIn);
        this.frames.inc({ direction: "openai_to_caller" }, summary.stats.framesOut);
        // GPT-Live's per-minute price (its backend tokens were counted per response).
        if (summary.liveSeconds !== undefined) {
          this.cost.inc({}, liveCostUsd(summary.liveSeconds, this.#livePrice));
        }
      },
    };
  }
}
