import assert from "node:assert/strict";
import { FakeTwilioCall, type TwilioMessage, twilioSignature } from "./support/fake_twilio.ts";
import { decodeBase64, encodeBase64 } from "../src/audio/base64.ts";
import { delay, Waiters } from "./support/wait.ts";

/** A tiny stand-in for the bridge: accepts one media-stream WebSocket and records messages. */
class TestBridge {
  readonly received: TwilioMessage[] = [];
  readonly url: string;
  upgradeHeaders: Headers | undefined;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #socket: WebSocket | undefined;
  #closed: Promise<void> | undefined;
  #waiters = new Waiters<TwilioMessage>();

  constructor() {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      if (new URL(req.url).pathname !== "/media-stream") return new Response(null, { status: 404 });
      this.upgradeHeaders = new Headers(req.headers);
      const { socket, response } = Deno.upgradeWebSocket(req);
      this.#socket = socket;
      this.#closed = new Promise((resolve) => socket.addEventListener("close", () => resolve()));
      socket.addEventListener("message", (e) => {
        const message = JSON.parse(e.data);
        message.receivedAt = performance.now();
        this.received.push(message);
        this.#waiters.notify(message);
      });
      return response;
    });
    this.url = `ws://127.0.0.1:${this.#server.addr.port}/media-stream`;
  }

  send(message: unknown): void {
    this.#socket!.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  waitFor(predicate: (m: TwilioMessage) => boolean, timeoutMs = 2000): Promise<TwilioMessage> {
    return this.#waiters.wait(this.received, predicate, timeoutMs, () => "bridge wait timed out");
  }

  async close(): Promise<void> {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.close();
    await this.#closed;
    await this.#server.shutdown();
  }
}

async function withCall(
  fn: (bridge: TestBridge, call: FakeTwilioCall) => Promise<void>,
  options: {
    customParameters?: Record<string, string>;
    sendStart?: boolean;
    headers?: HeadersInit;
  } = {},
): Promise<void> {
  const bridge = new TestBridge();
  let call: FakeTwilioCall | undefined;
  try {
    call = await FakeTwilioCall.connect({ url: bridge.url, ...options });
    await fn(bridge, call);
  } finally {
    await call?.close();
    await bridge.close();
  }
}

function audio(value: number, ms: number): string {
  return encodeBase64(new Uint8Array(ms * 8).fill(value));
}

Deno.test("fake twilio: connected and start arrive in Twilio's shape", async () => {
  await withCall(async (bridge, call) => {
    const start = await bridge.waitFor((m) => m.event === "start");
    assert.deepEqual(bridge.received[0], {
      event: "connected",
      protocol: "Call",
      version: "1.0.0",
      receivedAt: bridge.received[0].receivedAt,
    });
    assert.match(call.callSid, /^CA[0-9a-f]{32}$/);
    assert.match(call.streamSid, /^MZ[0-9a-f]{32}$/);
    assert.match(call.accountSid, /^AC[0-9a-f]{32}$/);
    delete start.receivedAt;
    assert.deepEqual(start, {
      event: "start",
      sequenceNumber: "1",
      streamSid: call.streamSid,
      start: {
        accountSid: call.accountSid,
        streamSid: call.streamSid,
        callSid: call.callSid,
        tracks: ["inbound"],
        customParameters: { tenant: "acme" },
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
      },
    });

    call.sendFrames(3, 0x42);
    call.sendDtmf("7");
    const dtmf = await bridge.waitFor((m) => m.event === "dtmf");
    const media = bridge.received.filter((m) => m.event === "media");
    assert.deepEqual(media.map((m) => m.sequenceNumber), ["2", "3", "4"]);
    assert.deepEqual(media.map((m) => m.media.chunk), ["1", "2", "3"]);
    assert.ok(media.every((m) => m.media.track === "inbound" && m.streamSid === call.streamSid));
    assert.ok(media.every((m) => /^\d+$/.test(m.media.timestamp)));
    const payload = decodeBase64(media[0].media.payload)!;
    assert.equal(media[0].media.payload.length, 216);
    assert.equal(payload.length, 160);
    assert.ok(payload.every((b) => b === 0x42));
    assert.deepEqual(dtmf.dtmf, { track: "inbound_track", digit: "7" });
    assert.equal(dtmf.sequenceNumber, "5");

    call.sendStop();
    const stop = await bridge.waitFor((m) => m.event === "stop");
    assert.deepEqual(stop.stop, { accountSid: call.accountSid, callSid: call.callSid });
  }, { customParameters: { tenant: "acme" } });
});

Deno.test("fake twilio: speak() sends frames in real time", async () => {
  await withCall(async (bridge, call) => {
    const t0 = performance.now();
    await call.speak(200, 0x33);
    const elapsed = performance.now() - t0;
    await bridge.waitFor((m) => m.event === "media" && m.media.chunk === "10");
    assert.equal(bridge.received.filter((m) => m.event === "media").length, 10);
    assert.ok(elapsed >= 175 && elapsed < 320, `10 frames took ${elapsed} ms`);
    const timestamps = bridge.received.filter((m) => m.event === "media").map((m) =>
      Number(m.media.timestamp)
    );
    assert.ok(timestamps[9] - timestamps[0] >= 170, `timestamps ${timestamps}`);
  });
});

Deno.test("fake twilio: marks are echoed when the audio before them has played", async () => {
  await withCall(async (bridge, call) => {
    await bridge.waitFor((m) => m.event === "start");
    const t0 = performance.now();
    bridge.send({
      event: "media",
      streamSid: call.streamSid,
      media: { payload: audio(0x11, 400) },
    });
    bridge.send({ event: "mark", streamSid: call.streamSid, mark: { name: "m1" } });
    await delay(100);
    const now = performance.now();
    const early = call.playedMs(0x11, now);
    // Playing since the chunk reached the fake, a little after t0 (timers may run late under load).
    assert.ok(early <= now - t0 && early > now - t0 - 40, `played ${early} ms of ${now - t0} ms`);
    assert.deepEqual(call.pendingMarks(), ["m1"]);
    const echo = await bridge.waitFor((m) => m.event === "mark");
    const elapsed = echo.receivedAt - t0;
    assert.ok(elapsed >= 380 && elapsed <= 480, `mark echoed after ${elapsed} ms`);
    assert.equal(echo.mark.name, "m1");
    assert.equal(echo.streamSid, call.streamSid);
    assert.equal(echo.sequenceNumber, "2");
    assert.equal(call.playedMs(0x11), 400);
    assert.equal(call.playedMs(), 400);
    assert.equal(call.playedMs(0x22), 0);
    assert.equal(call.marksEchoed.length, 1);
    assert.equal(call.marksEchoed[0].cleared, false);
    assert.equal(call.receivedAudioBytes(0x11), 3200);

    // Idle queue: a mark alone is echoed at once.
    bridge.send({ event: "mark", streamSid: call.streamSid, mark: { name: "m2" } });
    const m2 = await call.waitForMark("m2");
    assert.ok(m2.at - m2.receivedAt < 5);
    assert.deepEqual(call.protocolErrors, []);
  });
});

Deno.test("fake twilio: audio plays in order across chunks; marks keep their order", async () => {
  await withCall(async (bridge, call) => {
    await bridge.waitFor((m) => m.event === "start");
    for (const [value, name] of [[0x21, "a"], [0x22, "b"], [0x23, "c"]] as const) {
      bridge.send({
        event: "media",
        streamSid: call.streamSid,
        media: { payload: audio(value, 60) },
      });
      bridge.send({ event: "mark", streamSid: call.streamSid, mark: { name } });
    }
    const a = await call.waitForMark("a");
    // Judged at the moment mark "a" became due, not when its timer ran (late under load).
    assert.ok(a.at >= a.dueAt, `a echoed ${a.dueAt - a.at} ms early`);
    assert.ok(Math.abs(call.playedMs(0x21, a.dueAt) - 60) < 0.5);
    assert.ok(call.playedMs(0x22, a.dueAt) < 0.5, `b played ${call.playedMs(0x22, a.dueAt)} ms`);
    assert.equal(call.playedMs(0x23, a.dueAt), 0);
    const c = await call.waitForMark("c");
    assert.deepEqual(call.marksEchoed.map((m) => m.name), ["a", "b", "c"]);
    assert.ok(c.at - c.receivedAt >= 175, `c after ${c.at - c.receivedAt} ms`);
    assert.equal(call.playedMs(), 180);
    assert.equal(call.pendingMs(), 0);
  });
});

Deno.test("fake twilio: clear drops unplayed audio and echoes pending marks at once", async () => {
  await withCall(async (bridge, call) => {
    await bridge.waitFor((m) => m.event === "start");
    bridge.send({
      event: "media",
      streamSid: call.streamSid,
      media: { payload: audio(0x11, 400) },
    });
    bridge.send({ event: "mark", streamSid: call.streamSid, mark: { name: "m1" } });
    bridge.send({
      event: "media",
      streamSid: call.streamSid,
      media: { payload: audio(0x12, 100) },
    });
    bridge.send({ event: "mark", streamSid: call.streamSid, mark: { name: "m2" } });
    await delay(100);
    const clearSentAt = performance.now();
    bridge.send({ event: "clear", streamSid: call.streamSid });
    const first = await bridge.waitFor((m) => m.event === "mark" && m.mark.name === "m1");
    const echo = await bridge.waitFor((m) => m.event === "mark" && m.mark.name === "m2");
    assert.ok(echo.receivedAt - clearSentAt < 50, "echoed at once");
    // Sent in one tick, the two echoes arrive together, as from Twilio: a client socket with
    // Nagle's algorithm on would hold the second until the first is ACKed (Linux: ~40 ms later).
    const gap = echo.receivedAt - first.receivedAt;
    assert.ok(gap < 20, `second echo ${gap.toFixed(1)} ms after the first`);
    assert.deepEqual(call.marksEchoed.map((m) => [m.name, m.cleared]), [["m1", true], [
      "m2",
      true,
    ]]);
    assert.equal(call.clearCount, 1);
    const played = call.playedMs(0x11);
    assert.ok(Math.abs(played - 100) <= 15, `played ${played} ms`);
    assert.equal(call.playedMs(0x12), 0);
    assert.equal(call.pendingMs(), 0);
    await delay(50);
    assert.equal(call.playedMs(0x11), played, "nothing plays after a clear");

    // New audio after a clear starts at once.
    bridge.send({ event: "media", streamSid: call.streamSid, media: { payload: audio(0x13, 40) } });
    bridge.send({ event: "mark", streamSid: call.streamSid, mark: { name: "m3" } });
    const m3 = await call.waitForMark("m3");
    assert.ok(m3.at - m3.receivedAt >= 38 && m3.at - m3.receivedAt < 100);
    assert.equal(call.playedMs(0x13), 40);
    assert.deepEqual(call.protocolErrors, []);
  });
});

Deno.test("fake twilio: outbound protocol violations are recorded", async () => {
  await withCall(async (bridge, call) => {
    await bridge.waitFor((m) => m.event === "start");
    bridge.send({ event: "media", streamSid: "MZwrong", media: { payload: audio(1, 10) } });
    bridge.send({ event: "media", streamSid: call.streamSid, media: { payload: "not base64!" } });
    bridge.send({
      event: "media",
      streamSid: call.streamSid,
      media: { payload: audio(1, 10), track: "outbound" },
    });
    bridge.send({ event: "mark", streamSid: call.streamSid, mark: {} });
    bridge.send({ event: "hello", streamSid: call.streamSid });
    bridge.send("not json");
    bridge.send({ event: "clear", streamSid: call.streamSid });
    await call.waitFor((m) => m.event === "clear");
    assert.deepEqual(call.protocolErrors, [
      `message #0 (media): streamSid "MZwrong" should be "${call.streamSid}"`,
      "message #1 (media): media.payload is not valid base64",
      "message #2 (media): unexpected property media.track",
      "message #3 (mark): mark.name must be a non-empty string",
      "message #4 (hello): unknown event 'hello' (Twilio accepts media, mark, clear)",
      "message #5: not JSON: not json",
    ]);
    assert.equal(call.receivedRaw.length, 7);
    assert.equal(call.received.length, 6);
    assert.equal(call.receivedAudioBytes(), 0, "invalid media is not played");
  });
});

Deno.test("fake twilio: waitFor, sendStart: false and close by the bridge", async () => {
  await withCall(async (bridge, call) => {
    await bridge.waitFor((m) => m.event === "connected");
    await delay(20);
    assert.equal(bridge.received.length, 1, "no start yet");
    bridge.send({ event: "clear", streamSid: call.streamSid });
    await call.waitFor((m) => m.event === "clear");
    assert.match(call.protocolErrors[0], /sent before Twilio sent 'start'/);
    call.sendStart();
    await bridge.waitFor((m) => m.event === "start");

    await assert.rejects(
      call.waitFor((m) => m.event === "media", 30),
      /timed out after 30 ms; received 1 message\(s\): clear/,
    );
    const waiting = assert.rejects(call.waitFor((m) => m.event === "media"), /closed/);
    const speaking = call.speak(1000);
    await bridge.close();
    await waiting;
    await speaking;
    assert.equal((await call.closed).code, 1005);
    assert.equal(call.isOpen, false);
    assert.equal(call.sendFrames(1, 0), 0);
  }, { sendStart: false });
});

Deno.test("fake twilio: connect fails cleanly when the bridge refuses", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("forbidden", { status: 403 }),
  );
  try {
    await assert.rejects(
      FakeTwilioCall.connect({ url: `ws://127.0.0.1:${server.addr.port}/media-stream` }),
      /did not open/,
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("fake twilio: twilioSignature matches Twilio's test vectors; headers are sent", async () => {
  const params = {
    CallSid: "CA1234567890ABCDE",
    Caller: "+12349013030",
    Digits: "1234",
    From: "+12349013030",
    To: "+18005551212",
  };
  const url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  assert.equal(await twilioSignature("12345", url, params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  const older = { ...params, Caller: "+14158675309", From: "+14158675309" };
  assert.equal(await twilioSignature("12345", url, older), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
  const signature = await twilioSignature("12345", "wss://example.com/media-stream");
  assert.equal(signature, "XFfwGS2Ev7f9qAP9MmRoMS7C724=");

  await withCall(async (bridge) => {
    await bridge.waitFor((m) => m.event === "start");
    assert.equal(bridge.upgradeHeaders?.get("x-twilio-signature"), signature);
  }, { headers: { "X-Twilio-Signature": signature } });
});
