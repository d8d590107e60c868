/**
 * The agents file: the documented example validates; every problem is
 * reported at once as `file:line: path: problem`; `${VAR}` values are
 * resolved and never shown; profiles inherit the environment; the called
 * number picks the agent; a bad reload keeps the old agents.
 */
import assert from "node:assert/strict";
import { parseAgentsFile } from "../src/agents/agents_file.ts";
import { AgentsHolder, loadAgents } from "../src/agents/agent_book.ts";
import { fileProfiles } from "../src/agents/agent_profile.ts";
import { parseConfig } from "../src/config/mod.ts";

const config = parseConfig({
  OPENAI_API_KEY: "sk-test-0123456789abcdefghij",
  VOICE: "cedar",
  GREETING: "Hello from env.",
});
/** The same environment with the Twilio account and PUBLIC_URL (warm transfers need them). */
const twilioConfig = parseConfig({
  OPENAI_API_KEY: "sk-test-0123456789abcdefghij",
  VOICE: "cedar",
  GREETING: "Hello from env.",
  TWILIO_ACCOUNT_SID: "AC" + "1".repeat(32),
  TWILIO_AUTH_TOKEN: "0123456789abcdef0123456789abcdef",
  PUBLIC_URL: "https://voice.example.com",
});
const ENV = { LISTINGS_TOKEN: "listings-secret-123", CALENDAR_MCP_TOKEN: "calendar-secret-456" };

function docsExample(): string {
  const doc = Deno.readTextFileSync(new URL("../docs/agents.md", import.meta.url));
  const match = /## Example\n\n(?:<!-- deno-fmt-ignore -->\n)?```yaml\n([\s\S]*?)```/.exec(doc);
  assert.ok(match, "docs/agents.md has a yaml block under ## Example");
  return match[1];
}

Deno.test("the example of docs/agents.md validates against the committed schema", () => {
  const text = docsExample();
  assert.match(text, /yaml-language-server: \$schema=/);
  const result = loadAgents({
    config: twilioConfig, // its listings agent has a warm transfer
    file: { path: "agents.yaml", required: true },
    env: ENV,
    readTextFile: () => text,
  });
  if (!result.ok) assert.fail(result.problems.join("\n"));
  const [frontDesk, listings] = result.book.profiles;
  assert.equal(frontDesk.name, "front-desk");
  assert.equal(frontDesk.voice, "cedar", "unset fields come from the environment");
  assert.equal(frontDesk.greeting, "Hello from env.");
  assert.equal(listings.voice, "marin");
  assert.equal(listings.greeting, "Hi, this is the listings line.");
  assert.deepEqual(listings.httpTools[0].headers, { Authorization: "Bearer listings-secret-123" });
  assert.equal(listings.httpTools[0].timeoutMs, 5000);
  assert.equal(listings.httpTools[0].method, "GET");
  assert.deepEqual(listings.mcpServers[0].headers, { Authorization: "Bearer calendar-secret-456" });
  assert.equal(listings.mcpServers[0].requireApproval, "never");
  assert.deepEqual(listings.transfers, [{
    name: "transfer_to_sales",
    mode: "warm",
    destinations: ["+15557654321", "sip:sales@pbx.example.com"],
    ringTimeoutSeconds: 20,
    description: listings.transfers[0].description,
  }]);
  assert.match(listings.transfers[0].description, /stay on the line/);
  assert.deepEqual(listings.contextWebhook, {
    url: "https://crm.example.com/caller",
    timeoutMs: 2000,
    headers: {},
  });
  assert.deepEqual(result.secrets.sort(), ["calendar-secret-456", "listings-secret-123"]);
  assert.equal(result.book.forNumber("+15005550001").name, "listings");
  assert.equal(result.book.forNumber("+1 500-555-0001").name, "listings");
  assert.equal(result.book.forNumber("+15559998888").name, "front-desk");
  assert.equal(result.book.forNumber(null).name, "front-desk");
});

Deno.test("every problem at once, each as file:line: path: problem", () => {
  const text = [
    "agents:", //                                        1
    "  - name: sales", //                                2
    "    numbers: ['+15005550001', '5550001']", //       3
    "    voice: robot", //                               4
    "    voise: marin", //                               5
    "    instructions: Hi", //                           6
    "    instructions_file: prompts/sales.md", //        7
    "    tools:", //                                     8
    "      - type: http", //                             9
    "        name: lookup", //                           10
    "        description: Look up.", //                  11
    "        parameters: { type: object, properties: { id: { type: string } } }", // 12
    "        request:", //                               13
    "          url: 'https://x.example/{listing}'", //   14
    "          headers: { Authorization: 'Bearer ${NOPE_TOKEN}' }", // 15
    "      - type: webhook", //                          16
    "  - name: sales", //                                17
    "    numbers: ['+15005550001']", //                  18
  ].join("\n");
  const result = parseAgentsFile(text, { path: "agents.yaml", env: {} });
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.deepEqual(result.problems, [
    "agents.yaml:15: agents[0].tools[0].request.headers.Authorization: the environment variable NOPE_TOKEN is not set (used as ${NOPE_TOKEN}).",
    "agents.yaml:2: agents[0]: set either instructions or instructions_file, not both.",
    "agents.yaml:5: agents[0].voise: is not a known field (known: name, numbers, instructions, instructions_file, greeting, greeting_interruptible, filler, voice, engine, model, backend_model, reasoning_effort, language, dtmf, record_keypad_digits, turn_detection, interruptions, tools, context_webhook, outbound, wording, webhooks, analysis, recording).",
    "agents.yaml:3: agents[0].numbers[1]: must be a phone number in E.164 form, e.g. +15005550001.",
    "agents.yaml:4: agents[0].voice: must be a Realtime voice name or a custom voice id (voice_...).",
    "agents.yaml:16: agents[0].tools[1].type: must be one of http, mcp or transfer.",
  ]);
});

Deno.test("rules beyond the schema: names, numbers, placeholders, instructions_file, reserved tools", () => {
  const text = [
    "agents:",
    "  - name: sales",
    "    numbers: ['+15005550001']",
    "    instructions_file: prompts/missing.md",
    "    tools:",
    "      - { type: transfer, name: end_call, number: '+15557654321' }",
    "      - type: http",
    "        name: lookup",
    "        description: Look up.",
    "        parameters: { type: object, properties: { id: { type: string } } }",
    "        request: { url: 'https://x.example/{listing}' }",
    "      - type: http",
    "        name: lookup",
    "        description: Again.",
    "        parameters: { type: object, properties: { id: { type: nonsense } } }",
    "        request: { url: 'https://x.example/{id}' }",
    "  - name: sales",
    "    numbers: ['+15005550001']",
  ].join("\n");
  const result = parseAgentsFile(text, {
    path: "conf/agents.yaml",
    env: {},
    readTextFile: (path) => {
      throw new Deno.errors.NotFound(path);
    },
  });
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.deepEqual(result.problems.map((p) => p.split(": ").slice(0, 2).join(": ")), [
    "conf/agents.yaml:4: agents[0].instructions_file",
    "conf/agents.yaml:6: agents[0].tools[0].name",
    "conf/agents.yaml:11: agents[0].tools[1].request.url",
    "conf/agents.yaml:13: agents[0].tools[2].name",
    "conf/agents.yaml:15: agents[0].tools[2].parameters",
    "conf/agents.yaml:17: agents[1].name",
    "conf/agents.yaml:18: agents[1].numbers[0]",
  ]);
  assert.match(result.problems[0], /cannot read conf\/prompts\/missing\.md \(NotFound\)/);
  assert.match(result.problems[1], /"end_call" is a built-in tool/);
  assert.match(
    result.problems[2],
    /placeholder \{listing\} is not a property of parameters \(known: id\)/,
  );
  assert.match(result.problems[6], /\+15005550001 already reaches the agent "sales"/);
});

Deno.test("secret values from ${VAR} never appear in a message", () => {
  const text =
    "agents:\n  - name: a\n    tools:\n      - { type: transfer, name: t, number: '${SALES_NUMBER}' }\n";
  const result = parseAgentsFile(text, {
    path: "a.yaml",
    env: { SALES_NUMBER: "not-a-number-secret" },
  });
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.problems.length, 1);
  assert.match(
    result.problems[0],
    /^a\.yaml:4: agents\[0\]\.tools\[0\]\.number: must be a phone number/,
  );
  assert.ok(!result.problems[0].includes("not-a-number-secret"));
});

Deno.test("YAML syntax errors and an empty agents list name the line", () => {
  const broken = parseAgentsFile("agents:\n  - name: a\n    voice: [marin\n", {
    path: "b.yaml",
    env: {},
  });
  assert.equal(broken.ok, false);
  if (!broken.ok) assert.match(broken.problems[0], /^b\.yaml:\d+: /);
  const empty = parseAgentsFile("agents: []\n", { path: "c.yaml", env: {} });
  assert.deepEqual(!empty.ok && empty.problems, [
    "c.yaml:1: agents: must NOT have fewer than 1 items.",
  ]);
  const dup = parseAgentsFile("agents:\n  - name: a\n    name: b\n", { path: "d.yaml", env: {} });
  assert.equal(dup.ok, false, "duplicate keys are an error, not a silent override");
});

Deno.test("JSON is accepted; instructions_file is read relative to the agents file", () => {
  const reads: string[] = [];
  const result = loadAgents({
    config,
    file: { path: "/etc/bridge/agents.json", required: true },
    env: {},
    readTextFile: (path) => {
      reads.push(path);
      if (path === "/etc/bridge/agents.json") {
        return JSON.stringify({
          agents: [{
            name: "support",
            instructions_file: "prompts/support.md",
            greeting: null,
            turn_detection: { type: "semantic_vad", eagerness: "low" },
          }],
        });
      }
      if (path === "/etc/bridge/prompts/support.md") return "  You are support.\n";
      throw new Deno.errors.NotFound(path);
    },
  });
  if (!result.ok) assert.fail(result.problems.join("\n"));
  const [support] = result.book.profiles;
  assert.deepEqual(reads, ["/etc/bridge/agents.json", "/etc/bridge/prompts/support.md"]);
  assert.equal(support.instructions, "You are support.");
  assert.equal(support.greeting, undefined, "greeting: null turns the greeting off");
  assert.deepEqual(support.turnDetection, {
    type: "semantic_vad",
    eagerness: "low",
    interruptResponse: config.turnDetection.interruptResponse,
  });
});

Deno.test("no file: the environment's agent; a required file that is missing is a problem", () => {
  const missing = (path: string): string => {
    throw new Deno.errors.NotFound(path);
  };
  const optional = loadAgents({
    config,
    file: { path: "agents.yaml", required: false },
    env: {},
    readTextFile: missing,
  });
  assert.ok(optional.ok);
  assert.equal(optional.book.source, "environment");
  assert.equal(optional.book.forNumber("+15005550001").name, "default");
  assert.equal(optional.book.defaultProfile.instructions, config.systemMessage);
  const required = loadAgents({
    config,
    file: { path: "agents.yaml", required: true },
    env: {},
    readTextFile: missing,
  });
  assert.deepEqual(!required.ok && required.problems, [
    "agents.yaml: cannot read the agents file (NotFound). Check AGENTS_FILE, or set AGENTS_FILE=off to use the environment's single agent.",
  ]);
});

Deno.test("reload from disk: a good file swaps every agent at once, a bad one keeps the old", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/agents.yaml`;
    const load = () => loadAgents({ config, file: { path, required: true }, env: {} });
    await Deno.writeTextFile(
      path,
      "agents:\n  - name: one\n    numbers: ['+15005550001']\n  - name: main\n",
    );
    const first = load();
    assert.ok(first.ok);
    const holder = new AgentsHolder(first.book);
    const heldByACall = holder.book.forNumber("+15005550001");
    await Deno.writeTextFile(path, "agents:\n  - name: two\n    numbers: ['+15005550001']\n");
    assert.ok(holder.reload(load).ok);
    assert.equal(holder.book.forNumber("+15005550001").name, "two");
    assert.equal(holder.book.forNumber("+15559990000").name, "two", "no default: the first agent");
    assert.equal(heldByACall.name, "one", "a call keeps the profile it started with");
    await Deno.writeTextFile(path, "agents:\n  - name: three\n    voice: robot\n");
    const bad = holder.reload(load);
    assert.deepEqual(!bad.ok && bad.problems, [
      `${path}:3: agents[0].voice: must be a Realtime voice name or a custom voice id (voice_...).`,
    ]);
    assert.equal(holder.book.forNumber("+15005550001").name, "two");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("one transfer tool per agent; wording replaces the default endings", () => {
  const two = parseAgentsFile(
    [
      "agents:",
      "  - name: a",
      "    tools:",
      "      - { type: transfer, name: to_sales, number: '+15557654321' }",
      "      - { type: transfer, name: to_support, number: '+15557654322' }",
    ].join("\n"),
    { path: "t.yaml", env: {} },
  );
  assert.deepEqual(!two.ok && two.problems, [
    "t.yaml:5: agents[0].tools[1].type: an agent has at most one transfer tool; give the others their own agent and number.",
  ]);
  const loaded = loadAgents({
    config,
    file: { path: "w.yaml", required: true },
    env: {},
    readTextFile: () =>
      "agents:\n  - name: fr\n    wording: { farewell: 'Dis au revoir.', time_limit: 'Le temps est écoulé.', resumed: 'Excusez-moi, je suis de retour.' }\n",
  });
  if (!loaded.ok) assert.fail(loaded.problems.join("\n"));
  assert.deepEqual(loaded.book.defaultProfile.prompts, {
    farewell: "Dis au revoir.",
    timeLimit: "Le temps est écoulé.",
    resumed: "Excusez-moi, je suis de retour.",
  });
});

Deno.test("transfer tools: number or destinations (numbers or SIP URIs), mode, ring timeout, briefing and fallback wording", () => {
  const file = [
    "agents:",
    "  - name: cold",
    "    tools: [{ type: transfer, name: to_desk, number: '+15557654321' }]",
    "  - name: warm",
    "    numbers: ['+15005550002']",
    "    tools:",
    "      - type: transfer",
    "        name: to_staff",
    "        mode: warm",
    "        destinations: ['+15557654321', 'sip:desk@pbx.example.com']",
    "        ring_timeout_seconds: 15",
    "        briefing: Sum the call up in one sentence.",
    "        fallback: Say nobody is free and take a message.",
  ].join("\n");
  const without = loadAgents({
    config,
    file: { path: "t.yaml", required: true },
    env: {},
    readTextFile: () => file,
  });
  assert.deepEqual(!without.ok && without.problems, [
    "t.yaml: agents[1].tools[0].mode: a warm transfer places the person's call through Twilio's REST API and needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, PUBLIC_URL in the environment; set them, or use mode: cold.",
  ]);
  const loaded = loadAgents({
    config: twilioConfig,
    file: { path: "t.yaml", required: true },
    env: {},
    readTextFile: () => file,
  });
  if (!loaded.ok) assert.fail(loaded.problems.join("\n"));
  const [cold, warm] = loaded.book.profiles;
  assert.deepEqual(
    { ...cold.transfers[0], description: "" },
    {
      name: "to_desk",
      mode: "cold",
      destinations: ["+15557654321"],
      ringTimeoutSeconds: 20,
      description: "",
    },
  );
  assert.equal(warm.transfers[0].mode, "warm");
  assert.deepEqual(warm.transfers[0].destinations, ["+15557654321", "sip:desk@pbx.example.com"]);
  assert.equal(warm.transfers[0].ringTimeoutSeconds, 15);
  assert.deepEqual(warm.prompts, {
    transferBriefing: "Sum the call up in one sentence.",
    transferFallback: "Say nobody is free and take a message.",
  });
  const bad = parseAgentsFile(
    [
      "agents:",
      "  - name: a",
      "    tools:",
      "      - { type: transfer, name: t, number: '+15557654321', destinations: ['+15557654322'], briefing: hi }",
      "  - name: b",
      "    tools:",
      "      - { type: transfer, name: t, destinations: ['5557654321'], mode: tepid, ring_timeout_seconds: 2 }",
      "  - name: c",
      "    tools: [{ type: transfer, name: t }]",
    ].join("\n"),
    { path: "t.yaml", env: {} },
  );
  assert.ok(!bad.ok);
  const problems = bad.problems.join("\n");
  assert.match(
    problems,
    /agents\[1\]\.tools\[0\]\.destinations\[0\]: must be a phone number in E\.164 form \(\+15005550001\) or a SIP URI/,
  );
  assert.match(problems, /agents\[1\]\.tools\[0\]\.mode: must be one of cold, warm\./);
  assert.match(problems, /agents\[1\]\.tools\[0\]\.ring_timeout_seconds: /);
  assert.match(
    problems,
    /agents\[2\]\.tools\[0\]: must be a function tool that hands the caller to a person/,
  );
  const rules = parseAgentsFile(
    "agents:\n  - name: a\n    tools:\n      - { type: transfer, name: t, number: '+15557654321', destinations: ['+15557654322'], briefing: hi }\n",
    { path: "r.yaml", env: {} },
  );
  assert.deepEqual(!rules.ok && rules.problems, [
    "r.yaml:4: agents[0].tools[0].number: set either number or destinations, not both (list every destination in destinations).",
    "r.yaml:4: agents[0].tools[0].briefing: only a warm transfer briefs the person; add mode: warm or remove briefing.",
  ]);
});

Deno.test("an agent's webhooks: url, events and a whsec_ secret from the environment; bad ones are named", () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const good = parseAgentsFile(
    [
      "agents:",
      "  - name: sales",
      "    webhooks:",
      "      - url: https://crm.example.com/hooks",
      "        events: [call.ended, call.analyzed]",
      "        secret: ${SALES_WEBHOOK_SECRET}",
      "",
    ].join("\n"),
    { path: "agents.yaml", env: { SALES_WEBHOOK_SECRET: secret } },
  );
  if (!good.ok) assert.fail(good.problems.join("\n"));
  assert.deepEqual(good.secrets, [secret], "the secret is redacted from logs");
  const [sales] = fileProfilesOf(good.file);
  assert.deepEqual(sales.webhooks, [{
    url: "https://crm.example.com/hooks",
    events: ["call.ended", "call.analyzed"],
    secret,
  }]);
  const bad = parseAgentsFile(
    [
      "agents:",
      "  - name: sales",
      "    webhooks:",
      "      - url: https://crm.example.com/hooks",
      "        events: [call.started]",
      "        secret: whsec_c2hvcnQ=",
      "",
    ].join("\n"),
    { path: "agents.yaml", env: {} },
  );
  assert.equal(bad.ok, false);
  if (!bad.ok) {
    assert.match(
      bad.problems.join("\n"),
      /agents\.yaml:5: agents\[0\]\.webhooks\[0\]\.events\[0\]: must be one of call\.ended, call\.analyzed/,
    );
  }
  const short = parseAgentsFile(
    "agents:\n  - name: sales\n    webhooks:\n      - url: https://x.example/h\n        secret: whsec_c2hvcnQ=\n",
    { path: "agents.yaml", env: {} },
  );
  assert.equal(short.ok, false);
  if (!short.ok) {
    assert.deepEqual(short.problems, [
      'agents.yaml:5: agents[0].webhooks[0].secret: must hold 24 to 64 bytes after whsec_, got 5 (e.g. `echo "whsec_$(openssl rand -base64 32)"`).',
    ]);
  }
});

function fileProfilesOf(file: Parameters<typeof fileProfiles>[0]) {
  return fileProfiles(file, new Map(), config);
}
