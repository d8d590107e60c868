/**
 * Campaign contacts (full numbers and the CSV's context) do not stay in the
 * store for good: an ended campaign's keys are written with the record
 * retention as their KV expiry, and DELETE /campaigns/:id erases them.
 */
import assert from "node:assert/strict";
import { CampaignStore } from "../src/outbound/campaign_store.ts";
import { CampaignDispatcher } from "../src/outbound/campaign_dispatcher.ts";

const DAY = 86_400_000;

/** `kv`, noting the expiry each key was last written with (undefined: none) and deleted keys. */
function watchedKv(kv: Deno.Kv) {
  const expiry = new Map<string, number | undefined>();
  const note = (key: Deno.KvKey, options?: { expireIn?: number }) =>
    expiry.set(JSON.stringify(key), options?.expireIn);
  const atomic = () => {
    const op = kv.atomic();
    const proxy: Deno.AtomicOperation = new Proxy(op, {
      get(target, name) {
        if (name === "set") {
          return (key: Deno.KvKey, value: unknown, options?: { expireIn?: number }) => {
            note(key, options);
            target.set(key, value, options);
            return proxy;
          };
        }
        const member = Reflect.get(target, name);
        return typeof member === "function"
          ? (...args: unknown[]) => {
            const result = member.apply(target, args);
            return result === target ? proxy : result;
          }
          : member;
      },
    });
    return proxy;
  };
  const watched = new Proxy(kv, {
    get(target, name) {
      if (name === "atomic") return atomic;
      if (name === "set") {
        return (key: Deno.KvKey, value: unknown, options?: { expireIn?: number }) => {
          note(key, options);
          return target.set(key, value, options);
        };
      }
      const member = Reflect.get(target, name);
      return typeof member === "function" ? member.bind(target) : member;
    },
  });
  return { kv: watched, expiry };
}

async function setUp(retentionDays: number) {
  const kv = await Deno.openKv(":memory:");
  const watched = watchedKv(kv);
  const store = new CampaignStore(watched.kv, { retentionDays });
  let sid = 0;
  const clock = { now: Date.parse("2026-03-02T10:00:00Z") };
  const dispatcher = new CampaignDispatcher({
    store,
    dialer: {
      place: () => Promise.resolve({ sid: `CA${++sid}`, status: "queued" }),
      reconcile: () => Promise.resolve(undefined),
    },
    now: () => clock.now,
  });
  const campaign = await dispatcher.create({
    agent: "default",
    concurrency: 2,
    contacts: [
      { to: "+15551230001", context: { name: "Ada", account: "7781" } },
      { to: "+15551230002", context: { name: "Grace" } },
    ],
  });
  /** The keys of the campaign still stored. */
  const keys = async () => {
    const out: string[] = [];
    for (const prefix of [["campaigns"], ["campaign_contacts"], ["campaign_live"]]) {
      for await (const entry of kv.list({ prefix })) out.push(JSON.stringify(entry.key));
    }
    return out;
  };
  return { kv, store, dispatcher, campaign, expiry: watched.expiry, keys, clock };
}

Deno.test("a running campaign's contacts do not expire; once it completes, every key gets the retention", async () => {
  const { kv, dispatcher, campaign, expiry, keys } = await setUp(30);
  try {
    await dispatcher.tick(campaign.id);
    const stored = await keys();
    assert.equal(stored.length, 4, stored.join("\n"));
    for (const key of stored) assert.equal(expiry.get(key), undefined, `${key} while running`);
    for (const [contactId, callSid] of [["c00001", "CA1"], ["c00002", "CA2"]]) {
      await dispatcher.attemptFinished({
        callSid,
        outcome: "human",
        answeredBy: "human",
        campaignId: campaign.id,
        contactId,
      });
    }
    assert.equal((await dispatcher.store.get(campaign.id))?.status, "completed");
    for (const key of await keys()) assert.equal(expiry.get(key), 30 * DAY, `${key} once ended`);
  } finally {
    kv.close();
  }
});

Deno.test("a canceled campaign expires, and so does what a late callback writes for it", async () => {
  const { kv, dispatcher, campaign, expiry, keys } = await setUp(7);
  try {
    await dispatcher.tick(campaign.id); // both contacts are live
    await dispatcher.control(campaign.id, "cancel");
    for (const key of await keys()) assert.equal(expiry.get(key), 7 * DAY, key);
    expiry.clear();
    await dispatcher.attemptFinished({
      callSid: "CA1",
      outcome: "no-answer",
      answeredBy: undefined,
      campaignId: campaign.id,
      contactId: "c00001",
    });
    const contact = JSON.stringify(["campaign_contacts", campaign.id, "c00001"]);
    assert.equal(expiry.has(contact), true, "the late callback wrote the contact");
    assert.equal(expiry.get(contact), 7 * DAY);
  } finally {
    kv.close();
  }
});

Deno.test("RETENTION_DAYS=0 keeps an ended campaign (no expiry)", async () => {
  const { kv, dispatcher, campaign, expiry, keys } = await setUp(0);
  try {
    await dispatcher.control(campaign.id, "cancel");
    for (const key of await keys()) assert.equal(expiry.get(key), undefined, key);
    assert.equal((await dispatcher.store.get(campaign.id))?.endedAt, "2026-03-02T10:00:00.000Z");
  } finally {
    kv.close();
  }
});

Deno.test("erasing a campaign deletes it and every contact; a late callback for it changes nothing", async () => {
  const { kv, dispatcher, campaign, keys } = await setUp(30);
  try {
    await dispatcher.tick(campaign.id);
    assert.deepEqual(await dispatcher.erase(campaign.id), { contacts: 2 });
    assert.deepEqual(await keys(), []);
    await dispatcher.attemptFinished({
      callSid: "CA1",
      outcome: "human",
      answeredBy: "human",
      campaignId: campaign.id,
      contactId: "c00001",
    });
    assert.deepEqual(await keys(), [], "nothing comes back");
    assert.equal(await dispatcher.erase(campaign.id), undefined);
    assert.equal(await dispatcher.progress(campaign.id), undefined);
  } finally {
    kv.close();
  }
});
