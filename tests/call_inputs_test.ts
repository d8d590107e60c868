/**
 * Inputs beyond audio: keypad tones reach the model as user text items, an
 * outbound call waits for answering-machine detection (greets a person,
 * leaves a voicemail on a machine, hangs up on a fax), and a slow tool gets a
 * short spoken filler instead of silence.
 */
import assert from "node:assert/strict";
import { CoreDriver, PlayoutSimulator } from "./support/core_driver.ts";
import { deliver, tick } from "./support/playout_driving.ts";
import { buildReplayEvents } from "../src/core/session_replay.ts";
import { loadAgents } from "../src/agents/agent_book.ts";
import { environmentProfile } from "../src/agents/agent_profile.ts";
import { type Config, parseConfig } from "../src/config/mod.ts";

function keys(d: CoreDriver, digits: string): void {
  for (const digit of digits) {
    d.dtmf(digit);
  }
}

function userTexts(d: CoreDriver): string[] {
  return d.sentToOpenAI().flatMap((e) => {
    const item = e.item as { role?: string; content?: { text: string }[] } | undefined;
    return e.type === "conversation.item.create" && item?.role === "user"
      ? [item.content?.[0]?.text ?? ""]
      : [];
  });
}

Deno.test("keys typed in a burst reach the model as one user text item, then a response", () => {
  const d = new CoreDriver({ greeting: undefined });
  d.startCall();
  keys(d, "42");
  assert.deepEqual(userTexts(d), [], "not before the pause");
  d.advance(1500);
  assert.deepEqual(userTexts(d), ["The caller pressed 4 2 on the phone keypad."]);
  const last = d.sentToOpenAI().at(-1);
  assert.equal(last?.type, "response.create");
  // The record shows how many keys, not which (they may be a PIN); a new session still gets them.
  const entry = d.core.conversation.entries.at(-1);
  assert.equal(
    entry?.kind === "user" && entry.transcript,
    "The caller pressed • • on the phone keypad.",
  );
  assert.match(
    JSON.stringify(buildReplayEvents(d.core.conversation.entries)),
    /"text":"The caller pressed 4 2 on the phone keypad\."/,
  );
});

Deno.test("keys are counted in the log, never written there; records and the live view mask them", () => {
  const d = new CoreDriver({ greeting: undefined, observations: true });
  const commands = [...d.startCall()];
  for (const digit of "92713") commands.push(...d.dtmf(digit));
  commands.push(...d.advance(1500));
  const logs = commands.filter((c) => c.type === "log");
  assert.doesNotMatch(JSON.stringify(logs), /[92713]/, "no key in any log line");
  assert.deepEqual(
    logs.filter((c) => /key/i.test(c.message)).map((c) => [c.message, c.properties]),
    [["Caller keys went to the model.", { keys: 5 }]],
    "one line for the burst, with the count",
  );
  const shown = commands.flatMap((c) =>
    c.type === "observe" && c.event.kind === "caller_transcript" ? [c.event.text] : []
  );
  assert.deepEqual(shown, ["The caller pressed • • • • • on the phone keypad."]);
  assert.deepEqual(userTexts(d), ["The caller pressed 9 2 7 1 3 on the phone keypad."]);
});

Deno.test("an agent that keeps keypad digits (record_keypad_digits) has them in the record and the live view", () => {
  const d = new CoreDriver({ greeting: undefined, observations: true, recordKeypadDigits: true });
  const commands = [...d.startCall()];
  keys(d, "77");
  commands.push(...d.advance(1500));
  const entry = d.core.conversation.entries.at(-1);
  assert.equal(
    entry?.kind === "user" && entry.transcript,
    "The caller pressed 7 7 on the phone keypad.",
  );
  assert.equal(entry?.kind === "user" && entry.modelText, undefined);
});

Deno.test("with collect_until '#', the digits go at once when # is pressed", () => {
  const d = new CoreDriver({ greeting: undefined, keypad: { collectUntil: "#", timeoutMs: 3000 } });
  d.startCall();
  keys(d, "1234");
  d.advance(2000);
  assert.deepEqual(userTexts(d), []);
  keys(d, "#");
  assert.deepEqual(userTexts(d), ["The caller pressed 1 2 3 4 on the phone keypad."]);
});

function outboundCall(voicemail?: string): CoreDriver {
  const d = new CoreDriver({
    greeting: "Hi, this is Acme calling about your appointment.",
    awaitAnswer: { voicemail, timeoutMs: 8000 },
  });
  d.startCall();
  return d;
}

Deno.test("outbound: the agent listens until the answer is known, then greets a person", () => {
  const d = outboundCall("Please call us back.");
  // A voicemail greeting (or a person's hello) is not answered, and no greeting goes out.
  assert.deepEqual(d.sentToOpenAI().map((e) => e.type), ["session.update"]);
  assert.deepEqual(d.sentToOpenAI(d.media()), []);
  const out = d.sentToOpenAI(d.answeredBy("human"));
  assert.equal(out.length, 1);
  assert.match((out[0].response as { instructions: string }).instructions, /appointment/);
  // Now caller audio flows.
  assert.equal(d.sentToOpenAI(d.media()).length, 1);
});

Deno.test("outbound: a voicemail gets the message once, then the call hangs up", () => {
  const d = outboundCall("Your appointment is at nine tomorrow. Call 555 0100 to change it.");
  const sim = new PlayoutSimulator();
  const out = d.answeredBy("machine_end_beep");
  const create = d.sentToOpenAI(out).find((e) => e.type === "response.create");
  const response = create?.response as { instructions: string; tool_choice: string };
  assert.match(response.instructions, /voicemail/);
  assert.match(response.instructions, /"Your appointment is at nine tomorrow\./);
  assert.equal(response.tool_choice, "none");
  d.responseCreated("resp_vm");
  deliver(d, sim, d.delta("resp_vm", "item_vm", 800));
  deliver(d, sim, d.audioDone("resp_vm", "item_vm"));
  deliver(d, sim, d.responseDone("resp_vm"));
  tick(d, sim, 900);
  d.advance(3000);
  const finish = d.commands.find((c) => c.type === "finish");
  assert.deepEqual(
    finish?.type === "finish" && [finish.outcome, finish.action],
    ["voicemail", "hang_up"],
  );
  assert.equal(sim.playedMs(0x55), 800, "the whole message played before the hang-up");
});

Deno.test("outbound: a machine without a message, or a fax, is hung up on at once", () => {
  for (const answeredBy of ["machine_end_silence", "fax"]) {
    const d = outboundCall(undefined);
    const out = d.answeredBy(answeredBy);
    const finish = out.find((c) => c.type === "finish");
    assert.deepEqual(finish?.type === "finish" && [finish.outcome, finish.action], [
      "machine",
      "hang_up",
    ]);
    assert.deepEqual(d.sentToOpenAI(out), []);
  }
});

Deno.test("outbound: no answering-machine result in time counts as a person", () => {
  const d = outboundCall("Call back.");
  const out = d.advance(8000);
  assert.ok(d.sentToOpenAI(out).some((e) => e.type === "response.create"));
  // A late result changes nothing.
  assert.deepEqual(d.answeredBy("machine_end_beep"), []);
});

Deno.test("inbound calls ignore an answered_by input", () => {
  const d = new CoreDriver({ greeting: undefined });
  d.startCall();
  assert.deepEqual(d.answeredBy("machine_end_beep"), []);
});

Deno.test("a tool that runs over a second gets a short out-of-band filler; the answer follows it", () => {
  const d = new CoreDriver({ greeting: undefined, customTools: ["lookup"] });
  const sim = new PlayoutSimulator();
  d.startCall();
  d.responseCreated("resp_1");
  d.functionCall("resp_1", "call_1", "lookup", '{"id":"7"}');
  d.responseDone("resp_1");
  assert.deepEqual(d.sentToOpenAI(d.advance(999)), []);
  const filler = d.sentToOpenAI(d.advance(1));
  assert.equal(filler.length, 1);
  const response = filler[0].response as { conversation: string; tool_choice: string };
  assert.equal(response.conversation, "none", "out of band: not part of the conversation");
  assert.equal(response.tool_choice, "none");
  d.responseCreated("resp_filler");
  deliver(d, sim, d.delta("resp_filler", "item_f", 600));
  // The tool answers while the filler speaks: the real answer waits for the filler to finish.
  const early = d.sentToOpenAI(d.toolResult("call_1", { a: 1 }));
  assert.deepEqual(early.map((e) => e.type), ["conversation.item.create"]);
  const after = d.sentToOpenAI(d.responseDone("resp_filler"));
  assert.deepEqual(after.map((e) => e.type), ["response.create"]);
});

Deno.test("no filler when the tool is quick, or when the model is already speaking a preamble", () => {
  const quick = new CoreDriver({ greeting: undefined, customTools: ["lookup"] });
  quick.startCall();
  quick.responseCreated("resp_1");
  quick.functionCall("resp_1", "call_1", "lookup");
  quick.responseDone("resp_1");
  quick.advance(300);
  quick.toolResult("call_1", {});
  quick.advance(2000);
  const creates = quick.sentToOpenAI().filter((e) => e.type === "response.create");
  assert.equal(creates.length, 1, "only the answer");

  const talking = new CoreDriver({ greeting: undefined, customTools: ["lookup"] });
  talking.startCall();
  talking.responseCreated("resp_1");
  talking.delta("resp_1", "item_pre", 2000); // "Let me check that for you…"
  talking.functionCall("resp_1", "call_1", "lookup");
  talking.responseDone("resp_1");
  assert.deepEqual(talking.sentToOpenAI(talking.advance(1000)), []);
});

Deno.test("keeping keypad digits is opted into per agent (record_keypad_digits) or by RECORD_KEYPAD_DIGITS for the default agent", () => {
  const env = { OPENAI_API_KEY: "sk-test-0123456789abcdefghij" };
  const file = (config: Config) =>
    loadAgents({
      config,
      file: { path: "agents.yaml", required: true },
      env: {},
      readTextFile: () =>
        "agents:\n  - name: bank\n    record_keypad_digits: false\n  - name: survey\n    record_keypad_digits: true\n  - name: plain\n",
    });
  const masked = file(parseConfig(env));
  if (!masked.ok) assert.fail(masked.problems.join("\n"));
  assert.deepEqual(masked.book.profiles.map((p) => p.recordKeypadDigits), [false, true, false]);
  assert.equal(environmentProfile(parseConfig(env)).recordKeypadDigits, false, "masked by default");
  const kept = parseConfig({ ...env, RECORD_KEYPAD_DIGITS: "true" });
  assert.equal(environmentProfile(kept).recordKeypadDigits, true);
  const inherited = file(kept);
  if (!inherited.ok) assert.fail(inherited.problems.join("\n"));
  assert.deepEqual(inherited.book.profiles.map((p) => p.recordKeypadDigits), [false, true, true]);
  const wrong = loadAgents({
    config: kept,
    file: { path: "agents.yaml", required: true },
    env: {},
    readTextFile: () => "agents:\n  - name: bank\n    record_keypad_digits: sometimes\n",
  });
  assert.ok(!wrong.ok);
  assert.match(wrong.problems.join("\n"), /record_keypad_digits/);
});
