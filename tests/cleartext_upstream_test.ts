/**
 * One rule for every URL the bridge sends secrets or call data to: a
 * cleartext `http://`/`ws://` URL to a host that is not loopback is a problem
 * naming the field and `ALLOW_INSECURE_UPSTREAM=true` (which makes it a
 * warning): the environment's OpenAI endpoints and webhooks, and the agents
 * file's webhooks, context webhook, HTTP tools and MCP servers.
 */
import assert from "node:assert/strict";
import { parseAgentsFile } from "../src/agents/agents_file.ts";
import { loadAgents } from "../src/agents/agent_book.ts";
import { parseConfig } from "../src/config/mod.ts";

const KEY = { OPENAI_API_KEY: "sk-test-0123456789abcdefghij" };
const SECRET = `whsec_${btoa("k".repeat(32))}`;

/** An agents file with one URL of `kind`, under `url` (`http://host:port`). */
function agentsFile(kind: "context" | "webhook" | "http" | "mcp", url: string): string {
  const lines = ["agents:", "  - name: a"];
  if (kind === "context") lines.push(`    context_webhook: { url: '${url}/caller' }`);
  if (kind === "webhook") lines.push(`    webhooks: [{ url: '${url}/hook', secret: '${SECRET}' }]`);
  if (kind === "http") {
    lines.push(
      "    tools:",
      "      - type: http",
      "        name: lookup",
      "        description: Look up.",
      "        parameters: { type: object, properties: { id: { type: string } } }",
      `        request: { url: '${url}/listings/{id}?key=\${CRM_KEY}' }`,
    );
  }
  if (kind === "mcp") {
    lines.push(
      "    tools:",
      `      - { type: mcp, server_label: crm, server_url: '${url}/mcp', authorization: 'tok-\${CRM_KEY}' }`,
    );
  }
  return lines.join("\n") + "\n";
}

/** The field each kind's problem names. */
const FIELDS = {
  context: /agents\[0\]\.context_webhook\.url/,
  webhook: /agents\[0\]\.webhooks\[0\]\.url/,
  http: /agents\[0\]\.tools\[0\]\.request\.url/,
  mcp: /agents\[0\]\.tools\[0\]\.server_url/,
} as const;

const env = { CRM_KEY: "crm-secret-value-0123" };

for (const kind of ["context", "webhook", "http", "mcp"] as const) {
  Deno.test(`agents file, ${kind} URL: cleartext to a remote host is a problem naming the field; loopback passes; ALLOW_INSECURE_UPSTREAM makes it a warning`, () => {
    const name = FIELDS[kind].source;
    const remote = parseAgentsFile(agentsFile(kind, "http://crm.example.com"), {
      path: "agents.yaml",
      env,
    });
    assert.equal(remote.ok, false);
    if (!remote.ok) {
      assert.equal(remote.problems.length, 1, remote.problems.join("\n"));
      assert.match(
        remote.problems[0],
        new RegExp(
          `^agents\\.yaml:\\d+: ${name}: is a cleartext http:// URL to a host, which is not loopback: .* Use https://, or set ALLOW_INSECURE_UPSTREAM=true`,
        ),
      );
      // Neither the host nor a ${VAR} value is in the message.
      assert.doesNotMatch(remote.problems[0], /crm\.example\.com|crm-secret-value/);
    }
    for (
      const base of ["http://127.0.0.1:8080", "http://localhost:8080", "https://crm.example.com"]
    ) {
      const fine = parseAgentsFile(agentsFile(kind, base), { path: "agents.yaml", env });
      assert.ok(fine.ok, fine.ok ? "" : fine.problems.join("\n"));
      assert.deepEqual(fine.warnings, [], base);
    }
    const allowed = parseAgentsFile(agentsFile(kind, "http://crm.internal"), {
      path: "agents.yaml",
      env,
      allowInsecureUpstream: true,
    });
    assert.ok(allowed.ok, allowed.ok ? "" : allowed.problems.join("\n"));
    assert.equal(allowed.warnings.length, 1);
    assert.match(
      allowed.warnings[0],
      new RegExp(`${name}: .*Allowed by ALLOW_INSECURE_UPSTREAM=true`),
    );
  });
}

Deno.test("ALLOW_INSECURE_UPSTREAM in the environment reaches the agents file's check (loadAgents)", () => {
  const text = agentsFile("webhook", "http://crm.example.com");
  const load = (extra: Record<string, string>) =>
    loadAgents({
      config: parseConfig({ ...KEY, ...extra }),
      file: { path: "agents.yaml", required: true },
      env,
      readTextFile: () => text,
    });
  const refused = load({});
  assert.equal(refused.ok, false);
  if (!refused.ok) assert.match(refused.problems.join("\n"), /webhooks\[0\]\.url: is a cleartext/);
  const allowed = load({ ALLOW_INSECURE_UPSTREAM: "true" });
  assert.ok(allowed.ok);
  if (allowed.ok) {
    assert.match(allowed.warnings.join("\n"), /Allowed by ALLOW_INSECURE_UPSTREAM=true/);
  }
});

Deno.test("OPENAI_LIVE_URL and OPENAI_BASE_URL follow the rule: cleartext to a remote host refused, loopback fine, allowed as a warning", () => {
  assert.throws(
    () => parseConfig({ ...KEY, OPENAI_LIVE_URL: "ws://live.example.com/v1/live" }),
    /OPENAI_LIVE_URL is a cleartext ws:\/\/ URL to live\.example\.com.*Use wss:\/\/, or set ALLOW_INSECURE_UPSTREAM=true/,
  );
  assert.throws(
    () => parseConfig({ ...KEY, OPENAI_BASE_URL: "http://api.example.com/v1" }),
    /OPENAI_BASE_URL is a cleartext http:\/\/ URL to api\.example\.com.*Use https:\/\/, or set ALLOW_INSECURE_UPSTREAM=true/,
  );
  for (
    const extra of [
      { OPENAI_LIVE_URL: "ws://127.0.0.1:9000/v1/live" },
      { OPENAI_BASE_URL: "http://localhost:9000/v1" },
    ]
  ) {
    assert.deepEqual(parseConfig({ ...KEY, ...extra }).warnings, [], JSON.stringify(extra));
  }
  const allowed = parseConfig({
    ...KEY,
    OPENAI_LIVE_URL: "ws://live.internal/v1/live",
    OPENAI_BASE_URL: "http://api.internal/v1",
    ALLOW_INSECURE_UPSTREAM: "true",
  });
  const warnings = allowed.warnings.join("\n");
  assert.match(
    warnings,
    /OPENAI_LIVE_URL is a cleartext ws:\/\/.*Allowed by ALLOW_INSECURE_UPSTREAM=true/,
  );
  assert.match(
    warnings,
    /OPENAI_BASE_URL is a cleartext http:\/\/.*Allowed by ALLOW_INSECURE_UPSTREAM=true/,
  );
});
