/**
 * Where call records are kept: a small {@link CallStore} interface and its
 * Deno KV implementation (a local file, or the managed KV on Deno Deploy so
 * that several instances share it). Deno KV needs `--unstable-kv` (set in
 * `deno.json`).
 *
 * @module
 */
import { commitKv, openKvWaiting } from "./kv_commit.ts";
import {
  type CallRecord,
  type CallRecordingInfo,
  type CallRecordSummary,
  summarizeRecord,
} from "./call_record.ts";

/** Stores call records. */
export interface CallStore {
  /** Stores (or replaces) the record of a call. */
  put(record: CallRecord): Promise<void>;
  /** The record of `callSid`, if kept. */
  get(callSid: string): Promise<CallRecord | undefined>;
  /**
   * Keeps the recording of `callSid`: in its record when there is one, and
   * for the record written later (a recording may finish before or after it).
   */
  putRecording?(callSid: string, recording: CallRecordingInfo): Promise<void>;
  /** The most recent records first (by start time), without transcripts. */
  list(options?: { limit?: number }): Promise<CallRecordSummary[]>;
  /** Releases the store; calling it again has no effect. */
  close(): void;
}

/** Options of {@link KvCallStore.open}. */
export interface KvCallStoreOptions {
  /**
   * Path of the KV file; `":memory:"` for a store in memory (tests);
   * undefined for the platform's default (the managed KV on Deno Deploy).
   */
  path: string | undefined;
  /** Days records are kept (KV `expireIn`); 0 keeps them forever. */
  retentionDays: number;
}

const RECORDS = "call_records";
const BY_TIME = "call_records_by_time";
const RECORDINGS = "call_recordings";
/** Deno KV accepts values up to 64 KiB; keep a margin for the encoding. */
const MAX_VALUE_BYTES = 60 * 1024;
const MS_PER_DAY = 86_400_000;

/**
 * Cuts the transcript of `record` until its JSON fits `maxBytes`; keeps the
 * earliest lines and marks the record `transcriptTruncated`.
 */
export function fitRecord(record: CallRecord, maxBytes = MAX_VALUE_BYTES): CallRecord {
  const encoder = new TextEncoder();
  const size = (r: CallRecord) => encoder.encode(JSON.stringify(r)).length;
  if (size(record) <= maxBytes) return record;
  const fitted: CallRecord = { ...record, transcript: [...record.transcript] };
  fitted.transcriptTruncated = true;
  // Halve until it fits, then add lines back one by one.
  let keep = fitted.transcript.length;
  while (keep > 0 && size({ ...fitted, transcript: fitted.transcript.slice(0, keep) }) > maxBytes) {
    keep = Math.floor(keep / 2);
  }
  while (
    keep < record.transcript.length &&
    size({ ...fitted, transcript: record.transcript.slice(0, keep + 1) }) <= maxBytes
  ) {
    keep++;
  }
  fitted.transcript = record.transcript.slice(0, keep).map((line) => ({
    ...line,
    text: line.text !== null && line.text.length > 8000
      ? `${line.text.slice(0, 8000)}…`
      : line.text,
  }));
  return fitted;
}

/**
 * Call records in Deno KV: the full record under `["call_records", callSid]`
 * and a summary under `["call_records_by_time", startedAtMs, callSid]` for
 * listings, both expiring after the retention period.
 *
 * @example
 * ```ts ignore
 * import { KvCallStore } from "./call_store.ts";
 * const store = await KvCallStore.open({ path: ":memory:", retentionDays: 30 });
 * console.log(await store.list({ limit: 10 }));
 * store.close();
 * ```
 */
export class KvCallStore implements CallStore {
  #kv: Deno.Kv;
  #expireIn: number | undefined;
  #closed = false;
  #ownsKv: boolean;

  private constructor(kv: Deno.Kv, retentionDays: number, ownsKv: boolean) {
    this.#kv = kv;
    this.#ownsKv = ownsKv;
    this.#expireIn = retentionDays > 0 ? Math.round(retentionDays * MS_PER_DAY) : undefined;
  }

  /** Opens (or creates) the store. */
  static async open(options: KvCallStoreOptions): Promise<KvCallStore> {
    const kv = await openKvWaiting(options.path);
    return new KvCallStore(kv, options.retentionDays, true);
  }

  /**
   * The store on a KV handle its caller owns and closes (the process's one
   * handle of the call store's file, shared with outbound calls and
   * checkpoints): {@link KvCallStore.close} leaves it open.
   */
  static on(kv: Deno.Kv, retentionDays: number): KvCallStore {
    return new KvCallStore(kv, retentionDays, false);
  }

  /**
   * The store's KV handle, for what else lives in the call store (the webhook
   * outbox): one handle per file, since SQLite makes handles of one file wait
   * for each other's writes. Closed with the store.
   */
  get kv(): Deno.Kv {
    return this.#kv;
  }

  /**
   * Stores the record (its transcript cut to fit KV's value size limit if
   * needed), with the call's recording when Twilio reported it first.
   */
  async put(record: CallRecord): Promise<void> {
    for (let i = 0; i < 10; i++) {
      const recording = await this.#kv.get<CallRecordingInfo>([RECORDINGS, record.callSid]);
      const fitted = fitRecord(
        recording.value === null ? record : { ...record, recording: recording.value },
      );
      const startedMs = Date.parse(fitted.startedAt);
      const options = this.#options();
      const result = await commitKv(
        this.#kv.atomic()
          .check(recording)
          .set([RECORDS, fitted.callSid], fitted, options)
          .set(
            [BY_TIME, Number.isFinite(startedMs) ? startedMs : 0, fitted.callSid],
            summarizeRecord(fitted),
            options,
          ),
      );
      if (result.ok) return;
    }
    throw new Error(`Could not store the record of call ${record.callSid}.`);
  }

  /** Keeps the recording of `callSid`, in its record too when it is stored already. */
  async putRecording(callSid: string, recording: CallRecordingInfo): Promise<void> {
    await commitKv(this.#kv.atomic().set([RECORDINGS, callSid], recording, this.#options()));
    for (let i = 0; i < 10; i++) {
      const entry = await this.#kv.get<CallRecord>([RECORDS, callSid]);
      if (entry.value === null) return; // put() adds it when the record comes
      const updated = fitRecord({ ...entry.value, recording });
      const startedMs = Date.parse(updated.startedAt);
      const result = await commitKv(
        this.#kv.atomic()
          .check(entry)
          .set([RECORDS, callSid], updated, this.#options())
          .set(
            [BY_TIME, Number.isFinite(startedMs) ? startedMs : 0, callSid],
            summarizeRecord(updated),
            this.#options(),
          ),
      );
      if (result.ok) return;
    }
    throw new Error(`Could not add the recording to the record of call ${callSid}.`);
  }

  #options(): { expireIn: number } | undefined {
    return this.#expireIn === undefined ? undefined : { expireIn: this.#expireIn };
  }

  /** The record of `callSid`. */
  async get(callSid: string): Promise<CallRecord | undefined> {
    const entry = await this.#kv.get<CallRecord>([RECORDS, callSid]);
    return entry.value ?? undefined;
  }

  /** The most recent records first. */
  async list(options: { limit?: number } = {}): Promise<CallRecordSummary[]> {
    const out: CallRecordSummary[] = [];
    const iter = this.#kv.list<CallRecordSummary>({ prefix: [BY_TIME] }, {
      reverse: true,
      limit: options.limit ?? 20,
    });
    for await (const entry of iter) out.push(entry.value);
    return out;
  }

  /** Closes the KV database unless its caller owns it (again: no effect). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsKv) this.#kv.close();
  }
}
