import assert from "node:assert/strict";
import { checkDigits, playDigitsTwiml } from "../src/outbound/dtmf.ts";
import { TwilioCalls } from "../src/outbound/twilio_calls.ts";
import { runCallCommand, runCampaignCommand } from "../src/cli/control_client.ts";
import { runCallsCommand } from "../src/cli/calls.ts";
import { CampaignDispatcher } from "../src/outbound/campaign_dispatcher.ts";
import { CampaignStore } from "../src/outbound/campaign_store.ts";
import { KvCallStore } from "../src/calls/call_store.ts";
import { KvAttemptStore } from "../src/outbound/attempt_store.ts";
import { FakeTwilioRest } from "./support/fake_twilio_rest.ts";

const ACCOUNT = "AC" + "3".repeat(32);
const AUTH = "feedfacefeedfacefeedfacefeedface";

Deno.test("send_dtmf digits: only 0-9, *, # and w are accepted", () => {
  for (const ok of ["1", "0123456789", "*#", "1w2ww3#"]) assert.equal(checkDigits(ok).ok, true, ok);
  for (const bad of ["", "1 2", "A", "1;2", '1"/><Hangup/>', "W", "x".repeat(3), 12, null]) {
    const check = checkDigits(bad);
    assert.equal(check.ok, false, String(bad));
  }
  assert.match((checkDigits("1".repeat(65)) as { error: string }).error, /at most 64/);
});

Deno.test("the digits TwiML plays the keys, then reconnects the same stream, and reaches Twilio's REST API", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  const calls = new TwilioCalls({ accountSid: ACCOUNT, authToken: AUTH, baseUrl: rest.baseUrl });
  const call = await calls.create({
    to: "+15551234567",
    from: "+15005550006",
    url: "https://voice.example.com/outbound/twiml?t=x",
    statusCallback: "https://voice.example.com/outbound/status",
    asyncAmdStatusCallback: "https://voice.example.com/outbound/amd",
  });
  const twiml = playDigitsTwiml("1w#", {
    streamUrl: "wss://voice.example.com/media-stream",
    actionUrl: "https://voice.example.com/call-ended",
    parameters: { streamToken: "v1.123.abc", callTicket: "o1.sealed" },
  });
  await calls.updateTwiml(call.sid, twiml);
  const [update] = rest.updatesOf(call.sid);
  assert.equal(
    update.params.Twiml,
    '<?xml version="1.0" encoding="UTF-8"?><Response><Play digits="1w#"/>' +
      '<Connect action="https://voice.example.com/call-ended" method="POST">' +
      '<Stream url="wss://voice.example.com/media-stream">' +
      '<Parameter name="streamToken" value="v1.123.abc"/><Parameter name="callTicket" value="o1.sealed"/>' +
      "</Stream></Connect></Response>",
  );
  assert.throws(
    () => playDigitsTwiml("1;2", { streamUrl: "wss://x", actionUrl: "https://x" }),
    RangeError,
  );
  assert.throws(
    () =>
      playDigitsTwiml("1", {
        streamUrl: "wss://x",
        actionUrl: "https://x",
        parameters: { callTicket: "x".repeat(4000) },
      }),
    /at most 4000/,
  );
  await calls.end(call.sid);
  assert.equal(rest.calls.get(call.sid)?.status, "completed");
});

Deno.test("deno task call and campaign send the control API request with the bearer token", async () => {
  const sent: Request[] = [];
  const fetch = (input: string | URL | Request, init?: RequestInit) => {
    sent.push(new Request(input, init));
    return Promise.resolve(new Response('{"callSid":"CA1","status":"queued"}', { status: 201 }));
  };
  const printed: string[] = [];
  const env = { API_TOKEN: "t".repeat(40), PORT: "6060" };
  const o = { env, fetch, print: (l: string) => printed.push(l) };
  assert.equal(
    await runCallCommand(["+15551234567", "--agent", "listings", "--context", '{"name":"Ada"}'], o),
    0,
  );
  assert.equal(sent[0].url, "http://127.0.0.1:6060/calls");
  assert.equal(sent[0].headers.get("authorization"), `Bearer ${"t".repeat(40)}`);
  assert.deepEqual(await sent[0].json(), {
    to: "+15551234567",
    agent: "listings",
    context: { name: "Ada" },
  });
  assert.equal(printed[0], '{"callSid":"CA1","status":"queued"}');

  const code = await runCampaignCommand(
    [
      "leads.csv",
      "--agent",
      "listings",
      "--concurrency",
      "3",
      "--window=09:00-18:00",
      "--server",
      "https://bridge.example.com/",
    ],
    { ...o, readTextFile: () => Promise.resolve("to\n+15551234567\n") },
  );
  assert.equal(code, 0);
  assert.equal(
    sent[1].url,
    "https://bridge.example.com/campaigns?agent=listings&concurrency=3&window=09%3A00-18%3A00",
  );
  assert.equal(sent[1].headers.get("content-type"), "text/csv");
  assert.equal(await sent[1].text(), "to\n+15551234567\n");

  assert.equal(await runCallCommand(["+15551234567"], { ...o, env: {} }), 2);
  assert.match(printed.at(-1)!, /API_TOKEN is not set/);
  assert.equal(await runCampaignCommand(["a.csv", "--bogus", "1"], o), 2);
  assert.match(printed.at(-1)!, /Unknown option --bogus/);
  assert.equal(sent.length, 2);
});

Deno.test("deno task call --help and deno task campaign -h print their usage and exit 0, sending nothing", async () => {
  const printed: string[] = [];
  let sent = 0;
  const o = {
    env: { API_TOKEN: "t".repeat(40) },
    print: (line: string) => printed.push(line),
    fetch: () => {
      sent++;
      return Promise.resolve(new Response("{}"));
    },
  };
  assert.equal(await runCallCommand(["--help"], o), 0);
  assert.match(printed.at(-1)!, /^Usage: deno task call \+15551234567/);
  assert.match(printed.at(-1)!, /--context JSON/);
  assert.doesNotMatch(printed.at(-1)!, /Unknown option/);
  assert.equal(await runCallCommand(["+15551234567", "-h"], { ...o, env: {} }), 0);
  assert.match(printed.at(-1)!, /^Usage: deno task call/);
  assert.equal(await runCampaignCommand(["-h"], o), 0);
  assert.match(printed.at(-1)!, /^Usage: deno task campaign FILE\.csv/);
  assert.match(printed.at(-1)!, /--max-attempts N/);
  assert.equal(sent, 0);
});

Deno.test("deno task calls --campaign prints the progress from the KV", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = await KvCallStore.open({ path: ":memory:", retentionDays: 0 });
  try {
    const dispatcher = new CampaignDispatcher({
      store: new CampaignStore(kv),
      dialer: {
        place: () => Promise.resolve({ sid: "CA" + "f".repeat(32), status: "queued" }),
        reconcile: () => Promise.resolve("ringing"),
      },
      now: () => Date.parse("2026-03-02T10:00:00Z"),
    });
    const campaign = await dispatcher.create({
      agent: "default",
      contacts: [{ to: "+15551234567", context: {} }, { to: "+15557654321", context: {} }],
    });
    await dispatcher.tick(campaign.id);
    const printed: string[] = [];
    const code = await runCallsCommand(["--campaign", campaign.id], {
      store,
      print: (t) => printed.push(t),
      campaign: (id) => dispatcher.progress(id),
    });
    assert.equal(code, 0);
    assert.match(printed[0], new RegExp(`^Campaign ${campaign.id} \\(running\\)`));
    assert.match(printed[0], /1 pending, 1 live, 0 done/);
    assert.match(printed[0], /c00001 +\+15•••••••67 +live +1/);
    assert.ok(!printed[0].includes("+15551234567"));
    // An unanswered outbound call has no call record, only its attempt.
    const attempts = new KvAttemptStore(kv);
    await attempts.update("CA" + "b".repeat(32), {
      agent: "default",
      to: "+15•••••••67",
      campaignId: campaign.id,
      contactId: "c00001",
      status: "busy",
    });
    await attempts.finish("CA" + "b".repeat(32), "busy", "2026-03-02T10:01:00.000Z");
    const detail: string[] = [];
    assert.equal(
      await runCallsCommand(["CA" + "b".repeat(32)], {
        store,
        print: (t) => detail.push(t),
        attempt: (sid) => attempts.get(sid),
      }),
      0,
    );
    assert.match(
      detail[0],
      /^Outbound call CAb+ to \+15•••••••67 \(agent default, campaign cmp_\w+ contact c00001\)/,
    );
    assert.match(detail[0], /outcome {3}busy at 2026-03-02 10:01:00Z/);
    assert.equal(
      await runCallsCommand(["--campaign", "cmp_nope"], {
        store,
        print: () => {},
        campaign: (id) => dispatcher.progress(id),
      }),
      1,
    );
  } finally {
    store.close();
    kv.close();
  }
});

Deno.test("deno task campaign --delete ID sends DELETE /campaigns/ID with the bearer token", async () => {
  const sent: Request[] = [];
  const fetch = (input: string | URL | Request, init?: RequestInit) => {
    sent.push(new Request(input, init));
    return Promise.resolve(new Response('{"deleted":"cmp_1","contacts":3}', { status: 200 }));
  };
  const printed: string[] = [];
  const o = {
    env: { API_TOKEN: "t".repeat(40), PORT: "6060" },
    fetch,
    print: (l: string) => printed.push(l),
  };
  assert.equal(await runCampaignCommand(["--delete", "cmp_1"], o), 0);
  assert.equal(sent[0].method, "DELETE");
  assert.equal(sent[0].url, "http://127.0.0.1:6060/campaigns/cmp_1");
  assert.equal(sent[0].headers.get("authorization"), `Bearer ${"t".repeat(40)}`);
  assert.equal(printed[0], '{"deleted":"cmp_1","contacts":3}');
  assert.equal(await runCampaignCommand(["--delete", "../calls"], o), 2, "an id, nothing else");
  assert.equal(await runCampaignCommand(["leads.csv", "--delete", "cmp_1"], o), 2);
  assert.equal(sent.length, 1);
});
