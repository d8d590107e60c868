/**
 * The configuration table: the generated files agree with it, the loops over
 * it (parse, describe, secrets, units, unknown variables) cover every row,
 * and the settings added for the current models and the field defects.
 */
import assert from "node:assert/strict";
import {
  type Config,
  ConfigError,
  coreTimings,
  describeConfig,
  isPlaceholderKey,
  parseConfig,
  PLACEHOLDER_API_KEY_PROBLEM,
  secretValues,
  SETTINGS,
} from "../src/config/mod.ts";
import {
  defaultsParse,
  GENERATED_FILES,
  renderConfigurationDoc,
  renderEnvExample,
} from "../src/config/generate.ts";
import { demoEnv } from "../src/demo/demo.ts";

const KEY = "sk-test-0123456789abcdefghijklmnopqrstuv";

function noFile(path: string): never {
  throw new Deno.errors.NotFound(`No such file: ${path}`);
}

function parse(
  extra: Record<string, string> = {},
  readFile: (path: string) => Uint8Array = noFile,
): Config {
  return parseConfig({ OPENAI_API_KEY: KEY, ...extra }, { readTextFile: noFile, readFile });
}

function problemsOf(
  env: Record<string, string>,
  readFile: (path: string) => Uint8Array = noFile,
): string[] {
  try {
    parseConfig({ OPENAI_API_KEY: KEY, ...env }, { readTextFile: noFile, readFile });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail(`expected a ConfigError for ${JSON.stringify(env)}`);
}

const ROOT = new URL("..", import.meta.url);

Deno.test("the committed .env.example and docs/configuration.md are generated from the table", async () => {
  const cases: [string, string][] = [
    [GENERATED_FILES.envExample, renderEnvExample()],
    [GENERATED_FILES.configurationDoc, renderConfigurationDoc()],
  ];
  for (const [path, expected] of cases) {
    const committed = await Deno.readTextFile(new URL(path, ROOT));
    assert.ok(
      committed === expected,
      `${path} differs from src/config/spec.ts: run \`deno task gen:config\` and commit the result`,
    );
  }
});

Deno.test("every variable is in .env.example and the docs, with its default and accepted values", () => {
  const example = renderEnvExample();
  const doc = renderConfigurationDoc();
  for (const row of SETTINGS) {
    assert.match(example, new RegExp(`^#?${row.env}=`, "m"), row.env);
    assert.match(doc, new RegExp(`^### \`${row.env}\`$`, "m"), row.env);
    assert.ok(doc.includes(`- Accepted: ${row.kind.accepted}`), row.env);
  }
  // The required key comes first and uncommented, as a placeholder the server refuses.
  const firstSetting = example.split("\n").find((line) => /^#?[A-Z_]+=/.test(line));
  assert.equal(firstSetting, "OPENAI_API_KEY=sk-...");
  assert.deepEqual(defaultsParse(), [], "every default is valid for its own kind");
  assert.match(doc, /^- Secret: yes/m);
  assert.match(doc, /gpt-realtime-2\.1/);
});

Deno.test("Config has exactly the table's keys plus the composed fields", () => {
  const keys = new Set(Object.keys(parse()));
  const expected = new Set<string>([
    ...SETTINGS.flatMap((row) => row.key === undefined ? [] : [row.key]),
    "systemMessage",
    "greeting",
    "turnDetection",
    "prices",
    "webhook",
    "warnings",
  ]);
  assert.deepEqual([...keys].sort(), [...expected].sort());
  const names = SETTINGS.map((row) => row.env);
  assert.equal(new Set(names).size, names.length, "each variable once");
});

Deno.test("TWILIO_AUTH_TOKEN is read once; secrets are listed for the log redactor and never described", () => {
  const config = parse({
    TWILIO_ACCOUNT_SID: "AC0123456789abcdef0123456789abcdef",
    TWILIO_AUTH_TOKEN: "twilio-token-0123456789abcdef",
    STREAM_TOKEN_SECRET: "stream-secret-0123456789",
    METRICS_TOKEN: "metrics-token-0123456789",
    CALL_RECORD_WEBHOOK_URL: "https://records.example.com/hook",
    CALL_RECORD_WEBHOOK_SECRET: "webhook-secret-0123456789",
    TWILIO_PHONE_NUMBER: "+14155550100",
    TRANSFER_NUMBER: "+14155550199",
  });
  const secrets = [
    KEY,
    "twilio-token-0123456789abcdef",
    "stream-secret-0123456789",
    "metrics-token-0123456789",
    "webhook-secret-0123456789",
  ];
  assert.deepEqual(secretValues(config).sort(), [...secrets].sort());
  const described = JSON.stringify(describeConfig(config));
  for (const value of [...secrets, "+14155550100", "+14155550199", "AC0123456789abcdef"]) {
    assert.equal(described.includes(value), false, value);
  }
  const summary = describeConfig(config);
  assert.equal(summary.twilioAuthToken, "set");
  assert.equal(summary.twilioPhoneNumber, "set");
  assert.equal(summary.twilio, "set");
  assert.equal("twilio" in config, false, "one field for the token: twilioAuthToken");
});

Deno.test("coreTimings() converts every seconds setting the core takes into ms", () => {
  const timings = coreTimings(parse({
    END_CALL_GRACE_SECONDS: "2.5",
    END_CALL_WATCHDOG_SECONDS: "4",
    MAX_CALL_SECONDS: "600",
    CALLER_IDLE_SECONDS: "0",
    REALTIME_SESSION_RENEW_SECONDS: "1800",
    REALTIME_RECONNECT_SECONDS: "7",
    STREAM_SILENCE_SECONDS: "20",
  }));
  assert.deepEqual(timings, {
    endCallGraceMs: 2500,
    endCallWatchdogMs: 4000,
    maxCallMs: 600_000,
    callerIdleMs: 0,
    renewAfterMs: 1_800_000,
    reconnectWindowMs: 7000,
    streamSilenceMs: 20_000,
  });
});

Deno.test("a placeholder OPENAI_API_KEY is refused at start-up, saying where to get a real one", () => {
  for (
    const key of [
      "sk-...",
      "sk-your-key-here",
      "your-api-key",
      "sk-proj-...abc0123456789abcdef",
      "<your OpenAI key>",
      "sk-abc",
      "sk-xxxxxxxxxxxxxxxxxxxxxxxxxx",
    ]
  ) {
    assert.ok(isPlaceholderKey(key), key);
    assert.deepEqual(problemsOf({ OPENAI_API_KEY: key }), [PLACEHOLDER_API_KEY_PROBLEM], key);
  }
  assert.match(PLACEHOLDER_API_KEY_PROBLEM, /https:\/\/platform\.openai\.com\/api-keys/);
  assert.match(PLACEHOLDER_API_KEY_PROBLEM, /deno task demo/);
  // The .env.example line as copied.
  const line = renderEnvExample().split("\n").find((l) => l.startsWith("OPENAI_API_KEY="))!;
  assert.deepEqual(problemsOf({ OPENAI_API_KEY: line.split("=")[1] }), [
    PLACEHOLDER_API_KEY_PROBLEM,
  ]);
  assert.equal(
    parse({ OPENAI_API_KEY: "sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789" }).voice,
    "alloy",
  );
  // `deno task demo` runs without a key: its stand-in key is accepted.
  assert.equal(parseConfig(demoEnv({}, "ws://127.0.0.1:1/v1/realtime")).softphone, true);
  // The demo logs readable lines unless LOG_FORMAT says otherwise.
  assert.equal(parseConfig(demoEnv({}, "ws://127.0.0.1:1/v1/realtime")).logFormat, "pretty");
  assert.equal(
    parseConfig(demoEnv({ LOG_FORMAT: "json" }, "ws://127.0.0.1:1/v1/realtime")).logFormat,
    "json",
  );
});

Deno.test("REASONING_EFFORT, TRUNCATION and PARALLEL_TOOL_CALLS: unset by default, validated when set", () => {
  const none = parse();
  assert.equal(none.reasoningEffort, undefined);
  assert.equal(none.truncation, undefined);
  assert.equal(none.parallelToolCalls, undefined);
  for (const effort of ["minimal", "low", "medium", "high", "xhigh"]) {
    assert.equal(parse({ REASONING_EFFORT: effort.toUpperCase() }).reasoningEffort, effort);
  }
  assert.equal(parse({ TRUNCATION: "auto" }).truncation, "auto");
  assert.equal(parse({ TRUNCATION: "Disabled" }).truncation, "disabled");
  assert.equal(parse({ TRUNCATION: "0.8" }).truncation, 0.8);
  assert.equal(parse({ TRUNCATION: "1" }).truncation, 1);
  assert.equal(parse({ TRUNCATION: "0" }).truncation, 0);
  assert.equal(parse({ PARALLEL_TOOL_CALLS: "false" }).parallelToolCalls, false);
  assert.equal(parse({ PARALLEL_TOOL_CALLS: "yes" }).parallelToolCalls, true);
  assert.deepEqual(problemsOf({ REASONING_EFFORT: "max", TRUNCATION: "1.5" }), [
    'REASONING_EFFORT must be one of minimal, low, medium, high or xhigh, got "max".',
    'TRUNCATION must be auto, disabled, or a retention ratio from 0 to 1 (such as 0.8), got "1.5".',
  ]);
  for (const value of ["-0.1", "80%", "half"]) {
    assert.match(problemsOf({ TRUNCATION: value })[0], /^TRUNCATION must be auto, disabled/);
  }
  assert.match(
    problemsOf({ PARALLEL_TOOL_CALLS: "sometimes" })[0],
    /^PARALLEL_TOOL_CALLS must be a boolean/,
  );
});

Deno.test("OPENAI_MODEL defaults to gpt-realtime-2.1 and accepts any model id", () => {
  assert.equal(parse().openaiModel, "gpt-realtime-2.1");
  assert.equal(
    parse({ OPENAI_MODEL: "gpt-realtime-2.1-mini" }).openaiModel,
    "gpt-realtime-2.1-mini",
  );
  assert.equal(parse({ OPENAI_MODEL: "my-future-model-9" }).openaiModel, "my-future-model-9");
});

Deno.test("TWILIO_API_BASE_URL: https (http only on loopback), default api.twilio.com", () => {
  assert.equal(parse().twilioApiBaseUrl, "https://api.twilio.com");
  assert.equal(
    parse({ TWILIO_API_BASE_URL: "https://api.dublin.ie1.twilio.com/" }).twilioApiBaseUrl,
    "https://api.dublin.ie1.twilio.com",
  );
  assert.equal(
    parse({ TWILIO_API_BASE_URL: "http://127.0.0.1:4010" }).twilioApiBaseUrl,
    "http://127.0.0.1:4010",
  );
  for (const value of ["http://api.twilio.com", "api.twilio.com", "https://x.test/?a=1"]) {
    assert.deepEqual(problemsOf({ TWILIO_API_BASE_URL: value }), [
      `TWILIO_API_BASE_URL must be an https:// URL without query or fragment, such as https://api.twilio.com (http:// only for a loopback host), got ${
        JSON.stringify(value)
      }.`,
    ]);
  }
});

Deno.test("TWILIO_PHONE_NUMBER is E.164 and never echoed", () => {
  assert.equal(parse().twilioPhoneNumber, undefined);
  assert.equal(parse({ TWILIO_PHONE_NUMBER: "+14155550100" }).twilioPhoneNumber, "+14155550100");
  const [problem] = problemsOf({ TWILIO_PHONE_NUMBER: "415-555-0100" });
  assert.equal(
    problem,
    "TWILIO_PHONE_NUMBER must be a phone number in E.164 form, e.g. +14155550123 (value not shown).",
  );
});

Deno.test("WAITING_SOUND: on by default, off, or a readable μ-law file checked at start-up", () => {
  assert.equal(parse().waitingSound, "on");
  assert.equal(parse({ WAITING_SOUND: "OFF" }).waitingSound, "off");
  const reads: string[] = [];
  const file = (path: string) => {
    reads.push(path);
    return new Uint8Array(800);
  };
  assert.equal(parse({ WAITING_SOUND: "sounds/hold.ulaw" }, file).waitingSound, "sounds/hold.ulaw");
  assert.deepEqual(reads, ["sounds/hold.ulaw"]);
  assert.deepEqual(problemsOf({ WAITING_SOUND: "missing.ulaw" }), [
    'WAITING_SOUND could not be read from "missing.ulaw" (No such file: missing.ulaw). Use on (the tone shipped with the project), off, or the path of a raw 8 kHz μ-law file the server may read (relative paths start in the working directory).',
  ]);
  assert.match(
    problemsOf({ WAITING_SOUND: "empty.ulaw" }, () => new Uint8Array())[0],
    /^WAITING_SOUND points to an empty file, "empty\.ulaw"\./,
  );
});

Deno.test("a misspelled variable gives a warning naming the likely one; unrelated ones never do", () => {
  assert.deepEqual(parse({ VOICES: "coral" }).warnings, [
    "VOICES is not a setting of this server; did you mean VOICE?",
  ]);
  assert.deepEqual(parse({ OPENAI_MODLE: "x" }).warnings, [
    "OPENAI_MODLE is not a setting of this server; did you mean OPENAI_MODEL?",
  ]);
  assert.deepEqual(parse({ VAD_TRESHOLD: "0.4" }).warnings, [
    "VAD_TRESHOLD is not a setting of this server; did you mean VAD_THRESHOLD?",
  ]);
  assert.deepEqual(parse({ voice: "coral" }).warnings, [
    "voice is not a setting of this server; did you mean VOICE?",
  ]);
  assert.deepEqual(parse({ TWILIO_API_KEY: "SK123" }).warnings, [
    "TWILIO_API_KEY is not a setting of this server and is ignored; the TWILIO_ settings are TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_API_BASE_URL, TWILIO_PHONE_NUMBER and TWILIO_SIGNATURE_CHECK.",
  ]);
  const unrelated = [
    "PATH",
    "HOME",
    "HOST",
    "HOSTNAME",
    "USER",
    "SHELL",
    "PWD",
    "TERM",
    "LANG",
    "TZ",
    "LOGNAME",
    "DENO_DIR",
    "DENO_DEPLOYMENT_ID",
    "DENO_REGION",
    "NO_COLOR",
    "CI",
    "GITHUB_ACTIONS",
    "NODE_ENV",
    "HTTPS_PROXY",
    "http_proxy",
    "LC_ALL",
    "TMPDIR",
    "SSH_AUTH_SOCK",
    "XDG_RUNTIME_DIR",
    "HOSTTYPE",
    "SHLVL",
    "_",
  ];
  const env = Object.fromEntries(unrelated.map((name) => [name, "x"]));
  assert.deepEqual(parseConfig({ OPENAI_API_KEY: KEY, ...env, HOST: "0.0.0.0" }).warnings, []);
});

Deno.test("two swapped letters in a short name are caught like one wrong letter (VOCIE, PROT)", () => {
  assert.deepEqual(parse({ VOCIE: "marin" }).warnings, [
    "VOCIE is not a setting of this server; did you mean VOICE?",
  ]);
  assert.deepEqual(parse({ PROT: "8080" }).warnings, [
    "PROT is not a setting of this server; did you mean PORT?",
  ]);
  assert.deepEqual(parse({ OPENAI_MDOEL: "x" }).warnings, [
    "OPENAI_MDOEL is not a setting of this server; did you mean OPENAI_MODEL?",
  ]);
});
