/**
 * Opening the call store's KV file while another process holds its write lock
 * (two instances on one machine; seen in CI as "Could not open the call store
 * (CALL_STORE_PATH): database is locked" when a second server started beside a
 * busy first one): the open is tried again, other errors are not.
 */
import assert from "node:assert/strict";
import { openKvWaiting } from "../src/calls/kv_commit.ts";

Deno.test("a KV file that is busy at open is opened again until the lock is gone", async () => {
  let tries = 0;
  const kv = await openKvWaiting("unused", () => {
    tries++;
    if (tries < 3) return Promise.reject(new TypeError("database is locked"));
    return Deno.openKv(":memory:");
  });
  try {
    assert.equal(tries, 3);
    await kv.set(["ok"], true);
    assert.equal((await kv.get(["ok"])).value, true);
  } finally {
    kv.close();
  }
});

Deno.test("any other error at open is thrown at once", async () => {
  let tries = 0;
  await assert.rejects(
    openKvWaiting("unused", () => {
      tries++;
      return Promise.reject(new Deno.errors.PermissionDenied("no access to the file"));
    }),
    Deno.errors.PermissionDenied,
  );
  assert.equal(tries, 1);
});
