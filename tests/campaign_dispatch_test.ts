/**
 * Campaigns dispatched by several instances over one KV file, without KV
 * queues: the job table's leases and the atomic claims keep every campaign
 * within its concurrency and never dial a contact twice at once, whichever
 * instance ticks; a dispatcher that dies holding a lease is taken over when
 * the lease ends. First with injected time (two dispatchers in this
 * process, each with its own KV handle), then with two server processes.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../src/config/mod.ts";
import { createApp } from "../src/http/app.ts";
import { OutboundService } from "../src/outbound/outbound_service.ts";
import { CampaignDispatcher } from "../src/outbound/campaign_dispatcher.ts";
import { CampaignStore } from "../src/outbound/campaign_store.ts";
import { CampaignCron } from "../src/outbound/campaign_cron.ts";
import type { DialRequest } from "../src/outbound/outbound_dialer.ts";
import type { TwilioCall } from "../src/outbound/twilio_calls.ts";
import { type FakeRestCall, FakeTwilioRest } from "./support/fake_twilio_rest.ts";
import { signedTwilioRequest } from "./support/twilio_requests.ts";
import { denoRunArgs, ServerProcess } from "./support/server_process.ts";
import { TEST_API_KEY } from "./support/bridge_harness.ts";
import { waitUntil } from "./support/wait.ts";

const ACCOUNT = "AC" + "3".repeat(32);
const AUTH = "fedcba9876543210fedcba9876543210";
const API_TOKEN = "dispatch-token-0123456789abcdefghijklmn";
const PUBLIC = "https://voice.example.com";
const MINUTE = 60_000;

const contacts = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    to: `+1555010${String(i + 1).padStart(4, "0")}`,
    context: {},
  }));

/**
 * Watches the fake Twilio: at each create, the campaign's live calls (created, end not yet
 * posted) must stay within `concurrency` and the number must not already be live.
 */
class DialWatch {
  live = new Map<string, string>(); // CallSid → number
  violations: string[] = [];
  constructor(rest: FakeTwilioRest, readonly concurrency: number) {
    rest.onCreate = (call: FakeRestCall) => {
      if ([...this.live.values()].includes(call.to)) {
        this.violations.push(`${call.to} dialed while live`);
      }
      this.live.set(call.sid, call.to);
      if (this.live.size > concurrency) {
        this.violations.push(`${this.live.size} live calls (concurrency ${concurrency})`);
      }
    };
  }
  /** The call whose end the test posts next (its slot counts as free from now on). */
  ending(): { sid: string; to: string } | undefined {
    const [first] = this.live;
    if (first === undefined) return undefined;
    this.live.delete(first[0]);
    return { sid: first[0], to: first[1] };
  }
}

/** Posts Twilio's signed status callback for the call to `handler` (an instance). */
async function postEnd(
  rest: FakeTwilioRest,
  call: { sid: string; to: string },
  status: string,
  handler: (request: Request) => Response | Promise<Response>,
): Promise<void> {
  const create = rest.creates.find((r) => rest.calls.get(call.sid)?.to === r.params.To)!;
  const url = create.params.StatusCallback;
  const params: Record<string, string> = {
    CallSid: call.sid,
    CallStatus: status,
    ...(status === "completed" ? { AnsweredBy: "human" } : {}),
  };
  const response = await handler(await signedTwilioRequest(url, params, AUTH));
  assert.equal(response.status, 204, await response.text());
}

/** Campaigns' settings: the control API token, the public URL and Twilio (the fake REST API). */
function campaignEnv(rest: FakeTwilioRest): Record<string, string> {
  return {
    API_TOKEN,
    PUBLIC_URL: PUBLIC,
    TWILIO_ACCOUNT_SID: ACCOUNT,
    TWILIO_AUTH_TOKEN: AUTH,
    TWILIO_PHONE_NUMBER: "+15005550006",
    TWILIO_API_BASE_URL: rest.baseUrl,
  };
}

function config(rest: FakeTwilioRest, extra: Record<string, string> = {}) {
  return parseConfig({
    ...extra,
    OPENAI_API_KEY: "sk-test-abcdefghijklmnopqrstuvwxyz",
    ...campaignEnv(rest),
  });
}

Deno.test("two dispatchers on one KV file, racing at every step, never double-dial and keep the concurrency", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  const dir = await Deno.makeTempDir();
  const clock = { now: Date.parse("2026-03-02T10:00:00Z") };
  const instances: OutboundService[] = [];
  try {
    const cfg = config(rest);
    for (let i = 0; i < 2; i++) {
      const kv = await Deno.openKv(`${dir}/store.kv`);
      instances.push(
        OutboundService.create({ config: cfg, kv, now: () => clock.now, dispatch: false }),
      );
    }
    const apps = instances.map((s) => createApp({ config: cfg, outbound: s }));
    const [a, b] = instances.map((s) => s.campaigns!);
    const watch = new DialWatch(rest, 3);
    const campaign = await a.create({
      agent: "default",
      contacts: contacts(8),
      concurrency: 3,
      maxAttempts: 2,
      retryBackoffMs: 5 * MINUTE,
    });
    const attempts = new Map<string, number>();
    for (let step = 0; step < 60; step++) {
      // Both instances look for due work and tick the campaign at the same time.
      await Promise.all([a.runDue(), b.runDue(), a.tick(campaign.id), b.tick(campaign.id)]);
      const call = watch.ending();
      if (call === undefined) {
        if ((await a.progress(campaign.id))?.status === "completed") break;
        clock.now += 5 * MINUTE;
        continue;
      }
      const n = (attempts.get(call.to) ?? 0) + 1;
      attempts.set(call.to, n);
      // First attempts are busy (retried 5 min later), second ones answered; ends land anywhere.
      await postEnd(rest, call, n === 1 ? "busy" : "completed", apps[step % 2].handler);
      clock.now += MINUTE;
    }
    assert.deepEqual(watch.violations, []);
    assert.equal(rest.creates.length, 16, "8 contacts, each dialed twice");
    assert.ok([...attempts.values()].every((n) => n === 2));
    const progress = await b.progress(campaign.id);
    assert.equal(progress?.status, "completed");
    assert.deepEqual(progress?.counts, { pending: 0, live: 0, done: 8, failed: 0, canceled: 0 });
    assert.equal(await a.jobs.get(campaign.id), null, "a finished campaign leaves no job");
  } finally {
    await Promise.all(instances.map((s) => s.close()));
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a look asked for while the completing tick holds the lease leaves no job behind", async () => {
  const kv = await Deno.openKv(":memory:");
  const clock = { now: Date.parse("2026-03-02T10:00:00Z") };
  // The completing tick stops at its first read of the campaign until the gate opens.
  let gate: PromiseWithResolvers<void> | undefined;
  const reached = Promise.withResolvers<void>();
  class GatedStore extends CampaignStore {
    override async get(id: string) {
      if (gate !== undefined) {
        reached.resolve();
        await gate.promise;
      }
      return await super.get(id);
    }
  }
  const dispatcher = new CampaignDispatcher({
    store: new GatedStore(kv),
    dialer: {
      place: () => Promise.reject(new Error("no route")),
      reconcile: () => Promise.resolve(undefined),
    },
    now: () => clock.now,
  });
  try {
    // One contact, one attempt, which fails: the campaign is finished but still running.
    const campaign = await dispatcher.create({
      agent: "default",
      contacts: contacts(1),
      maxAttempts: 1,
    });
    await dispatcher.tick(campaign.id);
    assert.equal((await dispatcher.progress(campaign.id))?.status, "running");
    gate = Promise.withResolvers<void>();
    const completing = dispatcher.tick(campaign.id);
    await reached.promise;
    const opened = gate;
    gate = undefined;
    // Another tick (an attempt's end, a poll) meets the lease and asks for one more look.
    await dispatcher.tick(campaign.id);
    assert.equal((await dispatcher.jobs.get(campaign.id))?.dueAt, clock.now);
    opened.resolve();
    await completing;
    assert.equal((await dispatcher.progress(campaign.id))?.status, "completed");
    assert.equal(await dispatcher.jobs.get(campaign.id), null, "a finished campaign leaves no job");
    // A late look at the completed campaign leaves none either.
    await dispatcher.tick(campaign.id);
    assert.equal(await dispatcher.jobs.get(campaign.id), null);
  } finally {
    await dispatcher.stop();
    kv.close();
  }
});

Deno.test("a dispatcher that stops mid-lease is taken over when its lease ends, and dials nobody after", async () => {
  const dir = await Deno.makeTempDir();
  const clock = { now: Date.parse("2026-03-02T10:00:00Z") };
  const kvA = await Deno.openKv(`${dir}/store.kv`);
  const kvB = await Deno.openKv(`${dir}/store.kv`);
  const stalled = Promise.withResolvers<TwilioCall>();
  const dialed: string[] = [];
  const dialer = (place: (r: DialRequest) => Promise<TwilioCall>) => ({
    place: (r: DialRequest) => {
      dialed.push(r.contactId!);
      return place(r);
    },
    reconcile: () => Promise.resolve(undefined),
  });
  const now = () => clock.now;
  // A places its first call and stops there (stalled, killed…) holding the campaign's lease.
  const a = new CampaignDispatcher({
    store: new CampaignStore(kvA),
    dialer: dialer(() => stalled.promise),
    now,
  });
  const b = new CampaignDispatcher({
    store: new CampaignStore(kvB),
    dialer: dialer((r) => Promise.resolve({ sid: `CA${r.contactId}`, status: "queued" })),
    now,
  });
  try {
    const campaign = await a.create({ agent: "default", contacts: contacts(4), concurrency: 2 });
    const aTick = a.tick(campaign.id);
    await waitUntil(() => dialed.length === 1, 5000, "A's first dial");
    assert.deepEqual(dialed, ["c00001"]);
    // While A's lease runs, B leaves the campaign alone, even when asked to tick it.
    clock.now += 20_000;
    assert.deepEqual(await b.runDue(), []);
    await b.tick(campaign.id);
    assert.deepEqual(dialed, ["c00001"]);
    // The lease (30 s) ended: B takes the campaign over and fills the free slot.
    clock.now += 11_000;
    assert.deepEqual(await b.runDue(), [campaign.id]);
    assert.deepEqual(dialed, ["c00001", "c00002"]);
    assert.equal(await b.store.live(campaign.id), 2);
    // A wakes up: its call was placed, but its lease is gone, so it dials nobody more.
    stalled.resolve({ sid: "CAc00001", status: "queued" });
    await aTick;
    assert.deepEqual(dialed, ["c00001", "c00002"]);
    const first = (await b.store.contacts(campaign.id))[0];
    assert.deepEqual([first.state, first.callSid], ["live", "CAc00001"]);
    // The campaign goes on under B.
    await b.attemptFinished({
      callSid: "CAc00002",
      outcome: "human",
      answeredBy: "human",
      campaignId: campaign.id,
      contactId: "c00002",
    });
    assert.deepEqual(dialed, ["c00001", "c00002", "c00003"]);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    kvA.close();
    kvB.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with CAMPAIGN_DISPATCH=cron (the default on Deno Deploy) the cron runs wake due campaigns up", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  assert.equal(config(rest, { DENO_DEPLOYMENT_ID: "dep1" }).campaignDispatch, "cron");
  assert.equal(config(rest).campaignDispatch, "interval");
  const clock = { now: Date.parse("2026-03-02T10:00:00Z") };
  const cron = new CampaignCron();
  const cfg = config(rest, { CAMPAIGN_DISPATCH: "cron" });
  const kv = await Deno.openKv(":memory:");
  const service = OutboundService.create({ config: cfg, kv, now: () => clock.now, cron });
  try {
    const app = createApp({ config: cfg, outbound: service });
    const campaigns = service.campaigns!;
    const watch = new DialWatch(rest, 1);
    const campaign = await campaigns.create({
      agent: "default",
      contacts: contacts(1),
      retryBackoffMs: 5 * MINUTE,
    });
    await waitUntil(() => rest.creates.length === 1, 5000, "the first dial, at once");
    await postEnd(rest, watch.ending()!, "busy", app.handler);
    clock.now += 5 * MINUTE;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(rest.creates.length, 1, "no interval runs in cron mode");
    await cron.run();
    assert.equal(rest.creates.length, 2, "the cron run dialed the retry that came due");
    assert.equal((await campaigns.progress(campaign.id))?.contacts[0].attempts, 2);
  } finally {
    await service.close();
  }
  await cron.run(); // a closed service is unplugged: nothing runs
  assert.equal(rest.creates.length, 2);
});

/** A server process with campaigns on the shared KV file `storePath`. */
function spawnInstance(rest: FakeTwilioRest, storePath: string): Promise<ServerProcess> {
  return ServerProcess.spawn({
    args: denoRunArgs("main.ts", ["net", "env", "read", "write", "sys=hostname"]),
    env: {
      OPENAI_API_KEY: TEST_API_KEY,
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_FORMAT: "json",
      ...campaignEnv(rest),
      CALL_STORE_PATH: storePath,
      CAMPAIGN_DISPATCH: "interval",
    },
  });
}

Deno.test("two server processes dispatch one campaign without double dials; one is killed and the other finishes it", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  const dir = await Deno.makeTempDir();
  try {
    const storePath = `${dir}/store.kv`;
    await using a = await spawnInstance(rest, storePath);
    await using b = await spawnInstance(rest, storePath);
    const bases = [`http://127.0.0.1:${await a.port()}`, `http://127.0.0.1:${await b.port()}`];
    const on = (i: number) => (request: Request) => {
      const u = new URL(request.url);
      return fetch(`${bases[i]}${u.pathname}${u.search}`, {
        method: request.method,
        headers: request.headers,
        body: request.body,
      });
    };
    const watch = new DialWatch(rest, 2);
    const created = await fetch(`${bases[0]}/campaigns`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        agent: "default",
        contacts: contacts(6),
        concurrency: 2,
        maxAttempts: 2,
        retryBackoffSeconds: 1,
      }),
    });
    assert.equal(created.status, 201, await created.text());
    const attempts = new Map<string, number>();
    let ends = 0;
    let alive = [0, 1];
    const deadline = performance.now() + 90_000;
    while (rest.creates.length < 12 || watch.live.size > 0) {
      assert.ok(performance.now() < deadline, `stuck: ${rest.creates.length} dials`);
      const call = watch.ending();
      if (call === undefined) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const n = (attempts.get(call.to) ?? 0) + 1;
      attempts.set(call.to, n);
      // Busy first (retried 1 s later by whichever instance looks first), then answered.
      await postEnd(rest, call, n === 1 ? "busy" : "completed", on(alive[ends++ % alive.length]));
      if (ends === 5) {
        a.child.kill("SIGKILL");
        await a.child.status;
        alive = [1];
      }
    }
    assert.deepEqual(watch.violations, []);
    assert.equal(rest.creates.length, 12);
    assert.ok([...attempts.values()].every((n) => n === 2));
    const id = new URL(rest.creates[0].params.StatusCallback).searchParams.get("campaign");
    const progress = await (await fetch(`${bases[1]}/campaigns/${id}`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    })).json();
    // The last end ticked the campaign on the surviving instance: nobody is left.
    assert.equal(progress.status, "completed");
    assert.equal(progress.counts.done, 6);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
