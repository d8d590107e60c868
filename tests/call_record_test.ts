import assert from "node:assert/strict";
import type { CallSummary } from "../src/bridge/call_summary.ts";
import { buildCallRecord, type CallRecord } from "../src/calls/call_record.ts";
import { maskPhoneNumber } from "../src/security/phone_numbers.ts";
import { fitRecord, KvCallStore } from "../src/calls/call_store.ts";
import { DEFAULT_PRICES, estimateCostUsd } from "../src/calls/prices.ts";
import {
  CALLER_NOT_TRANSCRIBED,
  formatCallDetail,
  formatCallTable,
  runCallsCommand,
} from "../src/cli/calls.ts";

function summary(overrides: Partial<CallSummary> = {}): CallSummary {
  return {
    callSid: "CA00000000000000000000000000000001",
    streamSid: "MZ00000000000000000000000000000001",
    outcome: "assistant_ended",
    reason: "The assistant ended the call.",
    startedAt: new Date("2026-11-24T10:00:00.000Z"),
    endedAt: new Date("2026-11-24T10:01:30.500Z"),
    durationMs: 90_500,
    stats: {
      framesIn: 4000,
      framesOut: 900,
      bargeIns: 1,
      truncates: 1,
      droppedLateDeltas: 3,
      droppedQueuedFrames: 0,
      responses: 3,
      toolCalls: 1,
      openaiErrors: 0,
      sessionRenewals: 0,
      reconnects: 0,
    },
    conversation: [
      {
        kind: "assistant",
        itemId: "i1",
        responseId: "r1",
        transcript: "Hello!",
        heardMs: undefined,
        at: 1500,
      },
      { kind: "user", itemId: "i2", transcript: "Bye.", at: 5000 },
      {
        kind: "assistant",
        itemId: "i3",
        responseId: "r2",
        transcript: "So…",
        heardMs: 420,
        at: 6000,
      },
      { kind: "function_call", callId: "c1", name: "end_call", arguments: "{}", at: 7000 },
      { kind: "function_call_output", callId: "c1", output: '{"ok":true}', at: 7001 },
      { kind: "user", itemId: "i4", transcript: undefined, at: 8000 },
    ],
    usage: {
      inputTextTokens: 1000,
      inputAudioTokens: 500,
      inputCachedTokens: 800,
      outputTextTokens: 100,
      outputAudioTokens: 300,
    },
    customParameters: { caller: "+44•••••••••00" },
    ...overrides,
  };
}

Deno.test("the record of a call has its outcome, turns, tokens, cost and transcript", () => {
  const record = buildCallRecord(summary(), { prices: DEFAULT_PRICES, startedAtMonotonic: 1000 });
  assert.equal(record.callSid, "CA00000000000000000000000000000001");
  assert.equal(record.caller, "+44•••••••••00");
  assert.equal(record.startedAt, "2026-11-24T10:00:00.000Z");
  assert.equal(record.endedAt, "2026-11-24T10:01:30.500Z");
  assert.equal(record.durationMs, 90_500);
  assert.equal(record.outcome, "assistant_ended");
  assert.deepEqual(record.turns, { caller: 2, assistant: 2 });
  assert.equal(record.bargeIns, 1);
  assert.equal(record.toolCalls, 1);
  assert.deepEqual(record.frames, { fromCaller: 4000, toCaller: 900 });
  assert.deepEqual(record.transcript, [
    { role: "assistant", text: "Hello!", atMs: 500 },
    { role: "caller", text: "Bye.", atMs: 4000 },
    { role: "assistant", text: "So…", atMs: 5000, heardMs: 420 },
    { role: "tool_call", text: "end_call({})", atMs: 6000 },
    { role: "tool_result", text: '{"ok":true}', atMs: 6001 },
    { role: "caller", text: null, atMs: 7000 },
  ]);
  // 800 cached: all off the 1000 text tokens. 200×$4 + 500×$32 + 800×$0.40 + 100×$24 + 300×$64 per 1M.
  assert.equal(record.estimatedCostUsd, 0.03872);
  assert.deepEqual(record.pricesUsdPerMTok, DEFAULT_PRICES);
  assert.equal(JSON.stringify(record).includes("+4412"), false);
});

Deno.test("a stream that never started gets an unknown-… id and no caller", () => {
  const record = buildCallRecord(
    summary({ callSid: undefined, streamSid: undefined, customParameters: {} }),
    { prices: DEFAULT_PRICES, startedAtMonotonic: 0 },
  );
  assert.match(record.callSid, /^unknown-[0-9a-f-]{36}$/);
  assert.equal(record.streamSid, null);
  assert.equal(record.caller, null);
});

Deno.test("cost: cached tokens come off text input first, then audio input", () => {
  const usage = {
    inputTextTokens: 100,
    inputAudioTokens: 1_000_000,
    inputCachedTokens: 300,
    outputTextTokens: 0,
    outputAudioTokens: 0,
  };
  const prices = { inputText: 1, inputAudio: 10, inputCached: 0.5, outputText: 0, outputAudio: 0 };
  // text: 0 uncached; audio: 999,800 uncached; 300 cached.
  assert.equal(estimateCostUsd(usage, prices), (999_800 * 10 + 300 * 0.5) / 1e6);
});

Deno.test("phone numbers are masked to the first two and last two digits", () => {
  assert.equal(maskPhoneNumber("+14155550123"), "+14•••••••23");
  assert.equal(maskPhoneNumber("+44 20 7946 0000"), "+44 •• •••• ••00");
  assert.equal(maskPhoneNumber("anonymous"), "•••");
  assert.equal(maskPhoneNumber("123"), "123");
});

function recordAt(callSid: string, startedAt: string, transcriptLines = 0): CallRecord {
  const r = buildCallRecord(
    summary({ callSid, startedAt: new Date(startedAt), conversation: [] }),
    { prices: DEFAULT_PRICES, startedAtMonotonic: 0 },
  );
  r.transcript = Array.from({ length: transcriptLines }, (_, i) => ({
    role: i % 2 ? "caller" : "assistant",
    text: `line ${i} ` + "x".repeat(200),
    atMs: i * 1000,
  }));
  return r;
}

Deno.test("a transcript too large for one KV value is cut, keeping the first lines", () => {
  const big = recordAt("CA_BIG", "2026-11-24T10:00:00Z", 1000);
  const fitted = fitRecord(big);
  assert.equal(fitted.transcriptTruncated, true);
  assert.ok(fitted.transcript.length > 100 && fitted.transcript.length < 1000);
  assert.deepEqual(fitted.transcript[0], big.transcript[0]);
  assert.ok(new TextEncoder().encode(JSON.stringify(fitted)).length <= 60 * 1024);
  const small = recordAt("CA_SMALL", "2026-11-24T10:00:00Z", 3);
  assert.equal(fitRecord(small), small, "small records are stored as they are");
});

Deno.test("the KV store keeps records by CallSid and lists the newest first", async () => {
  const store = await KvCallStore.open({ path: ":memory:", retentionDays: 7 });
  try {
    await store.put(recordAt("CA_B", "2026-11-24T10:05:00Z", 2));
    await store.put(recordAt("CA_A", "2026-11-24T10:00:00Z", 2));
    await store.put(recordAt("CA_C", "2026-11-24T10:10:00Z", 2));
    await store.put(recordAt("CA_BIG", "2026-11-24T09:00:00Z", 1000));
    const list = await store.list({ limit: 3 });
    assert.deepEqual(list.map((r) => r.callSid), ["CA_C", "CA_B", "CA_A"]);
    assert.equal("transcript" in list[0], false, "listings carry no transcript");
    const b = await store.get("CA_B");
    assert.equal(b?.transcript.length, 2);
    assert.equal((await store.get("CA_BIG"))?.transcriptTruncated, true);
    assert.equal(await store.get("CA_NONE"), undefined);
  } finally {
    store.close();
  }
});

Deno.test("deno task calls prints a table of recent calls and one call with its transcript", async () => {
  const store = await KvCallStore.open({ path: ":memory:", retentionDays: 0 });
  try {
    const full = buildCallRecord(summary(), { prices: DEFAULT_PRICES, startedAtMonotonic: 1000 });
    await store.put(full);
    await store.put(recordAt("CA_OTHER", "2026-11-24T09:00:00Z"));
    const out: string[] = [];
    assert.equal(await runCallsCommand([], { store, print: (t) => out.push(t) }), 0);
    const table = out[0].split("\n");
    assert.match(table[0], /^Started \(UTC\)\s+Duration\s+Outcome\s+Turns\s+Cost\s+CallSid$/);
    assert.match(
      table[2],
      /^2026-11-24 10:00:00Z\s+1:31\s+assistant_ended\s+4\s+\$0\.0387\s+CA0{31}1$/,
    );
    assert.match(table[3], /CA_OTHER$/);
    assert.equal(table.length, 4);

    out.length = 0;
    assert.equal(await runCallsCommand([full.callSid], { store, print: (t) => out.push(t) }), 0);
    assert.equal(out[0], formatCallDetail(full));
    assert.match(out[0], /outcome {3}assistant_ended: The assistant ended the call\./);
    assert.match(out[0], /0:05 {2}Assistant: So… \[interrupted after 420 ms\]/);
    assert.match(out[0], /0:04 {2}Caller: Bye\./);
    assert.ok(out[0].includes(`Caller: ${CALLER_NOT_TRANSCRIBED}`), out[0]);
    assert.doesNotMatch(out[0], /set TRANSCRIPTION_MODEL/, "it is set by default: no wrong advice");
    assert.match(out[0], /caller {4}\+44•••••••••00/);

    out.length = 0;
    assert.equal(await runCallsCommand(["CA_MISSING"], { store, print: (t) => out.push(t) }), 1);
    assert.match(out[0], /No record of call CA_MISSING/);
    assert.equal(await runCallsCommand(["--limit", "0"], { store, print: () => {} }), 2);
    assert.equal(formatCallTable([]), "No calls recorded yet.");
  } finally {
    store.close();
  }
});

Deno.test("a caller turn the transcription heard no words in is recorded with its length, and shown so", () => {
  const base = summary();
  const noWords: CallSummary = {
    ...base,
    conversation: [{ kind: "user", itemId: "i9", transcript: "", speechMs: 760, at: 2000 }],
  };
  const record = buildCallRecord(noWords, { prices: DEFAULT_PRICES, startedAtMonotonic: 1000 });
  assert.deepEqual(record.transcript, [{ role: "caller", text: "", atMs: 1000, speechMs: 760 }]);
  assert.match(
    formatCallDetail(record),
    /0:01 {2}Caller: \(0\.8 s of speech, no words transcribed\)/,
  );
});
