/**
 * The bridge's own cost per frame without the machine's noise
 * (`deno task bench:micro`): 200 calls of the real `CallRunner` (guard,
 * parser, core, metrics observer, encoders) on in-process sockets, against
 * the floor's two handlers (`bench/floor_relay.ts`: parse and forward) on the
 * same sockets, one frame each way per iteration. The sockets are
 * `EventTarget`s that deliver `MessageEvent`s and count sends; Twilio's
 * echoes the bridge's marks at once, so the held audio drains as in a call.
 * `deno task bench --floor` measures the same difference over real sockets
 * and other processes; this one has neither, but the garbage collector still
 * moves single runs (six runs on 7 Dec: the bridge 7.4–23.8 µs, the floor
 * 2.9–4.8 µs a frame each way), so compare several.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { CallRunner } from "../src/bridge/call_runner.ts";
import { BridgeMetrics } from "../src/observability/bridge_metrics.ts";
import { DEFAULT_PRICES } from "../src/calls/prices.ts";
import { taggedFrame } from "./frame_tag.ts";
import { relayFloor } from "./floor_relay.ts";
import { openaiDeltaText, STREAM_SID, TWILIO_START, twilioMediaText } from "./hot_path_fixtures.ts";

const CALLS = 200;
const OPEN = 1;
const TWILIO_MEDIA = twilioMediaText(taggedFrame(42));
const OPENAI_DELTA = openaiDeltaText(taggedFrame(42));

/** A socket in memory: the peer's messages are dispatched to it; what it sends is counted. */
class MemorySocket extends EventTarget {
  readyState = OPEN;
  bufferedAmount = 0;
  sent = 0;
  /** Called with each message sent (Twilio's echoes its marks). */
  onSend: ((data: string) => void) | undefined;
  send(data: string): void {
    this.sent++;
    this.onSend?.(data);
  }
  close(): void {
    this.readyState = 3;
  }
  receive(data: string): void {
    this.dispatchEvent(new MessageEvent("message", { data }));
  }
}

interface Call {
  twilio: MemorySocket;
  openai: MemorySocket;
}

function bridgeCalls(): Call[] {
  const metrics = new BridgeMetrics({ prices: DEFAULT_PRICES });
  return Array.from({ length: CALLS }, () => {
    const twilio = new MemorySocket();
    let openai: MemorySocket | undefined;
    new CallRunner(twilio as unknown as WebSocket, {
      core: { sessionUpdate: { type: "session.update", session: { type: "realtime" } } },
      openaiUrl: "ws://127.0.0.1:9/v1/realtime",
      openaiApiKey: "sk-bench",
      logger: getLogger(["bench"]),
      openSocket: () => (openai = new MemorySocket()) as unknown as WebSocket,
      observer: metrics.observeCall(0),
    });
    if (openai === undefined) throw new Error("the runner opened no OpenAI socket");
    openai.dispatchEvent(new Event("open"));
    twilio.receive(TWILIO_START);
    twilio.onSend = (data) => {
      if (data.startsWith('{"event":"mark"')) {
        const name = JSON.parse(data).mark.name;
        queueMicrotask(() =>
          twilio.receive(JSON.stringify({ event: "mark", streamSid: STREAM_SID, mark: { name } }))
        );
      }
    };
    return { twilio, openai };
  });
}

/** The floor's handlers (bench/floor_relay.ts) on the same sockets. */
function floorCalls(): Call[] {
  return Array.from({ length: CALLS }, () => {
    const twilio = new MemorySocket();
    const openai = new MemorySocket();
    relayFloor(twilio as unknown as WebSocket, openai as unknown as WebSocket);
    twilio.receive(TWILIO_START);
    return { twilio, openai };
  });
}

for (const [name, calls] of [["floor", floorCalls()], ["bridge", bridgeCalls()]] as const) {
  let next = 0;
  Deno.bench(`${name}: one frame each way, ${CALLS} calls in turn`, {
    group: "runner",
    baseline: name === "floor",
  }, async () => {
    const call = calls[next++ % CALLS];
    call.twilio.receive(TWILIO_MEDIA);
    call.openai.receive(OPENAI_DELTA);
    if (next % 1000 === 0) await Promise.resolve(); // let the marks' echoes in
  });
}
