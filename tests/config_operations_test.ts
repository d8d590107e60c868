import assert from "node:assert/strict";
import { ConfigError, describeConfig, parseConfig } from "../src/config/mod.ts";

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
  assert.equal(config.retentionDays, 7, "the deprecated CALL_RECORD_RETENTION_DAYS still works");
  assert.deepEqual(config.webhook, {
    url: "https://records.example.com/hook",
    secret: "whsec-0123456789",
    events: undefined,
    legacy: true,
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

Deno.test("WEBHOOK_URL with a whsec_ secret, its events and retry schedule; the legacy pair is a deprecated alias", () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const config = parseConfig({
    OPENAI_API_KEY: KEY,
    WEBHOOK_URL: "https://hooks.example.com/in",
    WEBHOOK_SECRET: secret,
    WEBHOOK_EVENTS: "call.ended, call.analyzed",
    WEBHOOK_RETRY_SCHEDULE: "10s,1m,1d",
  });
  assert.deepEqual(config.webhook, {
    url: "https://hooks.example.com/in",
    secret,
    events: ["call.ended", "call.analyzed"],
    legacy: false,
  });
  assert.deepEqual(config.webhookRetrySchedule, [10_000, 60_000, 86_400_000]);
  assert.equal(config.webhookTimeoutSeconds, 15);
  assert.deepEqual(config.warnings, []);
  assert.ok(!JSON.stringify(describeConfig(config)).includes(secret));
  assert.deepEqual(
    parseConfig({ OPENAI_API_KEY: KEY }).webhookRetrySchedule,
    [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000],
    "the default: the Standard Webhooks example schedule up to 14 h",
  );
  const legacy = parseConfig({
    OPENAI_API_KEY: KEY,
    CALL_RECORD_WEBHOOK_URL: "https://records.example.com/hook",
    CALL_RECORD_WEBHOOK_SECRET: "any-text-secret",
  });
  assert.equal(legacy.webhook?.legacy, true);
  assert.match(
    legacy.warnings.join("\n"),
    /CALL_RECORD_WEBHOOK_URL and CALL_RECORD_WEBHOOK_SECRET are deprecated: set WEBHOOK_URL and WEBHOOK_SECRET/,
  );
  const both = parseConfig({
    OPENAI_API_KEY: KEY,
    WEBHOOK_URL: "https://hooks.example.com/in",
    WEBHOOK_SECRET: secret,
    CALL_RECORD_WEBHOOK_URL: "https://records.example.com/hook",
    CALL_RECORD_WEBHOOK_SECRET: "any-text-secret",
  });
  assert.equal(both.webhook?.url, "https://hooks.example.com/in");
  assert.match(both.warnings.join("\n"), /CALL_RECORD_WEBHOOK_URL is ignored: WEBHOOK_URL is set/);
});

Deno.test("bad webhook settings name the variable and how to fix it, never showing the secret", () => {
  const [notWhsec] = problems({
    WEBHOOK_URL: "https://x.example/h",
    WEBHOOK_SECRET: "s3cret-value",
  });
  assert.match(
    notWhsec,
    /^WEBHOOK_SECRET must be written whsec_<base64> \(e\.g\. `echo "whsec_\$\(openssl rand -base64 32\)"`\)\.$/,
  );
  const [short] = problems({
    WEBHOOK_URL: "https://x.example/h",
    WEBHOOK_SECRET: "whsec_c2hvcnQ=",
  });
  assert.match(short, /^WEBHOOK_SECRET must hold 24 to 64 bytes after whsec_, got 5/);
  assert.ok(!short.includes("c2hvcnQ"));
  assert.match(
    problems({ WEBHOOK_URL: "https://x.example/h" })[0],
    /WEBHOOK_URL is set but WEBHOOK_SECRET is not/,
  );
  assert.match(
    problems({ WEBHOOK_EVENTS: "call.ended,call.started" })[0],
    /^WEBHOOK_EVENTS must be event types, comma-separated, of call\.ended, /,
  );
  assert.match(
    problems({ WEBHOOK_RETRY_SCHEDULE: "5s,soon" })[0],
    /^WEBHOOK_RETRY_SCHEDULE: "soon" is not a pause such as 5s/,
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
