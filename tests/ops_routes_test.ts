import assert from "node:assert/strict";
import { parseConfig } from "../src/config/mod.ts";
import { createApp } from "../src/http/app.ts";
import { timingSafeEqual } from "../src/http/ops_routes.ts";

const KEY = "sk-test-abcdefghijklmnopqrstuvwxyz";

function get(path: string, headers: Record<string, string> = {}) {
  return new Request(`http://bridge.local${path}`, { headers });
}

Deno.test("/healthz is always 200; /readyz follows isReady and fails closed if it throws", async () => {
  let ready = true;
  const app = createApp({ config: parseConfig({ OPENAI_API_KEY: KEY }), isReady: () => ready });
  assert.equal((await app.handler(get("/healthz"))).status, 200);
  assert.equal((await app.handler(get("/readyz"))).status, 200);
  ready = false;
  const notReady = await app.handler(get("/readyz"));
  assert.equal(notReady.status, 503);
  assert.equal(await notReady.text(), "not ready\n");
  assert.equal((await app.handler(get("/healthz"))).status, 200, "alive while not ready");
  const throwing = createApp({
    config: parseConfig({ OPENAI_API_KEY: KEY }),
    isReady: () => {
      throw new Error("boom");
    },
  });
  assert.equal((await throwing.handler(get("/readyz"))).status, 503);
  const plain = createApp({ config: parseConfig({ OPENAI_API_KEY: KEY }) });
  assert.equal((await plain.handler(get("/readyz"))).status, 200, "ready by default");
  const noMetrics = await plain.handler(get("/metrics"));
  assert.equal(noMetrics.status, 404);
  await noMetrics.body?.cancel();
});

Deno.test("/metrics answers the rendered text, and only GET", async () => {
  const app = createApp({
    config: parseConfig({ OPENAI_API_KEY: KEY }),
    metrics: { render: () => "# HELP x X.\n# TYPE x counter\nx 1\n" },
  });
  const res = await app.handler(get("/metrics"));
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "# HELP x X.\n# TYPE x counter\nx 1\n");
  const post = await app.handler(new Request("http://bridge.local/metrics", { method: "POST" }));
  assert.equal(post.status, 405);
  await post.body?.cancel();
});

Deno.test("the caller's number reaches the stream masked, in full only with STORE_CALLER_NUMBERS", async () => {
  const twiml = async (env: Record<string, string>) => {
    const app = createApp({
      config: parseConfig({ OPENAI_API_KEY: KEY, TWILIO_SIGNATURE_CHECK: "off", ...env }),
    });
    const res = await app.handler(
      new Request("http://bridge.local/incoming-call", {
        method: "POST",
        body: "CallSid=CA1&From=%2B14155550123",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
    );
    return await res.text();
  };
  assert.match(await twiml({}), /<Parameter name="caller" value="\+14•••••••23"\/>/);
  assert.match(
    await twiml({ STORE_CALLER_NUMBERS: "true" }),
    /<Parameter name="caller" value="\+14155550123"\/>/,
  );
  assert.doesNotMatch(
    await twiml({ CALL_STORE_PATH: "off" }),
    /Parameter/,
    "no records kept: the number is not passed at all",
  );
});

Deno.test("timingSafeEqual compares whole strings", () => {
  assert.equal(timingSafeEqual("token", "token"), true);
  assert.equal(timingSafeEqual("token", "toke"), false);
  assert.equal(timingSafeEqual("token", "tokex"), false);
  assert.equal(timingSafeEqual("", ""), true);
  assert.equal(timingSafeEqual("é", "e\u0301"), false);
});
