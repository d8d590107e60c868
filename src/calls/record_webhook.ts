/**
 * Posts each call record to `CALL_RECORD_WEBHOOK_URL`, signed with an HMAC,
 * with a timeout and retries, off the audio path: {@link RecordWebhook.deliver}
 * never throws, and the call is over before it is called.
 *
 * The receiver checks `X-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the
 * raw request body keyed with `CALL_RECORD_WEBHOOK_SECRET`.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { CallRecord } from "./call_record.ts";

/** The signature header. */
export const SIGNATURE_HEADER = "X-Signature-256";

/** Options of {@link RecordWebhook}. */
export interface RecordWebhookOptions {
  url: string;
  /** HMAC key (secret; never logged). */
  secret: string;
  /** Ms one attempt may take. Default 5000. */
  timeoutMs?: number;
  /** Pauses before each retry, in ms; their count is the number of retries. Default 1 s, 5 s, 30 s. */
  retryDelaysMs?: readonly number[];
  /** Default the global `fetch`. */
  fetch?: typeof fetch;
  logger?: Logger;
}

/**
 * Signs `body` like the webhook does: `sha256=` + hex HMAC-SHA256.
 *
 * @example
 * ```ts
 * import { signBody } from "./record_webhook.ts";
 * const sig = await signBody("secret", "{}");
 * if (!/^sha256=[0-9a-f]{64}$/.test(sig)) throw new Error();
 * ```
 */
export async function signBody(secret: string, body: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(body)));
  return `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Delivers call records to a webhook. */
export class RecordWebhook {
  #options: RecordWebhookOptions;
  #pending = new Set<Promise<boolean>>();
  #closed = false;
  #sleeps = new Set<{ timer: ReturnType<typeof setTimeout>; resolve: () => void }>();

  /** Creates the webhook client. */
  constructor(options: RecordWebhookOptions) {
    this.#options = options;
  }

  /**
   * Posts `record`, retrying on network errors, timeouts, 408, 429 and 5xx.
   * Resolves true once delivered, false when it gave up. Never rejects.
   */
  deliver(record: CallRecord): Promise<boolean> {
    const promise = this.#deliver(record).catch(() => false);
    this.#pending.add(promise);
    promise.finally(() => this.#pending.delete(promise));
    return promise;
  }

  /** Stops retrying (pending retries give up at once) and waits for attempts in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const sleep of this.#sleeps) {
      clearTimeout(sleep.timer);
      sleep.resolve();
    }
    await Promise.all(this.#pending);
  }

  /** Waits until every delivery so far has finished (delivered or given up). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  async #deliver(record: CallRecord): Promise<boolean> {
    const body = JSON.stringify(record);
    const signature = await signBody(this.#options.secret, body);
    const delays = this.#options.retryDelaysMs ?? [1000, 5000, 30_000];
    const log = this.#options.logger;
    for (let attempt = 0; attempt <= delays.length; attempt++) {
      if (attempt > 0) {
        await this.#sleep(delays[attempt - 1]);
        if (this.#closed) break;
      }
      const result = await this.#attempt(body, signature, record.callSid);
      if (result.ok) {
        log?.debug("Call record delivered to the webhook.", { callSid: record.callSid, attempt });
        return true;
      }
      log?.warn("Call record webhook attempt {attempt} failed: {error}", {
        callSid: record.callSid,
        attempt: attempt + 1,
        error: result.error,
      });
      if (!result.retry) break;
    }
    log?.error("Gave up delivering the call record to the webhook.", { callSid: record.callSid });
    return false;
  }

  async #attempt(
    body: string,
    signature: string,
    callSid: string,
  ): Promise<{ ok: true } | { ok: false; retry: boolean; error: string }> {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error("timed out")),
      this.#options.timeoutMs ?? 5000,
    );
    try {
      const response = await (this.#options.fetch ?? fetch)(this.#options.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [SIGNATURE_HEADER]: signature,
          "x-call-sid": callSid,
        },
        body,
        signal: controller.signal,
      });
      await response.body?.cancel();
      if (response.ok) return { ok: true };
      const retry = response.status === 408 || response.status === 429 || response.status >= 500;
      return { ok: false, retry, error: `HTTP ${response.status}` };
    } catch (error) {
      const reason = controller.signal.aborted
        ? "timed out"
        : error instanceof Error
        ? error.message
        : String(error);
      return { ok: false, retry: true, error: reason };
    } finally {
      clearTimeout(timer);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.#sleeps.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.#sleeps.add(entry);
    });
  }
}
