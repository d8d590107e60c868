import assert from "node:assert/strict";
import { ConfigError, describeConfig, parseConfig } from "../src/config.ts";

const KEY = "sk-test-0123456789abcdefghijklmnopqrstuv";

function problems(env: Record<string, string>): string[] {
  try {
    parseConfig({ OPENAI_API_KEY: KEY, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

Deno.test("operations settings: store path, Deploy default, retention, webhook, numbers, prices", () => {
  const config = parseConfig({
    OPENAI_API_KEY: KEY,
    METRICS_TOKEN: "tok-0123456789",
    CALL_STORE_PATH: "/var/lib/bridge/calls.kv",
    CALL_RECORD_RETENTION_DAYS: "7",
    CALL_RECORD_WEBHOOK_URL: "https://records.example.com/hook",
    CALL_RECORD_WEBHOOK_SECRET: "whsec-0123456789",
    STORE_CALLER_NUMBERS: "true",
    PRICE_OUTPUT_AUDIO_PER_MTOK: "20",
    PRICE_INPUT_CACHED_PER_MTOK: "0.3",
  });
  assert.equal(config.metricsToken, "tok-0123456789");
  assert.deepEqual(config.callStore, { path: "/var/lib/bridge/calls.kv" });
  assert.equal(config.callRecordRetentionDays, 7);
  assert.deepEqual(config.callRecordWebhook, {
    url: "https://records.example.com/hook",
    secret: "whsec-0123456789",
  });
  assert.equal(config.storeCallerNumbers, true);
  assert.deepEqual(config.prices, {
    inputText: 4,
    inputAudio: 32,
    inputCached: 0.3,
    outputText: 24,
    outputAudio: 20,
  });
  const described = JSON.stringify(describeConfig(config));
  assert.ok(!described.includes("tok-0123456789") && !described.includes("whsec-0123456789"));

  assert.equal(parseConfig({ OPENAI_API_KEY: KEY, CALL_STORE_PATH: "off" }).callStore, undefined);
  assert.deepEqual(
    parseConfig({ OPENAI_API_KEY: KEY, DENO_DEPLOYMENT_ID: "abc123" }).callStore,
    { path: undefined },
    "on Deno Deploy the managed KV is the default",
  );
});

Deno.test("bad operations settings are reported with the variable and what is accepted", () => {
  assert.deepEqual(problems({ CALL_RECORD_RETENTION_DAYS: "-1" }), [
    'CALL_RECORD_RETENTION_DAYS must be a number of days from 0 (keep forever) to 3650, got "-1".',
  ]);
  assert.deepEqual(problems({ PRICE_INPUT_TEXT_PER_MTOK: "cheap" }), [
    'PRICE_INPUT_TEXT_PER_MTOK must be a price in USD per 1M tokens from 0 to 100000, got "cheap".',
  ]);
  const [missingSecret] = problems({ CALL_RECORD_WEBHOOK_URL: "https://x.example/hook" });
  assert.match(
    missingSecret,
    /CALL_RECORD_WEBHOOK_URL is set but CALL_RECORD_WEBHOOK_SECRET is not/,
  );
  const [badUrl] = problems({
    CALL_RECORD_WEBHOOK_URL: "ftp://x.example/hook",
    CALL_RECORD_WEBHOOK_SECRET: "s3cret-value",
  });
  assert.match(badUrl, /^CALL_RECORD_WEBHOOK_URL must be an absolute http:\/\/ or https:\/\/ URL/);
  const [badToken] = problems({ METRICS_TOKEN: "two words" });
  assert.match(badToken, /METRICS_TOKEN contains whitespace \(value not shown\)/);
  assert.ok(!badToken.includes("two words"));
  assert.match(
    problems({ STORE_CALLER_NUMBERS: "maybe" })[0],
    /^STORE_CALLER_NUMBERS must be a boolean/,
  );
});
