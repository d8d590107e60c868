/**
 * A fake OpenAI Realtime (GA) WebSocket server for end-to-end tests of the bridge.
 *
 * It listens on 127.0.0.1 (random port), accepts `/v1/realtime` upgrades that offer the
 * `realtime` subprotocol, validates every client event against the strict GA schema (answering
 * `error` events like the live API) and lets tests script the assistant's side (speech events,
 * audio responses, function calls, cancellations).
 *
 * @module
 */

import { gaSessionDefaults } from "../../src/openai/session_defaults.ts";
import {
  describeClientEventProblem,
  validateClientEvent,
  validateServerEvent,
} from "./realtime_schema.ts";
import { decodeBase64, encodeBase64, Waiters } from "./wait.ts";

/** A loosely typed JSON event (client or server): tests read nested fields freely. */
// deno-lint-ignore no-explicit-any
export type AnyEvent = { type: string; [key: string]: any };

/**
 * How the server answers upgrades:
 * - `accept`: a normal session;
 * - `refuse_http`: answer HTTP {@linkcode FakeRealtimeServer.refuseStatus} (401) without upgrading;
 * - `close_after_open`: accept, then close at once with code 1011 (no `session.created`).
 */
export type FakeRealtimeMode = "accept" | "refuse_http" | "close_after_open";

/** Automatic answer to `response.create` (see {@linkcode FakeRealtimeServer.autoRespond}). */
export interface AutoRespondOptions {
  /** Audio length in ms (default 200), sent as one delta per 100 ms. */
  audioMs?: number;
  /** μ-law byte value the audio is filled with (default 0x7f). */
  value?: number;
  /** Transcript of the audio (default "Hello."). */
  transcript?: string;
}

/** Options of {@linkcode FakeRealtimeServer.start}. All can be changed later on the server. */
export interface FakeRealtimeServerOptions {
  /** Default `accept`. */
  mode?: FakeRealtimeMode;
  /** HTTP status used by `refuse_http` (default 401). */
  refuseStatus?: number;
  /** Validate client events against the strict schema and answer `error` (default true). */
  validate?: boolean;
  /** Answer `response.create` with a short audio response (default false: tests drive it). */
  autoRespond?: boolean | AutoRespondOptions;
  /** When set, connections whose API key differs are refused with HTTP 401. */
  expectedApiKey?: string;
  /** Require the `realtime` subprotocol (default true; false also accepts header auth only). */
  requireRealtimeProtocol?: boolean;
  /**
   * Close every accepted session this many ms after it opened (like the live API's 60-minute
   * limit), with {@linkcode FakeRealtimeServerOptions.sessionCloseCode}. Default: never.
   */
  sessionLifetimeMs?: number;
  /** Close code used by `sessionLifetimeMs` (default 1001, the live API's expiry code). */
  sessionCloseCode?: number;
  /** Ms to wait before answering each connection attempt (a slow server). Default 0. */
  answerDelayMs?: number;
}

/** A connection attempt the server refused (HTTP answer without upgrade). */
export interface RefusedRequest {
  /** Full request URL. */
  url: string;
  /** Request headers. */
  headers: Headers;
  /** HTTP status answered. */
  status: number;
  /** Why it was refused. */
  reason: string;
}

/** How a WebSocket closed. */
export interface CloseInfo {
  /** Close code (1005 when none was given, 1006 when the connection dropped). */
  code: number;
  /** Close reason. */
  reason: string;
}

/** A client event that failed schema validation. */
export interface SchemaErrorRecord {
  /**
   * The parsed event. A frame that was not JSON is recorded as
   * `{type: "(invalid JSON)", raw}`, a binary one as `{type: "(binary)", raw}`.
   */
  event: AnyEvent;
  /** Readable validation errors. */
  errors: string[];
}

/** A `conversation.item.truncate` the fake rejected. */
export interface RejectedTruncate {
  /** The truncate event. */
  event: AnyEvent;
  /** Why it was rejected. */
  reason: string;
  /** Audio the fake had sent for that item, in ms (bytes ÷ 8 for pcmu). */
  sentMs: number;
  /** The `error` event answered. */
  error: AnyEvent;
}

/** Options of {@linkcode FakeRealtimeSession.beginResponse}. */
export interface BeginResponseOptions {
  /** Response id (default generated, `resp_…`). */
  responseId?: string;
  /** Id of the assistant message item (default generated, `item_…`). */
  itemId?: string;
  /**
   * Open an assistant audio message item (default true). Use false for a response that only
   * calls functions.
   */
  message?: boolean;
}

/** Final status passed to {@linkcode FakeResponse.finish}. */
export type FinishStatus = "completed" | "incomplete" | "failed";

const DEFAULT_CLOSE_TIMEOUT_MS = 3000;

let idCounter = 0;

/** An id like the live API's (`prefix_` + 20 alphanumerics, unique within the process). */
function makeId(prefix: string): string {
  idCounter++;
  const random = crypto.randomUUID().replaceAll("-", "").slice(0, 14);
  return `${prefix}_${random}${idCounter.toString(36).padStart(6, "0")}`;
}

/**
 * `ms` milliseconds of 8 kHz μ-law audio (8 bytes per ms) filled with `value`.
 * Tests give each assistant item its own byte value so played audio can be attributed.
 */
export function audioBytes(value: number, ms: number): Uint8Array {
  return new Uint8Array(Math.round(ms * 8)).fill(value);
}

/** Bytes per ms of an audio format object (`{type:"audio/pcmu"}` → 8, `audio/pcm` 24 kHz → 48). */
function bytesPerMs(format: unknown): number {
  const type = isRecord(format) ? format.type : undefined;
  return type === "audio/pcm" ? 48 : 8;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Merges a `session.update` into the effective session like the live API: the fields present
 * replace the current ones; `session`, `session.audio`, `session.audio.input` and
 * `session.audio.output` merge field by field, any other value (a format, `turn_detection`,
 * `tools`, …) is replaced as a whole.
 */
function mergeSession(base: AnyEvent, patch: unknown): AnyEvent {
  const mergeLevel = (current: unknown, update: unknown, path: string): unknown => {
    if (!isRecord(current) || !isRecord(update)) return structuredClone(update);
    const out: Record<string, unknown> = { ...current };
    for (const [key, value] of Object.entries(update)) {
      const childPath = path === "" ? key : `${path}.${key}`;
      const mergeable = childPath === "audio" || childPath === "audio.input" ||
        childPath === "audio.output";
      out[key] = mergeable ? mergeLevel(current[key], value, childPath) : structuredClone(value);
    }
    return out;
  };
  return mergeLevel(base, patch, "") as AnyEvent;
}

/** The `session` object of `session.created`: the live API's GA defaults. */
function defaultSession(model: string): AnyEvent {
  return gaSessionDefaults({
    id: makeId("sess"),
    model,
    instructions:
      "Your knowledge cutoff is 2023-10. You are a helpful, witty, and friendly AI. Act like a human.",
  }) as AnyEvent;
}

/**
 * The fake server. Create with {@linkcode FakeRealtimeServer.start}; always `await close()`.
 */
export class FakeRealtimeServer {
  /** How new connections are answered (can be changed between connections). */
  mode: FakeRealtimeMode;
  /** HTTP status of `refuse_http`. */
  refuseStatus: number;
  /** Validate client events (strict schema) and answer `error` for invalid ones. */
  validate: boolean;
  /** Answer `response.create` automatically. */
  autoRespond: boolean | AutoRespondOptions;
  /** When set, a different API key is refused with HTTP 401. */
  expectedApiKey: string | undefined;
  /** Require the `realtime` subprotocol. */
  requireRealtimeProtocol: boolean;
  /** Close each session this many ms after it opened (undefined: never). */
  sessionLifetimeMs: number | undefined;
  /** Close code of `sessionLifetimeMs`. */
  sessionCloseCode: number;
  /** Ms to wait before answering each connection attempt. */
  answerDelayMs: number;
  /** Every accepted session, in connection order. */
  readonly sessions: FakeRealtimeSession[] = [];
  /** Connection attempts answered with an HTTP error. */
  readonly refused: RefusedRequest[] = [];

  #server: Deno.HttpServer<Deno.NetAddr>;
  #untaken: FakeRealtimeSession[] = [];
  #sessionWaiters: {
    resolve: (session: FakeRealtimeSession) => void;
    reject: (error: Error) => void;
    timer: ReturnType<typeof setTimeout>;
  }[] = [];
  #closing: Promise<void> | undefined;
  #delayed = new Set<
    { timer: ReturnType<typeof setTimeout>; resolve: (response: Response) => void }
  >();

  private constructor(options: FakeRealtimeServerOptions) {
    this.mode = options.mode ?? "accept";
    this.refuseStatus = options.refuseStatus ?? 401;
    this.validate = options.validate ?? true;
    this.autoRespond = options.autoRespond ?? false;
    this.expectedApiKey = options.expectedApiKey;
    this.requireRealtimeProtocol = options.requireRealtimeProtocol ?? true;
    this.sessionLifetimeMs = options.sessionLifetimeMs;
    this.sessionCloseCode = options.sessionCloseCode ?? 1001;
    this.answerDelayMs = options.answerDelayMs ?? 0;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#answer(request),
    );
  }

  /** Starts a server on 127.0.0.1 with a random port. */
  static start(options: FakeRealtimeServerOptions = {}): Promise<FakeRealtimeServer> {
    return Promise.resolve(new FakeRealtimeServer(options));
  }

  /** The TCP port. */
  get port(): number {
    return this.#server.addr.port;
  }

  /** `ws://127.0.0.1:PORT/v1/realtime` (the client appends `?model=…`). */
  get url(): string {
    return `ws://127.0.0.1:${this.port}/v1/realtime`;
  }

  /**
   * Resolves with the oldest session not yet returned by this method (sessions that connected
   * before the call count, even if they have closed since), or waits for the next one.
   *
   * @throws on timeout (the message lists refused attempts) or when the server closes.
   */
  nextSession(timeoutMs = 2000): Promise<FakeRealtimeSession> {
    const session = this.#untaken.shift();
    if (session) return Promise.resolve(session);
    if (this.#closing) return Promise.reject(new Error("FakeRealtimeServer is closed"));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#sessionWaiters.splice(this.#sessionWaiters.indexOf(waiter), 1);
          reject(
            new Error(
              `FakeRealtimeServer.nextSession: no session connected within ${timeoutMs} ms ` +
                `(${this.sessions.length} session(s) so far, ${this.refused.length} refused: ${
                  this.refused.map((r) => `${r.status} ${r.reason}`).join("; ") || "none"
                })`,
            ),
          );
        }, timeoutMs),
      };
      this.#sessionWaiters.push(waiter);
    });
  }

  /** Closes every session (code 1001) and the HTTP server, and waits until all are gone. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const waiter of this.#sessionWaiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error("FakeRealtimeServer closed while waiting for a session"));
      }
      for (const pending of this.#delayed) {
        clearTimeout(pending.timer);
        pending.resolve(new Response("Server shutting down", { status: 503 }));
      }
      this.#delayed.clear();
      await Promise.all(this.sessions.map((s) => s.close(1001, "Server shutting down")));
      await this.#server.shutdown();
      await this.#server.finished;
    })();
    return this.#closing;
  }

  #refuse(request: Request, status: number, reason: string): Response {
    this.refused.push({ url: request.url, headers: new Headers(request.headers), status, reason });
    const body = {
      error: {
        message: reason,
        type: "invalid_request_error",
        code: status === 401 ? "invalid_api_key" : null,
        param: null,
      },
    };
    return new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json" },
    });
  }

  #answer(request: Request): Response | Promise<Response> {
    const delay = this.answerDelayMs;
    if (delay <= 0) return this.#handle(request);
    return new Promise((resolve) => {
      const pending = {
        timer: setTimeout(() => {
          this.#delayed.delete(pending);
          resolve(this.#handle(request));
        }, delay),
        resolve,
      };
      this.#delayed.add(pending);
    });
  }

  #handle(request: Request): Response {
    const url = new URL(request.url);
    // Copied now: the request's headers are unreadable once the upgrade is done.
    const headers = new Headers(request.headers);
    if (this.#closing) return this.#refuse(request, 503, "Server shutting down");
    if (url.pathname !== "/v1/realtime") {
      return this.#refuse(request, 404, `Invalid URL (GET ${url.pathname})`);
    }
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return this.#refuse(request, 426, "Expected a WebSocket upgrade");
    }
    if (this.mode === "refuse_http") {
      return this.#refuse(request, this.refuseStatus, "Refused by test (mode refuse_http)");
    }
    const protocols = (request.headers.get("sec-websocket-protocol") ?? "")
      .split(",").map((p) => p.trim()).filter((p) => p !== "");
    const offersRealtime = protocols.includes("realtime");
    if (this.requireRealtimeProtocol && !offersRealtime) {
      return this.#refuse(request, 400, "Missing the 'realtime' WebSocket subprotocol");
    }
    const keyProtocol = protocols.find((p) => p.startsWith("openai-insecure-api-key."));
    const bearer = request.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
    const apiKey = keyProtocol?.slice("openai-insecure-api-key.".length) ?? bearer;
    if (this.expectedApiKey !== undefined && apiKey !== this.expectedApiKey) {
      return this.#refuse(request, 401, `Incorrect API key provided: ${apiKey ?? "(none)"}`);
    }
    const { socket, response } = Deno.upgradeWebSocket(
      request,
      offersRealtime ? { protocol: "realtime" } : {},
    );
    const session = new FakeRealtimeSession(this, socket, {
      url,
      protocols,
      apiKey,
      headers,
      closeAfterOpen: this.mode === "close_after_open",
      lifetime: this.sessionLifetimeMs === undefined
        ? undefined
        : { ms: this.sessionLifetimeMs, code: this.sessionCloseCode },
    });
    this.sessions.push(session);
    socket.addEventListener("open", () => {
      if (this.#closing) return;
      const waiter = this.#sessionWaiters.shift();
      if (waiter) {
        clearTimeout(waiter.timer);
        waiter.resolve(session);
      } else {
        this.#untaken.push(session);
      }
    });
    return response;
  }
}

interface SessionInit {
  url: URL;
  protocols: string[];
  apiKey: string | undefined;
  headers: Headers;
  closeAfterOpen: boolean;
  lifetime: { ms: number; code: number } | undefined;
}

/**
 * One accepted connection. Records everything the client sends and scripts the assistant.
 */
export class FakeRealtimeSession {
  /** The full request URL (check `url.searchParams.get("model")`). */
  readonly url: URL;
  /** The `model` query parameter, or null. */
  readonly model: string | null;
  /** Subprotocols offered by the client, in order. */
  readonly protocols: string[];
  /** API key from `openai-insecure-api-key.<key>` or `Authorization: Bearer <key>`. */
  readonly apiKey: string | undefined;
  /** Request headers of the upgrade. */
  readonly headers: Headers;
  /** Every parsed client event, in order (invalid ones included). */
  readonly received: AnyEvent[] = [];
  /** Every raw text frame received. */
  readonly receivedRaw: string[] = [];
  /** Every event sent to the client, in order. */
  readonly sent: AnyEvent[] = [];
  /** Client events that failed validation (each was answered with an `error`). */
  readonly schemaErrors: SchemaErrorRecord[] = [];
  /** Every `error` event sent to the client. */
  readonly errorsSent: AnyEvent[] = [];
  /** Accepted `conversation.item.truncate` events. */
  readonly truncates: AnyEvent[] = [];
  /** Rejected `conversation.item.truncate` events (beyond the audio sent, unknown item, …). */
  readonly rejectedTruncates: RejectedTruncate[] = [];
  /** Input audio from `input_audio_buffer.append`: decoded byte count and payloads in order. */
  readonly inputAudio: { bytes: number; chunks: string[] } = { bytes: 0, chunks: [] };
  /**
   * Problems of the fake itself (an event it generated failed the schema, a handler threw).
   * Tests should assert it stays empty.
   */
  readonly selfErrors: string[] = [];
  /** The effective session configuration (`session.created` merged with every update). */
  config: AnyEvent;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<CloseInfo>;

  #server: FakeRealtimeServer;
  #socket: WebSocket;
  #waiters = new Waiters<AnyEvent>();
  #audioSent = new Map<string, number>();
  #items = new Map<string, AnyEvent>();
  #lastItemId: string | null = null;
  #uncommittedBytes = 0;
  #speechItemId: string | undefined;
  #activeResponse: FakeResponse | undefined;
  #isClosed = false;
  #resolveClosed!: (info: CloseInfo) => void;
  #lifetimeTimer: ReturnType<typeof setTimeout> | undefined;

  /** @internal Created by {@linkcode FakeRealtimeServer}. */
  constructor(server: FakeRealtimeServer, socket: WebSocket, init: SessionInit) {
    this.#server = server;
    this.#socket = socket;
    this.url = init.url;
    this.model = init.url.searchParams.get("model");
    this.protocols = init.protocols;
    this.apiKey = init.apiKey;
    this.headers = init.headers;
    this.config = defaultSession(this.model ?? "gpt-realtime");
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    socket.addEventListener("open", () => {
      if (init.closeAfterOpen) {
        socket.close(1011, "Internal server error");
        return;
      }
      this.#sendGenerated({ type: "session.created", session: this.config });
      const lifetime = init.lifetime;
      if (lifetime !== undefined) {
        this.#lifetimeTimer = setTimeout(() => {
          this.#lifetimeTimer = undefined;
          this.close(
            lifetime.code,
            lifetime.code === 1001
              ? "Your session hit the maximum duration."
              : "Internal server error",
          );
        }, lifetime.ms);
      }
    });
    socket.addEventListener("message", (e) => this.#onMessage(e.data));
    socket.addEventListener("close", (e) => {
      this.#isClosed = true;
      if (this.#lifetimeTimer !== undefined) clearTimeout(this.#lifetimeTimer);
      this.#waiters.rejectAll(
        `FakeRealtimeSession closed (${e.code} ${e.reason}) while waiting; received: ${this.#receivedTypes()}`,
      );
      this.#resolveClosed({ code: e.code, reason: e.reason });
    });
    socket.addEventListener("error", () => {});
  }

  /** True while the socket is open. */
  get isOpen(): boolean {
    return this.#socket.readyState === WebSocket.OPEN;
  }

  /** The response begun and not yet finished or cancelled, if any. */
  get activeResponse(): FakeResponse | undefined {
    return this.#activeResponse;
  }

  /** Ms of assistant audio sent for `itemId` (bytes ÷ 8 for pcmu output). */
  audioMsSent(itemId: string): number {
    return (this.#audioSent.get(itemId) ?? 0) / bytesPerMs(this.config.audio?.output?.format);
  }

  /** Bytes of assistant audio sent for `itemId`. */
  audioBytesSent(itemId: string): number {
    return this.#audioSent.get(itemId) ?? 0;
  }

  /** Ms of input audio received so far (bytes ÷ 8 for pcmu input). */
  get inputAudioMs(): number {
    return this.inputAudio.bytes / bytesPerMs(this.config.audio?.input?.format);
  }

  /** The received client event types, in order. */
  receivedTypes(): string[] {
    return this.received.map((e) => String(e?.type));
  }

  /** Received client events of one type. */
  receivedOfType(type: string): AnyEvent[] {
    return this.received.filter((e) => e?.type === type);
  }

  /**
   * Resolves with the first received client event of `type` matching `predicate`, including
   * events received before the call.
   *
   * @throws on timeout (listing the received types) or when the socket closes first.
   */
  waitFor(
    type: string,
    predicate: (event: AnyEvent) => boolean = () => true,
    timeoutMs = 2000,
  ): Promise<AnyEvent> {
    const match = (e: AnyEvent) => e?.type === type && predicate(e);
    if (this.#isClosed) {
      const found = this.received.find(match);
      if (found) return Promise.resolve(found);
      return Promise.reject(
        new Error(
          `FakeRealtimeSession.waitFor(${type}): session already closed; received: ${this.#receivedTypes()}`,
        ),
      );
    }
    return this.#waiters.wait(
      this.received,
      match,
      timeoutMs,
      () =>
        `FakeRealtimeSession.waitFor(${type}) timed out after ${timeoutMs} ms; received: ${this.#receivedTypes()}`,
    );
  }

  /**
   * Sends a raw server event. `event_id` is added when missing. Unless `validate` is false, the
   * event must pass {@linkcode validateServerEvent} (throws otherwise).
   *
   * @returns false when the socket is not open (nothing sent).
   */
  send(event: AnyEvent, options: { validate?: boolean } = {}): boolean {
    const full: AnyEvent = { event_id: makeId("event"), ...event };
    if (options.validate ?? true) {
      const errors = validateServerEvent(full);
      if (errors.length > 0) {
        throw new Error(`FakeRealtimeSession.send: invalid ${event.type}: ${errors.join("; ")}`);
      }
    }
    return this.#transmit(full);
  }

  /** Sends an `error` event like the live API. */
  sendError(
    code: string | null,
    message: string,
    param: string | null = null,
    clientEventId: string | null = null,
  ): AnyEvent {
    const event: AnyEvent = {
      type: "error",
      event_id: makeId("event"),
      error: { type: "invalid_request_error", code, message, param, event_id: clientEventId },
    };
    this.errorsSent.push(event);
    this.#sendGenerated(event);
    return event;
  }

  /**
   * Sends `input_audio_buffer.speech_started` (the caller barges in).
   *
   * @param itemId the user item id (default generated)
   * @param audioStartMs default: the ms of input audio received so far
   * @returns the item id
   */
  speechStarted(itemId?: string, audioStartMs?: number): string {
    const id = itemId ?? makeId("item");
    this.#speechItemId = id;
    this.#sendGenerated({
      type: "input_audio_buffer.speech_started",
      audio_start_ms: Math.floor(audioStartMs ?? this.inputAudioMs),
      item_id: id,
    });
    return id;
  }

  /**
   * Sends `input_audio_buffer.speech_stopped` for the last `speechStarted` item.
   *
   * @param audioEndMs default: the ms of input audio received so far
   * @returns the item id
   */
  speechStopped(audioEndMs?: number): string {
    const id = this.#speechItemId ?? makeId("item");
    this.#speechItemId = undefined;
    this.#sendGenerated({
      type: "input_audio_buffer.speech_stopped",
      audio_end_ms: Math.floor(audioEndMs ?? this.inputAudioMs),
      item_id: id,
    });
    return id;
  }

  /**
   * Scripts one complete caller turn as the live server reports it with server VAD and input
   * transcription on: `speech_started`, `speech_stopped`, `input_audio_buffer.committed` and
   * `conversation.item.input_audio_transcription.completed` with `transcript`.
   *
   * @returns the user item id
   */
  userTurn(transcript: string): string {
    const id = this.speechStarted();
    this.speechStopped();
    const previous = this.addItem({ id, type: "message", role: "user" });
    this.#sendGenerated({
      type: "input_audio_buffer.committed",
      previous_item_id: previous,
      item_id: id,
    });
    this.#sendGenerated({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: id,
      content_index: 0,
      transcript,
      usage: { type: "duration", seconds: 1 },
    });
    return id;
  }

  /**
   * Starts an assistant response: sends `response.created` and, unless `message: false`,
   * `response.output_item.added` (assistant message), `conversation.item.added` and
   * `response.content_part.added` (audio part).
   */
  beginResponse(options: BeginResponseOptions = {}): FakeResponse {
    const response = new FakeResponse(this, options);
    this.#activeResponse = response;
    return response;
  }

  /**
   * Closes the socket and waits for the close to complete.
   * Examples: `close(1001, "Your session hit the maximum duration of 60 minutes.")`.
   */
  async close(code = 1000, reason = ""): Promise<CloseInfo> {
    if (!this.#isClosed) {
      try {
        this.#socket.close(code, reason);
      } catch (error) {
        this.selfErrors.push(`close(${code}) failed: ${error}`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, DEFAULT_CLOSE_TIMEOUT_MS);
      });
      await Promise.race([this.closed, timeout]);
      clearTimeout(timer);
    }
    return this.closed;
  }

  // ---- internals used by FakeResponse -------------------------------------------------------

  /** @internal Sends an event built by the fake; checks it against the strict schema. */
  sendGenerated(event: AnyEvent, strict = true): boolean {
    return this.#sendGenerated(event, strict);
  }

  /** @internal */
  countAudio(itemId: string, bytes: number): void {
    this.#audioSent.set(itemId, (this.#audioSent.get(itemId) ?? 0) + bytes);
  }

  /** @internal */
  addItem(item: AnyEvent): string | null {
    const previous = this.#lastItemId;
    this.#items.set(item.id, item);
    this.#lastItemId = item.id;
    return previous;
  }

  /** @internal */
  responseEnded(response: FakeResponse): void {
    if (this.#activeResponse === response) this.#activeResponse = undefined;
  }

  /** @internal */
  get outputFormat(): AnyEvent {
    return this.config.audio?.output?.format ?? { type: "audio/pcm", rate: 24000 };
  }

  /** @internal */
  get outputVoice(): string {
    const voice = this.config.audio?.output?.voice;
    return typeof voice === "string" ? voice : "alloy";
  }

  // ---- private --------------------------------------------------------------------------------

  #receivedTypes(): string {
    const types = this.receivedTypes();
    return types.length === 0 ? "(nothing)" : types.join(", ");
  }

  #sendGenerated(event: AnyEvent, strict = true): boolean {
    const { type, event_id: eventId, ...rest } = event;
    const ordered: AnyEvent = { type, event_id: eventId ?? makeId("event"), ...rest };
    const errors = validateServerEvent(ordered, { strict });
    if (errors.length > 0) {
      this.selfErrors.push(`fake sent an invalid ${event.type}: ${errors.join("; ")}`);
    }
    return this.#transmit(ordered);
  }

  #transmit(event: AnyEvent): boolean {
    if (this.#socket.readyState !== WebSocket.OPEN) return false;
    this.sent.push(event);
    this.#socket.send(JSON.stringify(event));
    return true;
  }

  #onMessage(data: unknown): void {
    try {
      this.#handleMessage(data);
    } catch (error) {
      this.selfErrors.push(`handler failed: ${error instanceof Error ? error.stack : error}`);
    }
  }

  #handleMessage(data: unknown): void {
    if (typeof data !== "string") {
      this.schemaErrors.push({
        event: { type: "(binary)", raw: data },
        errors: ["binary frame (expected JSON text)"],
      });
      this.sendError("invalid_event", "Expected a JSON text frame.");
      return;
    }
    this.receivedRaw.push(data);
    let event: AnyEvent;
    try {
      event = JSON.parse(data);
    } catch {
      this.schemaErrors.push({
        event: { type: "(invalid JSON)", raw: data },
        errors: ["not valid JSON"],
      });
      this.sendError("invalid_json", "The event is not valid JSON.");
      return;
    }
    this.received.push(event);
    const clientEventId = typeof event?.event_id === "string" ? event.event_id : null;
    if (this.#server.validate) {
      const errors = validateClientEvent(event);
      if (errors.length > 0) {
        this.schemaErrors.push({ event, errors });
        const problem = describeClientEventProblem(event);
        this.sendError(
          problem?.code ?? "invalid_event",
          problem?.message ?? errors.join("; "),
          problem?.param ?? null,
          clientEventId,
        );
        this.#waiters.notify(event);
        return;
      }
    }
    this.#react(event, clientEventId);
    this.#waiters.notify(event);
  }

  #react(event: AnyEvent, clientEventId: string | null): void {
    switch (event.type) {
      case "session.update":
        this.config = mergeSession(this.config, event.session);
        this.#sendGenerated({ type: "session.updated", session: this.config }, false);
        break;
      case "input_audio_buffer.append": {
        const bytes = typeof event.audio === "string" ? decodeBase64(event.audio) : undefined;
        if (!bytes) {
          this.sendError(
            "invalid_value",
            "Invalid 'audio'. Expected base64-encoded audio bytes.",
            "audio",
            clientEventId,
          );
          break;
        }
        this.inputAudio.bytes += bytes.length;
        this.inputAudio.chunks.push(event.audio);
        this.#uncommittedBytes += bytes.length;
        break;
      }
      case "input_audio_buffer.commit": {
        const ms = this.#uncommittedBytes / bytesPerMs(this.config.audio?.input?.format);
        if (ms < 100) {
          this.sendError(
            "input_audio_buffer_commit_empty",
            `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${
              ms.toFixed(2)
            }ms of audio.`,
            null,
            clientEventId,
          );
          break;
        }
        this.#uncommittedBytes = 0;
        const itemId = makeId("item");
        const previous = this.addItem({ id: itemId, type: "message", role: "user" });
        this.#sendGenerated({
          type: "input_audio_buffer.committed",
          previous_item_id: previous,
          item_id: itemId,
        });
        break;
      }
      case "input_audio_buffer.clear":
        this.#uncommittedBytes = 0;
        this.#sendGenerated({ type: "input_audio_buffer.cleared" });
        break;
      case "conversation.item.create": {
        const item: AnyEvent = {
          ...event.item,
          id: event.item?.id ?? makeId("item"),
          object: "realtime.item",
          status: "completed",
        };
        const previous = this.addItem(item);
        const previousItemId = event.previous_item_id ?? previous;
        this.#sendGenerated({
          type: "conversation.item.added",
          previous_item_id: previousItemId,
          item,
        }, false);
        this.#sendGenerated({
          type: "conversation.item.done",
          previous_item_id: previousItemId,
          item,
        }, false);
        break;
      }
      case "conversation.item.delete":
        this.#items.delete(event.item_id);
        this.#sendGenerated({ type: "conversation.item.deleted", item_id: event.item_id });
        break;
      case "conversation.item.truncate":
        this.#truncate(event, clientEventId);
        break;
      case "response.create":
        if (this.#activeResponse) {
          this.sendError(
            "conversation_already_has_active_response",
            `Conversation already has an active response in progress: ${this.#activeResponse.id}. Wait until the response is finished before creating a new one.`,
            null,
            clientEventId,
          );
          break;
        }
        if (this.#server.autoRespond) this.#autoRespond();
        break;
      case "response.cancel": {
        const active = this.#activeResponse;
        if (!active || (event.response_id && event.response_id !== active.id)) {
          this.sendError(
            "response_cancel_not_active",
            "Cancellation failed: no active response found.",
            null,
            clientEventId,
          );
          break;
        }
        active.cancel("client_cancelled");
        break;
      }
      default:
        break;
    }
  }

  #truncate(event: AnyEvent, clientEventId: string | null): void {
    const itemId: string = event.item_id;
    const sentMs = this.audioMsSent(itemId);
    let reason: string | undefined;
    let param = "audio_end_ms";
    if (!this.#audioSent.has(itemId)) {
      reason = this.#items.has(itemId)
        ? `Item ${itemId} has no audio to truncate.`
        : `Item with item_id '${itemId}' not found.`;
      param = "item_id";
    } else if (event.content_index !== 0) {
      reason = `Invalid content_index ${event.content_index}: only content part 0 has audio.`;
      param = "content_index";
    } else if (event.audio_end_ms > sentMs) {
      reason = `Audio content of ${sentMs}ms is already shorter than ${event.audio_end_ms}ms`;
    }
    if (reason !== undefined) {
      const error = this.sendError("invalid_value", reason, param, clientEventId);
      this.rejectedTruncates.push({ event, reason, sentMs, error });
      return;
    }
    this.truncates.push(event);
    this.#sendGenerated({
      type: "conversation.item.truncated",
      item_id: itemId,
      content_index: event.content_index,
      audio_end_ms: event.audio_end_ms,
    });
  }

  #autoRespond(): void {
    const options: AutoRespondOptions = typeof this.#server.autoRespond === "object"
      ? this.#server.autoRespond
      : {};
    const response = this.beginResponse();
    const total = options.audioMs ?? 200;
    for (let ms = 0; ms < total; ms += 100) {
      response.audio(audioBytes(options.value ?? 0x7f, Math.min(100, total - ms)));
    }
    response.transcript(options.transcript ?? "Hello.");
    response.finish();
  }
}

/**
 * An assistant response being scripted by a test. Methods return false (and send nothing) once
 * the response has ended (finished, cancelled, or cancelled by a client `response.cancel`) or the
 * socket is closed.
 */
export class FakeResponse {
  /** The response id (`resp_…`). */
  readonly id: string;
  /** The assistant message item id, or undefined for `message: false`. */
  readonly itemId: string | undefined;
  /** Every output item, in output order. */
  readonly output: AnyEvent[] = [];

  #session: FakeRealtimeSession;
  #status: "in_progress" | "completed" | "cancelled" | "incomplete" | "failed" = "in_progress";
  #messageIndex = 0;
  #previousItemId: string | null = null;
  #transcript = "";
  #audioBytes = 0;

  /** @internal Created by {@linkcode FakeRealtimeSession.beginResponse}. */
  constructor(session: FakeRealtimeSession, options: BeginResponseOptions) {
    this.#session = session;
    this.id = options.responseId ?? makeId("resp");
    session.sendGenerated({ type: "response.created", response: this.#responseObject() });
    if (options.message ?? true) {
      const itemId = options.itemId ?? makeId("item");
      this.itemId = itemId;
      const item: AnyEvent = {
        id: itemId,
        object: "realtime.item",
        type: "message",
        status: "in_progress",
        role: "assistant",
        content: [],
      };
      this.#messageIndex = this.output.length;
      this.output.push(item);
      this.#previousItemId = session.addItem(item);
      session.sendGenerated({
        type: "response.output_item.added",
        response_id: this.id,
        output_index: this.#messageIndex,
        item: { ...item },
      });
      session.sendGenerated({
        type: "conversation.item.added",
        previous_item_id: this.#previousItemId,
        item: { ...item },
      });
      session.sendGenerated({
        type: "response.content_part.added",
        response_id: this.id,
        item_id: itemId,
        output_index: this.#messageIndex,
        content_index: 0,
        part: { type: "audio", transcript: "" },
      });
    }
  }

  /** `in_progress` until finished or cancelled. */
  get status(): string {
    return this.#status;
  }

  /** True once finished or cancelled. */
  get done(): boolean {
    return this.#status !== "in_progress";
  }

  /** Bytes of audio sent in this response. */
  get audioBytesSent(): number {
    return this.#audioBytes;
  }

  /** Sends `response.output_audio.delta` with base64 of `bytes` (counted for truncation). */
  audio(bytes: Uint8Array): boolean {
    if (!this.#canSend() || this.itemId === undefined) return false;
    const sent = this.#session.sendGenerated({
      type: "response.output_audio.delta",
      response_id: this.id,
      item_id: this.itemId,
      output_index: this.#messageIndex,
      content_index: 0,
      delta: encodeBase64(bytes),
    });
    if (sent) {
      this.#audioBytes += bytes.length;
      this.#session.countAudio(this.itemId, bytes.length);
    }
    return sent;
  }

  /** Sends `response.output_audio_transcript.delta`. */
  transcript(delta: string): boolean {
    if (!this.#canSend() || this.itemId === undefined) return false;
    this.#transcript += delta;
    return this.#session.sendGenerated({
      type: "response.output_audio_transcript.delta",
      response_id: this.id,
      item_id: this.itemId,
      output_index: this.#messageIndex,
      content_index: 0,
      delta,
    });
  }

  /**
   * Adds a function call to the response: `response.output_item.added` (function_call item),
   * `conversation.item.added`, `response.function_call_arguments.delta`,
   * `response.function_call_arguments.done`, `response.output_item.done`,
   * `conversation.item.done`.
   *
   * @param args a JSON string or a value to stringify
   * @returns the call id (`call_…`) and the item id
   */
  functionCall(
    name: string,
    args: string | Record<string, unknown>,
    callId?: string,
  ): { callId: string; itemId: string } {
    const call = { callId: callId ?? makeId("call"), itemId: makeId("item") };
    if (!this.#canSend()) return call;
    const argumentsText = typeof args === "string" ? args : JSON.stringify(args);
    const outputIndex = this.output.length;
    const item: AnyEvent = {
      id: call.itemId,
      object: "realtime.item",
      type: "function_call",
      status: "in_progress",
      name,
      call_id: call.callId,
      arguments: "",
    };
    this.output.push(item);
    const s = this.#session;
    const previous = s.addItem(item);
    s.sendGenerated({
      type: "response.output_item.added",
      response_id: this.id,
      output_index: outputIndex,
      item: { ...item },
    });
    s.sendGenerated({
      type: "conversation.item.added",
      previous_item_id: previous,
      item: { ...item },
    });
    s.sendGenerated({
      type: "response.function_call_arguments.delta",
      response_id: this.id,
      item_id: call.itemId,
      output_index: outputIndex,
      call_id: call.callId,
      delta: argumentsText,
    });
    s.sendGenerated({
      type: "response.function_call_arguments.done",
      response_id: this.id,
      item_id: call.itemId,
      output_index: outputIndex,
      call_id: call.callId,
      name,
      arguments: argumentsText,
    });
    item.status = "completed";
    item.arguments = argumentsText;
    s.sendGenerated({
      type: "response.output_item.done",
      response_id: this.id,
      output_index: outputIndex,
      item: { ...item },
    });
    s.sendGenerated({
      type: "conversation.item.done",
      previous_item_id: previous,
      item: { ...item },
    });
    return call;
  }

  /**
   * Ends the response: `response.output_audio.done`, `response.output_audio_transcript.done`,
   * `response.content_part.done`, `response.output_item.done`, `conversation.item.done` (for the
   * message item) and `response.done` with `status` and a usage block.
   */
  finish(status: FinishStatus = "completed"): boolean {
    if (!this.#canSend()) return false;
    this.#closeMessage(status === "completed" ? "completed" : "incomplete");
    const details = status === "completed"
      ? null
      : status === "incomplete"
      ? { type: "incomplete", reason: "max_output_tokens", error: null }
      : {
        type: "failed",
        reason: null,
        error: { type: "server_error", code: "server_error" },
      };
    return this.#end(status, details);
  }

  /**
   * Cancels the response like the live server on barge-in: closes the message item with status
   * `incomplete`, then `response.done` with status `cancelled` and
   * `status_details: {type:"cancelled", reason}`.
   */
  cancel(reason: "turn_detected" | "client_cancelled" = "turn_detected"): boolean {
    if (!this.#canSend()) return false;
    this.#closeMessage("incomplete");
    return this.#end("cancelled", { type: "cancelled", reason, error: null });
  }

  #canSend(): boolean {
    return !this.done && this.#session.isOpen;
  }

  #closeMessage(itemStatus: "completed" | "incomplete"): void {
    if (this.itemId === undefined) return;
    const s = this.#session;
    const base = {
      response_id: this.id,
      item_id: this.itemId,
      output_index: this.#messageIndex,
      content_index: 0,
    };
    s.sendGenerated({ type: "response.output_audio.done", ...base });
    s.sendGenerated({
      type: "response.output_audio_transcript.done",
      ...base,
      transcript: this.#transcript,
    });
    s.sendGenerated({
      type: "response.content_part.done",
      ...base,
      part: { type: "audio", transcript: this.#transcript },
    });
    const item = this.output[this.#messageIndex];
    item.status = itemStatus;
    item.content = [{ type: "output_audio", transcript: this.#transcript }];
    s.sendGenerated({
      type: "response.output_item.done",
      response_id: this.id,
      output_index: this.#messageIndex,
      item: { ...item },
    });
    s.sendGenerated({
      type: "conversation.item.done",
      previous_item_id: this.#previousItemId,
      item: { ...item },
    });
  }

  #end(status: "completed" | "cancelled" | "incomplete" | "failed", details: unknown): boolean {
    this.#status = status;
    this.#session.responseEnded(this);
    const response = this.#responseObject();
    response.status_details = details;
    return this.#session.sendGenerated({ type: "response.done", response });
  }

  #responseObject(): Record<string, unknown> {
    const audioTokens = Math.ceil(this.#audioBytes / 8 / 50);
    const textTokens = Math.ceil(this.#transcript.length / 4) +
      this.output.filter((i) => i.type === "function_call").length * 20;
    const done = this.done;
    return {
      object: "realtime.response",
      id: this.id,
      status: this.#status,
      status_details: null,
      output: done ? this.output.map((i) => ({ ...i })) : [],
      conversation_id: "conv_fake",
      output_modalities: ["audio"],
      max_output_tokens: "inf",
      audio: {
        output: { format: this.#session.outputFormat, voice: this.#session.outputVoice },
      },
      usage: done
        ? {
          total_tokens: 250 + audioTokens + textTokens,
          input_tokens: 250,
          output_tokens: audioTokens + textTokens,
          input_token_details: {
            text_tokens: 200,
            audio_tokens: 50,
            image_tokens: 0,
            cached_tokens: 128,
            cached_tokens_details: { text_tokens: 128, audio_tokens: 0, image_tokens: 0 },
          },
          output_token_details: { text_tokens: textTokens, audio_tokens: audioTokens },
        }
        : null,
      metadata: null,
    };
  }
}
