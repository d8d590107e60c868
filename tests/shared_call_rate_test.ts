/**
 * MAX_CALLS_PER_MINUTE across instances: the cap counts in the shared call
 * store, so two instances place at most the cap together, also when they
 * take at the same moment.
 */
import assert from "node:assert/strict";
import { SharedCallRate } from "../src/security/shared_call_rate.ts";
import { CallRate } from "../src/security/call_rate.ts";

Deno.test("two instances on one store share the cap and its window (like one instance's)", async () => {
  const path = `${await Deno.makeTempDir()}/kv`;
  const kvA = await Deno.openKv(path);
  const kvB = await Deno.openKv(path); // another process's handle on the same file
  try {
    const a = new SharedCallRate(kvA, 3);
    const b = new SharedCallRate(kvB, 3);
    const alone = new CallRate(3);
    const takes: [SharedCallRate, number][] = [
      [a, 0],
      [b, 500],
      [a, 20_000],
      [b, 30_000],
      [
        a,
        60_100,
      ],
      [b, 61_000],
      [a, 61_500],
    ];
    for (const [rate, now] of takes) {
      assert.deepEqual(await rate.take(now), alone.take(now), `take at ${now}`);
    }
  } finally {
    kvA.close();
    kvB.close();
  }
});

Deno.test("takes at the same moment never place more than the cap", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const instances = [new SharedCallRate(kv, 10), new SharedCallRate(kv, 10)];
    const verdicts = await Promise.all(
      Array.from({ length: 30 }, (_, i) => instances[i % 2].take(5000)),
    );
    const placed = verdicts.filter((v) => v.ok).length;
    assert.ok(placed <= 10 && placed >= 1, `${placed} placed`);
    const stored = (await kv.get<[number, number][]>(["call_rate"])).value ?? [];
    assert.equal(stored.reduce((sum, [, n]) => sum + n, 0), placed, "every placed call counted");
    for (const v of verdicts) if (!v.ok) assert.ok(v.retryAfterMs > 0 && v.retryAfterMs <= 60_000);
    // Taken one after another, the rest of the cap is there.
    let more = 0;
    while ((await instances[0].take(6000)).ok) more++;
    assert.equal(placed + more, 10);
  } finally {
    kv.close();
  }
});

Deno.test("no cap (0) never touches the store", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const rate = new SharedCallRate(kv, 0);
    for (let i = 0; i < 5; i++) assert.deepEqual(await rate.take(i), { ok: true });
    assert.equal((await kv.get(["call_rate"])).value, null);
  } finally {
    kv.close();
  }
});
