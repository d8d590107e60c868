/**
 * The agents file in a real server process: `agents.yaml` in the working
 * directory is picked up without AGENTS_FILE; a bad file stops start-up with
 * every problem as `file:line: path: problem`; SIGHUP reloads (a bad reload
 * keeps the old agents and logs why); `${VAR}` values never reach the output.
 */
import assert from "node:assert/strict";
import { TEST_API_KEY } from "./support/bridge_harness.ts";
import { audioBytes, FakeRealtimeServer } from "./support/fake_realtime.ts";
import { FakeTwilioCall } from "./support/fake_twilio.ts";
import { denoRunArgs, ServerProcess } from "./support/server_process.ts";

const SECRET = "agents-process-secret-4242";

function agentsFile(listingsName: string, voice = "marin"): string {
  return [
    "# yaml-language-server: $schema=./src/agents/agents.schema.json",
    "agents:",
    "  - name: front-desk",
    `  - name: ${listingsName}`,
    "    numbers: ['+15005550001']",
    `    voice: ${voice}`,
    "    tools:",
    "      - type: http",
    "        name: lookup",
    "        description: Look up.",
    "        parameters: { type: object }",
    "        request: { url: 'https://api.example.com/x', headers: { Authorization: 'Bearer ${LISTINGS_TOKEN}' } }",
    "",
  ].join("\n");
}

/** `main.ts` run in `cwd` (which holds the agents file), its output collected. */
function spawnServer(cwd: string, extraEnv: Record<string, string> = {}): Promise<ServerProcess> {
  return ServerProcess.spawn({
    args: denoRunArgs("main.ts", ["net", "env", "read", "sys=hostname"]),
    cwd,
    env: {
      OPENAI_API_KEY: TEST_API_KEY,
      PORT: "0",
      HOST: "127.0.0.1",
      TWILIO_SIGNATURE_CHECK: "off",
      CALL_STORE_PATH: "off",
      LOG_FORMAT: "json",
      LISTINGS_TOKEN: SECRET,
      ...extraEnv,
    },
  });
}

async function until<T>(what: string, probe: () => T | undefined, lines: string[]): Promise<T> {
  const start = performance.now();
  while (true) {
    const value = probe();
    if (value !== undefined) return value;
    if (performance.now() - start > 30_000) {
      throw new Error(`Timed out waiting for ${what}:\n${lines.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function streamUrlFor(base: string, to: string): Promise<string> {
  const res = await fetch(`${base}/incoming-call`, {
    method: "POST",
    body: new URLSearchParams({ CallSid: "CA1", From: "+14155550100", To: to }),
  });
  const body = await res.text();
  return /<Stream url="([^"]*)"/.exec(body)?.[1] ?? body;
}

Deno.test("a bad agents.yaml stops start-up with every problem, file:line first", async () => {
  const cwd = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${cwd}/agents.yaml`,
      agentsFile("listings", "robot").replace("${LISTINGS_TOKEN}", "${MISSING_TOKEN}"),
    );
    await using server = await spawnServer(cwd);
    const status = await server.child.status;
    await server[Symbol.asyncDispose](); // all of its output is read
    assert.equal(status.code, 1);
    const text = server.err.join("\n");
    assert.match(
      text,
      /agents\.yaml:12: agents\[1\]\.tools\[0\]\.request\.headers\.Authorization: the environment variable MISSING_TOKEN is not set/,
    );
    assert.match(text, /agents\.yaml:6: agents\[1\]\.voice: must be a Realtime voice name/);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("a legal agents.yaml that makes the YAML parser throw stops start-up with the problem, not a stack trace", async () => {
  const cwd = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${cwd}/agents.yaml`,
      [
        "x: &v marin",
        "agents:",
        ...Array.from({ length: 150 }, (_, i) => `  - { name: a${i}, voice: *v }`),
        "",
      ]
        .join("\n"),
    );
    await using server = await spawnServer(cwd);
    const status = await server.child.status;
    await server[Symbol.asyncDispose]();
    assert.equal(status.code, 1);
    const text = server.err.join("\n");
    assert.match(text, /^The agents file has 1 problem\(s\)/);
    assert.match(text, /- agents\.yaml: the file uses its anchors \(\*name\) too often/);
    assert.ok(!/\bat \S+:\d+:\d+/.test(text), `no stack trace:\n${text}`);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("SIGHUP reloads agents.yaml; a bad reload keeps the old agents and says why", async () => {
  const cwd = await Deno.makeTempDir();
  await Deno.writeTextFile(`${cwd}/agents.yaml`, agentsFile("listings"));
  const server = await spawnServer(cwd);
  try {
    const port = await server.port();
    const base = `http://127.0.0.1:${port}`;
    assert.match(await streamUrlFor(base, "+15005550001"), /\/media-stream\/agent\/listings$/);

    await Deno.writeTextFile(`${cwd}/agents.yaml`, agentsFile("sales", "robot"));
    server.child.kill("SIGHUP");
    const refused = await until(
      "the refused reload",
      () => server.out.find((l) => l.includes("not reloaded")),
      server.out,
    );
    assert.match(refused, /agents\.yaml:6: agents\[1\]\.voice/);
    assert.match(await streamUrlFor(base, "+15005550001"), /\/media-stream\/agent\/listings$/);

    await Deno.writeTextFile(`${cwd}/agents.yaml`, agentsFile("sales"));
    server.child.kill("SIGHUP");
    await until(
      "the reload",
      () => server.out.find((l) => l.includes("Agents file reloaded")),
      server.out,
    );
    assert.match(await streamUrlFor(base, "+15005550001"), /\/media-stream\/agent\/sales$/);
    assert.match(await streamUrlFor(base, "+15550000000"), /\/media-stream\/agent\/front-desk$/);
  } finally {
    await server[Symbol.asyncDispose]();
    await Deno.remove(cwd, { recursive: true });
  }
  const all = server.output;
  assert.ok(!all.includes(SECRET), "a ${VAR} value never reaches the output");
  assert.ok(!all.includes(TEST_API_KEY));
});

Deno.test("SIGHUP with a legal file that makes the YAML parser throw (an alias bomb): the live call goes on, the old agents stay, the problem is listed", async () => {
  const realtime = await FakeRealtimeServer.start();
  const cwd = await Deno.makeTempDir();
  await Deno.writeTextFile(`${cwd}/agents.yaml`, agentsFile("listings"));
  const server = await spawnServer(cwd, {
    OPENAI_REALTIME_URL: realtime.url,
    GREETING: "off",
  });
  let call: FakeTwilioCall | undefined;
  try {
    const port = await server.port();
    const base = `http://127.0.0.1:${port}`;
    const webhook = await fetch(`${base}/incoming-call`, {
      method: "POST",
      body: new URLSearchParams({ CallSid: "CA1", From: "+14155550100", To: "+15005550001" }),
    });
    const twiml = await webhook.text();
    const streamUrl = /<Stream url="([^"]*)"/.exec(twiml)?.[1] ?? twiml;
    const parameters: Record<string, string> = {};
    for (const m of twiml.matchAll(/<Parameter name="([^"]*)" value="([^"]*)"\/>/g)) {
      parameters[m[1]] = m[2];
    }
    call = await FakeTwilioCall.connect({
      url: `ws://127.0.0.1:${port}${new URL(streamUrl).pathname}`,
      callSid: "CA1",
      customParameters: parameters,
    });
    const session = await realtime.nextSession(10_000);
    await session.waitFor("session.update");

    // A legal YAML file: one anchor used 150 times ("Excessive alias count" in the parser).
    await Deno.writeTextFile(
      `${cwd}/agents.yaml`,
      [
        "x-voice: &v marin",
        "agents:",
        ...Array.from({ length: 150 }, (_, i) => `  - { name: a${i}, voice: *v }`),
        "",
      ].join("\n"),
    );
    server.child.kill("SIGHUP");
    const refused = await until(
      "the refused reload",
      () => server.out.find((l) => l.includes("not reloaded")),
      server.out,
    );
    assert.match(refused, /uses its anchors \(\*name\) too often/);

    // The call in progress still works: the model's audio reaches the caller.
    const r = session.beginResponse();
    r.audio(audioBytes(0x35, 100));
    r.finish();
    await call.waitFor(() => call!.receivedAudioBytes(0x35) === 800);
    assert.equal(call.isOpen, true);

    // The old agents stay; a problem with an example keeps its example readable.
    assert.match(await streamUrlFor(base, "+15005550001"), /\/media-stream\/agent\/listings$/);
    await Deno.writeTextFile(
      `${cwd}/agents.yaml`,
      agentsFile("listings").replace("'+15005550001'", "'0044 20'"),
    );
    server.child.kill("SIGHUP");
    const numberProblem = await until(
      "the second refused reload",
      () => server.out.filter((l) => l.includes("not reloaded"))[1],
      server.out,
    );
    assert.match(
      numberProblem,
      /agents\[1\]\.numbers\[0\]: must be a phone number in E\.164 form, e\.g\. \+15005550001/,
    );
    assert.equal(server.child.pid > 0 && call.isOpen, true);
  } finally {
    await call?.hangUp().catch(() => {});
    await server[Symbol.asyncDispose]();
    await realtime.close();
    await Deno.remove(cwd, { recursive: true });
  }
  assert.ok(!server.output.includes("Excessive alias count"), "no stack trace");
});
