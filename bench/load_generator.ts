/**
 * The load generator: N concurrent fake callers, each sending one tagged
 * 20 ms μ-law frame every 20 ms and timing the echo of each frame.
 *
 * - `bridge` mode plays Twilio against the bridge's `/media-stream`
 *   (`connected`, `start`, `media` frames) and echoes every `mark` once the
 *   audio queued before it has played out, like Twilio does (the shared
 *   play-out model, `src/fake_peers/twilio_playout.ts`).
 * - `direct` mode plays the Realtime client straight against the echo server
 *   (`input_audio_buffer.append` → `response.output_audio.delta`): the floor
 *   the bridge is compared with.
 *
 * Calls are spread evenly over the 20 ms period (call i sends at phase
 * i·20/N ms), like independent phone calls, so that a row measures the relay
 * and not a burst of N frames arriving in the same millisecond.
 *
 * @module
 */
import { readFrameTag, taggedFrame } from "./frame_tag.ts";
import { FRAME_BYTES, FRAME_MS } from "../src/audio/frames.js";
import { RawWebSocket } from "../src/fake_peers/raw_ws_client.ts";
import { TwilioPlayout } from "../src/fake_peers/twilio_playout.ts";

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** `bridge`: Twilio protocol to the bridge; `direct`: Realtime protocol to the echo server. */
  mode: "bridge" | "direct";
  /** WebSocket URL to connect each call to. */
  url: string;
  /** Concurrent calls. */
  calls: number;
  /** Ms of frames sent before measuring (discarded). Default 1000. */
  warmupMs?: number;
  /** Ms of frames measured. Default 4000. */
  measureMs?: number;
  /** Ms to wait for the last echoes after sending stops. Default 1000. */
  drainMs?: number;
  /** Ms allowed for all calls to connect. Default 15000. */
  connectTimeoutMs?: number;
  /** Called right when the measured window starts and ends (sample CPU there). */
  onWindow?: (edge: "start" | "end") => void;
}

/** Percentiles of a sample, in ms. */
export interface Distribution {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** What one load run measured. */
export interface LoadResult {
  mode: "bridge" | "direct";
  calls: number;
  /** Calls whose socket opened. */
  connected: number;
  /** Ms until every call's socket was open. */
  connectMs: number;
  /** Frames sent in the measured window. */
  framesSent: number;
  /** Of those, frames whose echo came back before the drain ended. */
  framesEchoed: number;
  /** `framesSent - framesEchoed`. */
  framesLost: number;
  /** Echoes that did not match a frame sent (corrupted tag or duplicates). */
  unmatchedEchoes: number;
  /** Relay round trip of the measured frames, send to echo. */
  rtt: Distribution;
  /** How late the generator sent frames against their schedule. */
  sendLateness: Distribution;
  /** Marks echoed back to the bridge (bridge mode). */
  marksEchoed: number;
  /** Messages that were neither echoes nor marks (e.g. `clear`, session events). */
  otherMessages: number;
  /** Calls whose socket closed before the end of the run. */
  closedEarly: number;
  /** Measured window in ms (actual). */
  windowMs: number;
}

const RING = 8192;
const MEDIA_KEY = '"payload":"';
const DELTA_KEY = '"delta":"';

/** Percentiles of `samples` (sorted in place). */
export function distribution(samples: Float64Array): Distribution {
  const n = samples.length;
  if (n === 0) return { count: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  samples.sort();
  const at = (q: number) => samples[Math.min(n - 1, Math.floor(q * n))];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += samples[i];
  return {
    count: n,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: samples[n - 1],
    mean: sum / n,
  };
}

/** A growable array of numbers without per-sample allocation. */
class Samples {
  #data = new Float64Array(4096);
  #n = 0;
  push(value: number): void {
    if (this.#n === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#n++] = value;
  }
  view(): Float64Array {
    return this.#data.subarray(0, this.#n);
  }
}

interface Shared {
  measuring: boolean;
  rtt: Samples;
  echoed: number;
  unmatched: number;
  marksEchoed: number;
  other: number;
  closedEarly: number;
  running: boolean;
}

class FakeCall {
  readonly index: number;
  readonly streamSid: string;
  readonly callSid: string;
  socket!: RawWebSocket;
  open = false;
  sentAt = new Float64Array(RING);
  inWindow = new Uint8Array(RING);
  seq = 0;
  twilioSeq = 0;
  /** Twilio's play-out of what the bridge sent (marks only: the audio is not kept). */
  playout = new TwilioPlayout({ keepAudio: false });
  #shared: Shared;
  #mode: "bridge" | "direct";

  constructor(index: number, mode: "bridge" | "direct", shared: Shared) {
    this.index = index;
    this.#mode = mode;
    this.#shared = shared;
    const hex = index.toString(16).padStart(8, "0");
    this.streamSid = `MZbench${hex}000000000000000000000000`.slice(0, 34);
    this.callSid = `CAbench${hex}000000000000000000000000`.slice(0, 34);
  }

  async connect(url: string): Promise<void> {
    const ws = await RawWebSocket.connect(
      url,
      this.#mode === "direct"
        ? { protocols: ["realtime", "openai-insecure-api-key.sk-bench"] }
        : {},
    );
    this.socket = ws;
    this.open = true;
    ws.onclose = () => {
      if (this.open && this.#shared.running) this.#shared.closedEarly++;
      this.open = false;
    };
    ws.onmessage = (text) => this.#onMessage(text);
    if (this.#mode === "bridge") {
      ws.send('{"event":"connected","protocol":"Call","version":"1.0.0"}');
      ws.send(JSON.stringify({
        event: "start",
        sequenceNumber: String(++this.twilioSeq),
        streamSid: this.streamSid,
        start: {
          accountSid: "ACbench0000000000000000000000000000",
          streamSid: this.streamSid,
          callSid: this.callSid,
          tracks: ["inbound"],
          customParameters: {},
          mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
        },
      }));
    }
  }

  sendFrame(now: number): void {
    const seq = this.seq++;
    const slot = seq % RING;
    this.sentAt[slot] = now;
    this.inWindow[slot] = this.#shared.measuring ? 1 : 0;
    const audio = taggedFrame(seq);
    if (this.#mode === "bridge") {
      this.socket.send(
        `{"event":"media","sequenceNumber":"${++this
          .twilioSeq}","media":{"track":"inbound","chunk":"${seq + 1}","timestamp":"${
          seq * FRAME_MS
        }","payload":"${audio}"},"streamSid":"${this.streamSid}"}`,
      );
    } else {
      this.socket.send(`{"type":"input_audio_buffer.append","audio":"${audio}"}`);
    }
  }

  #onMessage(data: string): void {
    const now = performance.now();
    const key = this.#mode === "bridge" ? MEDIA_KEY : DELTA_KEY;
    const at = data.indexOf(key);
    if (at >= 0) {
      const from = at + key.length;
      const seq = readFrameTag(data, from);
      const to = data.indexOf('"', from);
      const bytes = Math.floor((to - from) / 4) * 3 - (data[to - 1] === "=" ? 1 : 0) -
        (data[to - 2] === "=" ? 1 : 0);
      this.playout.media(bytes, now);
      if (seq < 0 || seq >= this.seq || this.seq - seq > RING) {
        this.#shared.unmatched++;
        return;
      }
      const slot = seq % RING;
      if (this.inWindow[slot] === 1) {
        this.inWindow[slot] = 0;
        this.#shared.echoed++;
        this.#shared.rtt.push(now - this.sentAt[slot]);
      }
      return;
    }
    if (this.#mode === "bridge") {
      let msg: { event?: string; mark?: { name?: string } };
      try {
        msg = JSON.parse(data);
      } catch {
        this.#shared.other++;
        return;
      }
      if (msg.event === "mark" && typeof msg.mark?.name === "string") {
        this.playout.mark(msg.mark.name, now);
        return;
      }
      if (msg.event === "clear") {
        for (const echo of this.playout.clear(now)) this.#echoMark(echo.name);
      }
    }
    this.#shared.other++;
  }

  /** Echoes the marks whose audio has played by `now`. */
  echoDueMarks(now: number): void {
    const next = this.playout.nextDueAt();
    if (next === undefined || next > now) return;
    for (const echo of this.playout.due(now)) this.#echoMark(echo.name);
  }

  #echoMark(name: string): void {
    if (!this.open) return;
    this.socket.send(
      `{"event":"mark","sequenceNumber":"${++this
        .twilioSeq}","streamSid":"${this.streamSid}","mark":{"name":${JSON.stringify(name)}}}`,
    );
    this.#shared.marksEchoed++;
  }

  async close(): Promise<void> {
    if (this.socket === undefined || !this.socket.isOpen) return;
    if (this.#mode === "bridge") {
      this.socket.send(
        `{"event":"stop","sequenceNumber":"${++this
          .twilioSeq}","streamSid":"${this.streamSid}","stop":{"accountSid":"ACbench","callSid":"${this.callSid}"}}`,
      );
    }
    await this.socket.close(1000);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs N calls against `url` for warm-up + measured window + drain, and
 * returns what was measured. Every socket is closed before it resolves.
 *
 * @example
 * ```ts ignore
 * import { runLoad } from "./load_generator.ts";
 * const r = await runLoad({ mode: "direct", url: "ws://127.0.0.1:9000/v1/realtime", calls: 5 });
 * console.log(r.rtt.p50, r.framesLost);
 * ```
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const warmupMs = options.warmupMs ?? 1000;
  const measureMs = options.measureMs ?? 4000;
  const drainMs = options.drainMs ?? 1000;
  const shared: Shared = {
    measuring: false,
    rtt: new Samples(),
    echoed: 0,
    unmatched: 0,
    marksEchoed: 0,
    other: 0,
    closedEarly: 0,
    running: true,
  };
  const calls = Array.from(
    { length: options.calls },
    (_, i) => new FakeCall(i, options.mode, shared),
  );
  const connectStart = performance.now();
  // Connect in batches so the listen backlog never overflows.
  for (let i = 0; i < calls.length; i += 50) {
    const batch = calls.slice(i, i + 50).map((c) => c.connect(options.url));
    const timeout = sleep(options.connectTimeoutMs ?? 15_000).then(() => "timeout" as const);
    const outcome = await Promise.race([Promise.allSettled(batch), timeout]);
    if (outcome === "timeout") break;
  }
  const connectMs = performance.now() - connectStart;
  const live = calls.filter((c) => c.open);

  const lateness = new Samples();
  const period = FRAME_MS / Math.max(1, live.length);
  const t0 = performance.now() + 5;
  const measureFrom = t0 + warmupMs;
  const measureTo = measureFrom + measureMs;
  let j = 0;
  let framesSent = 0;
  let windowStart = 0;
  let windowEnd = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (!shared.measuring && windowStart === 0 && now >= measureFrom) {
        shared.measuring = true;
        windowStart = now;
        options.onWindow?.("start");
      }
      if (shared.measuring && now >= measureTo) {
        shared.measuring = false;
        windowEnd = now;
        options.onWindow?.("end");
      }
      if (windowEnd === 0) {
        // Send every frame that is due: frame j belongs to call j % N.
        while (t0 + j * period <= now && live.length > 0) {
          const call = live[j % live.length];
          if (call.open) {
            call.sendFrame(performance.now());
            if (shared.measuring) {
              framesSent++;
              lateness.push(now - (t0 + j * period));
            }
          }
          j++;
        }
      }
      for (const call of live) call.echoDueMarks(now);
      if (windowEnd !== 0 && now >= windowEnd + drainMs) return resolve();
      setTimeout(tick, 1);
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
  shared.running = false;
  await Promise.race([Promise.all(calls.map((c) => c.close())), sleep(5000)]);
  return {
    mode: options.mode,
    calls: options.calls,
    connected: live.length,
    connectMs,
    framesSent,
    framesEchoed: shared.echoed,
    framesLost: framesSent - shared.echoed,
    unmatchedEchoes: shared.unmatched,
    rtt: distribution(shared.rtt.view()),
    sendLateness: distribution(lateness.view()),
    marksEchoed: shared.marksEchoed,
    otherMessages: shared.other,
    closedEarly: shared.closedEarly,
    windowMs: windowEnd - windowStart,
  };
}

/** Frame size re-exported for callers that build their own frames. */
export { FRAME_BYTES };
