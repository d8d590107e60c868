/**
 * A fake OpenAI Realtime (GA) WebSocket server for end-to-end tests of the bridge.
 *
 * It listens on 127.0.0.1 (random port), accepts `/v1/realtime` upgrades that offer the
 * `realtime` subprotocol, validates every client event against the strict GA schema (answering
 * `error` events like the live API) and lets tests script the assistant's side (speech events,
 * audio responses, function calls, cancellations, responses with several output items).
 *
 * What the server does (session defaults and merge, ids, truncate rules, response event
 * sequences, usage) is the Realtime server kit in `src/fake_peers/`, shared with the demo
 * stand-in; this module is its socket adapter plus the recording tests read.
 *
 * @module
 */

import { realtimeId as makeId } from "../../src/fake_peers/realtime_ids.ts";
import type { RealtimeResponse, ServerEvent } from "../../src/fake_peers/realtime_response.ts";
import {
  ResponseScript,
  type ScriptedItem,
  type ScriptedItemIds,
} from "../../src/fake_peers/realtime_response_script.ts";
import { errorEvent, RealtimeServerSession } from "../../src/fake_peers/realtime_server_session.ts";
import { createsResponse } from "../../src/fake_peers/realtime_session_state.ts";
import { outOfBandTextResponse } from "../../src/fake_peers/realtime_text_response.ts";
import {
  describeClientEventProblem,
  validateClientEvent,
  validateServerEvent,
} from "./realtime_schema.ts";
import { Waiters } from "./wait.ts";

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

/**
 * How a session's WebSocket closed. For a close the fake started, the code and reason it sent
 * (what the client received): Deno's server-side WebSocket ends a close it started at the first
 * frame from the client that is not a close frame (a message the client sent before it saw the
 * close) and then reports code 0 in its close event, not the code of the handshake.
 */
export interface CloseInfo {
  /**
   * Close code: the client's (1005 when it gave none, 1006 when the connection dropped), or the
   * fake's when it started the close.
   */
  code: number;
  /** Close reason. */
  reason: string;
  /** Who started the closing handshake: this fake, or the client. */
  by: "fake" | "client";
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

/** The instructions the live API reports before any `session.update`. */
const DEFAULT_INSTRUCTIONS =
  "Your knowledge cutoff is 2023-10. You are a helpful, witty, and friendly AI. Act like a human.";

/**
 * `ms` milliseconds of 8 kHz μ-law audio (8 bytes per ms) filled with `value`.
 * Tests give each assistant item its own byte value so played audio can be attributed.
 */
export function audioBytes(value: number, ms: number): Uint8Array {
  return new Uint8Array(Math.round(ms * 8)).fill(value);
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
  /**
   * The text of out-of-band text responses (`conversation: "none"`,
   * `output_modalities: ["text"]`, e.g. a transfer briefing), answered at
   * once alongside any response in progress, like the GA API; null: left
   * unanswered.
   */
  outOfBandText: string | null = "The caller asked for a person about a viewing.";
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

/** Options of {@linkcode FakeRealtimeSession.respond}. */
export interface RespondOptions {
  /**
   * The output items, in order: audio messages `{ audioMs, value, transcript }` and function
   * calls `{ functionCall: { name, arguments } }` (see {@linkcode ScriptedItem}).
   */
  items: ScriptedItem[];
  /** Response id (default generated). */
  responseId?: string;
  /** Ms of audio per `response.output_audio.delta` (default 100). */
  chunkMs?: number;
  /**
   * How the response is streamed:
   * - `burst` (default): every event at once;
   * - a number: that many ms of real time after each audio delta (a model streaming);
   * - `manual`: nothing until the test calls {@linkcode FakeScriptedResponse.step}.
   */
  pace?: "burst" | "manual" | number;
  /** Final status (default `completed`). */
  status?: FinishStatus;
}

/**
 * One accepted connection. Records everything the client sends and scripts the assistant. The
 * server behaviour (session, conversation, truncation rules, response event sequences) is the
 * shared Realtime server kit in `src/fake_peers/`; this class is its socket adapter.
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
  /** Resolves when the socket has closed. */
  readonly closed: Promise<CloseInfo>;

  #server: FakeRealtimeServer;
  #socket: WebSocket;
  #kit: RealtimeServerSession;
  #waiters = new Waiters<AnyEvent>();
  #uncommittedBytes = 0;
  #speechItemId: string | undefined;
  #activeResponse: FakeResponse | undefined;
  #scripts = new Set<FakeScriptedResponse>();
  #isClosed = false;
  #resolveClosed!: (info: CloseInfo) => void;
  #lifetimeTimer: ReturnType<typeof setTimeout> | undefined;
  #closeSent: CloseInfo | undefined;

  /** @internal Created by {@linkcode FakeRealtimeServer}. */
  constructor(server: FakeRealtimeServer, socket: WebSocket, init: SessionInit) {
    this.#server = server;
    this.#socket = socket;
    this.url = init.url;
    this.model = init.url.searchParams.get("model");
    this.protocols = init.protocols;
    this.apiKey = init.apiKey;
    this.headers = init.headers;
    this.#kit = new RealtimeServerSession({
      model: this.model ?? "gpt-realtime",
      instructions: DEFAULT_INSTRUCTIONS,
      conversationId: "conv_fake",
    });
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    socket.addEventListener("open", () => {
      if (init.closeAfterOpen) {
        this.#closeSocket(1011, "Internal server error");
        return;
      }
      this.#emit([this.#kit.created()]);
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
      for (const script of this.#scripts) script.stop();
      this.#waiters.rejectAll(
        `FakeRealtimeSession closed (${e.code} ${e.reason}) while waiting; received: ${this.#receivedTypes()}`,
      );
      this.#resolveClosed(this.#closeSent ?? { code: e.code, reason: e.reason, by: "client" });
    });
    socket.addEventListener("error", () => {});
  }

  /** The effective session configuration (`session.created` merged with every update). */
  get config(): AnyEvent {
    return this.#kit.config as AnyEvent;
  }

  /** True while the socket is open. */
  get isOpen(): boolean {
    return this.#socket.readyState === WebSocket.OPEN;
  }

  /** The response begun and not yet finished or cancelled, if any. */
  get activeResponse(): FakeResponse | undefined {
    return this.#activeResponse?.done ? undefined : this.#activeResponse;
  }

  /** Ms of assistant audio sent for `itemId` (bytes ÷ 8 for pcmu output). */
  audioMsSent(itemId: string): number {
    return this.#kit.conversation.sentBytes(itemId) / this.#kit.outputAudio.bytesPerMs;
  }

  /** Bytes of assistant audio sent for `itemId`. */
  audioBytesSent(itemId: string): number {
    return this.#kit.conversation.sentBytes(itemId);
  }

  /** Ms of input audio received so far (bytes ÷ 8 for pcmu input). */
  get inputAudioMs(): number {
    return this.inputAudio.bytes / this.#kit.inputBytesPerMs;
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
    const [event] = this.#emit([errorEvent(code, message, param, clientEventId)]);
    return event;
  }

  /**
   * Sends `input_audio_buffer.speech_started` (the caller barges in). A scripted response
   * ({@linkcode respond}) in progress is then cancelled (`turn_detected`) when the session's
   * `turn_detection.interrupt_response` is on, like the live server; a response driven by
   * {@linkcode beginResponse} is left to the test.
   *
   * @param itemId the user item id (default generated)
   * @param audioStartMs default: the ms of input audio received so far
   * @returns the item id
   */
  speechStarted(itemId?: string, audioStartMs?: number): string {
    const id = itemId ?? makeId("item");
    this.#speechItemId = id;
    this.#emit(this.#kit.speechStarted(audioStartMs ?? this.inputAudioMs, id));
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
    this.#emit([{
      type: "input_audio_buffer.speech_stopped",
      audio_end_ms: Math.floor(audioEndMs ?? this.inputAudioMs),
      item_id: id,
    }]);
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
    this.#commitTurn(id);
    this.transcribe(id, transcript);
    return id;
  }

  /**
   * Scripts a burst of caller speech in real time as server VAD reports it:
   * `speech_started` at once (its `audio_start_ms` includes the prefix
   * padding, so it is `prefixMs` before the speech), `speech_stopped`
   * `speechMs + silenceMs` later (its `audio_end_ms` includes the silence),
   * and `input_audio_buffer.committed` (then {@linkcode transcribe} sends its
   * words, when input transcription is on). A scripted
   * response in progress is cancelled at the start when the session has
   * `interrupt_response` on; the server answers the turn itself (with
   * {@linkcode FakeRealtimeServerOptions.autoRespond}) when it has
   * `create_response` on and no response is in progress, like the live API.
   *
   * @returns the user item id and when speech started and stopped (`performance.now()`)
   */
  async speechBurst(options: {
    speechMs: number;
    prefixMs?: number;
    silenceMs?: number;
  }): Promise<{ itemId: string; startedAt: number; stoppedAt: number }> {
    const prefix = options.prefixMs ?? 300;
    const silence = options.silenceMs ?? 500;
    const onset = Math.max(prefix, this.inputAudioMs);
    const id = this.speechStarted(undefined, onset - prefix);
    const startedAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, options.speechMs + silence));
    this.speechStopped(onset + options.speechMs + silence);
    const stoppedAt = performance.now();
    this.#commitTurn(id);
    return { itemId: id, startedAt, stoppedAt };
  }

  /** `input_audio_buffer.committed` of user item `id`; the server answers it when it creates responses. */
  #commitTurn(id: string): void {
    if (!this.isOpen) return;
    const previous = this.#kit.conversation.add({ id, type: "message", role: "user" });
    this.#emit([{ type: "input_audio_buffer.committed", previous_item_id: previous, item_id: id }]);
    if (createsResponse(this.#kit.config) && this.#server.autoRespond && !this.activeResponse) {
      this.#autoRespond();
    }
  }

  /** `conversation.item.input_audio_transcription.completed`: the words of user item `id`. */
  transcribe(id: string, transcript: string): void {
    if (!this.isOpen) return;
    this.#emit([{
      type: "conversation.item.input_audio_transcription.completed",
      item_id: id,
      content_index: 0,
      transcript,
      usage: { type: "duration", seconds: 1 },
    }]);
  }

  /**
   * Starts an assistant response: sends `response.created` and, unless `message: false`,
   * `response.output_item.added` (assistant message), `conversation.item.added` and
   * `response.content_part.added` (audio part).
   */
  beginResponse(options: BeginResponseOptions = {}): FakeResponse {
    const response = new FakeResponse(this, this.#kit.beginResponse({ id: options.responseId }));
    this.#activeResponse = response;
    this.#emit(response.kit.created());
    if (options.message ?? true) {
      const opened = response.kit.openMessage(options.itemId ?? makeId("item"));
      response.itemId = opened.itemId;
      this.#emit(opened.events);
    }
    return response;
  }

  /**
   * Streams a whole response with several output items, each with the GA event sequence (see
   * {@linkcode ResponseScript}): e.g. a spoken preamble then the answer, or two function calls.
   * The server stops it like the live API when the client sends `response.cancel`, truncates one
   * of its items, or (with `interrupt_response`) the test calls {@linkcode speechStarted}: the
   * rest of the items are not produced and `response.done` has status `cancelled`.
   */
  respond(options: RespondOptions): FakeScriptedResponse {
    const kit = this.#kit.beginResponse({ id: options.responseId, interruptible: true });
    const response = new FakeResponse(this, kit);
    this.#activeResponse = response;
    const script = new ResponseScript(kit, {
      items: options.items,
      chunkMs: options.chunkMs,
      bytesPerMs: this.#kit.outputAudio.bytesPerMs,
      status: options.status,
    });
    const scripted = new FakeScriptedResponse(this, response, script, options.pace ?? "burst");
    this.#scripts.add(scripted);
    scripted.ended.then(() => this.#scripts.delete(scripted));
    scripted.start();
    return scripted;
  }

  /**
   * Closes the socket and waits for the close to complete.
   * Examples: `close(1001, "Your session hit the maximum duration of 60 minutes.")`.
   */
  async close(code = 1000, reason = ""): Promise<CloseInfo> {
    if (!this.#isClosed) {
      try {
        this.#closeSocket(code, reason);
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

  /** Starts the closing handshake, remembering the code and reason sent (see {@linkcode CloseInfo}). */
  #closeSocket(code: number, reason: string): void {
    const open = this.#socket.readyState === WebSocket.OPEN;
    this.#socket.close(code, reason);
    if (open) this.#closeSent ??= { code, reason, by: "fake" };
  }

  /**
   * @internal Stamps `event_id`s, checks each event against the schema (strict unless told),
   * sends them and returns them as sent. Errors are recorded in {@linkcode errorsSent}.
   */
  emit(events: ServerEvent[], strict = true): AnyEvent[] {
    return this.#emit(events, strict);
  }

  // ---- private --------------------------------------------------------------------------------

  #emit(events: ServerEvent[], strict = true): AnyEvent[] {
    const sent = events.map((event) => {
      const { type, event_id: eventId, ...rest } = event;
      const ordered: AnyEvent = { type, event_id: eventId ?? makeId("event"), ...rest };
      const errors = validateServerEvent(ordered, { strict });
      if (errors.length > 0) {
        this.selfErrors.push(`fake sent an invalid ${type}: ${errors.join("; ")}`);
      }
      if (type === "error") this.errorsSent.push(ordered);
      this.#transmit(ordered);
      return ordered;
    });
    if (events.some((e) => e.type === "response.done")) {
      // A scripted response ended here (finished, or cancelled by the client or a barge-in).
      for (const script of this.#scripts) if (script.response.done) script.stop();
    }
    return sent;
  }

  #receivedTypes(): string {
    const types = this.receivedTypes();
    return types.length === 0 ? "(nothing)" : types.join(", ");
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
    if (event.type === "input_audio_buffer.commit") {
      this.#commit(clientEventId);
      return;
    }
    const result = this.#kit.handle(event);
    const sent = this.#emit(result.events, result.strict);
    const outcome = result.outcome;
    switch (outcome.kind) {
      case "audio_appended":
        this.inputAudio.bytes += outcome.bytes.length;
        this.inputAudio.chunks.push(event.audio);
        this.#uncommittedBytes += outcome.bytes.length;
        break;
      case "audio_cleared":
        this.#uncommittedBytes = 0;
        break;
      case "truncated":
        this.truncates.push(event);
        break;
      case "truncate_rejected":
        this.rejectedTruncates.push({
          event,
          reason: outcome.reason,
          sentMs: outcome.audioMs,
          error: sent.find((e) => e.type === "error")!,
        });
        break;
      case "response_requested":
        if (this.#server.autoRespond) this.#autoRespond();
        break;
      case "out_of_band_requested": {
        const modalities = outcome.response.output_modalities;
        if (!Array.isArray(modalities) || modalities.join() !== "text") {
          if (this.#server.autoRespond) this.#autoRespond(); // e.g. a spoken filler
          break;
        }
        // A text-only out-of-band response (a transfer briefing): answered unless the test says not.
        const text = this.#server.outOfBandText;
        if (text === null) break;
        const metadata = outcome.response.metadata as Record<string, string> | undefined;
        this.#emit(outOfBandTextResponse({ text, metadata: metadata ?? null }));
        break;
      }
      default:
        break;
    }
  }

  #commit(clientEventId: string | null): void {
    const ms = this.#uncommittedBytes / this.#kit.inputBytesPerMs;
    if (ms < 100) {
      this.sendError(
        "input_audio_buffer_commit_empty",
        `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${
          ms.toFixed(2)
        }ms of audio.`,
        null,
        clientEventId,
      );
      return;
    }
    this.#uncommittedBytes = 0;
    const itemId = makeId("item");
    const previous = this.#kit.conversation.add({ id: itemId, type: "message", role: "user" });
    this.#emit([{
      type: "input_audio_buffer.committed",
      previous_item_id: previous,
      item_id: itemId,
    }]);
  }

  #autoRespond(): void {
    const options: AutoRespondOptions = typeof this.#server.autoRespond === "object"
      ? this.#server.autoRespond
      : {};
    // audioMs counts μ-law ms (8 bytes per ms) whatever the output format, as it always has.
    const kit = this.#kit.beginResponse();
    this.#activeResponse = new FakeResponse(this, kit);
    const script = new ResponseScript(kit, {
      items: [{
        audioMs: options.audioMs ?? 200,
        value: options.value ?? 0x7f,
        transcript: options.transcript ?? "Hello.",
      }],
      bytesPerMs: 8,
    });
    this.#emit(script.runToEnd());
  }
}

/**
 * An assistant response being scripted by a test. Methods return false (and send nothing) once
 * the response has ended (finished, cancelled, or cancelled by a client `response.cancel`) or the
 * socket is closed.
 */
export class FakeResponse {
  /** The assistant message item id of {@linkcode FakeRealtimeSession.beginResponse}, if any. */
  itemId: string | undefined;
  /** @internal The kit's response (the event sequences). */
  readonly kit: RealtimeResponse;
  #session: FakeRealtimeSession;

  /** @internal Created by {@linkcode FakeRealtimeSession.beginResponse} or `respond`. */
  constructor(session: FakeRealtimeSession, kit: RealtimeResponse) {
    this.#session = session;
    this.kit = kit;
  }

  /** The response id (`resp_…`). */
  get id(): string {
    return this.kit.id;
  }

  /** Every output item, in output order. */
  get output(): AnyEvent[] {
    return this.kit.output as unknown as AnyEvent[];
  }

  /** `in_progress` until finished or cancelled. */
  get status(): string {
    return this.kit.status;
  }

  /** True once finished or cancelled. */
  get done(): boolean {
    return this.kit.done;
  }

  /** Bytes of audio sent in this response. */
  get audioBytesSent(): number {
    return this.kit.audioBytes;
  }

  /** Sends `response.output_audio.delta` with base64 of `bytes` (counted for truncation). */
  audio(bytes: Uint8Array): boolean {
    if (!this.#canSend() || this.kit.openMessageId === undefined) return false;
    return this.#send(this.kit.audio(bytes));
  }

  /** Sends `response.output_audio_transcript.delta`. */
  transcript(delta: string): boolean {
    if (!this.#canSend() || this.kit.openMessageId === undefined) return false;
    return this.#send(this.kit.transcript(delta));
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
    const ids = { callId: callId ?? makeId("call"), itemId: makeId("item") };
    if (!this.#canSend()) return ids;
    this.#send(this.kit.functionCall(name, args, ids.callId, ids.itemId).events);
    return ids;
  }

  /**
   * Ends the response: `response.output_audio.done`, `response.output_audio_transcript.done`,
   * `response.content_part.done`, `response.output_item.done`, `conversation.item.done` (for the
   * open message item) and `response.done` with `status` and a usage block.
   */
  finish(status: FinishStatus = "completed"): boolean {
    if (!this.#canSend()) return false;
    return this.#send(this.kit.finish(status));
  }

  /**
   * Cancels the response like the live server on barge-in: closes the message item with status
   * `incomplete`, then `response.done` with status `cancelled` and
   * `status_details: {type:"cancelled", reason}`.
   */
  cancel(reason: "turn_detected" | "client_cancelled" = "turn_detected"): boolean {
    if (!this.#canSend()) return false;
    return this.#send(this.kit.cancel(reason));
  }

  #canSend(): boolean {
    return !this.done && this.#session.isOpen;
  }

  /** Sends `events`; true when the last one went out. */
  #send(events: ServerEvent[]): boolean {
    this.#session.emit(events);
    return events.length > 0 && this.#session.isOpen;
  }
}

/**
 * A response streamed by {@linkcode FakeRealtimeSession.respond}. Its items' ids are known
 * before anything is sent; `ended` resolves with the final status once `response.done` went out
 * (or with the status so far when the socket closed first).
 */
export class FakeScriptedResponse {
  /** The response (id, status, output as the client saw it). */
  readonly response: FakeResponse;
  /** Item ids (and call ids of function calls), in output order. */
  readonly items: ScriptedItemIds[];
  /** Resolves with the response status when it has ended (completed, cancelled, …). */
  readonly ended: Promise<string>;

  #session: FakeRealtimeSession;
  #script: ResponseScript;
  #pace: "burst" | "manual" | number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #resolveEnded!: (status: string) => void;
  #stopped = false;

  /** @internal */
  constructor(
    session: FakeRealtimeSession,
    response: FakeResponse,
    script: ResponseScript,
    pace: "burst" | "manual" | number,
  ) {
    this.#session = session;
    this.response = response;
    this.#script = script;
    this.#pace = pace;
    this.items = script.items;
    this.ended = new Promise((resolve) => (this.#resolveEnded = resolve));
  }

  /** Item ids in output order. */
  get itemIds(): string[] {
    return this.items.map((i) => i.itemId);
  }

  /** True once nothing more will be sent. */
  get finished(): boolean {
    return this.#stopped || this.#script.finished;
  }

  /** @internal Sends the first step (and, for `burst`, all of them). */
  start(): void {
    if (this.#pace === "manual") {
      this.step();
      return;
    }
    if (this.#pace === "burst") {
      while (this.step());
      return;
    }
    this.#tick();
  }

  /**
   * Sends the next step (`manual` pace, or to hurry a paced one): the opening of an item, one
   * audio delta, an item's end, a function call, or `response.done`.
   *
   * @returns false when nothing is left (finished or cancelled)
   */
  step(): boolean {
    if (this.#stopped || !this.#session.isOpen) {
      this.stop();
      return false;
    }
    const next = this.#script.step();
    if (next === undefined) {
      this.stop();
      return false;
    }
    this.#session.emit(next.events);
    if (this.#script.finished) this.stop();
    return true;
  }

  /** Sends the remaining steps at once. */
  runToEnd(): void {
    while (this.step());
  }

  /** @internal Stops stepping (socket closed or response over). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#stopped) return;
    this.#stopped = true;
    this.#resolveEnded(this.response.status);
  }

  #tick(): void {
    this.#timer = undefined;
    for (;;) {
      if (this.#stopped || this.#script.finished || !this.#session.isOpen) {
        this.stop();
        return;
      }
      const next = this.#script.step();
      if (next === undefined) {
        this.stop();
        return;
      }
      this.#session.emit(next.events);
      if (next.audioMs > 0 && !this.#script.finished) {
        this.#timer = setTimeout(() => this.#tick(), this.#pace as number);
        return;
      }
    }
  }
}
