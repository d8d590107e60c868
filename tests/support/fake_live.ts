/**
 * A fake GPT-Live server over real sockets (`ws://127.0.0.1:PORT/v1/live/sessions`)
 * for end-to-end tests: each session answers through the shared kit
 * (`src/fake_peers/live_server_session.ts`), checks every client event against
 * `tests/fixtures/gpt-live-events.schema.json` (strict, like the live API:
 * unknown fields are refused with an `error` naming them) and every event it
 * sends against the same schema, and lets a test script the model: speech on
 * the continuous output track, transcripts, function calls, usage, closing.
 *
 * @module
 */
import {
  type LiveOutcome,
  LiveServerSession,
  type LiveWireEvent,
} from "../../src/fake_peers/live_server_session.ts";
import { liveClientEventProblem, liveServerEventProblem } from "./live_schema.ts";
import { Waiters } from "./wait.ts";

/** Options of {@link FakeLiveServer.start}. */
export interface FakeLiveServerOptions {
  /** When set, another key is refused with HTTP 401. */
  expectedApiKey?: string;
  /** Seconds each session lives (its `expires_at`). */
  lifetimeSeconds?: number;
}

/** A fake GPT-Live server. */
export class FakeLiveServer implements AsyncDisposable {
  readonly sessions: FakeLiveSession[] = [];
  /** Upgrade requests refused (status and why). */
  readonly refused: { status: number; reason: string }[] = [];
  /** Ms to wait before answering each connection (a slow GPT-Live); can change between calls. */
  answerDelayMs = 0;
  /** Seconds the next sessions live (their `expires_at`); undefined: the kit's default. */
  lifetimeSeconds: number | undefined;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #options: FakeLiveServerOptions;
  #waiters = new Waiters<FakeLiveSession>();
  #taken = 0;

  private constructor(options: FakeLiveServerOptions) {
    this.#options = options;
    this.lifetimeSeconds = options.lifetimeSeconds;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#answer(request),
    );
  }

  /** Starts a server on a random port. */
  static start(options: FakeLiveServerOptions = {}): Promise<FakeLiveServer> {
    return Promise.resolve(new FakeLiveServer(options));
  }

  /** The sessions URL (what `OPENAI_LIVE_URL` is set to). */
  get url(): string {
    return `ws://127.0.0.1:${this.#server.addr.port}/v1/live/sessions`;
  }

  /** The next session not yet returned (waits for it). */
  async nextSession(timeoutMs = 2000): Promise<FakeLiveSession> {
    const index = this.#taken++;
    return await this.#waiters.wait(
      this.sessions.slice(index, index + 1),
      (s) => this.sessions.indexOf(s) === index,
      timeoutMs,
      () =>
        `No GPT-Live session #${index + 1} within ${timeoutMs} ms (refused: ${
          JSON.stringify(this.refused)
        }).`,
    );
  }

  /** Closes every session and the server. */
  async close(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.close()));
    await this.#server.shutdown();
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #refuse(status: number, reason: string): Response {
    this.refused.push({ status, reason });
    return Response.json({ error: { type: "invalid_request_error", message: reason } }, {
      status,
    });
  }

  async #answer(request: Request): Promise<Response> {
    if (this.answerDelayMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.answerDelayMs));
    }
    return this.#handle(request);
  }

  #handle(request: Request): Response {
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    if (url.pathname !== "/v1/live/sessions") return this.#refuse(404, `No route ${url.pathname}`);
    // No query parameters: the model goes in session.start [SDK][WS].
    if (url.search !== "") return this.#refuse(400, `Unexpected query string ${url.search}`);
    const key = headers.get("authorization")?.match(/^Bearer\s+(.+)$/)?.[1];
    if (this.#options.expectedApiKey !== undefined && key !== this.#options.expectedApiKey) {
      return this.#refuse(401, "Incorrect API key provided.");
    }
    const { socket, response } = Deno.upgradeWebSocket(request);
    const session = new FakeLiveSession(socket, {
      url,
      headers,
      ...(this.lifetimeSeconds !== undefined ? { lifetimeSeconds: this.lifetimeSeconds } : {}),
    });
    this.sessions.push(session);
    socket.addEventListener("open", () => this.#waiters.notify(session));
    return response;
  }
}

/** A schema problem of one client event. */
export interface LiveSchemaError {
  type: string;
  problem: string;
}

/** One session of the fake server. */
export class FakeLiveSession {
  readonly url: URL;
  readonly headers: Headers;
  readonly kit: LiveServerSession;
  /** Every client event, in order. */
  readonly received: LiveWireEvent[] = [];
  /** Every event sent to the client. */
  readonly sent: LiveWireEvent[] = [];
  /** Client events that failed the schema (each answered with an error). */
  readonly schemaErrors: LiveSchemaError[] = [];
  /** Events this fake sent that failed the schema (a bug of the fake). */
  readonly selfErrors: string[] = [];
  /** What each client event did, in order. */
  readonly outcomes: LiveOutcome[] = [];
  /** Resolves when the socket closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  #socket: WebSocket;
  #waiters = new Waiters<LiveWireEvent>();

  /** @internal Created by {@link FakeLiveServer}. */
  constructor(
    socket: WebSocket,
    init: { url: URL; headers: Headers; lifetimeSeconds?: number },
  ) {
    this.#socket = socket;
    this.url = init.url;
    this.headers = init.headers;
    this.kit = new LiveServerSession({
      now: () => Date.now() / 1000,
      ...(init.lifetimeSeconds !== undefined ? { lifetimeSeconds: init.lifetimeSeconds } : {}),
    });
    this.closed = new Promise((resolve) => {
      socket.addEventListener("close", (e) => {
        this.#waiters.rejectAll(`GPT-Live session closed (${e.code}); received: ${this.#types()}`);
        resolve({ code: e.code, reason: e.reason });
      });
    });
    socket.addEventListener("message", (e) => this.#onMessage(e.data));
    socket.addEventListener("error", () => {});
  }

  /** Types of the events received, in order. */
  get receivedTypes(): string[] {
    return this.received.map((e) => e.type);
  }

  /** Ms of caller audio received. */
  get inputMs(): number {
    return this.kit.inputMs;
  }

  /** The first received event of `type` (matching `where`), now or later. */
  waitFor(
    type: string,
    where: (event: LiveWireEvent) => boolean = () => true,
    timeoutMs = 2000,
  ): Promise<LiveWireEvent> {
    return this.#waiters.wait(
      this.received,
      (e) => e.type === type && where(e),
      timeoutMs,
      () => `No ${type} within ${timeoutMs} ms; received: ${this.#types()}`,
    );
  }

  /** Sends events (each checked against the schema). */
  send(events: readonly LiveWireEvent[]): void {
    for (const event of events) {
      const problem = liveServerEventProblem(event);
      if (problem !== undefined) this.selfErrors.push(`${event.type}: ${problem}`);
      if (this.#socket.readyState !== WebSocket.OPEN) return;
      this.sent.push(event);
      this.#socket.send(JSON.stringify(event));
    }
  }

  /** The model speaks `bytes` (μ-law) on the output track, in 100 ms deltas. */
  speak(bytes: Uint8Array, transcript?: string): void {
    if (transcript !== undefined) this.send([this.kit.outputTranscript(transcript)]);
    this.send(this.kit.outputAudio(bytes));
  }

  /** `ms` of the silent track. */
  silence(ms: number): void {
    this.send(this.kit.silence(ms));
  }

  /** The caller's words arrive (input transcript). */
  callerSays(text: string): void {
    this.send([this.kit.inputTranscript(text)]);
  }

  /** The backend calls the client function `name`; returns its call id. */
  functionCall(name: string, args: unknown): string {
    const { events, callId } = this.kit.functionCall(name, args);
    this.send(events);
    return callId;
  }

  /** Cumulative usage so far. */
  usage(): void {
    this.send([this.kit.usage()]);
  }

  /** The session ends on the server's side (`session.closed`), then the socket closes. */
  async end(reason: "expired" | "connection_lost" | "content" = "expired"): Promise<void> {
    this.send([this.kit.closed(reason)]);
    await this.close(1000, "session closed");
  }

  /** Closes the socket. */
  async close(code = 1000, reason = ""): Promise<void> {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.close(code, reason);
    await this.closed;
  }

  #types(): string {
    return this.received.map((e) => e.type).join(", ") || "(nothing)";
  }

  #onMessage(data: unknown): void {
    if (typeof data !== "string") {
      this.schemaErrors.push({ type: "(binary)", problem: "binary frame" });
      return;
    }
    let event: LiveWireEvent;
    try {
      event = JSON.parse(data);
    } catch {
      this.schemaErrors.push({ type: "(invalid JSON)", problem: data.slice(0, 80) });
      return;
    }
    this.received.push(event);
    const problem = liveClientEventProblem(event);
    if (problem !== undefined) {
      this.schemaErrors.push({ type: String(event.type), problem });
      this.send([{
        type: "error",
        event_id: `event_schema_${this.received.length}`,
        error: { type: "invalid_request_error", code: "invalid_value", message: problem },
      }]);
    } else {
      const answer = this.kit.handle(event);
      this.outcomes.push(answer.outcome);
      this.send(answer.events);
      if (answer.outcome.kind === "close") this.close(1000, "session closed");
    }
    this.#waiters.notify(event);
  }
}
