/**
 * Input limits of the bridge: the webhook body cap, and the per-connection
 * screening of media-stream frames (size, type, rate, and a budget of invalid
 * messages), plus a throttle that keeps hostile traffic from flooding logs.
 *
 * @module
 */

/** Largest webhook request body read, in bytes (Twilio's forms are ~2 KB). */
export const MAX_WEBHOOK_BODY_BYTES = 64 * 1024;

/** Largest media-stream message accepted, in bytes (Twilio's frames are ~400 bytes). */
const MAX_STREAM_MESSAGE_BYTES = 16 * 1024;

/** Most media-stream messages accepted per second (Twilio sends about 60). */
const MAX_STREAM_MESSAGES_PER_SECOND = 1000;

/** Invalid media-stream messages tolerated per connection before it is closed. */
const MAX_INVALID_STREAM_MESSAGES = 100;

/** WebSocket close codes the bridge uses when it refuses a media stream. */
const CLOSE_CODES = {
  /** Unsupported data (a binary frame). */
  unsupportedData: 1003,
  /** Policy violation (bad token, flood, no `start`). */
  policyViolation: 1008,
  /** Message too big. */
  messageTooBig: 1009,
  /** Try again later (the server is full). */
  tryAgainLater: 1013,
} as const;

/** Result of {@link readCappedText}. */
export type CappedRead = { ok: true; text: string } | { ok: false; tooLarge: true };

/** Result of {@link readCappedBody}. */
export type CappedBytes =
  | { ok: true; bytes: Uint8Array; truncated: boolean }
  | { ok: false; tooLarge: true };

/** Options of {@link readCappedBody}. */
export interface CappedBodyOptions {
  /**
   * Keep the first `maxBytes` of a bigger body (`truncated: true`) instead of
   * refusing it. Default false: a bigger body is refused.
   */
  truncate?: boolean;
}

/**
 * Reads the body of a request the bridge received or of a response it
 * fetched, never holding more than `maxBytes` of it: a body known to be
 * bigger is refused at once from `Content-Length` (and cancelled, unread),
 * else while streaming (the rest is cancelled, never read). With `truncate`
 * the first `maxBytes` are kept instead. Every body the bridge reads from
 * the network goes through here. A body that breaks mid-way counts as
 * empty; the function never throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readCappedBody } from "./limits.ts";
 * const big = () => new Response("x".repeat(100));
 * assert.deepEqual(await readCappedBody(big(), 10), { ok: false, tooLarge: true });
 * const cut = await readCappedBody(big(), 10, { truncate: true });
 * assert.ok(cut.ok && cut.truncated && cut.bytes.length === 10);
 * ```
 */
export async function readCappedBody(
  message: Request | Response,
  maxBytes: number,
  options: CappedBodyOptions = {},
): Promise<CappedBytes> {
  const declared = Number(message.headers.get("content-length") ?? "NaN");
  if (!options.truncate && Number.isFinite(declared) && declared > maxBytes) {
    await message.body?.cancel().catch(() => {});
    return { ok: false, tooLarge: true };
  }
  if (message.body === null) return { ok: true, bytes: new Uint8Array(), truncated: false };
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  try {
    reader = message.body.getReader();
  } catch {
    return { ok: true, bytes: new Uint8Array(), truncated: false }; // already read or locked
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      if (total + value.byteLength > maxBytes) {
        await reader.cancel().catch(() => {});
        if (!options.truncate) return { ok: false, tooLarge: true };
        chunks.push(value.subarray(0, maxBytes - total));
        total = maxBytes;
        truncated = true;
        break;
      }
      total += value.byteLength;
      chunks.push(value);
    }
  } catch {
    return { ok: true, bytes: new Uint8Array(), truncated: false }; // a broken body: none
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { ok: true, bytes, truncated };
}

/**
 * Reads a request body as UTF-8 text with {@link readCappedBody}, refusing
 * it as soon as it is known to exceed `maxBytes`. A broken body counts as
 * empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readCappedText } from "./limits.ts";
 * const big = new Request("http://x/", { method: "POST", body: "x".repeat(100) });
 * assert.deepEqual(await readCappedText(big, 10), { ok: false, tooLarge: true });
 * ```
 */
export async function readCappedText(
  message: Request | Response,
  maxBytes: number,
): Promise<CappedRead> {
  const read = await readCappedBody(message, maxBytes);
  return read.ok ? { ok: true, text: new TextDecoder().decode(read.bytes) } : read;
}

/** Options of {@link StreamGuard}. */
export interface StreamGuardOptions {
  /** Default {@link MAX_STREAM_MESSAGE_BYTES}. */
  maxMessageBytes?: number;
  /** Default {@link MAX_STREAM_MESSAGES_PER_SECOND}. */
  maxMessagesPerSecond?: number;
  /** Default {@link MAX_INVALID_STREAM_MESSAGES}. */
  maxInvalidMessages?: number;
}

/** What to do with a frame or an invalid message. */
export type GuardVerdict =
  | { action: "accept"; text: string }
  | { action: "close"; code: number; reason: string };

/**
 * Screens the frames of one media-stream connection before they are parsed:
 * binary frames, oversized messages and floods close the connection with a
 * WebSocket close code and a reason; invalid messages are tolerated up to a
 * budget, and only the first is worth a log line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StreamGuard } from "./limits.ts";
 * const guard = new StreamGuard({ maxMessageBytes: 10 });
 * assert.equal(guard.screen('{"a":1}', 0).action, "accept");
 * assert.deepEqual(guard.screen("x".repeat(11), 1), { action: "close", code: 1009, reason: "message too big" });
 * ```
 */
export class StreamGuard {
  #maxBytes: number;
  #maxRate: number;
  #maxInvalid: number;
  #windowStart = -Infinity;
  #windowCount = 0;
  #invalid = 0;

  /** Creates the guard of one connection. */
  constructor(options: StreamGuardOptions = {}) {
    this.#maxBytes = options.maxMessageBytes ?? MAX_STREAM_MESSAGE_BYTES;
    this.#maxRate = options.maxMessagesPerSecond ?? MAX_STREAM_MESSAGES_PER_SECOND;
    this.#maxInvalid = options.maxInvalidMessages ?? MAX_INVALID_STREAM_MESSAGES;
  }

  /** Invalid messages seen so far. */
  get invalidCount(): number {
    return this.#invalid;
  }

  /** Screens one received frame at time `now` (ms). */
  screen(data: unknown, now: number): GuardVerdict {
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#windowCount = 0;
    }
    if (++this.#windowCount > this.#maxRate) {
      return {
        action: "close",
        code: CLOSE_CODES.policyViolation,
        reason: "message rate too high",
      };
    }
    if (typeof data !== "string") {
      return {
        action: "close",
        code: CLOSE_CODES.unsupportedData,
        reason: "binary frames are not supported",
      };
    }
    // UTF-16 length is at most the UTF-8 byte length, so this never refuses a valid frame.
    if (data.length > this.#maxBytes) {
      return { action: "close", code: CLOSE_CODES.messageTooBig, reason: "message too big" };
    }
    return { action: "accept", text: data };
  }

  /**
   * Records one invalid (unparseable or unknown) message. Returns `log: true`
   * for the first one only, and a close verdict once the budget is spent.
   */
  invalid(): { log: boolean; close?: { code: number; reason: string } } {
    this.#invalid++;
    if (this.#invalid > this.#maxInvalid) {
      return {
        log: false,
        close: { code: CLOSE_CODES.policyViolation, reason: "too many invalid messages" },
      };
    }
    return { log: this.#invalid === 1 };
  }
}

/**
 * Lets at most `limit` log lines per key through in each window, so hostile
 * traffic (a flood of unsigned requests) costs one line per window, not one
 * per request. The first line after a window reports how many were dropped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LogThrottle } from "./limits.ts";
 * const throttle = new LogThrottle({ limit: 1, windowMs: 1000 });
 * assert.deepEqual(throttle.take("403", 0), { log: true, suppressed: 0 });
 * assert.deepEqual(throttle.take("403", 10), { log: false, suppressed: 0 });
 * assert.deepEqual(throttle.take("403", 2000), { log: true, suppressed: 1 });
 * ```
 */
export class LogThrottle {
  #limit: number;
  #windowMs: number;
  #keys = new Map<string, { start: number; count: number; suppressed: number }>();

  /** Default: 5 lines per key per 10 s. */
  constructor(options: { limit?: number; windowMs?: number } = {}) {
    this.#limit = options.limit ?? 5;
    this.#windowMs = options.windowMs ?? 10_000;
  }

  /** Whether to log one more line for `key` at time `now` (ms). */
  take(key: string, now: number): { log: boolean; suppressed: number } {
    let entry = this.#keys.get(key);
    if (entry === undefined || now - entry.start >= this.#windowMs) {
      const suppressed = entry?.suppressed ?? 0;
      if (entry === undefined && this.#keys.size >= 1000) this.#keys.clear();
      entry = { start: now, count: 1, suppressed: 0 };
      this.#keys.set(key, entry);
      return { log: true, suppressed };
    }
    if (entry.count < this.#limit) {
      entry.count++;
      return { log: true, suppressed: 0 };
    }
    entry.suppressed++;
    return { log: false, suppressed: 0 };
  }
}
