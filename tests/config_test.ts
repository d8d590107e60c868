import assert from "node:assert/strict";
import { defaultGreeting } from "../src/prompts/mod.ts";
import {
  ConfigError,
  describeConfig,
  MISSING_API_KEY_PROBLEM,
  parseConfig,
  realtimeUrl,
  TEMPERATURE_WARNING,
  twilioCredentials,
} from "../src/config/mod.ts";
import { type Config, VOICES } from "../src/config/mod.ts";
import { SERVER_PATHS } from "../src/config/server_kinds.ts";
import { ROUTES } from "../src/http/app.ts";
import { STREAM_PATH_ROOT } from "../src/http/stream_path.ts";
import { OUTBOUND_ROUTES } from "../src/outbound/outbound_dialer.ts";
import { TRANSFER_ROUTES } from "../src/transfer/transfer_paths.ts";
import { CALLS_ROUTE } from "../src/outbound/outbound_routes.ts";

const KEY = "sk-test-0123456789abcdefghijklmnopqrstuv";
const TOKEN = "0123456789abcdef0123456789abcdef";
const SID = "AC0123456789abcdef0123456789abcdef";

function noFile(path: string): string {
  throw new Error(`unexpected read of ${path}`);
}

/** Parses with a valid key plus `extra`; never touches the file system. */
function parse(
  extra: Record<string, string | undefined> = {},
  readTextFile: (path: string) => string = noFile,
): Config {
  return parseConfig({ OPENAI_API_KEY: KEY, ...extra }, { readTextFile });
}

/** Returns the problems reported for `env` (which gets no key added). */
function problemsOf(
  env: Record<string, string | undefined>,
  readTextFile: (path: string) => string = noFile,
): string[] {
  try {
    parseConfig(env, { readTextFile });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.problems;
  }
  assert.fail("expected parseConfig to throw a ConfigError");
}

/** Returns the single problem reported for `extra` (with a valid key). */
function problemOf(
  extra: Record<string, string | undefined>,
  readTextFile: (path: string) => string = noFile,
): string {
  const problems = problemsOf({ OPENAI_API_KEY: KEY, ...extra }, readTextFile);
  assert.equal(problems.length, 1, `expected one problem, got ${JSON.stringify(problems)}`);
  return problems[0];
}

Deno.test("parseConfig() uses the documented defaults", () => {
  const config = parse();
  const { systemMessage, ...rest } = config;
  assert.deepEqual(rest, {
    agentsFile: { path: "agents.yaml", required: false },
    openaiApiKey: KEY,
    openaiRealtimeUrl: "wss://api.openai.com/v1/realtime",
    allowInsecureUpstream: false,
    openaiModel: "gpt-realtime-2.1",
    engine: "realtime",
    openaiLiveUrl: "wss://api.openai.com/v1/live/sessions",
    liveBackendModel: "gpt-5-mini",
    priceLivePerMinute: 0.05,
    port: 5050,
    hostname: "0.0.0.0",
    publicUrl: undefined,
    voice: "alloy",
    companyName: "Acme Realty",
    greeting: "Hello! Thanks for calling Acme Realty. How can I help you today?",
    turnDetection: {
      type: "server_vad",
      threshold: 0.5,
      prefixPaddingMs: 300,
      silenceDurationMs: 500,
      interruptResponse: true,
    },
    interruptionResume: true,
    interruptionMode: "cut",
    interruptionMinSpeechMs: 250,
    interruptionBackchannels: undefined,
    greetingInterruptible: true,
    noiseReduction: undefined,
    // Session renewal (on by default) replays the caller's words, so transcription is on.
    transcriptionModel: "gpt-4o-mini-transcribe",
    endCallGraceSeconds: 3,
    endCallWatchdogSeconds: 4,
    showTimingMath: false,
    twilioAccountSid: undefined,
    logLevel: "info",
    logFormat: "json",
    warnings: [],
    softphone: false,
    twilioAuthToken: undefined,
    twilioSignatureCheck: true,
    streamTokenSecret: undefined,
    maxConcurrentCalls: 20,
    maxCallSeconds: 1800,
    maxCallsPerMinute: 0,
    callerIdleSeconds: 60,
    streamSilenceSeconds: 15,
    campaignDispatch: "interval",
    metricsToken: undefined,
    callStore: { path: "calls.kv" },
    retentionDays: 30,
    storeTranscripts: true,
    redact: true,
    webhook: undefined,
    webhookRetrySchedule: [
      5_000,
      300_000,
      1_800_000,
      7_200_000,
      18_000_000,
      36_000_000,
      50_400_000,
    ],
    webhookTimeoutSeconds: 15,
    openaiBaseUrl: "https://api.openai.com/v1",
    analysisSummary: false,
    analysisExtract: undefined,
    analysisSuccess: undefined,
    analysisModel: "gpt-5-mini",
    priceAnalysisInput: 0.25,
    priceAnalysisCachedInput: 0.025,
    priceAnalysisOutput: 2,
    recordingConsent: undefined,
    recordingChannels: "dual",
    recordKeypadDigits: false,
    storeCallerNumbers: false,
    prices: { inputText: 4, inputAudio: 32, inputCached: 0.4, outputText: 24, outputAudio: 64 },
    realtimeSessionRenewSeconds: 3300,
    realtimeReconnectSeconds: 5,
    drainMode: "goodbye",
    drainSeconds: 30,
    transferMode: "cold",
    transferNumber: undefined,
    transferNumbers: undefined,
    reasoningEffort: undefined,
    truncation: undefined,
    parallelToolCalls: undefined,
    twilioApiBaseUrl: "https://api.twilio.com",
    twilioPhoneNumber: undefined,
    apiToken: undefined,
    waitingSound: "on",
  });
  assert.match(systemMessage, /receptionist of Acme Realty/);
  assert.match(systemMessage, /one or two short sentences/);
  assert.match(systemMessage, /end_call tool/);
  assert.match(systemMessage, /goodbye/);
  assert.match(systemMessage, /short farewell/);
});

Deno.test("parseConfig() treats empty and blank values as unset", () => {
  const config = parse({ PORT: "", VOICE: "  ", LOG_LEVEL: "", VAD_THRESHOLD: "" });
  assert.equal(config.port, 5050);
  assert.equal(config.voice, "alloy");
  assert.equal(config.logLevel, "info");
  assert.equal(config.turnDetection.type === "server_vad" && config.turnDetection.threshold, 0.5);
});

Deno.test("parseConfig() explains how to set a missing OPENAI_API_KEY", () => {
  for (const value of [undefined, "", "   "]) {
    assert.deepEqual(problemsOf({ OPENAI_API_KEY: value }), [MISSING_API_KEY_PROBLEM]);
  }
  assert.equal(
    MISSING_API_KEY_PROBLEM,
    "OPENAI_API_KEY is not set. Create a key at https://platform.openai.com/api-keys, then put OPENAI_API_KEY=sk-... in .env (see .env.example) or export it in the environment. No key yet? deno task demo runs the server and the browser softphone offline, with a local stand-in for the Realtime API.",
  );
});

Deno.test("parseConfig() trims the key and rejects inner whitespace without showing it", () => {
  assert.equal(parse({ OPENAI_API_KEY: ` ${KEY}\n` }).openaiApiKey, KEY);
  const problem = problemOf({ OPENAI_API_KEY: "sk-abc def-secretpart" });
  assert.match(problem, /^OPENAI_API_KEY contains whitespace \(value not shown\)\./);
  assert.ok(!problem.includes("secretpart"));
});

Deno.test("ConfigError collects every problem and lists one per line", () => {
  let caught: unknown;
  try {
    parseConfig({ PORT: "abc", VOICE: "bob", LOG_LEVEL: "loud", LOG_FORMAT: "xml" });
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError);
  assert.equal(caught.name, "ConfigError");
  assert.equal(caught.problems.length, 5);
  assert.equal(caught.problems[0], MISSING_API_KEY_PROBLEM);
  assert.equal(caught.problems[1], 'PORT must be an integer from 0 to 65535, got "abc".');
  assert.match(caught.problems[2], /^VOICE must be one of alloy, /);
  assert.equal(
    caught.problems[3],
    'LOG_LEVEL must be one of trace, debug, info, warning (or warn), error or fatal, got "loud".',
  );
  assert.equal(caught.problems[4], 'LOG_FORMAT must be one of json or pretty, got "xml".');
  const lines = caught.message.split("\n");
  assert.equal(
    lines[0],
    "The configuration has 5 problems. Fix the environment variables (or .env), then start again:",
  );
  assert.deepEqual(lines.slice(1), caught.problems.map((problem) => `- ${problem}`));
});

Deno.test("parseConfig() never shows secrets in problems", () => {
  let caught: unknown;
  try {
    parseConfig({
      OPENAI_API_KEY: KEY,
      TWILIO_AUTH_TOKEN: TOKEN,
      TWILIO_ACCOUNT_SID: "not-a-sid",
      // Secrets pasted into the wrong variable are hidden too.
      VOICE: KEY,
      OPENAI_MODEL: `gpt ${TOKEN}`,
      HOST: "sk-other-abcdefghijklmnopqrstuvwxyz 1",
    });
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError);
  assert.equal(caught.problems.length, 4);
  assert.ok(!caught.message.includes(KEY));
  assert.ok(!caught.message.includes(TOKEN));
  assert.ok(!caught.message.includes("sk-other"));
  assert.match(
    caught.message,
    /VOICE must be .*, got \(value hidden because it looks like a secret\)\./,
  );
  assert.match(caught.message, /TWILIO_ACCOUNT_SID must be .*, got "not-a-sid"\./);
});

Deno.test("OPENAI_REALTIME_URL accepts ws(s) URLs and rejects others", () => {
  assert.equal(
    parse({ OPENAI_REALTIME_URL: "ws://localhost:8080/v1/realtime" }).openaiRealtimeUrl,
    "ws://localhost:8080/v1/realtime",
  );
  assert.equal(
    parse({ OPENAI_REALTIME_URL: "wss://proxy.example/realtime?tenant=a" }).openaiRealtimeUrl,
    "wss://proxy.example/realtime?tenant=a",
  );
  for (const value of ["not a url", "https://api.openai.com/v1/realtime"]) {
    assert.equal(
      problemOf({ OPENAI_REALTIME_URL: value }),
      `OPENAI_REALTIME_URL must be a ws:// or wss:// URL such as wss://api.openai.com/v1/realtime, got ${
        JSON.stringify(value)
      }.`,
    );
  }
});

Deno.test("OPENAI_REALTIME_URL copied from OpenAI's docs: its model is used, never sent twice", () => {
  const copied = parse({
    OPENAI_REALTIME_URL: "wss://api.openai.com/v1/realtime?model=gpt-realtime",
  });
  assert.equal(copied.openaiRealtimeUrl, "wss://api.openai.com/v1/realtime");
  assert.equal(copied.openaiModel, "gpt-realtime", "the URL's model when OPENAI_MODEL is unset");
  assert.equal(realtimeUrl(copied), "wss://api.openai.com/v1/realtime?model=gpt-realtime");
  const withTenant = parse({
    OPENAI_REALTIME_URL: "wss://proxy.example/realtime?model=gpt-realtime-2&tenant=a",
    OPENAI_MODEL: "gpt-realtime-2",
  });
  assert.equal(withTenant.openaiRealtimeUrl, "wss://proxy.example/realtime?tenant=a");
  assert.equal(withTenant.openaiModel, "gpt-realtime-2", "the same model in both places is fine");
  const url = new URL(realtimeUrl(withTenant));
  assert.deepEqual(url.searchParams.getAll("model"), ["gpt-realtime-2"]);
  assert.equal(url.searchParams.get("tenant"), "a");
  assert.equal(
    problemOf({
      OPENAI_REALTIME_URL: "wss://api.openai.com/v1/realtime?model=gpt-realtime",
      OPENAI_MODEL: "gpt-realtime-2.1",
    }),
    'OPENAI_REALTIME_URL names the model "gpt-realtime" (in "?model=") but OPENAI_MODEL is "gpt-realtime-2.1". Set the model in one place: remove "model=..." from OPENAI_REALTIME_URL, or unset OPENAI_MODEL.',
  );
});

Deno.test("OPENAI_MODEL accepts a name without whitespace", () => {
  assert.equal(parse({ OPENAI_MODEL: "gpt-realtime-mini" }).openaiModel, "gpt-realtime-mini");
  assert.equal(
    problemOf({ OPENAI_MODEL: "gpt realtime" }),
    'OPENAI_MODEL must be a model name without whitespace, such as gpt-realtime-2.1, got "gpt realtime".',
  );
});

Deno.test("PORT accepts integers from 0 to 65535", () => {
  assert.equal(parse({ PORT: "0" }).port, 0);
  assert.equal(parse({ PORT: "8080" }).port, 8080);
  assert.equal(parse({ PORT: " 65535 " }).port, 65535);
  for (const value of ["abc", "65536", "-1", "80.5", "1e3", "0x50"]) {
    assert.equal(
      problemOf({ PORT: value }),
      `PORT must be an integer from 0 to 65535, got ${JSON.stringify(value)}.`,
    );
  }
});

Deno.test("HOST sets the hostname", () => {
  assert.equal(parse({ HOST: "127.0.0.1" }).hostname, "127.0.0.1");
  assert.equal(parse({ HOST: "::" }).hostname, "::");
  assert.equal(
    problemOf({ HOST: "local host" }),
    'HOST must be a host name or IP address such as 0.0.0.0, got "local host".',
  );
});

Deno.test("PUBLIC_URL accepts absolute http(s) URLs and drops the trailing slash", () => {
  assert.equal(parse({ PUBLIC_URL: "https://abc.ngrok.app/" }).publicUrl, "https://abc.ngrok.app");
  assert.equal(parse({ PUBLIC_URL: "https://x.test/base/" }).publicUrl, "https://x.test/base");
  assert.equal(parse({ PUBLIC_URL: "https://abc.ngrok.app" }).publicUrl, "https://abc.ngrok.app");
  assert.equal(parse({ PUBLIC_URL: "" }).publicUrl, undefined);
  for (
    const value of ["abc.ngrok.app", "ftp://x.test", "https://x.test/?a=1", "https://x.test/#f"]
  ) {
    assert.equal(
      problemOf({ PUBLIC_URL: value }),
      `PUBLIC_URL must be an absolute http:// or https:// URL without query or fragment, such as https://example.ngrok.app, got ${
        JSON.stringify(value)
      }.`,
    );
  }
});

Deno.test("PUBLIC_URL=http:// is refused unless the host is loopback (Twilio streams only over wss)", () => {
  for (const value of ["http://example.com", "http://x.test/base/", "http://10.0.0.5:5050"]) {
    const problem = problemOf({ PUBLIC_URL: value });
    assert.match(
      problem,
      /^PUBLIC_URL must be an https:\/\/ URL: Twilio only connects media streams over wss:\/\//,
    );
    assert.ok(problem.includes(JSON.stringify(value)), problem);
  }
  const loopback: [string, string][] = [
    ["http://127.0.0.1:5050/", "http://127.0.0.1:5050"],
    ["http://127.1.2.3:8080/base/", "http://127.1.2.3:8080/base"],
    ["http://localhost:5050", "http://localhost:5050"],
    ["http://[::1]:5050", "http://[::1]:5050"],
  ];
  for (const [value, expected] of loopback) {
    assert.equal(parse({ PUBLIC_URL: value }).publicUrl, expected);
  }
});

Deno.test("a PUBLIC_URL that ends in a path of ours (a pasted webhook URL) is refused, naming the base to set", () => {
  const cases: [string, string, string][] = [
    ["https://voice.example.com/incoming-call", "/incoming-call", "https://voice.example.com"],
    ["https://voice.example.com/incoming-call/", "/incoming-call", "https://voice.example.com"],
    ["https://voice.example.com/media-stream", "/media-stream", "https://voice.example.com"],
    ["https://x.test/voice/call-ended", "/call-ended", "https://x.test/voice"],
    ["https://x.test/outbound/twiml", "/outbound/twiml", "https://x.test"],
    ["https://x.test/media-stream/agent/sales", "/media-stream", "https://x.test"],
  ];
  for (const [value, route, base] of cases) {
    const problem = problemOf({ PUBLIC_URL: value });
    assert.ok(
      problem.startsWith(
        `PUBLIC_URL must be the base address of this server, not one of its URLs: ${
          JSON.stringify(value)
        } ends in ${route}, a path the server adds itself`,
      ),
      problem,
    );
    assert.ok(problem.includes(`Set PUBLIC_URL=${base} `), problem);
  }
  // A path prefix (a reverse proxy that serves the bridge under /voice) stays accepted.
  assert.equal(parse({ PUBLIC_URL: "https://x.test/voice/" }).publicUrl, "https://x.test/voice");
  assert.equal(
    parse({ PUBLIC_URL: "https://x.test/calls-team" }).publicUrl,
    "https://x.test/calls-team",
  );
});

Deno.test("the paths PUBLIC_URL may not end in are the routes the server answers", () => {
  const routes = [
    ...Object.values(ROUTES).filter((path) => path !== "/" && !path.endsWith("/")),
    ...Object.values(OUTBOUND_ROUTES),
    ...Object.values(TRANSFER_ROUTES),
    CALLS_ROUTE,
    "/campaigns",
    "/softphone",
  ];
  assert.deepEqual([...SERVER_PATHS].sort(), [...new Set(routes)].sort());
  assert.equal(STREAM_PATH_ROOT, ROUTES.mediaStream, "every stream path starts with it");
});

Deno.test('a refused PUBLIC_URL with API_TOKEN set gives its own message, not also "PUBLIC_URL is not set"', () => {
  const problems = problemsOf({
    OPENAI_API_KEY: KEY,
    API_TOKEN: TOKEN,
    PUBLIC_URL: "http://voice.example.com",
    TWILIO_ACCOUNT_SID: SID,
    TWILIO_AUTH_TOKEN: TOKEN,
    TWILIO_PHONE_NUMBER: "+14155550123",
  });
  assert.equal(problems.length, 1, JSON.stringify(problems));
  assert.match(problems[0], /^PUBLIC_URL must be an https:\/\/ URL/);
  // Unset, it is still named as missing.
  const missing = problemsOf({
    OPENAI_API_KEY: KEY,
    API_TOKEN: TOKEN,
    TWILIO_ACCOUNT_SID: SID,
    TWILIO_AUTH_TOKEN: TOKEN,
    TWILIO_PHONE_NUMBER: "+14155550123",
  });
  assert.equal(missing.length, 1, JSON.stringify(missing));
  assert.match(missing[0], /^API_TOKEN is set \(outbound calls on\) but PUBLIC_URL is not/);
});

Deno.test("VOICE accepts the built-in voices and custom voice ids", () => {
  for (const voice of VOICES) assert.equal(parse({ VOICE: voice }).voice, voice);
  assert.equal(parse({ VOICE: "Marin" }).voice, "marin");
  assert.equal(parse({ VOICE: "voice_abc-123_X" }).voice, "voice_abc-123_X");
  const problem = problemOf({ VOICE: "bob" });
  assert.equal(
    problem,
    'VOICE must be one of alloy, ash, ballad, coral, echo, sage, shimmer, verse, marin or cedar, or a custom voice id such as voice_1234abcd, got "bob".',
  );
  assert.match(problemOf({ VOICE: "voice_" }), /^VOICE must be one of .* got "voice_"\.$/);
});

Deno.test("COMPANY_NAME goes into the default system message and greeting", () => {
  const config = parse({ COMPANY_NAME: "Blue Harbor Homes" });
  assert.equal(config.companyName, "Blue Harbor Homes");
  assert.match(config.systemMessage, /Blue Harbor Homes/);
  assert.equal(config.greeting, defaultGreeting("Blue Harbor Homes"));
  assert.equal(
    config.greeting,
    "Hello! Thanks for calling Blue Harbor Homes. How can I help you today?",
  );
});

Deno.test("SYSTEM_MESSAGE replaces the default system message", () => {
  assert.equal(parse({ SYSTEM_MESSAGE: " Be a pirate. " }).systemMessage, "Be a pirate.");
});

Deno.test("SYSTEM_MESSAGE_FILE is read with the injected readTextFile", () => {
  const paths: string[] = [];
  const config = parse({ SYSTEM_MESSAGE_FILE: "prompts/receptionist.md" }, (path) => {
    paths.push(path);
    return "\nYou answer for a dental clinic.\n";
  });
  assert.deepEqual(paths, ["prompts/receptionist.md"]);
  assert.equal(config.systemMessage, "You answer for a dental clinic.");
});

Deno.test("SYSTEM_MESSAGE_FILE reports unreadable and empty files with the path", () => {
  const unreadable = problemOf({ SYSTEM_MESSAGE_FILE: "missing.md" }, () => {
    throw new Deno.errors.NotFound("No such file or directory (os error 2)");
  });
  assert.equal(
    unreadable,
    'SYSTEM_MESSAGE_FILE could not be read from "missing.md" (No such file or directory (os error 2)). Check the path (relative paths start in the working directory) and that the server may read it, or unset SYSTEM_MESSAGE_FILE.',
  );
  const empty = problemOf({ SYSTEM_MESSAGE_FILE: "empty.md" }, () => " \n\t\n");
  assert.equal(
    empty,
    'SYSTEM_MESSAGE_FILE points to an empty file, "empty.md". Write the system message into it, or unset SYSTEM_MESSAGE_FILE to use the default.',
  );
});

Deno.test("setting both SYSTEM_MESSAGE and SYSTEM_MESSAGE_FILE is a problem", () => {
  const reads: string[] = [];
  const problem = problemOf({ SYSTEM_MESSAGE: "Hi", SYSTEM_MESSAGE_FILE: "p.md" }, (path) => {
    reads.push(path);
    return "file";
  });
  assert.equal(
    problem,
    "SYSTEM_MESSAGE and SYSTEM_MESSAGE_FILE are both set. Set only one of them: SYSTEM_MESSAGE for the text itself, or SYSTEM_MESSAGE_FILE for the path of a file containing it.",
  );
  assert.deepEqual(reads, []);
});

Deno.test("GREETING sets the greeting; off, none, false or empty turn it off", () => {
  assert.equal(parse({ GREETING: "Hi there!" }).greeting, "Hi there!");
  for (const value of ["off", "none", "false", "OFF", "None", "", "  "]) {
    assert.equal(parse({ GREETING: value }).greeting, undefined, `GREETING=${value}`);
  }
});

Deno.test("TURN_DETECTION selects server_vad or semantic_vad", () => {
  assert.deepEqual(parse({ TURN_DETECTION: "semantic_vad" }).turnDetection, {
    type: "semantic_vad",
    eagerness: "auto",
    interruptResponse: true,
  });
  assert.deepEqual(
    parse({ TURN_DETECTION: "SEMANTIC_VAD", VAD_EAGERNESS: "high", INTERRUPT_RESPONSE: "no" })
      .turnDetection,
    { type: "semantic_vad", eagerness: "high", interruptResponse: false },
  );
  for (const eagerness of ["low", "medium", "high", "auto"]) {
    const detection = parse({ TURN_DETECTION: "semantic_vad", VAD_EAGERNESS: eagerness })
      .turnDetection;
    assert.equal(detection.type === "semantic_vad" && detection.eagerness, eagerness);
  }
  assert.equal(
    problemOf({ TURN_DETECTION: "vad" }),
    'TURN_DETECTION must be one of server_vad or semantic_vad, got "vad".',
  );
  assert.equal(
    problemOf({ TURN_DETECTION: "semantic_vad", VAD_EAGERNESS: "eager" }),
    'VAD_EAGERNESS must be one of low, medium, high or auto, got "eager".',
  );
});

Deno.test("server_vad knobs accept their ranges", () => {
  assert.deepEqual(
    parse({
      VAD_THRESHOLD: "0.8",
      VAD_PREFIX_PADDING_MS: "0",
      VAD_SILENCE_DURATION_MS: "10000",
      INTERRUPT_RESPONSE: "false",
    }).turnDetection,
    {
      type: "server_vad",
      threshold: 0.8,
      prefixPaddingMs: 0,
      silenceDurationMs: 10000,
      interruptResponse: false,
    },
  );
  const cases: [string, string, string][] = [
    ["VAD_THRESHOLD", "1.5", "a number from 0 to 1"],
    ["VAD_THRESHOLD", "-0.1", "a number from 0 to 1"],
    ["VAD_THRESHOLD", "high", "a number from 0 to 1"],
    ["VAD_PREFIX_PADDING_MS", "5001", "an integer from 0 to 5000"],
    ["VAD_PREFIX_PADDING_MS", "12.5", "an integer from 0 to 5000"],
    ["VAD_SILENCE_DURATION_MS", "10001", "an integer from 0 to 10000"],
    ["VAD_SILENCE_DURATION_MS", "soon", "an integer from 0 to 10000"],
  ];
  for (const [name, value, accepted] of cases) {
    assert.equal(problemOf({ [name]: value }), `${name} must be ${accepted}, got "${value}".`);
  }
});

Deno.test("server_vad knobs with semantic_vad give a warning, not an error", () => {
  const config = parse({
    TURN_DETECTION: "semantic_vad",
    VAD_THRESHOLD: "7",
    VAD_SILENCE_DURATION_MS: "600",
  });
  assert.equal(config.turnDetection.type, "semantic_vad");
  assert.deepEqual(config.warnings, [
    "VAD_THRESHOLD and VAD_SILENCE_DURATION_MS are set but have no effect with TURN_DETECTION=semantic_vad (only server_vad uses them). Remove them or set TURN_DETECTION=server_vad.",
  ]);
  assert.deepEqual(parse({ TURN_DETECTION: "semantic_vad", VAD_THRESHOLD: "0.1" }).warnings, [
    "VAD_THRESHOLD is set but has no effect with TURN_DETECTION=semantic_vad (only server_vad uses it). Remove it or set TURN_DETECTION=server_vad.",
  ]);
  assert.deepEqual(parse({ VAD_EAGERNESS: "low" }).warnings, [
    "VAD_EAGERNESS is set but has no effect with TURN_DETECTION=server_vad (only semantic_vad uses it). Remove it or set TURN_DETECTION=semantic_vad.",
  ]);
});

Deno.test("booleans accept true/false/1/0/yes/no/on/off in any case", () => {
  const words: [string, boolean][] = [
    ["true", true],
    ["TRUE", true],
    ["1", true],
    ["yes", true],
    ["On", true],
    ["false", false],
    ["0", false],
    ["No", false],
    ["off", false],
  ];
  for (const [value, expected] of words) {
    assert.equal(parse({ SHOW_TIMING_MATH: value }).showTimingMath, expected, value);
    assert.equal(parse({ INTERRUPT_RESPONSE: value }).turnDetection.interruptResponse, expected);
  }
  for (const name of ["SHOW_TIMING_MATH", "INTERRUPT_RESPONSE"]) {
    assert.equal(
      problemOf({ [name]: "maybe" }),
      `${name} must be a boolean (true, false, 1, 0, yes, no, on or off), got "maybe".`,
    );
  }
});

Deno.test("NOISE_REDUCTION accepts near_field, far_field or off", () => {
  assert.equal(parse({ NOISE_REDUCTION: "near_field" }).noiseReduction, "near_field");
  assert.equal(parse({ NOISE_REDUCTION: "far_field" }).noiseReduction, "far_field");
  assert.equal(parse({ NOISE_REDUCTION: "off" }).noiseReduction, undefined);
  assert.equal(
    problemOf({ NOISE_REDUCTION: "loud" }),
    'NOISE_REDUCTION must be one of near_field, far_field or off, got "loud".',
  );
});

Deno.test("TRANSCRIPTION_MODEL turns input transcription on", () => {
  assert.equal(
    parse({ TRANSCRIPTION_MODEL: "gpt-4o-mini-transcribe" }).transcriptionModel,
    "gpt-4o-mini-transcribe",
  );
  assert.equal(parse({ TRANSCRIPTION_MODEL: "off" }).transcriptionModel, undefined);
  assert.equal(parse({ TRANSCRIPTION_MODEL: "" }).transcriptionModel, undefined);
  assert.equal(
    problemOf({ TRANSCRIPTION_MODEL: "whisper 1" }),
    'TRANSCRIPTION_MODEL must be a transcription model name without whitespace (such as gpt-4o-mini-transcribe) or off, got "whisper 1".',
  );
});

Deno.test("END_CALL_GRACE_SECONDS and END_CALL_WATCHDOG_SECONDS accept their ranges", () => {
  assert.equal(parse({ END_CALL_GRACE_SECONDS: "0" }).endCallGraceSeconds, 0);
  assert.equal(parse({ END_CALL_GRACE_SECONDS: "2.5" }).endCallGraceSeconds, 2.5);
  assert.equal(parse({ END_CALL_GRACE_SECONDS: "60" }).endCallGraceSeconds, 60);
  assert.equal(parse({ END_CALL_WATCHDOG_SECONDS: "0.5" }).endCallWatchdogSeconds, 0.5);
  assert.equal(parse({ END_CALL_WATCHDOG_SECONDS: "60" }).endCallWatchdogSeconds, 60);
  for (const value of ["-1", "61", "abc", "Infinity"]) {
    assert.equal(
      problemOf({ END_CALL_GRACE_SECONDS: value }),
      `END_CALL_GRACE_SECONDS must be a number from 0 to 60, got ${JSON.stringify(value)}.`,
    );
  }
  for (const value of ["0", "-2", "60.5", "soon"]) {
    assert.equal(
      problemOf({ END_CALL_WATCHDOG_SECONDS: value }),
      `END_CALL_WATCHDOG_SECONDS must be a number greater than 0 and at most 60, got ${
        JSON.stringify(value)
      }.`,
    );
  }
});

Deno.test("Twilio REST credentials need the token; the token alone is for signatures", () => {
  assert.deepEqual(
    twilioCredentials(parse({ TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: TOKEN })),
    {
      accountSid: SID,
      authToken: TOKEN,
    },
  );
  assert.equal(
    twilioCredentials(parse({ TWILIO_ACCOUNT_SID: "", TWILIO_AUTH_TOKEN: "" })),
    undefined,
  );
  assert.equal(
    problemOf({ TWILIO_ACCOUNT_SID: SID }),
    "TWILIO_ACCOUNT_SID is set but TWILIO_AUTH_TOKEN is not. Set TWILIO_AUTH_TOKEN too (from https://console.twilio.com), or unset TWILIO_ACCOUNT_SID.",
  );
  const tokenOnly = parse({ TWILIO_AUTH_TOKEN: TOKEN });
  assert.equal(twilioCredentials(tokenOnly), undefined, "no REST hang-up without the account SID");
  assert.equal(tokenOnly.twilioAuthToken, TOKEN, "but signatures can be checked");
  const badSid = problemOf({ TWILIO_ACCOUNT_SID: "AC123", TWILIO_AUTH_TOKEN: TOKEN });
  assert.equal(
    badSid,
    'TWILIO_ACCOUNT_SID must be "AC" followed by 32 hexadecimal digits (see https://console.twilio.com), got "AC123".',
  );
  const badToken = problemOf({ TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: "abc defghijkl" });
  assert.match(badToken, /^TWILIO_AUTH_TOKEN contains whitespace \(value not shown\)\./);
  for (const text of [badSid, badToken]) {
    assert.ok(!text.includes(TOKEN) && !text.includes("defghijkl"));
  }
});

Deno.test("LOG_LEVEL and LOG_FORMAT accept their values", () => {
  for (const level of ["trace", "debug", "info", "warning", "error", "fatal"]) {
    assert.equal(parse({ LOG_LEVEL: level }).logLevel, level);
  }
  assert.equal(parse({ LOG_LEVEL: "warn" }).logLevel, "warning");
  assert.equal(parse({ LOG_LEVEL: "DEBUG" }).logLevel, "debug");
  assert.equal(parse({ LOG_FORMAT: "pretty" }).logFormat, "pretty");
  assert.equal(parse({ LOG_FORMAT: "json" }).logFormat, "json");
  assert.equal(
    problemOf({ LOG_LEVEL: "verbose" }),
    'LOG_LEVEL must be one of trace, debug, info, warning (or warn), error or fatal, got "verbose".',
  );
  assert.equal(
    problemOf({ LOG_FORMAT: "text" }),
    'LOG_FORMAT must be one of json or pretty, got "text".',
  );
});

Deno.test("TEMPERATURE gives a warning instead of failing", () => {
  const config = parse({ TEMPERATURE: "0.7" });
  assert.deepEqual(config.warnings, [TEMPERATURE_WARNING]);
  assert.equal(
    TEMPERATURE_WARNING,
    "TEMPERATURE is set but has no effect: the GA Realtime interface has no temperature setting. Remove it from your environment.",
  );
  assert.deepEqual(parse({ TEMPERATURE: "not even a number" }).warnings, [TEMPERATURE_WARNING]);
});

Deno.test("describeConfig() hides the key and the Twilio token", () => {
  const config = parse({ TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: TOKEN, GREETING: "off" });
  const summary = describeConfig(config);
  const text = JSON.stringify(summary);
  assert.ok(!text.includes(KEY));
  assert.ok(!text.includes(TOKEN));
  assert.equal(summary.openaiApiKey, "set");
  assert.equal(summary.twilio, "set");
  assert.equal(summary.greeting, "off");
  assert.equal(summary.port, 5050);
  assert.equal(summary.systemMessage, `${config.systemMessage.length} characters`);
  assert.equal(describeConfig(parse()).twilio, "not set");
});

Deno.test("security settings: signature check, stream token secret and limits", () => {
  const config = parse({
    TWILIO_AUTH_TOKEN: TOKEN,
    TWILIO_SIGNATURE_CHECK: "OFF",
    STREAM_TOKEN_SECRET: "0123456789abcdef-shared",
    MAX_CONCURRENT_CALLS: "3",
    MAX_CALL_SECONDS: "0",
    CALLER_IDLE_SECONDS: "45",
  });
  assert.equal(config.twilioSignatureCheck, false);
  assert.equal(config.streamTokenSecret, "0123456789abcdef-shared");
  assert.equal(config.maxConcurrentCalls, 3);
  assert.equal(config.maxCallSeconds, 0);
  assert.equal(config.callerIdleSeconds, 45);
  const summary = JSON.stringify(describeConfig(config));
  assert.equal(summary.includes(TOKEN), false);
  assert.equal(summary.includes("0123456789abcdef-shared"), false);
  assert.equal(
    problemOf({ TWILIO_SIGNATURE_CHECK: "maybe" }),
    'TWILIO_SIGNATURE_CHECK must be one of on or off, got "maybe".',
  );
  assert.equal(
    problemOf({ MAX_CONCURRENT_CALLS: "0" }),
    'MAX_CONCURRENT_CALLS must be an integer from 1 to 100000, got "0".',
  );
  const short = problemOf({ STREAM_TOKEN_SECRET: "short-secret" });
  assert.match(short, /^STREAM_TOKEN_SECRET is too short \(value not shown\)/);
  assert.equal(short.includes("short-secret"), false);
});

Deno.test("renewal, reconnect and drain settings: defaults, Deno Deploy, transcription and bad values", () => {
  assert.equal(parse({ DENO_DEPLOYMENT_ID: "abc123" }).drainSeconds, 4);
  assert.equal(parse({ DRAIN_SECONDS: "12" }).drainSeconds, 12);
  // Handing calls over needs a call store every instance shares.
  assert.equal(parse({ DENO_DEPLOYMENT_ID: "abc123" }).drainMode, "handover");
  assert.equal(
    parse({ CALL_STORE_PATH: "https://api.deno.com/v2/databases/x/connect" }).drainMode,
    "handover",
  );
  assert.equal(parse({ CALL_STORE_PATH: "/data/calls.kv" }).drainMode, "goodbye");
  assert.equal(
    parse({ DENO_DEPLOYMENT_ID: "abc123", CALL_STORE_PATH: "off" }).drainMode,
    "goodbye",
  );
  assert.equal(parse({ DRAIN_MODE: "handover" }).drainMode, "handover");
  const off = parse({ REALTIME_SESSION_RENEW_SECONDS: "0" });
  assert.equal(off.realtimeSessionRenewSeconds, 0);
  assert.equal(off.transcriptionModel, undefined, "no renewal: transcription stays off");
  assert.equal(parse({ TRANSCRIPTION_MODEL: "whisper-1" }).transcriptionModel, "whisper-1");
  const noTranscripts = parse({ TRANSCRIPTION_MODEL: "off" });
  assert.equal(noTranscripts.transcriptionModel, undefined);
  assert.match(
    noTranscripts.warnings.join("\n"),
    /TRANSCRIPTION_MODEL is off while REALTIME_SESSION_RENEW_SECONDS/,
  );
  assert.equal(parse({ REALTIME_RECONNECT_SECONDS: "0" }).realtimeReconnectSeconds, 0);
  assert.throws(
    () =>
      parse({
        REALTIME_SESSION_RENEW_SECONDS: "3600",
        REALTIME_RECONNECT_SECONDS: "-1",
        DRAIN_SECONDS: "soon",
      }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems, [
        'REALTIME_SESSION_RENEW_SECONDS must be a number of seconds from 0 (off) to 3540 (sessions last 3600 seconds), got "3600".',
        'REALTIME_RECONNECT_SECONDS must be a number of seconds from 0 (apologize at once) to 60, got "-1".',
        'DRAIN_SECONDS must be a number of seconds from 0 to 3600, got "soon".',
      ]);
      return true;
    },
  );
});

Deno.test("TRANSFER_NUMBERS lists numbers and SIP URIs in order; TRANSFER_MODE=warm needs the Twilio account and PUBLIC_URL", () => {
  assert.deepEqual(
    parse({ TRANSFER_NUMBERS: "+14155550123, sip:desk@pbx.example.com" }).transferNumbers,
    ["+14155550123", "sip:desk@pbx.example.com"],
  );
  const bad = problemOf({ TRANSFER_NUMBERS: "+14155550123,4155550124" });
  assert.match(
    bad,
    /^TRANSFER_NUMBERS must be comma-separated phone numbers in E\.164 form or SIP URIs/,
  );
  assert.match(bad, /item 2 is neither/);
  assert.ok(!bad.includes("4155550124"), "the value is not shown");
  assert.match(
    problemOf({ TRANSFER_NUMBER: "+14155550123", TRANSFER_NUMBERS: "+14155550124" }),
    /TRANSFER_NUMBER and TRANSFER_NUMBERS are both set/,
  );
  assert.equal(parse({}).transferMode, "cold");
  assert.equal(
    problemOf({ TRANSFER_MODE: "warm", TRANSFER_NUMBERS: "+14155550123" }),
    "TRANSFER_MODE=warm places the person's call through Twilio's REST API and needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and PUBLIC_URL; set them, or use TRANSFER_MODE=cold.",
  );
  const warm = parse({
    TRANSFER_MODE: "warm",
    TRANSFER_NUMBERS: "+14155550123",
    TWILIO_ACCOUNT_SID: SID,
    TWILIO_AUTH_TOKEN: TOKEN,
    PUBLIC_URL: "https://voice.example.com",
  });
  assert.equal(warm.transferMode, "warm");
  assert.match(
    problemOf({ TRANSFER_MODE: "lukewarm" }),
    /TRANSFER_MODE must be one of cold or warm/,
  );
});

Deno.test("a cleartext upstream to a host that is not loopback is refused, naming ALLOW_INSECURE_UPSTREAM", () => {
  const key = { OPENAI_API_KEY: "sk-test-0123456789abcdefghij" };
  const secret = { WEBHOOK_SECRET: `whsec_${btoa("k".repeat(32))}` };
  assert.throws(
    () => parseConfig({ ...key, OPENAI_REALTIME_URL: "ws://realtime.example.com/v1/realtime" }),
    (error: Error) =>
      /OPENAI_REALTIME_URL is a cleartext ws:\/\/ URL to realtime\.example\.com/.test(
        error.message,
      ) &&
      /Use wss:\/\/, or set ALLOW_INSECURE_UPSTREAM=true/.test(error.message),
  );
  assert.throws(
    () => parseConfig({ ...key, ...secret, WEBHOOK_URL: "http://crm.example.com/hook" }),
    /WEBHOOK_URL is a cleartext http:\/\/ URL to crm\.example\.com.*Use https:\/\/, or set ALLOW_INSECURE_UPSTREAM=true/,
  );
  assert.throws(
    () =>
      parseConfig({
        ...key,
        CALL_RECORD_WEBHOOK_URL: "http://10.0.0.8/records",
        CALL_RECORD_WEBHOOK_SECRET: "s",
      }),
    /CALL_RECORD_WEBHOOK_URL is a cleartext http:\/\/ URL to 10\.0\.0\.8/,
  );
  // Loopback (local fakes, a sidecar) and TLS are fine.
  for (
    const env of [
      { OPENAI_REALTIME_URL: "ws://127.0.0.1:9000/v1/realtime" },
      { OPENAI_REALTIME_URL: "ws://localhost:9000/v1/realtime" },
      { WEBHOOK_URL: "http://[::1]:8080/hook", ...secret },
      { WEBHOOK_URL: "https://crm.example.com/hook", ...secret },
    ]
  ) {
    assert.deepEqual(parseConfig({ ...key, ...env }).warnings, [], JSON.stringify(env));
  }
  // The operator may allow it: then it is a warning.
  const allowed = parseConfig({
    ...key,
    OPENAI_REALTIME_URL: "ws://realtime.internal/v1/realtime",
    ALLOW_INSECURE_UPSTREAM: "true",
  });
  assert.match(allowed.warnings.join("\n"), /Allowed by ALLOW_INSECURE_UPSTREAM=true/);
});
