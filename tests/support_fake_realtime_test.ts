import assert from "node:assert/strict";
import {
  type AnyEvent,
  audioBytes,
  FakeRealtimeServer,
  type FakeRealtimeSession,
} from "./support/fake_realtime.ts";
import { validateServerEvent } from "./support/realtime_schema.ts";
import { decodeBase64, encodeBase64 } from "../src/audio/base64.ts";
import { Waiters } from "./support/wait.ts";

/** A minimal client: a native WebSocket recording parsed server events. */
class TestClient {
  readonly events: AnyEvent[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #waiters = new Waiters<AnyEvent>();

  private constructor(readonly socket: WebSocket) {
    socket.addEventListener("message", (e) => {
      const event = JSON.parse(e.data);
      this.events.push(event);
      this.#waiters.notify(event);
    });
    this.closed = new Promise((resolve) => {
      socket.addEventListener("close", (e) => {
        this.#waiters.rejectAll(`closed; got ${this.types().join(", ")}`);
        resolve({ code: e.code, reason: e.reason });
      });
    });
  }

  static async open(url: string, key = "sk-test"): Promise<TestClient> {
    const socket = new WebSocket(`${url}?model=gpt-realtime`, [
      "realtime",
      `openai-insecure-api-key.${key}`,
    ]);
    const client = new TestClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      client.closed.then((c) => reject(new Error(`did not open: ${c.code}`)));
    });
    return client;
  }

  send(event: unknown): void {
    this.socket.send(JSON.stringify(event));
  }

  /** Sends `conversation.item.truncate` of content part 0 (with `event_id` when given). */
  truncate(itemId: string, audioEndMs: number, eventId?: string): void {
    this.send({
      type: "conversation.item.truncate",
      ...(eventId === undefined ? {} : { event_id: eventId }),
      item_id: itemId,
      content_index: 0,
      audio_end_ms: audioEndMs,
    });
  }

  types(): string[] {
    return this.events.map((e) => e.type);
  }

  waitFor(type: string, predicate: (e: AnyEvent) => boolean = () => true): Promise<AnyEvent> {
    return this.#waiters.wait(
      this.events,
      (e) => e.type === type && predicate(e),
      2000,
      () => `client waited for ${type}; got ${this.types().join(", ")}`,
    );
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close();
    await this.closed;
  }
}

/** Configures μ-law in both directions (so 8 bytes = 1 ms) and waits for session.updated. */
async function useMulaw(client: TestClient): Promise<void> {
  client.send({
    type: "session.update",
    session: {
      type: "realtime",
      audio: {
        input: { format: { type: "audio/pcmu" } },
        output: { format: { type: "audio/pcmu" } },
      },
    },
  });
  await client.waitFor("session.updated");
}

async function withServer(
  fn: (server: FakeRealtimeServer, client: TestClient, session: FakeRealtimeSession) => Promise<
    void
  >,
): Promise<void> {
  const server = await FakeRealtimeServer.start();
  let client: TestClient | undefined;
  try {
    client = await TestClient.open(server.url);
    const session = await server.nextSession();
    await fn(server, client, session);
    assert.deepEqual(session.selfErrors, [], "the fake only sends valid events");
  } finally {
    await client?.close();
    await server.close();
  }
}

Deno.test("fake realtime: handshake, session.created and session.update", async () => {
  await withServer(async (server, client, session) => {
    assert.match(server.url, /^ws:\/\/127\.0\.0\.1:\d+\/v1\/realtime$/);
    assert.equal(session.model, "gpt-realtime");
    assert.equal(session.url.pathname, "/v1/realtime");
    assert.deepEqual(session.protocols, ["realtime", "openai-insecure-api-key.sk-test"]);
    assert.equal(session.apiKey, "sk-test");
    assert.equal(session.headers.get("sec-websocket-protocol"), session.protocols.join(", "));
    assert.equal(client.socket.protocol, "realtime");

    const created = await client.waitFor("session.created");
    assert.equal(created.session.type, "realtime");
    assert.equal(created.session.object, "realtime.session");
    assert.match(created.session.id, /^sess_/);
    assert.equal(created.session.audio.output.format.type, "audio/pcm");
    assert.deepEqual(validateServerEvent(created, { strict: true }), []);

    client.send({
      type: "session.update",
      event_id: "cfg1",
      session: {
        type: "realtime",
        instructions: "Be brief.",
        audio: {
          input: { format: { type: "audio/pcmu" } },
          output: { format: { type: "audio/pcmu" }, voice: "marin" },
        },
      },
    });
    const updated = await client.waitFor("session.updated");
    assert.equal(updated.session.instructions, "Be brief.");
    assert.deepEqual(updated.session.audio.input.format, { type: "audio/pcmu" });
    assert.equal(updated.session.audio.output.voice, "marin");
    // Unchanged fields are kept from session.created.
    assert.equal(updated.session.audio.input.turn_detection.type, "server_vad");
    assert.equal(updated.session.id, created.session.id);
    assert.deepEqual(validateServerEvent(updated), []);
    const received = await session.waitFor("session.update");
    assert.equal(received.event_id, "cfg1");
    assert.deepEqual(session.schemaErrors, []);
    assert.equal(session.config.audio.output.voice, "marin");
  });
});

Deno.test("fake realtime: invalid events get an error and are recorded", async () => {
  await withServer(async (_server, client, session) => {
    client.send({
      type: "session.update",
      event_id: "bad1",
      session: { type: "realtime", voice: "alloy" },
    });
    const error = await client.waitFor("error");
    assert.deepEqual(error.error, {
      type: "invalid_request_error",
      code: "unknown_parameter",
      message: "Unknown parameter: 'session.voice'.",
      param: "session.voice",
      event_id: "bad1",
    });
    assert.equal(session.schemaErrors.length, 1);
    assert.equal(session.schemaErrors[0].event.event_id, "bad1");
    assert.deepEqual(session.schemaErrors[0].errors, [
      "/session must NOT have unevaluated properties: 'voice'",
    ]);
    // An invalid update is not applied and gets no session.updated.
    assert.ok(!client.types().includes("session.updated"));
    assert.equal(session.config.audio.output.voice, "alloy");

    client.send({ type: "response.audio.delta", delta: "AAAA" });
    const second = await client.waitFor("error", (e) => e.error.code === "invalid_event");
    assert.equal(second.error.param, "type");
    assert.equal(session.schemaErrors.length, 2);
    assert.equal(session.errorsSent.length, 2);
    // waitFor sees invalid events too.
    assert.equal((await session.waitFor("response.audio.delta")).delta, "AAAA");
  });
});

Deno.test("fake realtime: input audio is recorded in order", async () => {
  await withServer(async (_server, client, session) => {
    const frames = [0x11, 0x22, 0x33].map((v) => encodeBase64(new Uint8Array(160).fill(v)));
    for (const audio of frames) client.send({ type: "input_audio_buffer.append", audio });
    await session.waitFor("input_audio_buffer.append", (e) => e.audio === frames[2]);
    assert.deepEqual(session.inputAudio.chunks, frames);
    assert.equal(session.inputAudio.bytes, 480);
    assert.equal(session.receivedTypes().length, 3);
    // The server does not acknowledge appends.
    assert.deepEqual(client.types(), ["session.created"]);
  });
});

Deno.test("fake realtime: a scripted response arrives in order and validates", async () => {
  await withServer(async (_server, client, session) => {
    await useMulaw(client);
    const r = session.beginResponse({ responseId: "resp_1", itemId: "item_a" });
    assert.equal(session.activeResponse, r);
    assert.ok(r.audio(audioBytes(0x11, 100)));
    assert.ok(r.transcript("Hello"));
    assert.ok(r.audio(audioBytes(0x11, 50)));
    const call = r.functionCall("lookup_order", { order_id: "42" }, "call_abc");
    assert.ok(r.finish());
    assert.equal(session.activeResponse, undefined);
    assert.equal(r.audio(audioBytes(0x11, 10)), false, "no audio after the end");

    const done = await client.waitFor("response.done");
    assert.equal(done.response.audio.output.format.type, "audio/pcmu");
    assert.deepEqual(client.types(), [
      "session.created",
      "session.updated",
      "response.created",
      "response.output_item.added",
      "conversation.item.added",
      "response.content_part.added",
      "response.output_audio.delta",
      "response.output_audio_transcript.delta",
      "response.output_audio.delta",
      "response.output_item.added",
      "conversation.item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "conversation.item.done",
      "response.output_audio.done",
      "response.output_audio_transcript.done",
      "response.content_part.done",
      "response.output_item.done",
      "conversation.item.done",
      "response.done",
    ]);
    for (const event of client.events) {
      assert.deepEqual(validateServerEvent(event, { strict: true }), [], event.type);
    }
    const deltas = client.events.filter((e) => e.type === "response.output_audio.delta");
    assert.deepEqual(deltas.map((d) => decodeBase64(d.delta)?.length), [800, 400]);
    assert.ok(deltas.every((d) => d.response_id === "resp_1" && d.item_id === "item_a"));
    assert.deepEqual([...decodeBase64(deltas[0].delta)!.slice(0, 3)], [0x11, 0x11, 0x11]);
    const args = client.events.find((e) => e.type === "response.function_call_arguments.done")!;
    assert.equal(args.call_id, "call_abc");
    assert.equal(call.callId, "call_abc");
    assert.equal(args.name, "lookup_order");
    assert.equal(args.arguments, '{"order_id":"42"}');
    assert.equal(done.response.status, "completed");
    assert.equal(done.response.id, "resp_1");
    assert.deepEqual(done.response.output.map((i: AnyEvent) => i.type), [
      "message",
      "function_call",
    ]);
    assert.equal(done.response.output[0].content[0].transcript, "Hello");
    assert.equal(typeof done.response.usage.total_tokens, "number");
    assert.equal(session.audioMsSent("item_a"), 150);
    assert.equal(r.audioBytesSent, 1200);
  });
});

Deno.test("fake realtime: truncation is checked against the audio sent", async () => {
  await withServer(async (_server, client, session) => {
    await useMulaw(client);
    const r = session.beginResponse({ itemId: "item_t" });
    r.audio(audioBytes(0x22, 300));
    r.cancel();
    const cancelled = await client.waitFor("response.done");
    assert.equal(cancelled.response.status, "cancelled");
    assert.deepEqual(cancelled.response.status_details, {
      type: "cancelled",
      reason: "turn_detected",
      error: null,
    });

    client.send({
      type: "conversation.item.truncate",
      event_id: "t1",
      item_id: "item_t",
      content_index: 0,
      audio_end_ms: 301,
    });
    const error = await client.waitFor("error");
    assert.equal(error.error.code, "invalid_value");
    assert.equal(error.error.param, "audio_end_ms");
    assert.equal(error.error.event_id, "t1");
    assert.equal(session.rejectedTruncates.length, 1);
    assert.equal(session.rejectedTruncates[0].sentMs, 300);
    assert.equal(session.rejectedTruncates[0].event.audio_end_ms, 301);

    client.send({
      type: "conversation.item.truncate",
      item_id: "item_t",
      content_index: 0,
      audio_end_ms: 300,
    });
    const truncated = await client.waitFor("conversation.item.truncated");
    assert.deepEqual(
      { id: truncated.item_id, index: truncated.content_index, ms: truncated.audio_end_ms },
      { id: "item_t", index: 0, ms: 300 },
    );
    assert.equal(session.truncates.length, 1);

    client.send({
      type: "conversation.item.truncate",
      item_id: "item_unknown",
      content_index: 0,
      audio_end_ms: 0,
    });
    await client.waitFor("error", (e) => e.error.param === "item_id");
    assert.equal(session.rejectedTruncates.length, 2);
  });
});

Deno.test("fake realtime: speech events, item create, response.create and cancel", async () => {
  await withServer(async (_server, client, session) => {
    await useMulaw(client);
    client.send({ type: "input_audio_buffer.append", audio: encodeBase64(audioBytes(1, 500)) });
    await session.waitFor("input_audio_buffer.append");
    const itemId = session.speechStarted();
    const started = await client.waitFor("input_audio_buffer.speech_started");
    assert.equal(started.item_id, itemId);
    assert.equal(started.audio_start_ms, 500);
    session.speechStopped(480);
    const stopped = await client.waitFor("input_audio_buffer.speech_stopped");
    assert.deepEqual([stopped.item_id, stopped.audio_end_ms], [itemId, 480]);

    client.send({
      type: "conversation.item.create",
      item: { type: "function_call_output", call_id: "call_1", output: "{}" },
    });
    const added = await client.waitFor("conversation.item.added");
    assert.equal(added.item.call_id, "call_1");
    assert.match(added.item.id, /^item_/);
    await client.waitFor("conversation.item.done");

    // response.create is only recorded; a second one while active is refused.
    client.send({ type: "response.create" });
    await session.waitFor("response.create");
    const r = session.beginResponse();
    client.send({ type: "response.create", event_id: "rc2" });
    const busy = await client.waitFor("error");
    assert.equal(busy.error.code, "conversation_already_has_active_response");
    assert.equal(busy.error.event_id, "rc2");

    client.send({ type: "response.cancel" });
    const done = await client.waitFor("response.done");
    assert.equal(done.response.status, "cancelled");
    assert.equal(done.response.status_details.reason, "client_cancelled");
    assert.ok(r.done);
    client.send({ type: "response.cancel" });
    await client.waitFor("error", (e) => e.error.code === "response_cancel_not_active");
  });
});

Deno.test("fake realtime: autoRespond answers response.create", async () => {
  const server = await FakeRealtimeServer.start({ autoRespond: { audioMs: 250, value: 0x44 } });
  const client = await TestClient.open(server.url);
  try {
    const session = await server.nextSession();
    client.send({ type: "response.create" });
    await client.waitFor("response.done");
    const deltas = client.events.filter((e) => e.type === "response.output_audio.delta");
    assert.deepEqual(deltas.map((d) => decodeBase64(d.delta)!.length), [800, 800, 400]);
    assert.deepEqual(session.selfErrors, []);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("fake realtime: waitFor times out with the received types", async () => {
  await withServer(async (_server, client, session) => {
    client.send({ type: "input_audio_buffer.commit" });
    await session.waitFor("input_audio_buffer.commit");
    await assert.rejects(
      session.waitFor("response.create", undefined, 50),
      /waitFor\(response\.create\) timed out after 50 ms; received: input_audio_buffer\.commit/,
    );
    // Too little audio to commit.
    const error = await client.waitFor("error");
    assert.equal(error.error.code, "input_audio_buffer_commit_empty");
  });
});

Deno.test("fake realtime: refuse_http fails the WebSocket handshake", async () => {
  const server = await FakeRealtimeServer.start({ mode: "refuse_http" });
  try {
    await assert.rejects(TestClient.open(server.url), /did not open/);
    assert.equal(server.refused.length, 1);
    assert.equal(server.refused[0].status, 401);
    assert.match(server.refused[0].url, /\?model=gpt-realtime$/);
    assert.equal(server.refused[0].headers.get("upgrade"), "websocket");
    assert.equal(server.sessions.length, 0);
    await assert.rejects(server.nextSession(30), /no session connected within 30 ms/);

    // Changing the mode applies to the next connection; a wrong key is refused too.
    server.mode = "accept";
    server.expectedApiKey = "sk-right";
    await assert.rejects(TestClient.open(server.url, "sk-wrong"), /did not open/);
    assert.equal(server.refused.at(-1)?.status, 401);
    const client = await TestClient.open(server.url, "sk-right");
    const session = await server.nextSession();
    assert.equal(session.apiKey, "sk-right");
    await client.close();
    assert.equal((await session.closed).code, 1005);
  } finally {
    await server.close();
  }
});

Deno.test("fake realtime: a WebSocket without the realtime subprotocol is refused", async () => {
  const server = await FakeRealtimeServer.start();
  try {
    const socket = new WebSocket(`${server.url}?model=gpt-realtime`);
    let opened = false;
    socket.addEventListener("open", () => (opened = true));
    await new Promise<CloseEvent>((resolve) => {
      socket.addEventListener("close", resolve);
      socket.addEventListener("error", () => {});
    });
    assert.equal(opened, false);
    assert.equal(server.refused[0].status, 400);
    assert.match(server.refused[0].reason, /realtime/);
    assert.equal(server.sessions.length, 0);
  } finally {
    await server.close();
  }
});

Deno.test("fake realtime: close_after_open closes with 1011; sessions close cleanly", async () => {
  const server = await FakeRealtimeServer.start({ mode: "close_after_open" });
  try {
    const socket = new WebSocket(`${server.url}?model=gpt-realtime`, ["realtime"]);
    const closed = await new Promise<CloseEvent>((resolve) => {
      socket.addEventListener("close", resolve);
    });
    assert.equal(closed.code, 1011);
    const session = await server.nextSession();
    assert.equal((await session.closed).code, 1011);
    assert.deepEqual(session.sent, [], "no session.created");

    server.mode = "accept";
    const client = await TestClient.open(server.url);
    const second = await server.nextSession();
    await client.waitFor("session.created");
    const info = await second.close(1001, "Your session hit the maximum duration of 60 minutes.");
    assert.equal(info.code, 1001);
    assert.deepEqual(await client.closed, {
      code: 1001,
      reason: "Your session hit the maximum duration of 60 minutes.",
    });
    await assert.rejects(second.waitFor("response.create"), /already closed/);
  } finally {
    await server.close();
  }
});

Deno.test("fake realtime: a close it starts keeps its code when the client was still sending", async () => {
  // Deno's server-side WebSocket ends a close it started at the first frame that is not the
  // peer's close frame, and reports code 0 then; the peer still got the code sent. Reproduced
  // here: the client's appends are in flight when the session expires.
  const server = await FakeRealtimeServer.start();
  try {
    const client = await TestClient.open(server.url);
    const session = await server.nextSession();
    await client.waitFor("session.created");
    const append = { type: "input_audio_buffer.append", audio: encodeBase64(audioBytes(0x7f, 20)) };
    for (let i = 0; i < 20; i++) client.send(append);
    const info = await session.close(1001, "Your session hit the maximum duration of 60 minutes.");
    assert.deepEqual(info, {
      code: 1001,
      reason: "Your session hit the maximum duration of 60 minutes.",
      by: "fake",
    });
    assert.equal((await client.closed).code, 1001, "what the client got");
  } finally {
    await server.close();
  }
});

Deno.test("fake realtime: server.close closes open sessions", async () => {
  const server = await FakeRealtimeServer.start();
  const client = await TestClient.open(server.url);
  const session = await server.nextSession();
  const pending = assert.rejects(session.waitFor("response.create", undefined, 5000), /closed/);
  await server.close();
  await pending;
  assert.equal((await client.closed).code, 1001);
  assert.equal(session.isOpen, false);
});

/** The GA events of one audio message item with `deltas` audio deltas and one transcript delta. */
function audioItemTypes(deltas: number): string[] {
  return [
    "response.output_item.added",
    "conversation.item.added",
    "response.content_part.added",
    ...Array(deltas).fill("response.output_audio.delta"),
    "response.output_audio_transcript.delta",
    "response.output_audio.done",
    "response.output_audio_transcript.done",
    "response.content_part.done",
    "response.output_item.done",
    "conversation.item.done",
  ];
}

const FUNCTION_CALL_TYPES = [
  "response.output_item.added",
  "conversation.item.added",
  "response.function_call_arguments.delta",
  "response.function_call_arguments.done",
  "response.output_item.done",
  "conversation.item.done",
];

function assertStrictlyValid(events: AnyEvent[]): void {
  for (const event of events) {
    assert.deepEqual(validateServerEvent(event, { strict: true }), [], event.type);
  }
}

Deno.test("fake realtime: a reasoning model's preamble and answer arrive as two items of one response", async () => {
  await withServer(async (_server, client, session) => {
    await useMulaw(client);
    const from = client.events.length;
    const scripted = session.respond({
      responseId: "resp_multi",
      items: [
        { audioMs: 250, value: 0x31, transcript: "Let me check that." },
        { audioMs: 120, value: 0x32, transcript: "Your order shipped." },
      ],
    });
    assert.equal(await scripted.ended, "completed");
    const done = await client.waitFor("response.done");
    const events = client.events.slice(from);
    assert.deepEqual(events.map((e) => e.type), [
      "response.created",
      ...audioItemTypes(3),
      ...audioItemTypes(2),
      "response.done",
    ]);
    assertStrictlyValid(events);
    const [preamble, answer] = scripted.itemIds;
    // Every per-item event names its own item and output index.
    for (
      const event of events.filter((e) =>
        "output_index" in e && e.type !== "response.output_item.added"
      )
    ) {
      const id = event.item_id ?? event.item?.id;
      assert.equal(event.output_index, id === preamble ? 0 : 1, `${event.type} of ${id}`);
      assert.equal(event.response_id, "resp_multi");
    }
    const deltas = events.filter((e) => e.type === "response.output_audio.delta");
    assert.deepEqual(
      deltas.map((d) => [d.item_id, decodeBase64(d.delta)!.length, decodeBase64(d.delta)![0]]),
      [
        [preamble, 800, 0x31],
        [preamble, 800, 0x31],
        [preamble, 400, 0x31],
        [answer, 800, 0x32],
        [answer, 160, 0x32],
      ],
    );
    // The answer item follows the preamble in the conversation.
    const added = events.filter((e) => e.type === "conversation.item.added");
    assert.equal(added[1].previous_item_id, preamble);
    assert.equal(done.response.status, "completed");
    assert.deepEqual(
      done.response.output.map((i: AnyEvent) => [i.id, i.type, i.status, i.content[0].transcript]),
      [
        [preamble, "message", "completed", "Let me check that."],
        [answer, "message", "completed", "Your order shipped."],
      ],
    );
    assert.equal(session.audioMsSent(preamble), 250);
    assert.equal(session.audioMsSent(answer), 120);
    assert.equal(session.activeResponse, undefined);
  });
});

Deno.test("fake realtime: one response returns two function calls", async () => {
  await withServer(async (_server, client, session) => {
    await useMulaw(client);
    const from = client.events.length;
    const scripted = session.respond({
      items: [
        { functionCall: { name: "lookup_order", arguments: { order_id: "42" }, callId: "call_a" } },
        { functionCall: { name: "check_stock", arguments: '{"sku":"X1"}' } },
      ],
    });
    const done = await client.waitFor("response.done");
    const events = client.events.slice(from);
    assert.deepEqual(events.map((e) => e.type), [
      "response.created",
      ...FUNCTION_CALL_TYPES,
      ...FUNCTION_CALL_TYPES,
      "response.done",
    ]);
    assertStrictlyValid(events);
    const args = events.filter((e) => e.type === "response.function_call_arguments.done");
    assert.deepEqual(args.map((e) => [e.output_index, e.call_id, e.name, e.arguments]), [
      [0, "call_a", "lookup_order", '{"order_id":"42"}'],
      [1, scripted.items[1].callId, "check_stock", '{"sku":"X1"}'],
    ]);
    assert.match(scripted.items[1].callId!, /^call_/);
    assert.deepEqual(
      done.response.output.map((i: AnyEvent) => [i.type, i.status, i.call_id, i.arguments]),
      [
        ["function_call", "completed", "call_a", '{"order_id":"42"}'],
        ["function_call", "completed", scripted.items[1].callId, '{"sku":"X1"}'],
      ],
    );
    assert.equal(done.response.usage.output_token_details.text_tokens, 40);
  });
});

Deno.test("fake realtime: barge-in inside the second item stops the response; the item is truncated on its own audio", async () => {
  await withServer(async (_server, client, session) => {
    await useMulaw(client);
    const scripted = session.respond({
      pace: "manual",
      items: [
        { audioMs: 200, value: 0x41, transcript: "One moment." },
        { audioMs: 400, value: 0x42, transcript: "Here is the answer." },
        { functionCall: { name: "end_call", arguments: {} } },
      ],
    });
    const [first, second, third] = scripted.itemIds;
    // created, first item (open, 2 deltas, close), second item open + 2 deltas.
    for (let i = 0; i < 7; i++) assert.ok(scripted.step());
    await client.waitFor(
      "response.output_audio.delta",
      () => client.events.filter((e) => e.item_id === second && e.delta).length === 2,
    );
    assert.equal(session.audioMsSent(second), 200);
    const from = client.events.length;
    session.speechStarted();
    const done = await client.waitFor("response.done");
    assert.deepEqual(client.events.slice(from).map((e) => e.type), [
      "input_audio_buffer.speech_started",
      "response.output_audio.done",
      "response.output_audio_transcript.done",
      "response.content_part.done",
      "response.output_item.done",
      "conversation.item.done",
      "response.done",
    ]);
    assert.equal(await scripted.ended, "cancelled");
    assert.equal(scripted.step(), false, "the rest of the response is not produced");
    assert.deepEqual(done.response.status_details, {
      type: "cancelled",
      reason: "turn_detected",
      error: null,
    });
    assert.deepEqual(done.response.output.map((i: AnyEvent) => [i.id, i.status]), [
      [first, "completed"],
      [second, "incomplete"],
    ]);
    assert.ok(!client.events.some((e) => e.item_id === third || e.item?.id === third));

    // The client truncates the item being heard, at its own heard ms: past its audio is refused.
    client.truncate(second, 201, "t_past");
    const refused = await client.waitFor("error", (e) => e.error.event_id === "t_past");
    assert.equal(refused.error.message, "Audio content of 200ms is already shorter than 201ms");
    client.truncate(second, 150);
    const truncated = await client.waitFor("conversation.item.truncated");
    assert.deepEqual([truncated.item_id, truncated.audio_end_ms], [second, 150]);
    // The first item's audio is its own: 200 ms, not the response's 400.
    client.truncate(first, 250, "t_first");
    const first250 = await client.waitFor("error", (e) => e.error.event_id === "t_first");
    assert.equal(first250.error.param, "audio_end_ms");
    assert.deepEqual(session.rejectedTruncates.map((r) => [r.event.item_id, r.sentMs]), [
      [second, 200],
      [first, 200],
    ]);
    assertStrictlyValid(client.events.filter((e) => e.type !== "session.updated"));
  });
});

Deno.test("fake realtime: a truncate or response.cancel from the client stops a scripted response", async () => {
  await withServer(async (_server, client, session) => {
    await useMulaw(client);
    // A truncate of the item being streamed: the response ends, cancelled by the client.
    const a = session.respond({
      pace: "manual",
      items: [{ audioMs: 300, value: 0x51 }, { audioMs: 300, value: 0x52 }],
    });
    for (let i = 0; i < 3; i++) a.step(); // created, opened, one delta
    client.truncate(a.itemIds[0], 40);
    const doneA = await client.waitFor("response.done", (e) => e.response.id === a.response.id);
    const truncatedAt = client.events.findIndex((e) => e.type === "conversation.item.truncated");
    assert.ok(truncatedAt >= 0 && truncatedAt < client.events.indexOf(doneA));
    assert.equal(doneA.response.status_details.reason, "client_cancelled");
    assert.deepEqual(doneA.response.output.map((i: AnyEvent) => i.status), ["incomplete"]);
    assert.equal(await a.ended, "cancelled");

    // response.cancel while a paced response streams (one delta per 20 ms).
    const b = session.respond({ pace: 20, items: [{ audioMs: 2000, value: 0x53 }] });
    await client.waitFor("response.output_audio.delta", (e) => e.response_id === b.response.id);
    client.send({ type: "response.cancel" });
    const doneB = await client.waitFor("response.done", (e) => e.response.id === b.response.id);
    assert.equal(doneB.response.status, "cancelled");
    assert.equal(doneB.response.status_details.reason, "client_cancelled");
    assert.equal(await b.ended, "cancelled");
    const sent = session.audioMsSent(b.itemIds[0]);
    assert.ok(sent > 0 && sent < 2000, `sent ${sent} ms before the cancel`);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(session.audioMsSent(b.itemIds[0]), sent, "nothing more after the cancel");
    assertStrictlyValid(client.events.filter((e) => e.type !== "session.updated"));
  });
});

Deno.test("fake realtime: a paced response still streaming when the socket closes leaves no timer", async () => {
  const server = await FakeRealtimeServer.start();
  const client = await TestClient.open(server.url);
  try {
    const session = await server.nextSession();
    const scripted = session.respond({ pace: 50, items: [{ audioMs: 5000 }] });
    await client.waitFor("response.output_audio.delta");
    await client.close();
    assert.equal(await scripted.ended, "in_progress");
    assert.ok(scripted.finished);
  } finally {
    await client.close();
    await server.close();
  }
});
