/**
 * Writes the record of every finished call to the {@link CallStore} and, when
 * configured, the webhook. Runs after the call is over and never throws: a
 * failing store or webhook is logged and counted, and no call is affected.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { CallObserver } from "../bridge/call_observer.ts";
import type { CallSummary } from "../bridge/call_runner.ts";
import { buildCallRecord, type CallRecord } from "./call_record.ts";
import type { CallStore } from "./call_store.ts";
import type { TokenPrices } from "./prices.ts";
import type { RecordWebhook } from "./record_webhook.ts";

/** Options of {@link CallRecorder}. */
export interface CallRecorderOptions {
  /** Where records go; undefined: only the webhook (if any). */
  store?: CallStore | undefined;
  /** Also POST each record; undefined: no webhook. */
  webhook?: RecordWebhook | undefined;
  prices: TokenPrices;
  /** USD per minute of a GPT-Live session (`PRICE_LIVE_PER_MINUTE`). */
  livePricePerMinute?: number;
  logger?: Logger;
  /** Called with the result of each store write and webhook delivery (for metrics). */
  onResult?: (what: "store" | "webhook", ok: boolean) => void;
}

/** Records finished calls. */
export class CallRecorder {
  #options: CallRecorderOptions;
  #pending = new Set<Promise<void>>();

  /** Creates a recorder. */
  constructor(options: CallRecorderOptions) {
    this.#options = options;
  }

  /** The observer of one call: records it (with its agent's name) when it finishes. */
  observeCall(startedAt: number, call: { agent?: string } = {}): CallObserver {
    return {
      observe: () => {},
      finished: (summary) => {
        this.record(summary, startedAt, call.agent);
      },
    };
  }

  /** Builds and writes the record of `summary`; resolves when stored (never rejects). */
  record(summary: CallSummary, startedAtMonotonic: number, agent?: string): Promise<void> {
    let record: CallRecord;
    try {
      record = buildCallRecord(summary, {
        prices: this.#options.prices,
        ...(this.#options.livePricePerMinute !== undefined
          ? { livePricePerMinute: this.#options.livePricePerMinute }
          : {}),
        startedAtMonotonic,
        agent,
      });
    } catch (error) {
      this.#options.logger?.error("Could not build the call record: {error}", {
        error: error instanceof Error ? error.message : String(error),
      });
      return Promise.resolve();
    }
    const work = this.#write(record);
    this.#pending.add(work);
    work.finally(() => this.#pending.delete(work));
    return work;
  }

  /** Waits for every write so far (webhook retries included). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  async #write(record: CallRecord): Promise<void> {
    const { store, webhook, logger, onResult } = this.#options;
    const delivery = webhook?.deliver(record).then((ok) => onResult?.("webhook", ok));
    if (store !== undefined) {
      try {
        await store.put(record);
        onResult?.("store", true);
        logger?.debug("Call record stored.", { callSid: record.callSid });
      } catch (error) {
        onResult?.("store", false);
        logger?.error("Could not store the call record: {error}", {
          callSid: record.callSid,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    await delivery;
  }
}
