/**
 * The agents file and its HTTP tools against hostile input: a legal file
 * that makes the YAML parser throw, files too big, a schema `$id` reloaded,
 * syntax errors placed at their line; tool arguments that would move the
 * request's path or add undeclared fields; backends that echo the tool's
 * secrets or answer without end.
 */
import assert from "node:assert/strict";
import { MAX_AGENTS_FILE_BYTES, parseAgentsFile } from "../src/agents/agents_file.ts";
import { AgentsHolder, loadAgents } from "../src/agents/agent_book.ts";
import { HttpTool, type HttpToolSpec, MAX_TOOL_OUTPUT_BYTES } from "../src/agents/http_tool.ts";
import { profileTools } from "../src/agents/profile_session.ts";
import { parseConfig } from "../src/config/mod.ts";

const config = parseConfig({ OPENAI_API_KEY: "sk-test-0123456789abcdefghij" });

/** A legal YAML file whose anchor is used `times` times. */
function aliasedFile(times: number): string {
  return [
    "x-voice: &v marin",
    "agents:",
    ...Array.from({ length: times }, (_, i) => `  - { name: a${i}, voice: *v }`),
    "",
  ].join("\n");
}

Deno.test("an anchor used 120 times is a problem in the list, not an exception; the old agents stay", () => {
  let text = "agents:\n  - name: before\n";
  const load = () =>
    loadAgents({
      config,
      file: { path: "a.yaml", required: true },
      env: {},
      readTextFile: () => text,
    });
  const first = load();
  assert.ok(first.ok);
  const holder = new AgentsHolder(first.book);
  text = aliasedFile(120);
  const reloaded = holder.reload(load); // threw "Excessive alias count" before
  assert.equal(reloaded.ok, false);
  assert.match(
    !reloaded.ok ? reloaded.problems.join("\n") : "",
    /^a\.yaml: the file uses its anchors \(\*name\) too often \(more than 100 times/,
  );
  assert.equal(holder.book.defaultProfile.name, "before");
  // Fewer aliases are fine.
  const few = parseAgentsFile(
    aliasedFile(20).replace("x-voice: &v marin\n", "").replace(
      "agents:\n",
      "agents:\n  - { name: first, voice: &v marin }\n",
    ),
    { path: "b.yaml", env: {} },
  );
  assert.ok(few.ok, !few.ok ? few.problems.join("\n") : "");
});

Deno.test("the agents file and its instructions files: 1 MiB together, refused before reading", () => {
  const big = `agents:\n  - name: a\n    instructions: "${"x".repeat(MAX_AGENTS_FILE_BYTES)}"\n`;
  const inline = parseAgentsFile(big, { path: "big.yaml", env: {} });
  assert.match(
    !inline.ok ? inline.problems[0] : "",
    /^big\.yaml: the agents file is \d+ bytes; it and its instructions files may have 1048576 bytes \(1 MiB\) together/,
  );
  const asked: number[] = [];
  const files: Record<string, string> = {
    "d/agents.yaml":
      "agents:\n  - { name: a, instructions_file: a.md }\n  - { name: b, instructions_file: b.md }\n",
    "d/a.md": "x".repeat(700 * 1024),
    "d/b.md": "y".repeat(700 * 1024),
  };
  const loaded = loadAgents({
    config,
    file: { path: "d/agents.yaml", required: true },
    env: {},
    readTextFile: (path, maxBytes) => {
      asked.push(maxBytes);
      return files[path];
    },
  });
  assert.deepEqual(!loaded.ok && loaded.problems, [
    "d/agents.yaml:3: agents[1].instructions_file: d/b.md is too big: the agents file and its instructions files may have 1048576 bytes (1 MiB) together. Shorten the instructions.",
  ]);
  // Each read is told how much is left, so a file on disk is refused from its size, unread.
  assert.equal(asked[0], MAX_AGENTS_FILE_BYTES);
  assert.ok(asked[2] < 400 * 1024, `${asked[2]}`);
});

Deno.test("a file on disk over 1 MiB is refused from its size", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/agents.yaml`;
    await Deno.writeTextFile(
      path,
      `agents:\n  - name: a\n# ${"x".repeat(MAX_AGENTS_FILE_BYTES)}\n`,
    );
    const loaded = loadAgents({ config, file: { path, required: true }, env: {} });
    assert.deepEqual(!loaded.ok && loaded.problems, [
      `${path}: the agents file is over 1048576 bytes (1 MiB), with its instructions files; shorten it.`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a tool schema with $id loads again and again (a fresh validator per load)", () => {
  const text = [
    "agents:",
    "  - name: a",
    "    tools:",
    "      - type: http",
    "        name: lookup",
    "        description: Look up.",
    "        parameters: { $id: 'https://schemas.example.com/lookup', type: object }",
    "        request: { url: 'https://api.example.com/x' }",
    "",
  ].join("\n");
  for (let i = 0; i < 3; i++) {
    const loaded = loadAgents({
      config,
      file: { path: "a.yaml", required: true },
      env: {},
      readTextFile: () => text,
    });
    if (!loaded.ok) assert.fail(loaded.problems.join("\n"));
    assert.equal(profileTools(loaded.book.defaultProfile).length, 1);
  }
});

Deno.test("a YAML syntax error names the line at fault, not the end of the file", () => {
  const cases: Array<[string, number]> = [
    ["agents:\n  - name: a\n    greeting: 'Hello\n  - name: b\n    voice: marin\n\n\n", 3],
    ['agents:\n  - name: a\n    greeting: "Hello\n  - name: b\n\n\n', 3],
    ["agents:\n  - name: a\n    numbers: ['+15005550001'\n  - name: b\n\n", 3],
  ];
  for (const [text, line] of cases) {
    const result = parseAgentsFile(text, { path: "s.yaml", env: {} });
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.problems[0], new RegExp(`^s\\.yaml:${line}: `), text);
  }
});

Deno.test("tool URLs: placeholders only after the host; the URL's own query keys are not properties", () => {
  const result = parseAgentsFile(
    [
      "agents:",
      "  - name: a",
      "    tools:",
      "      - type: http",
      "        name: t1",
      "        description: d",
      "        parameters: { type: object, properties: { tenant: { type: string } } }",
      "        request: { url: 'https://{tenant}.example.com/x' }",
      "      - type: http",
      "        name: t2",
      "        description: d",
      "        parameters: { type: object, properties: { key: { type: string } } }",
      "        request: { url: 'https://api.example.com/x?key=k' }",
      "",
    ].join("\n"),
    { path: "u.yaml", env: {} },
  );
  assert.deepEqual(!result.ok && result.problems, [
    "u.yaml:8: agents[0].tools[0].request.url: placeholders may only be in the path or the query, after the host (the bridge keeps every request on the URL's host).",
    "u.yaml:12: agents[0].tools[1].parameters.properties.key: is also a query parameter of the URL; rename the property (the model may not set the URL's own parameters).",
  ]);
});

/** A tool whose fetch records each request and answers with `answer`. */
function recordingTool(
  spec: Partial<HttpToolSpec>,
  answer: (request: Request) => Response | Promise<Response> = () => Response.json({ ok: 1 }),
) {
  const seen: Request[] = [];
  const tool = new HttpTool({
    name: "lookup",
    description: "Look up.",
    parameters: { type: "object", properties: { id: { type: "string" } }, required: ["id"] },
    method: "GET",
    url: "https://api.example.com/v1/listings/{id}/details",
    headers: {},
    timeoutMs: 2000,
    ...spec,
  }, {
    fetch: (input, init) => {
      const request = new Request(input, init);
      seen.push(request);
      return Promise.resolve(answer(request));
    },
  });
  return { tool, seen };
}

const signal = new AbortController().signal;

Deno.test("placeholders refuse '.', '..' and empty values; other values stay under the template's path", async () => {
  const { tool, seen } = recordingTool({});
  for (const id of ["..", ".", "", " .. "]) {
    const output = await tool.run({ id }, signal) as { error: { type: string; message: string } };
    assert.equal(output.error.type, "invalid_arguments", JSON.stringify(id));
    assert.match(output.error.message, /needs a real value for id/);
  }
  assert.equal(seen.length, 0, "no request for a path-moving value");
  for (const id of ["%2E%2E", "a/../../admin", "..%2F", "x?admin=1#y"]) {
    await tool.run({ id }, signal);
  }
  for (const request of seen) {
    assert.match(new URL(request.url).pathname, /^\/v1\/listings\/[^/]+\/details$/, request.url);
    assert.equal(new URL(request.url).search, "");
  }
  assert.equal(seen.length, 4);
});

Deno.test("only declared properties are sent: extra query keys and body fields are refused, unless the author opts out", async () => {
  const keyed = recordingTool({
    url: "https://api.example.com/v1/search?key=secret-api-key-1",
    parameters: { type: "object", properties: { city: { type: "string" } } },
  });
  const refused = await keyed.tool.run(
    { city: "Oslo", key: "attacker", admin: "true" },
    signal,
  ) as { error: { type: string } };
  assert.equal(refused.error.type, "invalid_arguments");
  assert.equal(keyed.seen.length, 0);
  await keyed.tool.run({ city: "Oslo" }, signal);
  assert.equal(
    keyed.seen[0].url,
    "https://api.example.com/v1/search?key=secret-api-key-1&city=Oslo",
  );
  // The declaration OpenAI sees says so too.
  assert.equal(keyed.tool.definition().declaration.parameters.additionalProperties, false);

  const posting = recordingTool({
    method: "POST",
    url: "https://api.example.com/v1/bookings",
    parameters: { type: "object", properties: { name: { type: "string" } } },
  });
  const body = await posting.tool.run({ name: "Ada", role: "admin" }, signal) as {
    error: { type: string };
  };
  assert.equal(body.error.type, "invalid_arguments");
  assert.equal(posting.seen.length, 0);

  const open = recordingTool({
    url: "https://api.example.com/v1/search?key=secret-api-key-1",
    parameters: { type: "object", properties: {}, additionalProperties: true },
  });
  await open.tool.run({ city: "Oslo", key: "attacker" }, signal);
  assert.equal(
    open.seen[0].url,
    "https://api.example.com/v1/search?key=secret-api-key-1&city=Oslo",
    "opted out: extra arguments are sent, but never the URL's own keys",
  );
});

Deno.test("a backend echoing its request: every ${VAR} value and header value is [redacted] in the output", async () => {
  const { tool } = recordingTool({
    url: "https://api.example.com/v1/listings/{id}/details?api_key=k3y%2Fxyz&pin=42a",
    headers: { Authorization: "Bearer tok-ABCDEFGH", "X-Short": "zq9", accept: "application/json" },
    secrets: ["k3y/xyz", "42a"],
  }, (request) =>
    Response.json({
      self: request.url,
      next: request.url.replace("%2F", "%2f"),
      auth: request.headers.get("authorization"),
      token: "tok-ABCDEFGH",
      short: request.headers.get("x-short"),
      [`key-k3y/xyz`]: "in a key",
      accept: request.headers.get("accept"),
      words: "spin 42ab zq9x",
    }));
  const output = await tool.run({ id: "7" }, signal) as {
    status: number;
    data: Record<string, unknown>;
  };
  const text = JSON.stringify(output);
  for (const secret of ["k3y", "xyz", "tok-ABCDEFGH", 'zq9"', "42a&", '42a"']) {
    assert.ok(!text.includes(secret), `${secret} in ${text}`);
  }
  assert.deepEqual(output.data, {
    self: "https://api.example.com/v1/listings/7/details?api_key=[redacted]&pin=[redacted]",
    next: "https://api.example.com/v1/listings/7/details?api_key=[redacted]&pin=[redacted]",
    auth: "[redacted]",
    token: "[redacted]",
    short: "[redacted]",
    "key-[redacted]": "in a key",
    accept: "application/json",
    words: "spin 42ab zq9x",
  });
});

Deno.test("a tool URL that does not parse: an error output, never an exception or a log of it", async () => {
  const { tool, seen } = recordingTool({
    url: "https://api.example.com:{id}/x",
    parameters: { type: "object", properties: { id: { type: "string" } } },
  });
  const output = await tool.run({ id: "not-a-port" }, signal) as { error: { message: string } };
  assert.match(output.error.message, /do not make a valid address for lookup/);
  assert.ok(!output.error.message.includes("not-a-port"));
  assert.equal(seen.length, 0);
});

Deno.test("a backend answering without end: the output is cut at 8 KiB and the rest never read", async () => {
  let pulled = 0;
  const { tool } = recordingTool({}, () =>
    new Response(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled++;
          controller.enqueue(new Uint8Array(1024).fill(0x61));
        },
      }),
    ));
  const output = await tool.run({ id: "1" }, signal) as { data: string; truncated: boolean };
  assert.equal(output.truncated, true);
  assert.equal(output.data.length, MAX_TOOL_OUTPUT_BYTES);
  assert.ok(pulled <= 11, `pulled ${pulled} chunks`);
});
