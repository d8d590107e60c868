import assert from "node:assert/strict";
import {
  type Attributes,
  type AttributeValue,
  type Context,
  type Span,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  trace,
  type Tracer,
} from "@opentelemetry/api";
import { parseConfig } from "../src/config/mod.ts";
import { Operations } from "../src/observability/operations.ts";
import { CALL_SPAN, TURN_SPAN } from "../src/observability/call_tracing.ts";
import { BridgeHarness, sleep, TEST_API_KEY } from "./support/bridge_harness.ts";
import { audioBytes } from "./support/fake_realtime.ts";

/** A span that records what is done to it. */
class RecordedSpan implements Span {
  readonly attributes: Attributes = {};
  readonly events: { name: string; attributes: Attributes | undefined }[] = [];
  status: SpanStatus | undefined;
  endTime: number | undefined;
  readonly #context: SpanContext;

  constructor(
    readonly name: string,
    readonly startTime: number | undefined,
    readonly parent: RecordedSpan | undefined,
    id: number,
  ) {
    this.#context = {
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: id.toString(16).padStart(16, "0"),
      traceFlags: 1,
    };
  }
  spanContext(): SpanContext {
    return this.#context;
  }
  setAttribute(key: string, value: AttributeValue): this {
    this.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: Attributes): this {
    Object.assign(this.attributes, attributes);
    return this;
  }
  addEvent(name: string, attributes?: Attributes): this {
    this.events.push({ name, attributes });
    return this;
  }
  addLink(): this {
    return this;
  }
  addLinks(): this {
    return this;
  }
  setStatus(status: SpanStatus): this {
    this.status = status;
    return this;
  }
  updateName(): this {
    return this;
  }
  end(endTime?: number): void {
    assert.equal(this.endTime, undefined, `span ${this.name} ended twice`);
    this.endTime = typeof endTime === "number" ? endTime : Date.now();
  }
  isRecording(): boolean {
    return this.endTime === undefined;
  }
  recordException(): void {}
}

/** A tracer that keeps every span it starts. */
class RecordingTracer implements Tracer {
  readonly spans: RecordedSpan[] = [];
  startSpan(name: string, options?: SpanOptions, context?: Context): Span {
    const parent = context === undefined ? undefined : trace.getSpan(context);
    const span = new RecordedSpan(
      name,
      typeof options?.startTime === "number" ? options.startTime : undefined,
      parent instanceof RecordedSpan ? parent : undefined,
      this.spans.length + 1,
    );
    if (options?.attributes) span.setAttributes(options.attributes);
    this.spans.push(span);
    return span;
  }
  startActiveSpan(): never {
    throw new Error("not used by the bridge");
  }
}

Deno.test("a call produces one bridge_call span with one bridge_assistant_turn child per response", async () => {
  const tracer = new RecordingTracer();
  const config = parseConfig({ OPENAI_API_KEY: TEST_API_KEY });
  await using ops = await Operations.create({ config, store: null, tracer });
  // The test scripts the server's own answers and barge-in (server VAD interrupts and answers):
  // the behaviour with INTERRUPTION_RESUME=false.
  await using h = await BridgeHarness.start({ INTERRUPTION_RESUME: "false" }, {
    app: ops.appOptions(),
  });
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  const r1 = session.beginResponse();
  r1.audio(audioBytes(0x21, 100));
  r1.finish();
  await call.waitFor(() => call.receivedAudioBytes(0x21) === 800);
  session.speechStarted();
  session.speechStopped();
  await sleep(50);
  const r2 = session.beginResponse();
  r2.audio(audioBytes(0x22, 100));
  r2.finish();
  await call.waitFor(() => call.receivedAudioBytes(0x22) === 800);
  await sleep(20);
  await call.hangUp();
  await h.waitForFinished(1);

  const calls = tracer.spans.filter((s) => s.name === CALL_SPAN);
  const turns = tracer.spans.filter((s) => s.name === TURN_SPAN);
  assert.equal(calls.length, 1);
  assert.equal(turns.length, 2);
  const [callSpan] = calls;
  assert.ok(callSpan.endTime !== undefined, "the call span ended");
  assert.equal(callSpan.attributes["call.sid"], call.callSid);
  assert.equal(callSpan.attributes["call.outcome"], "caller_hung_up");
  assert.equal(callSpan.attributes["call.responses"], 2);
  assert.equal(callSpan.status, undefined, "a normal call is not an error");
  for (const [i, turn] of turns.entries()) {
    assert.equal(turn.parent, callSpan, "turns are children of the call span");
    assert.ok(turn.endTime !== undefined && turn.startTime !== undefined);
    assert.ok(turn.endTime >= turn.startTime);
    assert.equal(turn.attributes["response.id"], [r1, r2][i].id);
    assert.equal(turn.attributes["response.status"], "completed");
    assert.equal(typeof turn.attributes["turn.first_audio_ms"], "number");
    assert.ok((turn.attributes["tokens.output_audio"] as number) > 0);
  }
  const latency = turns[1].attributes["turn.latency_ms"] as number;
  assert.ok(latency >= 40 && latency < 1000, `latency ${latency} ms`);
  assert.equal(turns[0].attributes["turn.latency_ms"], undefined, "no caller speech before it");
});

Deno.test("a failed call marks its span as an error and ends unfinished turns", async () => {
  const tracer = new RecordingTracer();
  const config = parseConfig({ OPENAI_API_KEY: TEST_API_KEY });
  await using ops = await Operations.create({ config, store: null, tracer });
  await using h = await BridgeHarness.start({ REALTIME_RECONNECT_SECONDS: "0" }, {
    app: ops.appOptions(),
  });
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  const r1 = session.beginResponse();
  r1.audio(audioBytes(0x21, 40));
  await call.waitFor(() => call.receivedAudioBytes(0x21) === 320);
  await session.close(1011, "server error");
  await call.closed;
  await h.waitForFinished(1);
  const [callSpan] = tracer.spans.filter((s) => s.name === CALL_SPAN);
  assert.equal(callSpan.attributes["call.outcome"], "openai_error");
  assert.equal(callSpan.status?.code, 2, "SpanStatusCode.ERROR");
  const [turn] = tracer.spans.filter((s) => s.name === TURN_SPAN);
  assert.ok(turn.endTime !== undefined, "the open turn was ended with the call");
  assert.equal(turn.attributes["response.status"], "unfinished");
});
