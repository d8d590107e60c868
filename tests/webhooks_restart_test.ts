import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { FakeRealtimeServer } from "./support/fake_realtime.ts";
import { FakeTwilioCall } from "./support/fake_twilio.ts";
import { spawnInstance } from "./support/server_instance.ts";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

Deno.test({
  name:
    "a server process killed with a webhook delivery pending delivers it after restart, same webhook-id, within 10 s of start",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const verifier = new Webhook(SECRET);
    const tries: { id: string | null; type: string; at: number; verified: boolean }[] = [];
    let accepting = false;
    const receiver = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {} },
      async (req) => {
        const body = await req.text();
        let verified = true;
        try {
          verifier.verify(body, Object.fromEntries(req.headers));
        } catch {
          verified = false;
        }
        tries.push({
          id: req.headers.get("webhook-id"),
          type: JSON.parse(body).type,
          at: performance.now(),
          verified,
        });
        return new Response(null, { status: accepting ? 204 : 503 });
      },
    );
    const realtime = await FakeRealtimeServer.start();
    const dir = await Deno.makeTempDir();
    const env = {
      GREETING: "off",
      TWILIO_SIGNATURE_CHECK: "off",
      WEBHOOK_URL: `http://127.0.0.1:${(receiver.addr as Deno.NetAddr).port}/hooks`,
      WEBHOOK_SECRET: SECRET,
      // Its own retry would come an hour later: only the restart brings it sooner.
      WEBHOOK_RETRY_SCHEDULE: "1h",
    };
    const spawn = () => spawnInstance(realtime.url, `${dir}/calls.kv`, env, dir);
    const until = async (check: () => boolean, ms: number, what: string) => {
      const start = performance.now();
      while (!check()) {
        if (performance.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      {
        await using first = await spawn();
        const port = await first.port();
        const call = await FakeTwilioCall.connect({ url: `ws://127.0.0.1:${port}/media-stream` });
        const session = await realtime.nextSession(5000);
        await session.waitFor("session.update");
        await call.hangUp();
        await until(() => tries.length === 1, 10_000, `the first try: ${first.output}`);
        // Let it write the failure, then kill it hard: no shutdown, nothing flushed.
        await new Promise((r) => setTimeout(r, 300));
        first.child.kill("SIGKILL");
        await first.child.status;
      }
      assert.equal(tries[0].type, "call.ended");
      accepting = true;
      await using second = await spawn();
      await second.port();
      const startedAt = performance.now();
      await until(() => tries.length === 2, 10_000, `the retry after restart: ${second.output}`);
      assert.ok(tries[1].at - startedAt < 10_000);
      assert.equal(tries[1].id, tries[0].id, "the same webhook-id");
      assert.ok(tries.every((t) => t.verified), "signed for the npm standardwebhooks verifier");
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(tries.length, 2, "delivered once, not again");
    } finally {
      await receiver.shutdown();
      await realtime.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
