import assert from "node:assert/strict";
import { RawWebSocket } from "../src/fake_peers/raw_ws_client.ts";
import { BridgeHarness, sleep } from "./support/bridge_harness.ts";
import { CoreDriver } from "./support/core_driver.ts";
import { connected, start as twilioStart } from "./support/twilio_stream_messages.ts";
import { encodeBase64 } from "../src/audio/base64.ts";
import { twilioMedia, type TwilioSid } from "../src/twilio/media_stream_messages.ts";

const LIMIT = 64 * 1024;
const STREAM_SID = "MZ00000000000000000000000000000001" as TwilioSid;
const CALL_SID = "CA00000000000000000000000000000001";

/** A WebSocket server that completes the handshake and then never reads (a stalled peer). */
class StalledServer implements AsyncDisposable {
  #listener: Deno.TcpListener;
  #conns: Deno.Conn[] = [];
  #accepting: Promise<void>;

  constructor() {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept();
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}/v1/realtime`;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.#conns.push(conn);
        const buf = new Uint8Array(8192);
        const n = await conn.read(buf);
        const head = new TextDecoder().decode(buf.subarray(0, n ?? 0));
        const key = head.match(/sec-websocket-key:\s*(\S+)/i)?.[1] ?? "";
        const digest = await crypto.subtle.digest(
          "SHA-1",
          new TextEncoder().encode(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
        );
        const accept = btoa(String.fromCharCode(...new Uint8Array(digest)));
        await conn.write(new TextEncoder().encode(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: realtime\r\n\r\n`,
        ));
        // From here on, never read.
      }
    } catch {
      // Listener closed.
    }
  }

  #closed = false;

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    this.#listener.close();
    await this.#accepting;
  }
}

Deno.test("a Twilio peer that stops reading ends the call with bounded buffering", async () => {
  await using h = await BridgeHarness.start({}, { app: { maxBufferedBytes: LIMIT } });
  const twilio = await RawWebSocket.connect(h.mediaStreamUrl, { read: false });
  try {
    twilio.send(JSON.stringify(connected()));
    twilio.send(JSON.stringify(twilioStart({
      sequenceNumber: 1,
      streamSid: STREAM_SID,
      callSid: CALL_SID,
      accountSid: "AC00000000000000000000000000000001",
      customParameters: {},
    })));
    const session = await h.realtime.nextSession();
    await session.waitFor("session.update");
    const response = session.beginResponse();
    // 48 KB of audio per delta: the kernel's socket buffers fill after a few MB, then the
    // bridge's own buffer grows until the bound ends the call.
    const chunk = new Uint8Array(48_000).fill(0x55);
    let sent = 0;
    while (h.finished.length === 0 && sent < 2000) {
      if (!response.audio(chunk)) break;
      sent++;
      if (sent % 4 === 0) await sleep(1);
    }
    const [summary] = await h.waitForFinished(1, 10_000);
    assert.equal(summary.outcome, "bridge_error");
    assert.match(summary.reason, /Twilio media socket stalled/);
    // The bridge stopped forwarding at the first message that took its buffer over the limit:
    // at most one media message (the delta's base64 and its JSON) is buffered beyond it. (Not
    // `framesOut < sent`: when the crossing delta is the last one this loop sent before it
    // yielded, the bridge has forwarded every delta it got, and the two are equal; framesOut
    // also counts the bridge's own media, e.g. the waiting sound.)
    const buffered = Number(summary.reason.match(/\((\d+) bytes buffered\)/)?.[1]);
    const message = JSON.stringify(twilioMedia(STREAM_SID, encodeBase64(chunk))).length;
    assert.ok(buffered > LIMIT && buffered <= LIMIT + message, `${buffered} bytes buffered`);
    // The OpenAI session of the stalled call is closed.
    const start = performance.now();
    while (session.isOpen && performance.now() - start < 3000) await sleep(10);
    assert.equal(session.isOpen, false);
  } finally {
    twilio.abort();
    await sleep(50);
  }
});

Deno.test("an OpenAI peer that stops reading ends the call with an apology", async () => {
  await using stalled = new StalledServer();
  await using h = await BridgeHarness.start({ OPENAI_REALTIME_URL: stalled.url }, {
    // Oversized frames fill the buffers fast; lift the stream guard's frame limits (tested
    // on their own in the security tests) so that backpressure is what ends this call.
    app: {
      maxBufferedBytes: LIMIT,
      streamGuard: { maxMessageBytes: 256 * 1024, maxMessagesPerSecond: 1_000_000 },
    },
  });
  const call = await h.call();
  const bytes = new Uint8Array(48_000).fill(0x7e);
  let sent = 0;
  while (h.finished.length === 0 && call.isOpen && sent < 2000) {
    call.sendMedia(bytes);
    sent++;
    if (sent % 4 === 0) await sleep(1);
  }
  const [summary] = await h.waitForFinished(1, 10_000);
  assert.equal(summary.outcome, "openai_error");
  assert.match(summary.reason, /OpenAI socket stalled/);
  // Twilio's stream is closed so that Twilio plays the apology after <Connect>.
  const start = performance.now();
  while (call.isOpen && performance.now() - start < 3000) await sleep(10);
  assert.equal(call.isOpen, false);
  await stalled[Symbol.asyncDispose]();
  await sleep(50);
});

Deno.test("the core ends the call once for a stalled peer: hang up for Twilio, apology for OpenAI", () => {
  for (
    const [peer, outcome, action] of [
      ["twilio", "bridge_error", "hang_up"],
      ["openai", "openai_error", "close_stream"],
    ] as const
  ) {
    const d = new CoreDriver();
    d.startCall();
    const out = d.peerStalled(peer, 70_000);
    const finish = out.find((c) => c.type === "finish");
    assert.ok(finish?.type === "finish");
    assert.equal(finish.outcome, outcome);
    assert.equal(finish.action, action);
    assert.match(finish.reason, /70000 bytes buffered/);
    assert.deepEqual(d.peerStalled(peer, 90_000), []);
  }
});
