import assert from "node:assert/strict";
import { parseConfig } from "../src/config/mod.ts";
import { createApp } from "../src/http/app.ts";
import { OutboundService } from "../src/outbound/outbound_service.ts";
import type { CampaignProgress } from "../src/outbound/campaign_dispatcher.ts";
import { parseWindow } from "../src/outbound/calling_window.ts";
import { type FakeRestCall, FakeTwilioRest } from "./support/fake_twilio_rest.ts";
import { signedTwilioRequest } from "./support/twilio_requests.ts";
import { waitUntil } from "./support/wait.ts";
import type { WebhookEvent } from "../src/webhooks/mod.ts";

const ACCOUNT = "AC" + "2".repeat(32);
const AUTH = "0123456789abcdef0123456789abcdef";
const API_TOKEN = "campaign-token-0123456789abcdefghijklmn";
const PUBLIC = "https://voice.example.com";
const MINUTE = 60_000;

/** Outbound calling with campaigns on an in-memory KV, a fake REST API and a clock the test moves. */
/**
 * A service on an in-memory KV at `startIso` (injected time). Ticks are driven by the test
 * unless `dispatch` (then the service dispatches, as in production: at start, on events and
 * every `pollEveryMs`).
 */
async function setUp(
  rest: FakeTwilioRest,
  startIso: string,
  dispatch = false,
  kvPath = ":memory:",
  pollEveryMs = 2000,
) {
  const config = parseConfig({
    OPENAI_API_KEY: "sk-test-abcdefghijklmnopqrstuvwxyz",
    API_TOKEN,
    PUBLIC_URL: PUBLIC,
    TWILIO_ACCOUNT_SID: ACCOUNT,
    TWILIO_AUTH_TOKEN: AUTH,
    TWILIO_PHONE_NUMBER: "+15005550006",
    TWILIO_API_BASE_URL: rest.baseUrl,
  });
  const clock = { now: Date.parse(startIso) };
  const kv = await Deno.openKv(kvPath);
  /** The webhook events the service emitted. */
  const events: WebhookEvent[] = [];
  const service = OutboundService.create({
    config,
    kv,
    now: () => clock.now,
    dispatch,
    pollEveryMs,
    events: { emit: (event) => Promise.resolve(void events.push(event)) },
  });
  const app = createApp({ config, outbound: service });
  const campaigns = service.campaigns!;
  /** The fake's record of `number`'s latest call (tests set its status as Twilio would). */
  const callTo = (number: string) => [...rest.calls.values()].findLast((c) => c.to === number)!;
  /** Twilio reports the end of the call to `number`'s latest attempt. */
  const end = async (number: string, CallStatus: string, AnsweredBy?: string) => {
    const create = rest.creates.findLast((r) => r.params.To === number)!;
    const callSid = callTo(number).sid;
    const url = create.params.StatusCallback;
    const params: Record<string, string> = {
      CallSid: callSid,
      CallStatus,
      ...(AnsweredBy ? { AnsweredBy } : {}),
    };
    const response = await app.handler(await signedTwilioRequest(url, params, AUTH));
    assert.equal(response.status, 204);
  };
  const control = (method: string, path: string, body?: string, type = "application/json") =>
    app.handler(
      new Request(`http://bridge.local${path}`, {
        method,
        headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": type },
        ...(body !== undefined ? { body } : {}),
      }),
    )!;
  const dialed = () => rest.creates.map((r) => r.params.To);
  /** Look-ups of calls (GET …/Calls/{sid}.json) the server made. */
  const lookups = () =>
    rest.requests.filter((r) => r.method === "GET" && /\/Calls\/CA\w+\.json$/.test(r.path));
  const contact = async (campaignId: string, contactId: string) =>
    (await t.campaigns.store.contacts(campaignId)).find((c) => c.id === contactId)!;
  const t = {
    app,
    events,
    service,
    campaigns,
    clock,
    end,
    control,
    dialed,
    callTo,
    lookups,
    contact,
    [Symbol.asyncDispose]: () => service.close(),
  };
  return t;
}

const contacts = (n: number, timezone?: string) =>
  Array.from({ length: n }, (_, i) => ({
    to: `+1555000${String(i + 1).padStart(4, "0")}`,
    context: { name: `Contact ${i + 1}` },
    ...(timezone ? { timezone } : {}),
  }));

Deno.test("a campaign waits for the callee's calling window, then dials within its concurrency", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  // 12:30 UTC is 07:30 in New York (EST) and 13:30 in Paris.
  await using t = await setUp(rest, "2026-03-02T12:30:00Z");
  const window = parseWindow("09:00-18:00");
  assert.ok("startMinute" in window);
  const campaign = await t.campaigns.create({
    agent: "default",
    contacts: [...contacts(3, "America/New_York"), {
      to: "+33155500001",
      context: {},
      timezone: "Europe/Paris",
    }],
    concurrency: 2,
    window,
  });
  await t.campaigns.tick(campaign.id);
  // Only the Paris callee is inside the window; New York opens at 14:00 UTC.
  assert.deepEqual(t.dialed(), ["+33155500001"]);
  assert.equal(t.campaigns.scheduled.at(-1)!.at, Date.parse("2026-03-02T14:00:00Z"));

  t.clock.now = Date.parse("2026-03-02T14:00:00Z");
  await t.campaigns.tick(campaign.id);
  // One slot is taken by the live Paris call: one more call.
  assert.deepEqual(t.dialed(), ["+33155500001", "+15550000001"]);
  await t.end("+33155500001", "completed", "human");
  // The freed slot is used at once.
  assert.deepEqual(t.dialed(), ["+33155500001", "+15550000001", "+15550000002"]);
  assert.equal(await t.campaigns.store.live(campaign.id), 2);
  // Every create carries the campaign and contact in its (signed) callback URLs, not the number.
  for (const create of rest.creates) {
    assert.match(
      create.params.StatusCallback,
      /\/outbound\/status\?campaign=cmp_\w+&contact=c\d{5}$/,
    );
  }
});

/** A campaign of two contacts called at once, up to `maxAttempts` each, 10 minutes apart; ticked once. */
async function twoAtOnce(t: Awaited<ReturnType<typeof setUp>>, maxAttempts: number) {
  const [a, b] = contacts(2);
  const campaign = await t.campaigns.create({
    agent: "default",
    contacts: [a, b],
    concurrency: 2,
    maxAttempts,
    retryBackoffMs: 10 * MINUTE,
  });
  await t.campaigns.tick(campaign.id);
  return { a, b, campaign };
}

Deno.test("busy, no-answer and failed are retried with backoff up to the maximum; answered calls are not", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  await using t = await setUp(rest, "2026-03-02T10:00:00Z");
  const { a, b, campaign } = await twoAtOnce(t, 3);
  assert.deepEqual(t.dialed(), [a.to, b.to]);
  await t.end(a.to, "busy");
  await t.end(b.to, "completed", "machine_end_beep");
  // a: retry in 10 minutes, not before.
  assert.equal(t.campaigns.scheduled.at(-1)!.at, t.clock.now + 10 * MINUTE);
  t.clock.now += 9 * MINUTE;
  await t.campaigns.tick(campaign.id);
  assert.equal(t.dialed().length, 2);
  t.clock.now += MINUTE;
  await t.campaigns.tick(campaign.id);
  assert.deepEqual(t.dialed(), [a.to, b.to, a.to]);
  await t.end(a.to, "no-answer");
  // Second retry after twice the backoff.
  t.clock.now += 19 * MINUTE;
  await t.campaigns.tick(campaign.id);
  assert.equal(t.dialed().length, 3);
  t.clock.now += MINUTE;
  await t.campaigns.tick(campaign.id);
  assert.equal(t.dialed().length, 4);
  await t.end(a.to, "failed");
  // Three attempts used: given up; the campaign is over.
  t.clock.now += 24 * 60 * MINUTE;
  await t.campaigns.tick(campaign.id);
  assert.equal(t.dialed().length, 4);
  const progress = await t.campaigns.progress(campaign.id);
  assert.equal(progress?.status, "completed");
  assert.deepEqual(progress?.counts, { pending: 0, live: 0, done: 1, failed: 1, canceled: 0 });
  assert.deepEqual(progress?.outcomes, { failed: 1, machine: 1 });
  assert.equal(progress?.contacts[0].attempts, 3);
  assert.equal(progress?.contacts[0].to, "+15•••••••01");
});

Deno.test("ticks running at once never start two attempts for one contact nor exceed the concurrency", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  await using t = await setUp(rest, "2026-03-02T10:00:00Z");
  const campaign = await t.campaigns.create({
    agent: "default",
    contacts: contacts(5),
    concurrency: 3,
  });
  await Promise.all(Array.from({ length: 6 }, () => t.campaigns.tick(campaign.id)));
  assert.equal(t.dialed().length, 3);
  assert.equal(new Set(t.dialed()).size, 3);
  assert.equal(await t.campaigns.store.live(campaign.id), 3);
  // A repeated status callback does not free a second slot.
  await t.end(t.dialed()[0], "completed");
  await t.end(t.dialed()[0], "completed");
  assert.equal(t.dialed().length, 4);
  assert.equal(await t.campaigns.store.live(campaign.id), 3);
});

Deno.test("pause stops dialing until resume; cancel stops it for good and keeps live calls counted", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  await using t = await setUp(rest, "2026-03-02T10:00:00Z");
  const campaign = await t.campaigns.create({ agent: "default", contacts: contacts(4) });
  await t.campaigns.tick(campaign.id);
  assert.equal(t.dialed().length, 1);
  assert.equal((await t.control("POST", `/campaigns/${campaign.id}/pause`)).status, 200);
  await t.end(t.dialed()[0], "completed");
  await t.campaigns.tick(campaign.id);
  assert.equal(t.dialed().length, 1);
  await t.control("POST", `/campaigns/${campaign.id}/resume`);
  await t.campaigns.tick(campaign.id);
  assert.equal(t.dialed().length, 2);
  const canceled = await t.control("POST", `/campaigns/${campaign.id}/cancel`);
  const progress: CampaignProgress = await canceled.json();
  assert.equal(progress.status, "canceled");
  assert.deepEqual(progress.counts, { pending: 0, live: 1, done: 1, failed: 0, canceled: 2 });
  await t.end(t.dialed()[1], "busy"); // a retryable end after cancel: no retry
  await t.campaigns.tick(campaign.id);
  assert.equal(t.dialed().length, 2);
  assert.equal((await t.campaigns.progress(campaign.id))?.counts.failed, 1);
});

Deno.test("DELETE /campaigns/:id erases the campaign and its contacts (numbers, context); unknown ids 404", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  await using t = await setUp(rest, "2026-03-02T10:00:00Z");
  const campaign = await t.campaigns.create({ agent: "default", contacts: contacts(3) });
  await t.campaigns.tick(campaign.id);
  const anonymous = await t.app.handler(
    new Request(`http://bridge.local/campaigns/${campaign.id}`, { method: "DELETE" }),
  );
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
  const deleted = await t.control("DELETE", `/campaigns/${campaign.id}`);
  assert.equal(deleted.status, 200);
  assert.deepEqual(await deleted.json(), { deleted: campaign.id, contacts: 3 });
  assert.deepEqual(await t.campaigns.store.contacts(campaign.id), []);
  const gone = await t.control("GET", `/campaigns/${campaign.id}`);
  assert.equal(gone.status, 404);
  await gone.body?.cancel();
  const again = await t.control("DELETE", `/campaigns/${campaign.id}`);
  assert.equal(again.status, 404);
  await again.body?.cancel();
  // The live attempt's end arrives later: nothing is dialed or stored for the campaign.
  await t.end(t.dialed()[0], "busy");
  assert.equal(t.dialed().length, 1);
  assert.deepEqual(await t.campaigns.store.contacts(campaign.id), []);
});

Deno.test("POST /campaigns takes CSV, the first tick runs at once, GET shows the progress", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  await using t = await setUp(rest, "2026-03-02T10:00:00Z", true);
  const csv = 'to,name,timezone\n+15550000001,"Lovelace, Ada",UTC\n+15550000002,Grace,UTC\n';
  const created = await t.control(
    "POST",
    "/campaigns?agent=default&concurrency=2&window=09:00-18:00",
    csv,
    "text/csv",
  );
  assert.equal(created.status, 201);
  const { id } = await created.json();
  await waitUntil(() => rest.creates.length === 2, 5000, "the first tick");
  const progress: CampaignProgress = await (await t.control("GET", `/campaigns/${id}`)).json();
  assert.equal(progress.window, "09:00-18:00");
  assert.deepEqual(progress.counts, { pending: 0, live: 2, done: 0, failed: 0, canceled: 0 });
  assert.equal(
    t.service.tickets.open(
      new URL(rest.creates[0].params.Url).searchParams.get("t"),
    ).ok,
    true,
  );

  const bad = await t.control(
    "POST",
    "/campaigns",
    JSON.stringify({
      contacts: [{ to: "+15550000001" }, { to: "12" }, {
        to: "+15550000003",
        timezone: "Mars/Base",
      }],
    }),
  );
  assert.equal(bad.status, 400);
  const answer = await bad.json();
  assert.equal(answer.field, "contacts");
  assert.equal(answer.problems.length, 2);
  assert.match(answer.problems[0], /^contacts\[1\]: to must be/);
  assert.match(answer.problems[1], /^contacts\[2\]: timezone/);
  const badWindow = await t.control(
    "POST",
    "/campaigns",
    JSON.stringify({
      contacts: [{ to: "+15550000001" }],
      window: "9-17",
    }),
  );
  assert.equal((await badWindow.json()).field, "window");
  assert.equal((await t.control("GET", "/campaigns/cmp_unknown")).status, 404);
  const anonymous = await t.app.handler(new Request(`http://bridge.local/campaigns/${id}`));
  assert.equal(anonymous.status, 401);
});

Deno.test("the sweep finishes an attempt whose end Twilio posted while the server was down, and frees its slot", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  await using t = await setUp(rest, "2026-03-02T10:00:00Z");
  const [a, b, c] = contacts(3);
  const campaign = await t.campaigns.create({ agent: "default", contacts: [a, b, c] });
  await t.campaigns.tick(campaign.id);
  assert.deepEqual(t.dialed(), [a.to]);
  // The call ends while nobody listens to its status callback: Twilio knows, the server does not.
  Object.assign(t.callTo(a.to), { status: "completed", answeredBy: "machine_end_beep" });
  t.clock.now += MINUTE;
  // Young attempts are left to their callbacks: nothing is looked up.
  assert.deepEqual(await t.campaigns.sweep(), { checked: 0, ended: 0, released: 0, errors: 0 });
  assert.equal(t.lookups().length, 0);
  assert.deepEqual(t.dialed(), [a.to]);

  t.clock.now += 2 * MINUTE;
  assert.deepEqual(await t.campaigns.sweep(), { checked: 1, ended: 1, released: 0, errors: 0 });
  assert.equal(t.lookups().length, 1);
  assert.ok(t.lookups()[0].authorized);
  const first = await t.contact(campaign.id, "c00001");
  assert.equal(first.state, "done");
  assert.equal(
    first.lastOutcome,
    "machine",
    "Twilio's answered_by stands in for the lost AMD post",
  );
  assert.equal(first.liveSince, undefined);
  // The freed slot is used at once.
  assert.deepEqual(t.dialed(), [a.to, b.to]);
  assert.equal(await t.campaigns.store.live(campaign.id), 1);
  // The callback, arriving late after all, changes nothing.
  await t.end(a.to, "completed", "human");
  assert.equal((await t.contact(campaign.id, "c00001")).lastOutcome, "machine");
  assert.deepEqual(t.dialed(), [a.to, b.to]);

  // A call still ringing stays live; a look-up Twilio cannot answer is retried next time.
  t.clock.now += 3 * MINUTE;
  Object.assign(t.callTo(b.to), { status: "ringing" });
  assert.deepEqual(await t.campaigns.sweep(), { checked: 1, ended: 0, released: 0, errors: 0 });
  assert.equal((await t.contact(campaign.id, "c00002")).state, "live");
  rest.failNextGet = { status: 503, code: 20503, message: "Service unavailable" };
  assert.deepEqual(await t.campaigns.sweep(), { checked: 1, ended: 0, released: 0, errors: 1 });
  assert.equal((await t.contact(campaign.id, "c00002")).state, "live");
  assert.deepEqual(t.dialed(), [a.to, b.to]);
  // Busy, found by the sweep: retried by the campaign's rules like a posted busy.
  Object.assign(t.callTo(b.to), { status: "busy" });
  assert.deepEqual(await t.campaigns.sweep(), { checked: 1, ended: 1, released: 0, errors: 0 });
  const second = await t.contact(campaign.id, "c00002");
  assert.deepEqual([second.state, second.lastOutcome], ["pending", "busy"]);
  assert.deepEqual(t.dialed(), [a.to, b.to, c.to]);
});

Deno.test("the sweep releases attempts never placed or unknown to Twilio as failed attempts", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  await using t = await setUp(rest, "2026-03-02T10:00:00Z");
  const [a, b, c] = contacts(3);
  const campaign = await t.campaigns.create({
    agent: "default",
    contacts: [a, b, c],
    concurrency: 2,
    retryBackoffMs: 10 * MINUTE,
  });
  // A process claimed c00001 and stopped before placing the call: live, no CallSid.
  assert.ok(await t.campaigns.store.claim(campaign.id, "c00001", t.clock.now));
  await t.campaigns.tick(campaign.id);
  assert.deepEqual(t.dialed(), [b.to]);
  // Twilio does not know c00002's call (e.g. its record was deleted).
  rest.calls.delete(t.callTo(b.to).sid);
  t.clock.now += 3 * MINUTE;
  assert.deepEqual(await t.campaigns.sweep(), { checked: 1, ended: 0, released: 2, errors: 0 });
  for (const id of ["c00001", "c00002"]) {
    const contact = await t.contact(campaign.id, id);
    assert.deepEqual([contact.state, contact.lastOutcome, contact.attempts], [
      "pending",
      "failed",
      1,
    ]);
    assert.equal(contact.notBefore, t.clock.now + 10 * MINUTE);
  }
  // Both slots are free again: the third contact is dialed now, the two others after the backoff.
  assert.deepEqual(t.dialed(), [b.to, c.to]);
  assert.equal(await t.campaigns.store.live(campaign.id), 1);
  t.clock.now += 10 * MINUTE;
  await t.campaigns.tick(campaign.id);
  assert.deepEqual(t.dialed(), [b.to, c.to, a.to]);
});

Deno.test("a restarted server finds the calls that ended while it was down (KV in a file, the sweep at start)", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  const dir = await Deno.makeTempDir();
  try {
    const kvPath = `${dir}/campaigns.kv`;
    const [a, b] = contacts(2);
    let campaignId: string;
    let call: FakeRestCall;
    {
      await using before = await setUp(rest, "2026-03-02T10:00:00Z", false, kvPath);
      campaignId = (await before.campaigns.create({ agent: "default", contacts: [a, b] })).id;
      await before.campaigns.tick(campaignId);
      assert.deepEqual(before.dialed(), [a.to]);
      call = before.callTo(a.to);
    } // the server stops
    call.status = "no-answer";
    await using after = await setUp(rest, "2026-03-02T10:05:00Z", true, kvPath);
    await waitUntil(() => rest.creates.length === 2, 5000, "the sweep at start");
    assert.deepEqual(after.dialed(), [a.to, b.to]);
    const first = await after.contact(campaignId, "c00001");
    assert.deepEqual([first.state, first.lastOutcome], ["pending", "no-answer"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("each finished campaign attempt is a campaign.attempt.finished webhook event", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  await using t = await setUp(rest, "2026-03-02T10:00:00Z");
  const { a, b, campaign } = await twoAtOnce(t, 1);
  await t.end(a.to, "busy");
  await t.end(b.to, "completed", "human");
  const ids = (await t.campaigns.progress(campaign.id))!.contacts.map((c) => c.id);
  assert.deepEqual(
    t.events.map((e) => [e.type, e.at.toISOString(), e.agent, e.data]),
    [a, b].map((contact, i) => [
      "campaign.attempt.finished",
      "2026-03-02T10:00:00.000Z",
      "default",
      {
        campaignId: campaign.id,
        contactId: ids[i],
        callSid: t.callTo(contact.to).sid,
        outcome: ["busy", "human"][i],
        answeredBy: [null, "human"][i],
        agent: "default",
      },
    ]),
  );
});
