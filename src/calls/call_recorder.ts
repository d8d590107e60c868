/**
 * Writes the record of every finished call to the {@link CallStore} and emits
 * it as the `call.ended` webhook event (to the durable outbox). Runs after the
 * call is over and never throws: a failing store or outbox is logged and
 * counted, and no call is affected.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { CallObserver } from "../bridge/call_observer.ts";
import type { CallSummary } from "../bridge/call_summary.ts";
import { buildCallRecord, type CallRecord, inProgressRecord } from "./call_record.ts";
import { type CallStore, fitRecord } from "./call_store.ts";
import type { RecordAnalyst } from "./record_analyst.ts";
import { redactPersonalData } from "../security/personal_data.ts";
import type { TokenPrices } from "./prices.ts";
import type { WebhookEvent } from "../webhooks/mod.ts";
import { type CallAnalysis, NO_TOKENS } from "../analysis/mod.ts";
import { errorMessage } from "../observability/error_message.ts";

/** The record in a `call.ended` body is cut (its transcript) to fit the outbox's value size. */
const WEBHOOK_RECORD_BYTES = 56 * 1024;

/** Options of {@link CallRecorder}. */
export interface CallRecorderOptions {
  /** Where records go; undefined: only the webhook (if any). */
  store?: CallStore | undefined;
  /** Runs the post-call analysis (when the call's agent asks for one); undefined: none. */
  analyst?: Pick<RecordAnalyst, "analyze" | "specFor"> | undefined;
  /**
   * The durable analysis jobs (`analysis_jobs.ts`): a call's analysis is
   * written there and run from there, so a stopping process does not lose
   * it. Undefined: the analysis runs at once, in memory.
   */
  jobs?: { add(record: CallRecord): Promise<void>; idle(): Promise<void> } | undefined;
  /** Where the `call.ended` and `call.analyzed` events go (the webhook sender); undefined: nowhere. */
  events?: { emit(event: WebhookEvent): Promise<void> } | undefined;
  prices: TokenPrices;
  /** USD per minute of a GPT-Live session (`PRICE_LIVE_PER_MINUTE`). */
  livePricePerMinute?: number;
  /**
   * What is kept of the words (`REDACT`, `STORE_TRANSCRIPTS`; default both
   * on): applied to the stored record and the `call.ended` body, not to what
   * the analysis reads.
   */
  privacy?: RecordPrivacy;
  logger?: Logger;
  /** Called with the result of each store write (for metrics). */
  onResult?: (what: "store", ok: boolean) => void;
}

/** What a stored record keeps of the call's words. */
export interface RecordPrivacy {
  /** Redact card numbers, e-mail addresses and phone numbers in the transcript. */
  redact: boolean;
  /** Keep the transcript at all. */
  storeTranscripts: boolean;
}

/**
 * The record as kept: without its transcript (`storeTranscripts` false,
 * marked `transcriptStored: false`), or with personal data redacted in it.
 */
function keptRecord(record: CallRecord, privacy: RecordPrivacy): CallRecord {
  if (!privacy.storeTranscripts) return { ...record, transcript: [], transcriptStored: false };
  if (!privacy.redact) return record;
  return {
    ...record,
    transcript: record.transcript.map((line) =>
      line.text === null ? line : { ...line, text: redactPersonalData(line.text) }
    ),
  };
}

/** Records finished calls. */
export class CallRecorder {
  #options: CallRecorderOptions;
  #pending = new Set<Promise<void>>();

  /** Creates a recorder. */
  constructor(options: CallRecorderOptions) {
    this.#options = options;
  }

  /**
   * The observer of one call: stores a stub record when its stream starts
   * (outcome `in_progress`, so a crash mid-call leaves a trace), and the
   * record (with its agent's name) when it finishes, which replaces the stub
   * (written after it, never before).
   */
  observeCall(startedAt: number, call: { agent?: string } = {}): CallObserver {
    let stub: Promise<void> = Promise.resolve();
    return {
      observe: () => {},
      started: (soFar) => {
        if (this.#options.store === undefined) return;
        let record: CallRecord;
        try {
          record = inProgressRecord(soFar, this.#buildOptions(startedAt, call.agent));
        } catch (error) {
          this.#buildFailed(error);
          return;
        }
        stub = this.#track(this.#store(keptRecord(record, this.#privacy()), false));
      },
      finished: (summary) => {
        this.#track(stub.then(() => this.record(summary, startedAt, call.agent)));
      },
    };
  }

  #buildOptions(startedAtMonotonic: number, agent: string | undefined) {
    return {
      prices: this.#options.prices,
      ...(this.#options.livePricePerMinute !== undefined
        ? { livePricePerMinute: this.#options.livePricePerMinute }
        : {}),
      startedAtMonotonic,
      agent,
    };
  }

  #buildFailed(error: unknown): void {
    this.#options.logger?.error("Could not build the call record: {error}", {
      error: errorMessage(error),
    });
  }

  #privacy(): RecordPrivacy {
    return this.#options.privacy ?? { redact: true, storeTranscripts: true };
  }

  /** Keeps `work` among the writes {@link CallRecorder.idle} waits for. */
  #track(work: Promise<void>): Promise<void> {
    this.#pending.add(work);
    work.finally(() => this.#pending.delete(work));
    return work;
  }

  /** Builds and writes the record of `summary`; resolves when stored (never rejects). */
  record(summary: CallSummary, startedAtMonotonic: number, agent?: string): Promise<void> {
    let record: CallRecord;
    try {
      record = buildCallRecord(summary, this.#buildOptions(startedAtMonotonic, agent));
    } catch (error) {
      this.#buildFailed(error);
      return Promise.resolve();
    }
    return this.#track(this.#write(record));
  }

  /** Waits for every write so far (the event written to the outbox and the analyses included). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
    await this.#options.jobs?.idle();
  }

  async #write(record: CallRecord): Promise<void> {
    const { events } = this.#options;
    const kept = keptRecord(record, this.#privacy());
    const delivery = events?.emit({
      type: "call.ended",
      at: new Date(record.endedAt),
      data: fitRecord(kept, WEBHOOK_RECORD_BYTES),
      agent: record.agent,
    });
    await this.#store(kept);
    await delivery;
    const { jobs, analyst } = this.#options;
    if (jobs !== undefined && analyst?.specFor(record) !== undefined) await jobs.add(record);
    else await this.analyze(record, kept);
  }

  /**
   * Analyzes the call when its agent asks for it (again, for `--reanalyze`):
   * the analysis reads `record`'s words, `kept` (by default what
   * {@link RecordPrivacy} keeps of it) is stored with the result, then
   * `call.analyzed` is sent. Resolves with the analysis, or undefined when
   * there is none to run.
   */
  async analyze(
    record: CallRecord,
    kept: CallRecord = keptRecord(record, this.#privacy()),
  ): Promise<CallAnalysis | undefined> {
    const analysis = await this.#options.analyst?.analyze(record);
    if (analysis === undefined) return undefined;
    await this.#analyzed(record, kept, analysis);
    return analysis;
  }

  /**
   * The analysis of `record` could not be run (`error`): stored as an error
   * and sent as `call.analyzed` like any failed analysis.
   */
  async gaveUp(record: CallRecord, error: string): Promise<void> {
    await this.#analyzed(record, keptRecord(record, this.#privacy()), {
      status: "error",
      model: this.#options.analyst?.specFor(record)?.model ?? "",
      analyzedAt: new Date().toISOString(),
      error,
      attempts: 0,
      tokens: NO_TOKENS,
      estimatedCostUsd: 0,
    });
  }

  async #analyzed(record: CallRecord, kept: CallRecord, analysis: CallAnalysis): Promise<void> {
    await this.#store({ ...kept, analysis });
    await this.#options.events?.emit({
      type: "call.analyzed",
      at: new Date(analysis.analyzedAt),
      data: { callSid: record.callSid, agent: record.agent ?? null, analysis },
      agent: record.agent,
    });
  }

  /** Stores `record`; `counted`: the call's record (its start's stub is not counted in metrics). */
  async #store(record: CallRecord, counted = true): Promise<void> {
    const { store, logger } = this.#options;
    const onResult = counted ? this.#options.onResult : undefined;
    if (store === undefined) return;
    try {
      await store.put(record);
      onResult?.("store", true);
      logger?.debug(counted ? "Call record stored." : "Call record stub stored.", {
        callSid: record.callSid,
      });
    } catch (error) {
      onResult?.("store", false);
      logger?.error("Could not store the call record: {error}", {
        callSid: record.callSid,
        error: errorMessage(error),
      });
    }
  }
}
