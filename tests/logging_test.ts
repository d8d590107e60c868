import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import {
  configureLogging,
  type ConfigureLoggingOptions,
  createRedactor,
  disposeLogging,
  getBridgeLogger,
} from "../src/observability/logging.ts";

const CALL_SID = "CA0123456789abcdef0123456789abcdef";
const STREAM_SID = "MZ9876543210fedcba9876543210fedcba";
const OPENAI_KEY = "sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789";
const TWILIO_TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed";
const PHONE = "+14155550123";

/** Configures logging into an array, runs `fn`, disposes, and returns the lines. */
async function capture(
  options: Omit<ConfigureLoggingOptions, "sink">,
  fn: () => void,
): Promise<string[]> {
  const lines: string[] = [];
  await configureLogging({ ...options, sink: (line) => lines.push(line) });
  try {
    fn();
  } finally {
    await disposeLogging();
  }
  return lines;
}

function logSensitiveCall(): void {
  getBridgeLogger("call").info("Call from {from} with key {key} and token {token}", {
    callSid: CALL_SID,
    streamSid: STREAM_SID,
    from: PHONE,
    key: OPENAI_KEY,
    token: TWILIO_TOKEN,
    caller: { number: "4155550123", note: `also ${PHONE}` },
  });
}

Deno.test("json lines parse as JSON and carry the properties", async () => {
  const before = Date.now();
  const lines = await capture({ level: "info", format: "json" }, () => {
    getBridgeLogger("call").info("Call {callSid} started after {ms} ms", {
      callSid: CALL_SID,
      ms: 42,
      media: { frames: 3 },
    });
  });
  assert.equal(lines.length, 1);
  assert.ok(!lines[0].includes("\n"));
  const record = JSON.parse(lines[0]);
  assert.deepEqual(Object.keys(record).slice(0, 4), ["timestamp", "level", "category", "message"]);
  assert.equal(record.level, "info");
  assert.equal(record.category, "bridge.call");
  assert.equal(record.message, `Call ${CALL_SID} started after 42 ms`);
  assert.equal(record.callSid, CALL_SID);
  assert.equal(record.ms, 42);
  assert.deepEqual(record.media, { frames: 3 });
  assert.equal(new Date(record.timestamp).toISOString(), record.timestamp);
  assert.ok(Date.parse(record.timestamp) >= before - 1000);
});

Deno.test("json lines serialize errors and do not let properties overwrite core fields", async () => {
  const lines = await capture({ level: "info", format: "json" }, () => {
    getBridgeLogger("openai").error("Socket failed", new Error("boom"));
    getBridgeLogger().info("Clash", { message: "from properties", level: "fake" });
  });
  const [failure, clash] = lines.map((line) => JSON.parse(line));
  assert.equal(failure.level, "error");
  assert.equal(failure.category, "bridge.openai");
  assert.equal(failure.error.name, "Error");
  assert.equal(failure.error.message, "boom");
  assert.match(failure.error.stack, /boom/);
  assert.equal(clash.message, "Clash");
  assert.equal(clash.level, "info");
  assert.equal(clash._message, "from properties");
  assert.equal(clash._level, "fake");
});

Deno.test("pretty format writes one readable line per record", async () => {
  const lines = await capture({ level: "debug", format: "pretty" }, () => {
    getBridgeLogger("twilio").warning("Stream {streamSid} said:\nsecond line", {
      streamSid: STREAM_SID,
      text: "two\nlines",
      count: 2,
    });
  });
  assert.equal(lines.length, 1);
  const [line] = lines;
  assert.ok(!line.includes("\n") && !line.includes("\r"));
  assert.match(
    line,
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z WARNING bridge\.twilio: Stream MZ[0-9a-f]{32} said:/,
  );
  assert.ok(line.includes(`streamSid=${STREAM_SID}`));
  assert.ok(line.includes('text="two\\nlines"'));
  assert.ok(line.endsWith(" count=2"));
});

for (const format of ["json", "pretty"] as const) {
  Deno.test(`${format} lines never contain secrets or phone numbers, but keep SIDs`, async () => {
    const lines = await capture(
      { level: "info", format, secrets: [OPENAI_KEY, TWILIO_TOKEN] },
      logSensitiveCall,
    );
    assert.equal(lines.length, 1);
    const [line] = lines;
    for (const leak of [OPENAI_KEY, TWILIO_TOKEN, PHONE, "14155550123", "4155550123"]) {
      assert.ok(!line.includes(leak), `${leak} leaked into ${line}`);
    }
    assert.ok(line.includes(CALL_SID));
    assert.ok(line.includes(STREAM_SID));
    assert.ok(line.includes("+14•••••••23"));
    assert.ok(line.includes("41••••••23"));
    assert.ok(line.includes("[redacted]"));
  });
}

Deno.test("json redaction keeps the line valid JSON", async () => {
  const lines = await capture(
    { level: "info", format: "json", secrets: [OPENAI_KEY, TWILIO_TOKEN] },
    logSensitiveCall,
  );
  const record = JSON.parse(lines[0]);
  assert.equal(record.message, "Call from +14•••••••23 with key [redacted] and token [redacted]");
  assert.equal(record.from, "+14•••••••23");
  assert.equal(record.key, "[redacted]");
  assert.equal(record.token, "[redacted]");
  assert.deepEqual(record.caller, { number: "41••••••23", note: "also +14•••••••23" });
  assert.equal(record.callSid, CALL_SID);
  assert.equal(record.streamSid, STREAM_SID);
});

Deno.test("level filtering drops records below the configured level", async () => {
  const lines = await capture({ level: "warning", format: "json" }, () => {
    const logger = getBridgeLogger("call");
    logger.trace("trace");
    logger.debug("debug");
    logger.info("info");
    logger.warn("warn");
    logger.error("error");
    logger.fatal("fatal");
  });
  assert.deepEqual(lines.map((line) => JSON.parse(line).level), ["warning", "error", "fatal"]);
});

Deno.test("only the bridge category is written", async () => {
  const lines = await capture({ level: "trace", format: "json" }, () => {
    getLogger(["other"]).error("not ours");
    getBridgeLogger("core").trace("ours");
  });
  assert.deepEqual(lines.map((line) => JSON.parse(line).message), ["ours"]);
});

Deno.test("configureLogging() can be called again and replaces the sink", async () => {
  const first: string[] = [];
  const second: string[] = [];
  try {
    await configureLogging({ level: "info", format: "json", sink: (line) => first.push(line) });
    getBridgeLogger().info("one");
    await configureLogging({ level: "info", format: "pretty", sink: (line) => second.push(line) });
    getBridgeLogger().info("two");
  } finally {
    await disposeLogging();
  }
  assert.equal(first.length, 1);
  assert.equal(JSON.parse(first[0]).message, "one");
  assert.equal(second.length, 1);
  assert.match(second[0], / INFO {4}bridge: two$/);
});

Deno.test("getBridgeLogger() puts loggers under the bridge category", () => {
  assert.deepEqual(getBridgeLogger().category, ["bridge"]);
  assert.deepEqual(getBridgeLogger("openai", "ws").category, ["bridge", "openai", "ws"]);
});

Deno.test("createRedactor() replaces exact secrets; shorter than 8 characters as whole words", () => {
  const redact = createRedactor(["short", "a-longer-secret", 'quo"te\\secret']);
  assert.equal(redact("short a-longer-secret shorter"), "[redacted] [redacted] shorter");
  assert.equal(
    redact("url ?key=a-longer-secret%2F&k=short"),
    "url ?key=[redacted]%2F&k=[redacted]",
  );
  assert.equal(redact('raw quo"te\\secret'), "raw [redacted]");
  assert.equal(redact(JSON.stringify({ v: 'quo"te\\secret' })), '{"v":"[redacted]"}');
  assert.equal(createRedactor([])("nothing to hide"), "nothing to hide");
});

Deno.test("createRedactor() masks phone numbers but keeps SIDs and timestamps", () => {
  const redact = createRedactor([]);
  assert.equal(redact("+14155550123"), "+14•••••••23");
  assert.equal(redact("from=+442071838750,"), "from=+44••••••••50,");
  assert.equal(redact("+1234567"), "+12•••67");
  assert.equal(
    redact("From=%2B14155550123&To=%2b4930123456"),
    "From=%2B14•••••••23&To=%2b49••••••56",
  );
  assert.equal(redact('"4155550123"'), '"41••••••23"');
  assert.equal(redact("call 14155550123 now"), "call 14•••••••23 now");
  assert.equal(redact(`${CALL_SID} ${STREAM_SID}`), `${CALL_SID} ${STREAM_SID}`);
  assert.equal(redact("CA12345678901234567890123456789012"), "CA12345678901234567890123456789012");
  assert.equal(redact("at 1795515787667 ms, 1795515787 s"), "at 1795515787667 ms, 1795515787 s");
  assert.equal(redact("ratio 0.12345678901234"), "ratio 0.12345678901234");
  assert.equal(redact("port 5050, 160 bytes"), "port 5050, 160 bytes");
});

Deno.test("createRedactor() hides OpenAI-looking keys", () => {
  const redact = createRedactor([]);
  assert.equal(redact(`Bearer ${OPENAI_KEY}`), "Bearer [redacted]");
  assert.equal(redact("sk-abcdefghijklmnopqrst1"), "[redacted]");
  assert.equal(redact("sk-short"), "sk-short");
  assert.equal(redact("task-abcdefghijklmnopqrstuvwxyz"), "task-abcdefghijklmnopqrstuvwxyz");
});

Deno.test("createRedactor() leaves the example numbers of our wording (e.g. +…) and masks every other", () => {
  const redact = createRedactor([]);
  assert.equal(
    redact(
      "a.yaml:4: agents[0].numbers[0]: must be a phone number in E.164 form, e.g. +15005550001. (caller +14155550123)",
    ),
    "a.yaml:4: agents[0].numbers[0]: must be a phone number in E.164 form, e.g. +15005550001. (caller +14•••••••23)",
  );
  assert.equal(redact("call to +15005550001"), "call to +15•••••••01");
});
