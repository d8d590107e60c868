/**
 * A fake Twilio Media Streams client (a phone call) for end-to-end tests of the bridge.
 *
 * It connects to the bridge's `/media-stream` WebSocket, sends `connected` and `start` exactly in
 * Twilio's shape, streams caller audio, and simulates Twilio's playback of what the bridge sends:
 * outbound audio is queued and played in real time (8 μ-law bytes per ms), `mark`s are echoed when
 * the audio queued before them has played, and `clear` flushes unplayed audio and echoes every
 * pending mark at once (the shared play-out model, `src/fake_peers/twilio_playout.ts`). Every
 * outbound message is checked against Twilio's shape. The socket is the kit's raw client
 * (`src/fake_peers/raw_ws_client.ts`) with `TCP_NODELAY`, so, like Twilio, it sends each message at
 * once instead of holding a small one back for a delayed ACK.
 *
 * @module
 */

import { type PlayoutMarkEcho, TwilioPlayout } from "../../src/fake_peers/twilio_playout.ts";
import { decodeBase64, encodeBase64 } from "../../src/audio/base64.ts";
import {
  SOFTPHONE_PROTOCOL,
  SOFTPHONE_TOKEN_PROTOCOL_PREFIX,
} from "../../src/softphone/softphone_token.ts";
import { Waiters } from "./wait.ts";
import { FRAME_BYTES } from "../../src/audio/frames.js";
import { RawWebSocket } from "../../src/fake_peers/raw_ws_client.ts";

/** A parsed message the bridge sent (loosely typed). */
// deno-lint-ignore no-explicit-any
export type TwilioMessage = { [key: string]: any };

/**
 * The connect options of a browser softphone call: its one-call token (as
 * `POST /softphone/token` issues it) offered as a WebSocket subprotocol, with
 * the call and stream ids the token was issued for.
 */
export function softphoneCall(
  issued: { token: string; callSid: string; streamSid: string },
): Pick<FakeTwilioCallOptions, "protocols" | "callSid" | "streamSid"> {
  return {
    protocols: [SOFTPHONE_PROTOCOL, `${SOFTPHONE_TOKEN_PROTOCOL_PREFIX}${issued.token}`],
    callSid: issued.callSid,
    streamSid: issued.streamSid,
  };
}

/** Options of {@linkcode FakeTwilioCall.connect}. */
export interface FakeTwilioCallOptions {
  /** The bridge's media-stream URL, e.g. `ws://127.0.0.1:PORT/media-stream`. */
  url: string;
  /** Default `CA` + 32 hex digits. */
  callSid?: string;
  /** Default `MZ` + 32 hex digits. */
  streamSid?: string;
  /** Default `AC` + 32 hex digits. */
  accountSid?: string;
  /** `<Parameter>`s of the TwiML `<Stream>`, sent in `start.customParameters` (default {}). */
  customParameters?: Record<string, string>;
  /** Send `start` right after `connected` (default true; otherwise call `sendStart()`). */
  sendStart?: boolean;
  /**
   * Headers of the upgrade request (Deno's WebSocket supports them), e.g.
   * `{"X-Twilio-Signature": await twilioSignature(token, "wss://host/media-stream")}`.
   */
  headers?: HeadersInit;
  /** WebSocket subprotocols to offer (the browser softphone offers its token this way). */
  protocols?: string[];
  /** Connection timeout in ms (default 2000). */
  timeoutMs?: number;
}

/** How the WebSocket closed. */
export interface TwilioCloseInfo {
  /** Close code (1005 when none was given, 1006 when the connection dropped). */
  code: number;
  /** Close reason. */
  reason: string;
}

/** A mark echoed back to the bridge. Times are `performance.now()` values. */
export interface MarkEcho {
  /** Mark name. */
  name: string;
  /** The echo's `sequenceNumber`. */
  sequenceNumber: string;
  /** When the bridge's mark arrived. */
  receivedAt: number;
  /** When the audio queued before it finished (or would have, for a cleared mark). */
  dueAt: number;
  /** When it was echoed. */
  at: number;
  /** True when echoed because of a `clear`. */
  cleared: boolean;
}

interface SpeakJob {
  timer: ReturnType<typeof setTimeout> | undefined;
  resolve: () => void;
}

/** Bytes of one 20 ms inbound frame. */
const CLOSE_TIMEOUT_MS = 3000;

/**
 * Twilio's request signature (`X-Twilio-Signature`): base64 HMAC-SHA1, keyed with the auth token,
 * of the full URL followed by every POST parameter name and value, sorted by name. For the
 * Media Streams upgrade Twilio signs the `wss://` URL of the TwiML with no parameters.
 */
export async function twilioSignature(
  authToken: string,
  url: string,
  params: Record<string, string> = {},
): Promise<string> {
  const data = url +
    Object.keys(params).sort().map((name) => name + params[name]).join("");
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(authToken),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(data));
  return encodeBase64(new Uint8Array(mac));
}

function randomHex32(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A simulated phone call. Create with {@linkcode FakeTwilioCall.connect}; always `await close()`.
 */
export class FakeTwilioCall {
  /** `CA…` */
  readonly callSid: string;
  /** `MZ…` */
  readonly streamSid: string;
  /** `AC…` */
  readonly accountSid: string;
  /** Custom parameters sent in `start`. */
  readonly customParameters: Record<string, string>;
  /** Every message the bridge sent, parsed (unparseable ones are only in `receivedRaw`). */
  readonly received: TwilioMessage[] = [];
  /** Every text frame the bridge sent, raw. */
  readonly receivedRaw: string[] = [];
  /** Violations of Twilio's outbound message shape. Tests should assert it stays empty. */
  readonly protocolErrors: string[] = [];
  /** Marks echoed back, in order. */
  readonly marksEchoed: MarkEcho[] = [];
  /** Every message this fake sent to the bridge, in order. */
  readonly sent: TwilioMessage[] = [];
  /** Number of `clear` messages received. */
  clearCount = 0;
  /** `performance.now()` when the call connected (media timestamps count from here). */
  readonly connectedAt: number;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<TwilioCloseInfo>;

  #socket: RawWebSocket;
  #sequence = 0;
  #chunk = 0;
  #lastTimestamp = 0;
  #started = false;
  /** Twilio's play-out of what the bridge sends (the shared model), on `performance.now()`. */
  #playout = new TwilioPlayout();
  #markTimer: ReturnType<typeof setTimeout> | undefined;
  #speakJobs = new Set<SpeakJob>();
  #waiters = new Waiters<TwilioMessage>();
  #markWaiters = new Waiters<MarkEcho>();
  #isClosed = false;

  private constructor(
    socket: RawWebSocket,
    options: FakeTwilioCallOptions,
    closed: Promise<TwilioCloseInfo>,
  ) {
    this.#socket = socket;
    this.callSid = options.callSid ?? `CA${randomHex32()}`;
    this.streamSid = options.streamSid ?? `MZ${randomHex32()}`;
    this.accountSid = options.accountSid ?? `AC${randomHex32()}`;
    this.customParameters = { ...(options.customParameters ?? {}) };
    this.connectedAt = performance.now();
    this.closed = closed;
    socket.onmessage = (text) => this.#onMessage(text);
    socket.onbinary = (bytes) => this.#onMessage(bytes);
    closed.then(() => this.#onClosed());
  }

  /**
   * Opens the WebSocket, then sends `connected` and (unless `sendStart: false`) `start`.
   *
   * @throws when the socket cannot be opened (after it is fully closed, so nothing leaks).
   */
  static async connect(options: FakeTwilioCallOptions): Promise<FakeTwilioCall> {
    // A raw client with TCP_NODELAY, like Twilio's media servers: Deno's WebSocket client turns
    // Nagle's algorithm on, which holds a second small message (a mark echo) until the first is
    // acknowledged, up to Linux's 40 ms delayed ACK later.
    const timeoutMs = options.timeoutMs ?? 2000;
    let socket: RawWebSocket;
    try {
      socket = await RawWebSocket.connect(options.url, {
        read: false,
        timeoutMs,
        ...(options.headers !== undefined ? { headers: options.headers } : {}),
        ...(options.protocols !== undefined ? { protocols: options.protocols } : {}),
      });
    } catch (error) {
      throw new Error(
        `FakeTwilioCall.connect: WebSocket to ${options.url} did not open (${
          error instanceof Error ? error.message : String(error)
        })`,
      );
    }
    const closed = socket.closed.then((): TwilioCloseInfo => ({ ...socket.closeInfo }));
    const call = new FakeTwilioCall(socket, options, closed);
    socket.startReading();
    call.#send({ event: "connected", protocol: "Call", version: "1.0.0" });
    if (options.sendStart ?? true) call.sendStart();
    return call;
  }

  /** True while the socket is open. */
  get isOpen(): boolean {
    return this.#socket.isOpen && !this.#socket.closing;
  }

  /** Sends the `start` message (done by `connect` unless `sendStart: false`). */
  sendStart(): boolean {
    this.#started = true;
    return this.#send({
      event: "start",
      sequenceNumber: this.#nextSequence(),
      streamSid: this.streamSid,
      start: {
        accountSid: this.accountSid,
        streamSid: this.streamSid,
        callSid: this.callSid,
        tracks: ["inbound"],
        customParameters: { ...this.customParameters },
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
      },
    });
  }

  /**
   * Sends one inbound `media` message with `bytes` as payload. `timestamp` defaults to the ms since
   * the call connected (never decreasing); `chunk` counts from 1.
   */
  sendMedia(bytes: Uint8Array, timestamp?: number): boolean {
    const ts = Math.max(
      this.#lastTimestamp,
      Math.round(timestamp ?? performance.now() - this.connectedAt),
    );
    this.#lastTimestamp = ts;
    this.#chunk++;
    return this.#send({
      event: "media",
      sequenceNumber: this.#nextSequence(),
      streamSid: this.streamSid,
      media: {
        track: "inbound",
        chunk: String(this.#chunk),
        timestamp: String(ts),
        payload: encodeBase64(bytes),
      },
    });
  }

  /** Sends `count` 20 ms frames (160 bytes filled with `value`) at once. */
  sendFrames(count: number, value = 0xff): number {
    let sent = 0;
    for (let i = 0; i < count; i++) {
      if (this.sendMedia(new Uint8Array(FRAME_BYTES).fill(value))) sent++;
    }
    return sent;
  }

  /**
   * Speaks in real time: one 20 ms frame filled with `value` every 20 ms, `ceil(ms / 20)` frames,
   * the first at once. Resolves when the last frame is sent (or early when the call closes).
   */
  speak(ms: number, value = 0x7e): Promise<void> {
    const frames = Math.ceil(ms / 20);
    const start = performance.now();
    let sent = 0;
    return new Promise<void>((resolve) => {
      const job: SpeakJob = { timer: undefined, resolve };
      this.#speakJobs.add(job);
      const finish = () => {
        this.#speakJobs.delete(job);
        resolve();
      };
      const tick = () => {
        job.timer = undefined;
        if (!this.isOpen) return finish();
        while (sent < frames && performance.now() - start >= sent * 20 - 0.5) {
          this.sendMedia(new Uint8Array(FRAME_BYTES).fill(value));
          sent++;
        }
        if (sent >= frames) return finish();
        job.timer = setTimeout(tick, Math.max(0, start + sent * 20 - performance.now()));
      };
      tick();
    });
  }

  /** Sends a `dtmf` message (`track: "inbound_track"`). */
  sendDtmf(digit: string): boolean {
    return this.#send({
      event: "dtmf",
      sequenceNumber: this.#nextSequence(),
      streamSid: this.streamSid,
      dtmf: { track: "inbound_track", digit },
    });
  }

  /** Sends `stop` (the caller hung up). The socket stays open; see {@linkcode hangUp}. */
  sendStop(): boolean {
    return this.#send({
      event: "stop",
      sequenceNumber: this.#nextSequence(),
      streamSid: this.streamSid,
      stop: { accountSid: this.accountSid, callSid: this.callSid },
    });
  }

  /** Sends arbitrary text (malformed-message tests). */
  sendRaw(text: string): boolean {
    if (!this.isOpen) return false;
    this.#socket.send(text);
    return true;
  }

  /** Sends a binary frame (Twilio never does; hostile-input tests). */
  sendBinary(bytes: Uint8Array): boolean {
    if (!this.isOpen) return false;
    this.#socket.sendBinary(bytes);
    return true;
  }

  /** Sends `stop`, then closes the socket like Twilio does when the caller hangs up. */
  async hangUp(): Promise<TwilioCloseInfo> {
    this.sendStop();
    return await this.close(1000, "");
  }

  /**
   * Stops playback and speaking, closes the socket and waits for the close to complete.
   * Safe to call more than once and after the bridge closed the socket.
   */
  async close(code = 1000, reason = ""): Promise<TwilioCloseInfo> {
    this.#stopTimers();
    if (this.isOpen) void this.#socket.close(code, reason);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    });
    await Promise.race([this.closed, timeout]);
    clearTimeout(timer);
    return this.closed;
  }

  // ---- playback state --------------------------------------------------------------------------

  /**
   * Bytes of outbound audio played so far (only bytes equal to `value` when given), computed at
   * the time of the call: a chunk being played counts its played part.
   */
  playedBytes(value?: number): number {
    return this.#playout.playedBytes(performance.now(), value);
  }

  /**
   * {@linkcode playedBytes} ÷ 8: ms of outbound audio played so far, or by time `at` (a
   * `performance.now()` value, e.g. a mark echo's `dueAt`) when given.
   */
  playedMs(value?: number, at: number = performance.now()): number {
    return this.#playout.playedMs(at, value);
  }

  /** Ms of queued audio not played yet (0 when idle). */
  pendingMs(): number {
    return this.#playout.pendingMs(performance.now());
  }

  /** Bytes of outbound audio received (queued), optionally only bytes equal to `value`. */
  receivedAudioBytes(value?: number): number {
    return this.#playout.receivedBytes(value);
  }

  /** Names of marks received and not echoed yet. */
  pendingMarks(): string[] {
    return this.#playout.pendingMarks();
  }

  // ---- waiting ---------------------------------------------------------------------------------

  /**
   * Resolves with the first received message matching `predicate` (messages already received
   * count).
   *
   * @throws on timeout (listing the received events) or when the socket closes first.
   */
  waitFor(
    predicate: (message: TwilioMessage) => boolean,
    timeoutMs = 2000,
  ): Promise<TwilioMessage> {
    if (this.#isClosed) {
      const found = this.received.find(predicate);
      return found
        ? Promise.resolve(found)
        : Promise.reject(new Error(`FakeTwilioCall.waitFor: call closed; ${this.#summary()}`));
    }
    return this.#waiters.wait(
      this.received,
      predicate,
      timeoutMs,
      () => `FakeTwilioCall.waitFor timed out after ${timeoutMs} ms; ${this.#summary()}`,
    );
  }

  /** Resolves when the mark `name` has been echoed (already echoed counts). */
  waitForMark(name: string, timeoutMs = 2000): Promise<MarkEcho> {
    if (this.#isClosed) {
      const found = this.marksEchoed.find((m) => m.name === name);
      return found
        ? Promise.resolve(found)
        : Promise.reject(new Error(`FakeTwilioCall.waitForMark(${name}): call closed`));
    }
    return this.#markWaiters.wait(
      this.marksEchoed,
      (m) => m.name === name,
      timeoutMs,
      () =>
        `FakeTwilioCall.waitForMark(${name}) timed out after ${timeoutMs} ms; pending marks: ${
          this.pendingMarks().join(", ") || "none"
        }; echoed: ${this.marksEchoed.map((m) => m.name).join(", ") || "none"}`,
    );
  }

  // ---- private ---------------------------------------------------------------------------------

  #summary(): string {
    const events = this.received.map((m) => String(m?.event));
    return `received ${events.length} message(s): ${summarize(events)}`;
  }

  #nextSequence(): string {
    this.#sequence++;
    return String(this.#sequence);
  }

  #send(message: TwilioMessage): boolean {
    if (!this.isOpen) return false;
    this.sent.push(message);
    this.#socket.send(JSON.stringify(message));
    return true;
  }

  #onClosed(): void {
    this.#isClosed = true;
    this.#stopTimers();
    this.#waiters.rejectAll(`FakeTwilioCall: socket closed while waiting; ${this.#summary()}`);
    this.#markWaiters.rejectAll("FakeTwilioCall: socket closed while waiting for a mark");
  }

  #stopTimers(): void {
    clearTimeout(this.#markTimer);
    this.#markTimer = undefined;
    for (const job of [...this.#speakJobs]) {
      clearTimeout(job.timer);
      this.#speakJobs.delete(job);
      job.resolve();
    }
  }

  #onMessage(data: unknown): void {
    const index = this.receivedRaw.length;
    if (typeof data !== "string") {
      this.protocolErrors.push(`message #${index}: binary frame (Twilio expects JSON text)`);
      return;
    }
    this.receivedRaw.push(data);
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      this.protocolErrors.push(`message #${index}: not JSON: ${data.slice(0, 80)}`);
      return;
    }
    if (!isRecord(message)) {
      this.protocolErrors.push(`message #${index}: not a JSON object: ${data.slice(0, 80)}`);
      return;
    }
    const parsed: TwilioMessage = message;
    this.received.push(parsed);
    const errors = this.#check(message);
    for (const e of errors) this.protocolErrors.push(`message #${index} (${message.event}): ${e}`);
    if (errors.length === 0 && !this.#stopped()) {
      if (parsed.event === "media") this.#queueAudio(decodeBase64(parsed.media.payload)!);
      else if (parsed.event === "mark") this.#queueMark(parsed.mark.name);
      else if (message.event === "clear") this.#clear();
    }
    this.#waiters.notify(parsed);
  }

  #stopped(): boolean {
    return this.#isClosed || !this.isOpen;
  }

  /** Checks one outbound message against Twilio's shapes. */
  #check(message: Record<string, unknown>): string[] {
    const errors: string[] = [];
    const allowOnly = (obj: Record<string, unknown>, keys: string[], where: string) => {
      for (const key of Object.keys(obj)) {
        if (!keys.includes(key)) errors.push(`unexpected property ${where}${key}`);
      }
    };
    const event = message.event;
    if (typeof event !== "string") return ["missing string property 'event'"];
    if (!["media", "mark", "clear"].includes(event)) {
      return [`unknown event '${event}' (Twilio accepts media, mark, clear)`];
    }
    if (!this.#started) errors.push("sent before Twilio sent 'start'");
    if (message.streamSid !== this.streamSid) {
      errors.push(`streamSid ${JSON.stringify(message.streamSid)} should be "${this.streamSid}"`);
    }
    if (event === "media") {
      allowOnly(message, ["event", "streamSid", "media"], "");
      const media = message.media;
      if (!isRecord(media)) errors.push("missing object 'media'");
      else {
        allowOnly(media, ["payload"], "media.");
        const payload = media.payload;
        if (typeof payload !== "string") errors.push("media.payload must be a string");
        else if (payload === "") errors.push("media.payload is empty");
        else if (!decodeBase64(payload)) errors.push("media.payload is not valid base64");
      }
    } else if (event === "mark") {
      allowOnly(message, ["event", "streamSid", "mark"], "");
      const mark = message.mark;
      if (!isRecord(mark)) errors.push("missing object 'mark'");
      else {
        allowOnly(mark, ["name"], "mark.");
        if (typeof mark.name !== "string" || mark.name === "") {
          errors.push("mark.name must be a non-empty string");
        }
      }
    } else {
      allowOnly(message, ["event", "streamSid"], "");
    }
    return errors;
  }

  #queueAudio(bytes: Uint8Array): void {
    this.#playout.media(bytes, performance.now());
  }

  #queueMark(name: string): void {
    this.#playout.mark(name, performance.now());
    this.#flushMarks();
  }

  /** Echoes every pending mark that is due, then schedules a timer for the next one. */
  #flushMarks(): void {
    clearTimeout(this.#markTimer);
    this.#markTimer = undefined;
    const now = performance.now();
    for (const echo of this.#playout.due(now)) this.#echoMark(echo);
    const next = this.#playout.nextDueAt();
    if (next !== undefined && !this.#stopped()) {
      this.#markTimer = setTimeout(() => this.#flushMarks(), Math.ceil(next - now));
    }
  }

  #echoMark(mark: PlayoutMarkEcho): void {
    const sequenceNumber = this.#nextSequence();
    this.#send({
      event: "mark",
      sequenceNumber,
      streamSid: this.streamSid,
      mark: { name: mark.name },
    });
    const echo: MarkEcho = { ...mark, sequenceNumber, at: performance.now() };
    this.marksEchoed.push(echo);
    this.#markWaiters.notify(echo);
  }

  /** Drops unplayed audio at once and echoes every pending mark (Twilio's `clear`). */
  #clear(): void {
    this.clearCount++;
    clearTimeout(this.#markTimer);
    this.#markTimer = undefined;
    for (const echo of this.#playout.clear(performance.now())) this.#echoMark(echo);
  }
}

/** `a, a, a, b` -> `a×3, b`. */
function summarize(items: string[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < items.length) {
    let j = i;
    while (j < items.length && items[j] === items[i]) j++;
    out.push(j - i > 1 ? `${items[i]}×${j - i}` : items[i]);
    i = j;
  }
  return out.join(", ") || "(nothing)";
}
