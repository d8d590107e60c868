import assert from "node:assert/strict";
import { parseConfig } from "../src/config/mod.ts";
import {
  type DoctorCheck,
  liveModelUrl,
  openaiModelUrl,
  runDoctorChecks,
} from "../src/cli/doctor_checks.ts";
import { doctor } from "../src/cli/doctor.ts";
import { FakeOpenAIRest } from "./support/fake_openai_rest.ts";
import { FakeTwilioRest } from "./support/fake_twilio_rest.ts";
import { denoRunArgs, ServerProcess } from "./support/server_process.ts";

const KEY = "sk-doctor-test-0123456789abcdefghijkl";
const SID = "AC0123456789abcdef0123456789abcdef";
const TOKEN = "0123456789abcdef0123456789abcdef";
const NUMBER = "+14155550123";
const PUBLIC_URL = "https://voice.example.com";

/** Both fakes, set up like a working deployment; tests change one thing. */
function fakes() {
  const openai = FakeOpenAIRest.start({
    apiKey: KEY,
    models: ["gpt-realtime", "gpt-realtime-mini"],
  });
  const twilio = FakeTwilioRest.start({
    accountSid: SID,
    authToken: TOKEN,
    numbers: [{ phoneNumber: NUMBER, voiceUrl: `${PUBLIC_URL}/incoming-call` }],
  });
  const env: Record<string, string> = {
    OPENAI_API_KEY: KEY,
    OPENAI_REALTIME_URL: openai.realtimeUrl,
    OPENAI_MODEL: "gpt-realtime",
    TWILIO_ACCOUNT_SID: SID,
    TWILIO_AUTH_TOKEN: TOKEN,
    TWILIO_API_BASE_URL: twilio.baseUrl,
    TWILIO_PHONE_NUMBER: NUMBER,
    PUBLIC_URL,
    PORT: "0",
  };
  return {
    openai,
    twilio,
    env,
    async [Symbol.asyncDispose]() {
      await openai.close();
      await twilio.close();
    },
  };
}

/** Runs the checks on `env`; returns them as "✔ text" strings. */
async function check(env: Record<string, string>): Promise<string[]> {
  const checks = await runDoctorChecks(parseConfig(env), { portFree: () => "free" });
  return checks.map((c: DoctorCheck) =>
    `${{ ok: "✔", fail: "✘", warn: "⚠", skip: "–" }[c.status]} ${c.text}`
  );
}

Deno.test("doctor: the model URL follows OPENAI_REALTIME_URL", () => {
  assert.equal(
    openaiModelUrl("wss://api.openai.com/v1/realtime", "gpt-realtime"),
    "https://api.openai.com/v1/models/gpt-realtime",
  );
  assert.equal(
    openaiModelUrl("ws://127.0.0.1:9000/v1/realtime/", "a/b"),
    "http://127.0.0.1:9000/v1/models/a%2Fb",
  );
  assert.equal(
    openaiModelUrl("wss://gw.example.com/openai/v1/realtime?x=1", "m"),
    "https://gw.example.com/openai/v1/models/m",
  );
  assert.equal(openaiModelUrl("wss://x.openai.azure.com/openai/deployments/d", "m"), undefined);
});

Deno.test("doctor: everything right: six ✔ lines, and the requests were authenticated", async () => {
  await using f = fakes();
  assert.deepEqual(await check(f.env), [
    "✔ OpenAI accepted the API key.",
    "✔ Model gpt-realtime is available.",
    "✔ Twilio accepted the credentials (account active).",
    `✔ Calls to +14•••••••23 go to ${PUBLIC_URL}/incoming-call (HTTP POST).`,
    `✔ PUBLIC_URL is https (${PUBLIC_URL}).`,
    "✔ PORT=0: the system picks a free port.",
  ]);
  assert.deepEqual(f.openai.requests, [{
    path: "/v1/models/gpt-realtime",
    authorization: `Bearer ${KEY}`,
  }]);
  assert.deepEqual(f.twilio.requests.map((r) => [r.path, r.authorized]), [
    [`/2010-04-01/Accounts/${SID}.json`, true],
    [`/2010-04-01/Accounts/${SID}/IncomingPhoneNumbers.json`, true],
  ]);
});

Deno.test("doctor: a rejected key (401), and OpenAI's message quoting the key is not shown", async () => {
  await using f = fakes();
  const lines: string[] = [];
  const code = await doctor(
    { ...f.env, OPENAI_API_KEY: "sk-wrong-key-0123456789" },
    (l) => lines.push(l),
  );
  assert.equal(code, 1);
  const text = lines.join("\n");
  assert.match(text, /^✘ OpenAI rejected the API key \(HTTP 401\)\.\n {4}Create a key at/m);
  assert.match(text, /^– Model gpt-realtime: not checked \(the key was rejected\)\.$/m);
  assert.equal(text.includes("sk-wrong"), false);
  assert.match(text, /1 check failed/);
});

Deno.test("doctor: an unknown model (404) fails the model line only", async () => {
  await using f = fakes();
  const lines = await check({ ...f.env, OPENAI_MODEL: "gpt-realtime-9" });
  assert.equal(lines[0], "✔ OpenAI accepted the API key.");
  assert.equal(lines[1], "✘ Model gpt-realtime-9 is not available to this key (HTTP 404).");
  assert.equal(lines.filter((l) => l.startsWith("✘")).length, 1);
});

Deno.test("doctor: bad Twilio credentials are error 20003; the webhook is then not checked", async () => {
  await using f = fakes();
  const wrong = "ffffffffffffffffffffffffffffffff";
  const lines: string[] = [];
  const code = await doctor({ ...f.env, TWILIO_AUTH_TOKEN: wrong }, (l) => lines.push(l));
  assert.equal(code, 1);
  const text = lines.join("\n");
  assert.match(
    text,
    /^✘ Twilio rejected TWILIO_ACCOUNT_SID \/ TWILIO_AUTH_TOKEN \(Twilio error 20003\)\.$/m,
  );
  assert.match(text, /^– Voice webhook of the Twilio number: not checked\.$/m);
  assert.equal(text.includes(wrong), false);
  assert.equal(text.includes(NUMBER), false, "the phone number is masked");
});

Deno.test("doctor: a number whose voice webhook points elsewhere, or uses GET, or is not ours", async () => {
  await using f = fakes();
  f.twilio.numbers = [{ phoneNumber: NUMBER, voiceUrl: "https://demo.twilio.com/welcome/voice/" }];
  const checks = await runDoctorChecks(parseConfig(f.env), { portFree: () => "free" });
  const webhook = checks[3];
  assert.equal(webhook.status, "fail");
  assert.equal(
    webhook.text,
    `Calls to +14•••••••23 go to https://demo.twilio.com/welcome/voice, not ${PUBLIC_URL}/incoming-call.`,
  );
  assert.match(
    webhook.hint ?? "",
    /Voice Configuration.*Webhook https:\/\/voice\.example\.com\/incoming-call, HTTP POST/,
  );

  f.twilio.numbers = [{
    phoneNumber: NUMBER,
    voiceUrl: `${PUBLIC_URL}/incoming-call`,
    voiceMethod: "GET",
  }];
  assert.equal(
    (await check(f.env))[3],
    "✘ Calls to +14•••••••23 use HTTP GET; /incoming-call takes POST.",
  );

  f.twilio.numbers = [];
  assert.equal(
    (await check(f.env))[3],
    "✘ TWILIO_PHONE_NUMBER (+14•••••••23) is not a number of this Twilio account.",
  );
});

Deno.test("doctor: no Twilio credentials or number: skip lines, not failures", async () => {
  await using f = fakes();
  const { TWILIO_ACCOUNT_SID: _, TWILIO_AUTH_TOKEN: __, ...noTwilio } = f.env;
  const lines = await check(noTwilio);
  assert.equal(lines[2], "– Twilio credentials: not set.");
  assert.equal(lines[3], "– Voice webhook of the Twilio number: not checked.");
  assert.equal(lines.some((l) => l.startsWith("✘")), false);
  assert.equal(f.twilio.requests.length, 0);
  const { TWILIO_PHONE_NUMBER: ___, ...noNumber } = f.env;
  assert.equal(
    (await check(noNumber))[3],
    "– Voice webhook: not checked (TWILIO_PHONE_NUMBER is not set).",
  );
});

Deno.test("doctor: PUBLIC_URL must be https and public; the port must be free", async () => {
  await using f = fakes();
  const noTwilio = { ...f.env, TWILIO_PHONE_NUMBER: "" };
  assert.equal((await check({ ...noTwilio, PUBLIC_URL: "" }))[4], "✘ PUBLIC_URL is not set.");
  assert.equal(
    (await check({ ...noTwilio, PUBLIC_URL: "http://localhost:5050" }))[4],
    "✘ PUBLIC_URL is http://localhost:5050: Twilio needs https:// (and wss:// for the media stream).",
  );
  // A public http:// address is already refused by the configuration: the doctor says so.
  const lines: string[] = [];
  assert.equal(
    await doctor({ ...noTwilio, PUBLIC_URL: "http://voice.example.com" }, (l) => lines.push(l)),
    1,
  );
  assert.match(
    lines[0],
    /^✘ The configuration has 1 problem[^]*PUBLIC_URL must be an https:\/\/ URL/,
  );
  assert.match(
    (await check({ ...noTwilio, PUBLIC_URL: "https://localhost:5050" }))[4],
    /^✘ .*loopback/,
  );

  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  const checks = await runDoctorChecks(
    parseConfig({ ...f.env, PORT: String(port), HOST: "127.0.0.1" }),
  );
  const last = checks[checks.length - 1];
  assert.equal(last.status, "fail");
  assert.equal(last.text, `Port ${port} on 127.0.0.1 is in use (is the server already running?).`);
  assert.match(last.hint ?? "", new RegExp(`PORT=${port + 1}`));
});

Deno.test("doctor: OpenAI unreachable is a ✘ naming the host", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const lines = await check({
    OPENAI_API_KEY: KEY,
    OPENAI_REALTIME_URL: `ws://127.0.0.1:${port}/v1/realtime`,
    PUBLIC_URL,
    PORT: "0",
  });
  assert.match(
    lines[0],
    new RegExp(`^✘ Could not reach OpenAI at http://127\\.0\\.0\\.1:${port} `),
  );
});

Deno.test("deno task doctor as a process: exit 0 when all is well, 1 with the ✘ lines otherwise", async () => {
  await using f = fakes();
  const run = async (env: Record<string, string>) => {
    await using child = await ServerProcess.spawn({
      args: denoRunArgs("src/cli/doctor.ts", ["net", "env", "read"]),
      env: { ...env, NO_COLOR: "1" },
    });
    const status = await child.child.status;
    await child[Symbol.asyncDispose]();
    return { code: status.code, out: child.output };
  };
  const good = await run(f.env);
  assert.equal(good.code, 0, good.out);
  assert.match(good.out, /All checks passed\./);
  assert.equal(good.out.split("\n").filter((l) => l.startsWith("✔")).length, 6);

  f.twilio.numbers = [{ phoneNumber: NUMBER, voiceUrl: "https://old.example.com/voice" }];
  const bad = await run(f.env);
  assert.equal(bad.code, 1, bad.out);
  assert.match(
    bad.out,
    /^✘ Calls to \+14•••••••23 go to https:\/\/old\.example\.com\/voice, not /m,
  );
  for (const secret of [KEY, TOKEN, NUMBER]) assert.equal(bad.out.includes(secret), false);
});

Deno.test("doctor: GPT-Live's model is checked on the host of OPENAI_LIVE_URL (no billed session), the agents file's too", async () => {
  assert.equal(
    liveModelUrl("wss://api.openai.com/v1/live/sessions", "gpt-live-1"),
    "https://api.openai.com/v1/models/gpt-live-1",
  );
  assert.equal(liveModelUrl("wss://api.openai.com/v1/realtime", "gpt-live-1"), undefined);
  const openai = FakeOpenAIRest.start({ apiKey: KEY, models: ["gpt-realtime-2.1", "gpt-live-1"] });
  try {
    const liveUrl = openai.realtimeUrl.replace(/\/realtime$/, "/live/sessions");
    const env = { OPENAI_API_KEY: KEY, OPENAI_LIVE_URL: liveUrl, PORT: "0" };
    const lines = await check({ ...env, ENGINE: "live" });
    assert.deepEqual(lines.slice(0, 2), [
      "✔ OpenAI accepted the API key.",
      "✔ Model gpt-live-1 is available.",
    ]);
    assert.deepEqual(openai.requests.map((r) => r.path), ["/v1/models/gpt-live-1"]);
    const missing = await check({ ...env, ENGINE: "live", OPENAI_MODEL: "gpt-live-9" });
    assert.equal(missing[1], "✘ Model gpt-live-9 is not available to this key (HTTP 404).");
    // An agents file with an agent on each engine: both models are checked, the key once.
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/agents.yaml`;
      await Deno.writeTextFile(
        file,
        "agents:\n  - name: a\n  - name: b\n    engine: live\n    model: gpt-live-2\n",
      );
      const out: string[] = [];
      await doctor(
        {
          ...env,
          OPENAI_REALTIME_URL: openai.realtimeUrl,
          AGENTS_FILE: file,
        },
        (l) => out.push(l),
        { portFree: () => "free" },
      );
      const text = out.join("\n");
      assert.match(text, /^✔ Model gpt-realtime-2\.1 is available\.$/m);
      assert.match(text, /^✘ Model gpt-live-2 is not available to this key \(HTTP 404\)\.$/m);
      assert.match(text, /such as gpt-live-1/);
      assert.equal(text.match(/accepted the API key/g)?.length, 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  } finally {
    await openai.close();
  }
});

Deno.test("doctor: the agents file is loaded like the server does: its problems are ✘ (exit 1), its warnings ⚠ (exit 0)", async () => {
  await using f = fakes();
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/agents.yaml`;
    const run = async (extra: Record<string, string>) => {
      const out: string[] = [];
      const code = await doctor({ ...f.env, AGENTS_FILE: file, ...extra }, (l) => out.push(l), {
        portFree: () => "free",
      });
      return { code, text: out.join("\n") };
    };
    // A webhook over cleartext http:// to a remote host: the server refuses to start.
    await Deno.writeTextFile(
      file,
      "agents:\n  - name: desk\n    webhooks: [{ url: 'http://crm.example.com/hook', secret: 'whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3' }]\n",
    );
    const refused = await run({});
    assert.equal(refused.code, 1);
    assert.match(refused.text, /^✘ .*agents\[0\]\.webhooks\[0\]\.url: is a cleartext/m);
    assert.match(refused.text, /The server refuses to start with this agents file/);
    assert.match(refused.text, /1 check failed/);
    // ALLOW_INSECURE_UPSTREAM=true: the server starts with a warning; so does the doctor.
    const allowed = await run({ ALLOW_INSECURE_UPSTREAM: "true" });
    assert.equal(allowed.code, 0, allowed.text);
    assert.match(
      allowed.text,
      new RegExp(`^✔ The agents file ${file} is valid \\(desk\\)\\.$`, "m"),
    );
    assert.match(
      allowed.text,
      /^⚠ .*webhooks\[0\]\.url: .*Allowed by ALLOW_INSECURE_UPSTREAM=true/m,
    );
    assert.match(allowed.text, /All checks passed\./);
    // A file that is not YAML of agents at all.
    await Deno.writeTextFile(file, "agents: [ {name: \n");
    const broken = await run({});
    assert.equal(broken.code, 1);
    assert.match(broken.text, /^✘ .*agents\.yaml/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
