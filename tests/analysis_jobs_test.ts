/**
 * The post-call analysis as a durable job: it survives a process killed
 * mid-analysis (run again after restart, `call.analyzed` sent once), it is
 * tried at most MAX_ANALYSIS_ATTEMPTS times (a try cut short by a dying
 * process counts), then stored as an error.
 */
import assert from "node:assert/strict";
import {
  ANALYSIS_JOBS_PREFIX,
  AnalysisJobs,
  jobId,
  MAX_ANALYSIS_ATTEMPTS,
} from "../src/calls/analysis_jobs.ts";
import { WebhookOutbox } from "../src/webhooks/mod.ts";
import { TEST_API_KEY } from "./support/bridge_harness.ts";
import { FakeRealtimeServer } from "./support/fake_realtime.ts";
import { FakeResponsesApi } from "./support/fake_responses_api.ts";
import { FakeTwilioCall } from "./support/fake_twilio.ts";
import { sampleRecord } from "./support/sample_record.ts";
import { spawnInstance } from "./support/server_instance.ts";
import { receiver, WEBHOOK_SECRET } from "./support/webhook_receiver.ts";
import { waitUntil } from "./support/wait.ts";

Deno.test({
  name:
    "a server process killed after the call ended but before the analysis answered analyzes the call after restart and sends call.analyzed once",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const hooks = receiver([]);
    await using api = FakeResponsesApi.start(TEST_API_KEY);
    // The first process's request is never answered; the second's is.
    api.answer({ hold: true }, { json: { summary: "The caller asked about flats." } });
    const realtime = await FakeRealtimeServer.start();
    const dir = await Deno.makeTempDir();
    const env = {
      OPENAI_BASE_URL: api.baseUrl,
      ANALYSIS_SUMMARY: "on",
      AGENTS_FILE: "off",
      GREETING: "off",
      TWILIO_SIGNATURE_CHECK: "off",
      WEBHOOK_URL: hooks.url,
      WEBHOOK_SECRET,
    };
    const spawn = () => spawnInstance(realtime.url, `${dir}/calls.kv`, env, dir);
    const events = (type: string) =>
      hooks.received.filter((got) => !(got.verified instanceof Error))
        .map((got) => JSON.parse(got.body))
        .filter((body) => body.type === type);
    let callSid = "";
    try {
      {
        await using first = await spawn();
        const port = await first.port();
        const call = await FakeTwilioCall.connect({ url: `ws://127.0.0.1:${port}/media-stream` });
        callSid = call.callSid;
        const session = await realtime.nextSession(5000);
        await session.waitFor("session.update");
        await call.hangUp();
        await waitUntil(
          () => api.requests.length === 1,
          10_000,
          `the analysis asked: ${first.output}`,
        );
        await waitUntil(() => events("call.ended").length === 1, 10_000, "call.ended");
        // Killed hard while the analysis waits for its answer: nothing flushed.
        first.child.kill("SIGKILL");
        await first.child.status;
      }
      assert.deepEqual(events("call.analyzed"), []);
      await using second = await spawn();
      await second.port();
      // The dead process's lease runs out (15 s), then the job is taken again.
      await waitUntil(
        () => events("call.analyzed").length === 1,
        30_000,
        `call.analyzed after restart: ${second.output}`,
      );
      const [analyzed] = events("call.analyzed");
      assert.equal(analyzed.data.callSid, callSid);
      assert.equal(analyzed.data.analysis.status, "ok");
      assert.equal(analyzed.data.analysis.summary, "The caller asked about flats.");
      assert.equal(api.requests.length, 2, "asked once per process");
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(events("call.analyzed").length, 1, "sent once");
      assert.equal(events("call.ended").length, 1);
    } finally {
      await hooks.server.shutdown();
      await realtime.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("an analysis whose tries were each cut short by a dying process is stored as an error after MAX_ANALYSIS_ATTEMPTS, not run again", async () => {
  const kv = await Deno.openKv(":memory:");
  const record = sampleRecord("CA9");
  let now = 0;
  const queue = new WebhookOutbox(kv, { retentionDays: 1, prefix: ANALYSIS_JOBS_PREFIX });
  await queue.add([{
    id: jobId("CA9"),
    type: "call.analysis",
    targetId: "",
    url: "",
    body: JSON.stringify(record),
  }], now);
  // Instances take the job and die mid-analysis: their leases run out without an outcome.
  for (let i = 0; i < MAX_ANALYSIS_ATTEMPTS; i++) {
    const [taken] = await queue.lease({ now, leaseMs: 1000 });
    assert.equal(taken.delivery.id, jobId("CA9"));
    now += 1001;
  }
  const ran: string[] = [];
  const gaveUp: string[] = [];
  const jobs = new AnalysisJobs({
    kv,
    now: () => now,
    run: (r) => Promise.resolve(void ran.push(r.callSid)),
    giveUp: (r, error) => Promise.resolve(void gaveUp.push(`${r.callSid}: ${error}`)),
  });
  try {
    await jobs.start();
    await jobs.idle();
    assert.deepEqual(ran, []);
    assert.deepEqual(gaveUp, [
      `CA9: the analysis did not finish in ${MAX_ANALYSIS_ATTEMPTS} tries (the process stopped during each)`,
    ]);
    assert.deepEqual(await jobs.pending(), []);
  } finally {
    await jobs.close();
    kv.close();
  }
});

Deno.test("a failing analysis run is retried later, then given up and stored as an error", async () => {
  const kv = await Deno.openKv(":memory:");
  let now = 0;
  let runs = 0;
  const gaveUp: string[] = [];
  const jobs = new AnalysisJobs({
    kv,
    now: () => now,
    pollMs: 10,
    run: () => {
      runs++;
      return Promise.reject(new Error("the store refused"));
    },
    giveUp: (r, error) => Promise.resolve(void gaveUp.push(`${r.callSid}: ${error}`)),
  });
  try {
    await jobs.start();
    await jobs.add(sampleRecord("CA8"));
    await jobs.idle();
    assert.equal(runs, 1);
    assert.deepEqual(await jobs.pending(), ["CA8"], "waits for its next try");
    for (let i = 1; i < MAX_ANALYSIS_ATTEMPTS; i++) {
      now += 10 * 60_000;
      await waitUntil(() => runs === i + 1, 2000, `try ${i + 1}`);
    }
    await waitUntil(() => gaveUp.length === 1, 2000, "given up");
    assert.deepEqual(gaveUp, ["CA8: the store refused"]);
    assert.deepEqual(await jobs.pending(), []);
  } finally {
    await jobs.close();
    kv.close();
  }
});

Deno.test("a call's later record replaces its analysis job still waiting: the latest record is analyzed, once", async () => {
  const kv = await Deno.openKv(":memory:");
  const ran: string[] = [];
  const jobs = new AnalysisJobs({
    kv,
    run: (r) => Promise.resolve(void ran.push(`${r.callSid} ${r.outcome}`)),
  });
  try {
    // Written before the jobs start taking them (as a later stream's record can be).
    await jobs.add(sampleRecord("CA7", { outcome: "transferred" }));
    await jobs.add(sampleRecord("CA7", { outcome: "caller_hung_up" }));
    assert.deepEqual(await jobs.pending(), ["CA7"]);
    await jobs.start();
    await jobs.idle();
    assert.deepEqual(ran, ["CA7 caller_hung_up"]);
  } finally {
    await jobs.close();
    kv.close();
  }
});
