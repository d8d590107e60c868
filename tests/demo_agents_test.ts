/**
 * The offline demo's agents file over real sockets: a softphone call to the
 * listings agent, the stand-in's tool call on the second caller turn, the
 * demo's own listings backend answering it, the output back at the stand-in
 * and its spoken confirmation; then the call record (agent, tool call),
 * `deno task calls` and `/metrics`.
 */
import assert from "node:assert/strict";
import { Ajv } from "ajv/dist/ajv.js";
import { parse as parseYaml } from "yaml";
import type { CallSummary } from "../src/bridge/call_summary.ts";
import { KvCallStore } from "../src/calls/call_store.ts";
import { runCallsCommand } from "../src/cli/calls.ts";
import { parseConfig } from "../src/config/mod.ts";
import {
  DEMO_AGENTS_FILE,
  demoEnv,
  demoStartLine,
  loadDemoAgents,
  openDemo,
  startDemo,
} from "../src/demo/demo.ts";
import type { StandinEvent } from "../src/demo/standin_realtime.ts";
import schema from "../src/agents/agents.schema.json" with { type: "json" };
import { FakeTwilioCall, softphoneCall } from "./support/fake_twilio.ts";
import { parseMetrics, valueOf } from "./support/prometheus.ts";
import { validateServerEvent } from "./support/realtime_schema.ts";
import { waitUntil } from "./support/wait.ts";

const LOUD = 0x20; // speech for the stand-in's VAD
const SILENT = 0xff;

Deno.test("the demo agents file is valid against agents.schema.json and loads with DEMO_HOST and DEMO_PORT", async () => {
  const text = await Deno.readTextFile(new URL(`../${DEMO_AGENTS_FILE}`, import.meta.url));
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  assert.ok(validate(parseYaml(text)), JSON.stringify(validate.errors));
  const config = parseConfig(demoEnv({}, "ws://127.0.0.1:1/v1/realtime"));
  const loaded = loadDemoAgents(config, {}, { host: "127.0.0.1", port: 6060 });
  assert.ok(loaded.ok);
  const listings = loaded.book.byName("listings");
  assert.equal(listings?.httpTools[0].name, "lookup_listing");
  assert.equal(listings?.httpTools[0].url, "http://127.0.0.1:6060/demo/listings/{listing_id}");
  assert.equal(loaded.book.forNumber("+15005550001").name, "listings");
  assert.equal(loaded.book.defaultProfile.name, "front-desk");
  // AGENTS_FILE set: that file (here: off, the environment's single agent) instead of the demo's.
  const off = loadDemoAgents(
    parseConfig(demoEnv({ AGENTS_FILE: "off" }, "ws://127.0.0.1:1/v1/realtime")),
    { AGENTS_FILE: "off" },
    { host: "127.0.0.1", port: 6060 },
  );
  assert.ok(off.ok);
  assert.equal(off.book.source, "environment");
});

Deno.test("offline demo: the listings agent's tool is called on the second turn, answered by the demo, confirmed, recorded and counted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demo_agents_" });
  const storePath = `${dir}/calls.kv`;
  const events: StandinEvent[] = [];
  const finished: CallSummary[] = [];
  try {
    const demo = await openDemo({
      env: { LOG_LEVEL: "error", CALL_STORE_PATH: storePath },
      standin: { silenceTimeoutMs: 60_000, onEvent: (e) => events.push(e) },
      server: { port: 0, hostname: "127.0.0.1", onCallFinished: (s) => finished.push(s) },
    });
    let callSid: string;
    try {
      const base = demo.server.localUrl;
      // The start-up line says where the tool, the metrics and the records are.
      const line = demoStartLine(
        parseConfig(demoEnv({ CALL_STORE_PATH: storePath }, demo.standin.url)),
        demo,
        "localhost",
      );
      assert.match(line, /pick the agent listings .* call lookup_listing/);
      assert.ok(line.includes(`/demo/listings`), line);
      assert.ok(line.includes(`metrics at http://localhost:${demo.server.port}/metrics`), line);
      assert.ok(line.includes(`calls recorded in ${storePath} (deno task calls)`), line);
      const agents = await (await fetch(`${base}/softphone/agents`)).json();
      assert.deepEqual(agents.agents, ["front-desk", "listings", "live-desk"]);
      const issued = await (await fetch(`${base}/softphone/token`, { method: "POST" })).json();
      callSid = issued.callSid;
      /** Responses the stand-in finished, and the ms of audio of its `n`th (0-based). */
      const done = () => events.filter((e) => e.type === "response.done");
      const responsesDone = () => done().length;
      const audioMs = (n: number) => {
        const id = (done()[n]?.response as { id?: string } | undefined)?.id;
        return Math.ceil(
          events.filter((e) => e.type === "response.output_audio.delta" && e.response_id === id)
            .reduce((ms, e) => ms + atob(String(e.delta)).length / 8, 0),
        );
      };
      const call = await FakeTwilioCall.connect({
        url: `${base.replace("http", "ws")}/media-stream/agent/listings`,
        ...softphoneCall(issued),
      });
      try {
        await call.waitFor((m) => m.event === "media", 3000);
        // The greeting plays to its end first: speech shorter than a second over it has no words
        // (the stand-in does not transcribe) and would not interrupt it.
        await waitUntil(() => responsesDone() >= 1, 3000, "the greeting");
        await call.speak(audioMs(0) + 400, SILENT);
        // Turn 1: echoed, no tool call.
        await call.speak(600, LOUD);
        await call.speak(700, SILENT);
        await waitUntil(
          () => call.receivedAudioBytes(LOUD) >= 600 * 8 * 0.9,
          3000,
          "the echo of turn 1",
        );
        assert.equal(demo.standin.stats.toolCalls, 0, "no tool call on the first turn");
        // The echo plays to its end too before turn 2.
        await waitUntil(() => responsesDone() >= 2, 3000, "the echo's response");
        await call.speak(audioMs(1) + 400, SILENT);
        assert.deepEqual(demo.listings.lookups, []);
        const heardBefore = call.receivedAudioBytes(LOUD);
        // Turn 2: the stand-in calls lookup_listing with its schema's example.
        await call.speak(500, LOUD);
        await call.speak(700, SILENT);
        await waitUntil(
          () => demo.standin.toolCalls[0]?.output !== undefined,
          3000,
          "the tool output reaches the stand-in",
        );
        // The confirmation: a chime, then the caller's words.
        await waitUntil(
          () => call.receivedAudioBytes(LOUD) >= heardBefore + 500 * 8 * 0.9,
          3000,
          "the confirmation with the caller's words",
        );
      } finally {
        await call.hangUp();
      }
      await waitUntil(() => finished.length === 1, 3000, "the call finishes");
      const [toolCall] = demo.standin.toolCalls;
      assert.equal(toolCall.name, "lookup_listing");
      assert.deepEqual(toolCall.arguments, { listing_id: "L-1001" });
      assert.deepEqual(demo.listings.lookups, ["L-1001"], "the demo's own backend was called");
      const output = JSON.parse(toolCall.output ?? "");
      assert.equal(output.status, 200);
      assert.equal(output.data.id, "L-1001");
      assert.equal(output.data.city, "Springfield");
      assert.equal(demo.standin.stats.toolOutputs, 1);
      // The confirmation came after the function call, with the output in its transcript.
      const callAt = events.findIndex((e) =>
        e.type === "response.function_call_arguments.done" && e.name === "lookup_listing"
      );
      const confirmAt = events.findIndex((e) =>
        e.type === "response.output_audio_transcript.done" &&
        String(e.transcript).startsWith("lookup_listing answered:")
      );
      assert.ok(
        callAt >= 0 && confirmAt > callAt,
        `call at ${callAt}, confirmation at ${confirmAt}`,
      );
      assert.match(String(events[confirmAt].transcript), /Springfield/);
      // /metrics (open: no METRICS_TOKEN) counts the call under its agent, and the tool call.
      const metrics = parseMetrics(await (await fetch(`${base}/metrics`)).text());
      assert.equal(valueOf(metrics, "bridge_agent_calls_total", { agent: "listings" }), 1);
      assert.equal(valueOf(metrics, "bridge_tool_calls_total", { tool: "lookup_listing" }), 1);
      assert.equal(valueOf(metrics, "bridge_calls_total", { outcome: "caller_hung_up" }), 1);
      await demo.operations?.recorder.idle();
      const record = await demo.operations?.store?.get(callSid);
      assert.equal(record?.agent, "listings");
      assert.equal(record?.toolCalls, 1);
      assert.ok(
        record?.transcript.some((t) =>
          t.role === "tool_result" && /Springfield/.test(t.text ?? "")
        ),
        "the record holds the tool's answer",
      );
    } finally {
      await demo.shutdown();
    }
    // `deno task calls` reads the same store after the demo stopped.
    const store = await KvCallStore.open({ path: storePath, retentionDays: 0 });
    const printed: string[] = [];
    try {
      assert.equal(await runCallsCommand([], { store, print: (t) => printed.push(t) }), 0);
    } finally {
      store.close();
    }
    const row = printed.join("\n").split("\n").find((l) => l.includes(callSid));
    assert.ok(row !== undefined && /\blistings\b/.test(row), printed.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const problems = events.flatMap((event) =>
    validateServerEvent(event, { strict: true }).map((e) => `${event.type}: ${e}`)
  );
  assert.deepEqual(problems, [], "every stand-in event is a valid GA server event");
});

Deno.test("docs/agents.md shows the demo agents file as it is", async () => {
  const doc = await Deno.readTextFile(new URL("../docs/agents.md", import.meta.url));
  const section = doc.slice(doc.indexOf("### The offline demo's file"));
  const shown = section.match(/```yaml\n([\s\S]*?)```/)?.[1];
  assert.ok(shown !== undefined, "a yaml block under ### The offline demo's file");
  const text = await Deno.readTextFile(new URL(`../${DEMO_AGENTS_FILE}`, import.meta.url));
  const withoutComments = (yaml: string) =>
    yaml.split("\n").filter((l) => !/^\s*#/.test(l) && l.trim() !== "").join("\n");
  assert.equal(withoutComments(shown), withoutComments(text));
});

Deno.test("the demo listening on every IPv6 address reaches its listings tool over loopback ([::1]), which the cleartext rule accepts", async () => {
  await using demo = startDemo({
    env: { LOG_LEVEL: "error" },
    server: { port: 0, hostname: "::" },
  });
  assert.match(demo.server.localUrl, /^http:\/\/\[::1\]:\d+$/);
  const listings = demo.agents.book.profiles.find((p) => p.name === "listings");
  assert.ok(listings !== undefined, "the demo's agents loaded");
  const listing = await fetch(`${demo.server.localUrl}/demo/listings/L-1001`);
  assert.equal(listing.status, 200, await listing.text());
});
