/**
 * The GPT-Live adapter (`src/bridge/live_engine.ts`) on its own and in front
 * of the call core: what GPT-Live receives for the core's commands, and what
 * the core hears (and sends Twilio) for GPT-Live's events.
 */
import assert from "node:assert/strict";
import { LIVE_PHASE_MOVES, LiveEngine } from "../src/bridge/live_engine.ts";
import { QUIET_END_MS, REPLY_MOVES } from "../src/bridge/live_replies.ts";
import type { ServerEvent } from "../src/openai/server_events.ts";
import type { CallCommand } from "../src/core/call_types.ts";
import { audioB64, CoreDriver } from "./support/core_driver.ts";
import { buildSessionUpdate } from "../src/openai/session_config.ts";
import { defaultModel, engineProblems } from "../src/agents/engine_rules.ts";
import { environmentProfile } from "../src/agents/agent_profile.ts";
import { profileSocketUrl } from "../src/agents/profile_session.ts";
import { parseConfig } from "../src/config/mod.ts";
import { parseAgentsFile } from "../src/agents/agents_file.ts";

const UPDATE = buildSessionUpdate({
  openaiModel: "gpt-live-1",
  voice: "cedar",
  systemMessage: "Be brief.",
  turnDetection: { type: "semantic_vad", eagerness: "auto", interruptResponse: true },
  noiseReduction: undefined,
  transcriptionModel: undefined,
  reasoningEffort: "low",
});

function started(engine: LiveEngine) {
  engine.fromCore(UPDATE);
  return engine.fromEngine({ type: "session.started", sessionId: "live_1", expiresAt: 1 });
}

/** Feeds the adapter's core events to the driver; returns the commands, in order. */
function toCore(driver: CoreDriver, events: ServerEvent[]): CallCommand[] {
  return events.flatMap((event) => driver.input({ type: "openai_event", event }));
}

Deno.test("session.start carries only the contract's fields: model, instructions, voice, pcmu/8000, Responses delegation", () => {
  const engine = new LiveEngine({ generation: 1, backendModel: "gpt-5-mini" });
  const { send } = engine.fromCore(UPDATE);
  assert.equal(send.length, 1);
  const start = send[0];
  assert.equal(start.type, "session.start");
  if (start.type !== "session.start") return;
  assert.deepEqual(Object.keys(start.session).sort(), [
    "audio",
    "delegation",
    "instructions",
    "model",
  ]);
  assert.deepEqual(start.session.audio, {
    format: { type: "audio/pcmu", rate: 8000 },
    output: { voice: "cedar" },
  });
  assert.deepEqual(start.session.delegation, {
    type: "responses",
    responses: {
      model: "gpt-5-mini",
      tools: [{
        type: "function",
        name: "end_call",
        description: UPDATE.session.tools[0].description,
        parameters: UPDATE.session.tools[0].parameters,
      }],
      reasoning: { effort: "low" },
    },
  });
  assert.equal(engine.phase, "starting");
});

Deno.test("nothing but session.start before session.started; then the queue in order, truncates dropped", () => {
  const engine = new LiveEngine({ generation: 1, backendModel: "m" });
  engine.fromCore(UPDATE);
  assert.deepEqual(
    engine.fromCore({ type: "input_audio_buffer.append", audio: audioB64(0.125, 0) }).send,
    [],
  );
  assert.deepEqual(
    engine.fromCore({ type: "response.create", response: { instructions: "Greet." } }).send,
    [],
  );
  const step = engine.fromEngine({ type: "session.started", sessionId: "live_1", expiresAt: 9 });
  assert.deepEqual(step.started, { sessionId: "live_1", expiresAt: 9 });
  assert.deepEqual(step.send, [
    { type: "session.input_audio.append", audio: "AA==" },
    { type: "session.commentary.append", delegation_id: null, content: "Greet." },
  ]);
  assert.deepEqual(
    engine.fromCore({
      type: "conversation.item.truncate",
      item_id: "x",
      content_index: 0,
      audio_end_ms: 5,
    }).send,
    [],
    "GPT-Live has no client truncate",
  );
});

Deno.test("a reply starts on the first audible delta and ends after the quiet; the silent track between replies is dropped", () => {
  const engine = new LiveEngine({ generation: 1, backendModel: "m" });
  started(engine);
  assert.deepEqual(
    engine.fromEngine({ type: "session.output_audio.delta", delta: audioB64(100, 0xff) }).events,
    [],
  );
  engine.fromEngine({ type: "session.output_transcript.delta", delta: "Hi there." });
  const first = engine.fromEngine({
    type: "session.output_audio.delta",
    delta: audioB64(100, 0x21),
  });
  assert.deepEqual(first.events.map((e) => e.type), [
    "response.created",
    "response.output_audio.delta",
  ]);
  const types: string[] = [];
  for (let ms = 0; ms < QUIET_END_MS; ms += 100) {
    types.push(
      ...engine.fromEngine({ type: "session.output_audio.delta", delta: audioB64(100, 0xff) })
        .events.map((e) => e.type),
    );
  }
  assert.deepEqual(types.slice(-4), [
    "response.output_audio.delta",
    "response.output_audio.done",
    "response.output_audio_transcript.done",
    "response.done",
  ]);
  assert.equal(engine.reply, "quiet");
});

Deno.test("the model yields to the caller: the core clears Twilio on the very delta that goes quiet", () => {
  const engine = new LiveEngine({ generation: 1, backendModel: "m" });
  const driver = new CoreDriver({ interruptResponse: true, markIntervalMs: 100 });
  driver.startCall();
  started(engine);
  toCore(
    driver,
    engine.fromEngine({ type: "session.output_audio.delta", delta: audioB64(100, 0x21) }).events,
  );
  for (let i = 0; i < 9; i++) {
    toCore(
      driver,
      engine.fromEngine({ type: "session.output_audio.delta", delta: audioB64(100, 0x21) }).events,
    );
  }
  driver.advance(300); // the caller has heard 300 ms
  // The caller's words over the reply: no barge-in yet (it may be a backchannel).
  const words = engine.fromEngine({
    type: "session.input_transcript.delta",
    delta: "wait",
    startMs: 0,
    endMs: 300,
  });
  assert.deepEqual(toCore(driver, words.events).filter((c) => c.type === "to_twilio"), []);
  // The model goes quiet: the same step clears Twilio.
  const quiet = engine.fromEngine({
    type: "session.output_audio.delta",
    delta: audioB64(100, 0xff),
  });
  assert.deepEqual(quiet.events.map((e) => e.type), [
    "input_audio_buffer.speech_started",
    "response.output_audio.done",
    "response.done",
  ]);
  const commands = toCore(driver, quiet.events);
  const clear = commands.findIndex((c) => c.type === "to_twilio" && c.message.event === "clear");
  assert.ok(clear >= 0, "Twilio's held audio is cleared");
  assert.equal(
    driver.core.conversation.entries.find((e) => e.kind === "assistant")?.kind,
    "assistant",
  );
  const heard = driver.core.conversation.entries.find((e) => e.kind === "assistant");
  assert.ok(heard?.kind === "assistant" && heard.heardMs === 300, `heard ${JSON.stringify(heard)}`);
  // What the core would send as a truncate never reaches GPT-Live.
  for (const c of commands) {
    if (c.type === "to_openai") assert.deepEqual(engine.fromCore(c.event).send, []);
  }
});

Deno.test("an empty or whitespace caller transcript over the reply is no words: no barge-in, the reply ends completed; the turn keeps its length", () => {
  const engine = new LiveEngine({ generation: 1, backendModel: "m" });
  const driver = new CoreDriver({ interruptResponse: true, markIntervalMs: 100 });
  driver.startCall();
  started(engine);
  for (let i = 0; i < 10; i++) {
    toCore(
      driver,
      engine.fromEngine({ type: "session.output_audio.delta", delta: audioB64(100, 0x21) }).events,
    );
  }
  driver.advance(300);
  for (const delta of ["", " ", "\n "]) {
    const noWords = engine.fromEngine({
      type: "session.input_transcript.delta",
      delta,
      startMs: 0,
      endMs: 400,
    });
    assert.deepEqual(noWords.events, [], `${JSON.stringify(delta)} is not words`);
  }
  // The model goes quiet on its own: the reply ends completed after the quiet, never cancelled.
  const types: string[] = [];
  const commands: CallCommand[] = [];
  for (let ms = 0; ms < QUIET_END_MS; ms += 100) {
    const step = engine.fromEngine({
      type: "session.output_audio.delta",
      delta: audioB64(100, 0xff),
    });
    types.push(...step.events.map((e) => e.type));
    commands.push(...toCore(driver, step.events));
  }
  assert.ok(!types.includes("input_audio_buffer.speech_started"), types.join(", "));
  const done = types.lastIndexOf("response.done");
  assert.ok(done >= 0, types.join(", "));
  assert.ok(
    !commands.some((c) => c.type === "to_twilio" && c.message.event === "clear"),
    "Twilio's queue is not cleared without words",
  );
  assert.equal(driver.core.stats.bargeIns, 0);
  // The next reply closes the caller's turn: no words, its length (3 × 400 ms) reported.
  const next = engine.fromEngine({
    type: "session.output_audio.delta",
    delta: audioB64(100, 0x22),
  });
  const turn = next.events.find((e) =>
    e.type === "conversation.item.input_audio_transcription.completed"
  );
  assert.deepEqual(
    turn?.type === "conversation.item.input_audio_transcription.completed" &&
      [turn.transcript, turn.audioMs],
    ["", 1200],
  );
});

Deno.test("a function call inside response.event becomes a tool call; its output and the next response.create go back as Responses delegation events", () => {
  const engine = new LiveEngine({ generation: 1, backendModel: "m" });
  started(engine);
  const call = engine.fromEngine({
    type: "function_call",
    delegationId: "dlg_1",
    callId: "call_1",
    name: "lookup",
    arguments: '{"id":"7"}',
  });
  assert.deepEqual(call.events.map((e) => e.type), [
    "response.created",
    "response.function_call_arguments.done",
    "response.done",
  ]);
  assert.deepEqual(
    engine.fromCore({
      type: "conversation.item.create",
      item: { type: "function_call_output", call_id: "call_1", output: '{"ok":1}' },
    }).send,
    [{
      type: "response.item.create",
      item: { type: "function_call_output", call_id: "call_1", output: '{"ok":1}' },
    }],
  );
  assert.deepEqual(
    engine.fromCore({ type: "response.create", response: { instructions: "Say goodbye." } }).send,
    [{ type: "response.create" }],
    "a delegated response continues; the farewell comes from it",
  );
});

Deno.test("session.closed ends the reply and asks for the socket to close; usage is cumulative", () => {
  const engine = new LiveEngine({ generation: 2, backendModel: "m" });
  started(engine);
  assert.equal(engine.fromEngine({ type: "session.usage.updated", seconds: 15 }).usageSeconds, 15);
  engine.fromEngine({ type: "session.output_audio.delta", delta: audioB64(100, 0x21) });
  const closed = engine.fromEngine({ type: "session.closed", reason: "expired", seconds: 20 });
  assert.equal(closed.closed, "expired");
  assert.equal(closed.usageSeconds, 20);
  assert.equal(closed.events.at(-1)?.type, "response.done");
  assert.equal(engine.phase, "closed");
});

Deno.test("a new session hears the replayed conversation once it started, in one instructions append", () => {
  const engine = new LiveEngine({ generation: 2, backendModel: "m" });
  engine.fromCore(UPDATE);
  engine.fromCore({
    type: "conversation.item.create",
    item: { type: "message", role: "user", content: [{ type: "input_text", text: "Hi" }] },
  });
  engine.fromCore({
    type: "conversation.item.create",
    item: {
      type: "message",
      role: "assistant",
      content: [{ type: "output_text", text: "Hello!" }],
    },
  });
  const step = engine.fromEngine({ type: "session.started", sessionId: "live_2", expiresAt: 1 });
  assert.equal(step.send.length, 1);
  const append = step.send[0];
  assert.ok(append.type === "session.instructions.append");
  assert.match(append.content, /Caller: Hi\nYou: Hello!$/);
});

/** The moves of the mermaid state diagram of docs/call-flow.md that has `first` as a line. */
function diagramMoves(first: string): Record<string, string[]> {
  const doc = Deno.readTextFileSync(new URL("../docs/call-flow.md", import.meta.url));
  const block = [...doc.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1])
    .find((b) => b.includes(first));
  assert.ok(block, `docs/call-flow.md has a diagram with ${first}`);
  const moves: Record<string, string[]> = {};
  for (const [, from, to] of block.matchAll(/^\s*(\S+) --> (\S+?)(?::|$)/gm)) {
    if (from === "[*]") continue;
    moves[from] ??= [];
    if (to !== "[*]") moves[from].push(to);
  }
  return moves;
}

Deno.test("the move tables match the diagrams of docs/call-flow.md", () => {
  assert.deepEqual(diagramMoves("quiet --> speaking"), REPLY_MOVES);
  assert.deepEqual(diagramMoves("new --> starting"), LIVE_PHASE_MOVES);
  const engine = new LiveEngine({ generation: 1, backendModel: "m" });
  // session.started before session.start is ignored, not a move the table forbids.
  assert.deepEqual(
    engine.fromEngine({ type: "session.started", sessionId: "x", expiresAt: 0 }).send,
    [],
  );
  assert.equal(engine.phase, "new");
});

Deno.test("the agents file refuses what engine: live cannot do, naming the setting", () => {
  const yaml = `
agents:
  - name: a
    engine: live
    language: fr
    turn_detection: { type: server_vad }
    tools:
      - { type: mcp, server_label: cal, server_url: "https://mcp.example.com", require_approval: always }
  - name: b
    backend_model: gpt-5-mini
    voice: tempo
  - name: c
    engine: live
    voice: tempo
`;
  const result = parseAgentsFile(yaml, { path: "agents.yaml", env: {} });
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.problems.length, 5, result.problems.join("\n"));
  assert.match(
    result.problems.join("\n"),
    /agents\[1\]\.voice: tempo is a GPT-Live voice; set engine: live/,
  );
  assert.match(
    result.problems.join("\n"),
    /agents\[0\]\.language: engine: live has no transcription language/,
  );
  assert.match(
    result.problems.join("\n"),
    /agents\[0\]\.turn_detection: engine: live decides turns itself/,
  );
  assert.match(
    result.problems.join("\n"),
    /agents\[0\]\.tools\[0\]\.require_approval: engine: live runs MCP servers/,
  );
  assert.match(
    result.problems.join("\n"),
    /agents\[1\]\.backend_model: applies to engine: live only/,
  );
  // ENGINE=live makes every agent without engine: live.
  assert.equal(engineProblems({ language: "fr" }, "live").length, 1);
  assert.equal(engineProblems({ language: "fr" }, "realtime").length, 0);
  const ok = parseAgentsFile("agents:\n  - name: a\n    engine: live\n    model: gpt-live-1\n", {
    path: "agents.yaml",
    env: {},
  });
  assert.equal(ok.ok, true);
});

Deno.test("ENGINE picks the environment's engine; the model defaults per engine", () => {
  const key = { OPENAI_API_KEY: "sk-test-0123456789abcdefghij" };
  const live = environmentProfile(parseConfig({ ...key, ENGINE: "live" }));
  assert.equal(live.engine, "live");
  assert.equal(live.model, "gpt-live-1");
  assert.equal(profileSocketUrl(live, parseConfig(key)), "wss://api.openai.com/v1/live/sessions");
  const named = parseConfig({ ...key, ENGINE: "live", OPENAI_MODEL: "gpt-live-1.1" });
  assert.equal(environmentProfile(named).model, "gpt-live-1.1");
  // An agent on realtime next to ENGINE=live keeps Realtime's default model, and vice versa.
  assert.equal(defaultModel("realtime", named), "gpt-realtime-2.1");
  assert.equal(defaultModel("live", parseConfig(key)), "gpt-live-1");
  assert.throws(() => parseConfig({ ...key, ENGINE: "gpt-live" }), /ENGINE/);
});

Deno.test("a session's announced deadline schedules its renewal; a renewal session's deadline applies once it is switched to", () => {
  const driver = new CoreDriver({ switchWaitMs: 60_000 });
  driver.startCall();
  const timer = (commands: CallCommand[]) =>
    commands.find((c) => c.type === "set_timer" && c.name === "session_renew");
  // Session 1 ends in 10 s: renewed half-way (at most a minute ahead).
  const armed = timer(
    driver.input({ type: "openai_deadline", generation: 1, expiresInMs: 10_000 }),
  );
  assert.deepEqual(armed, { type: "set_timer", name: "session_renew", delayMs: 5_000 });
  // A response is in flight when the renewal opens session 2: no switch yet.
  driver.responseCreated("resp_1");
  const opened = driver.advance(5_000);
  assert.ok(opened.some((c) => c.type === "open_openai" && c.generation === 2));
  driver.openaiOpen(2);
  // Session 2 announces its deadline while pending: nothing is scheduled for it yet.
  const pending = driver.input({ type: "openai_deadline", generation: 2, expiresInMs: 600_000 });
  assert.equal(timer(pending), undefined);
  // The response ends: the call switches to session 2, and its deadline is armed.
  const switched = driver.responseDone("resp_1", "completed", { generation: 1 });
  assert.ok(switched.some((c) => c.type === "close_openai" && c.generation === 1));
  assert.deepEqual(timer(switched), {
    type: "set_timer",
    name: "session_renew",
    delayMs: 540_000,
  });
});
