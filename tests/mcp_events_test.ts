/**
 * MCP declarations, events and approval answers, checked against the GA
 * Realtime schema: what the bridge declares and answers is what the API
 * accepts, and what the API sends (every MCP event of the GA union) is read.
 */
import assert from "node:assert/strict";
import {
  approvalResponseEvent,
  decideApproval,
  mayBeMcpEvent,
  mcpToolDeclaration,
  parseMcpEvent,
} from "../src/openai/mcp_events.ts";
import {
  serverEventTypes,
  validateClientEvent,
  validateServerEvent,
} from "./support/realtime_schema.ts";
import { buildSessionUpdate } from "../src/openai/session_config.ts";
import { parseConfig } from "../src/config/mod.ts";

const calendar = {
  serverLabel: "calendar",
  serverUrl: "https://mcp.example.com/mcp",
  serverDescription: "The office calendar.",
  headers: { Authorization: "Bearer cal-secret" },
  allowedTools: ["find_slot", "book_slot"],
  requireApproval: { always: { tool_names: ["book_slot"] } },
  approveTools: ["book_slot"],
};

Deno.test("an MCP declaration in session.update is valid GA (strict client schema)", () => {
  const config = parseConfig({ OPENAI_API_KEY: "sk-test-0123456789abcdefghij" });
  const event = buildSessionUpdate(config);
  const withMcp = {
    ...event,
    session: {
      ...event.session,
      tools: [
        ...event.session.tools,
        mcpToolDeclaration(calendar),
        mcpToolDeclaration({
          serverLabel: "docs",
          serverUrl: "https://docs.example.com/mcp",
          authorization: "oauth-token",
          requireApproval: "never",
          approveTools: [],
        }),
      ],
    },
  };
  assert.deepEqual(validateClientEvent(withMcp), []);
  assert.deepEqual(withMcp.session.tools.at(-2), {
    type: "mcp",
    server_label: "calendar",
    server_url: "https://mcp.example.com/mcp",
    server_description: "The office calendar.",
    headers: { Authorization: "Bearer cal-secret" },
    allowed_tools: ["find_slot", "book_slot"],
    require_approval: { always: { tool_names: ["book_slot"] } },
  });
});

/** One valid example of each MCP server event and item of the GA union. */
const SERVER_EVENTS: Record<string, unknown> = {
  "mcp_list_tools.in_progress": {
    type: "mcp_list_tools.in_progress",
    event_id: "e1",
    item_id: "mcpl_1",
  },
  "mcp_list_tools.completed": {
    type: "mcp_list_tools.completed",
    event_id: "e2",
    item_id: "mcpl_1",
  },
  "mcp_list_tools.failed": { type: "mcp_list_tools.failed", event_id: "e3", item_id: "mcpl_1" },
  "response.mcp_call_arguments.delta": {
    type: "response.mcp_call_arguments.delta",
    event_id: "e4",
    response_id: "resp_1",
    item_id: "mcp_1",
    output_index: 0,
    delta: '{"day":',
  },
  "response.mcp_call_arguments.done": {
    type: "response.mcp_call_arguments.done",
    event_id: "e5",
    response_id: "resp_1",
    item_id: "mcp_1",
    output_index: 0,
    arguments: '{"day":"monday"}',
  },
  "response.mcp_call.in_progress": {
    type: "response.mcp_call.in_progress",
    event_id: "e6",
    output_index: 0,
    item_id: "mcp_1",
  },
  "response.mcp_call.completed": {
    type: "response.mcp_call.completed",
    event_id: "e7",
    output_index: 0,
    item_id: "mcp_1",
  },
  "response.mcp_call.failed": {
    type: "response.mcp_call.failed",
    event_id: "e8",
    output_index: 0,
    item_id: "mcp_1",
  },
};

Deno.test("every MCP server event of the GA union is known here, valid, and parsed", () => {
  const gaMcpTypes = serverEventTypes().filter((t) => t.includes("mcp"));
  assert.deepEqual(gaMcpTypes.sort(), Object.keys(SERVER_EVENTS).sort());
  for (const [type, event] of Object.entries(SERVER_EVENTS)) {
    assert.deepEqual(validateServerEvent(event, { strict: true }), [], type);
    const text = JSON.stringify(event);
    assert.ok(mayBeMcpEvent(text));
    const parsed = parseMcpEvent(text);
    if (type === "response.mcp_call_arguments.delta") {
      assert.equal(parsed, undefined, "deltas are not needed: .done carries the arguments");
      continue;
    }
    assert.ok(parsed?.ok, type);
  }
  assert.deepEqual(
    parseMcpEvent(JSON.stringify(SERVER_EVENTS["response.mcp_call_arguments.done"])),
    {
      ok: true,
      event: {
        kind: "call_arguments_done",
        itemId: "mcp_1",
        responseId: "resp_1",
        arguments: '{"day":"monday"}',
      },
    },
  );
});

Deno.test("MCP items (list, call with error, approval request) are read from item events", () => {
  const listed = {
    type: "conversation.item.done",
    event_id: "e9",
    previous_item_id: null,
    item: {
      type: "mcp_list_tools",
      id: "mcpl_1",
      server_label: "calendar",
      tools: [{ name: "find_slot", input_schema: { type: "object" } }, {
        name: "book_slot",
        input_schema: { type: "object" },
      }],
    },
  };
  const call = {
    type: "response.output_item.done",
    event_id: "e10",
    response_id: "resp_1",
    output_index: 0,
    item: {
      type: "mcp_call",
      id: "mcp_1",
      server_label: "calendar",
      name: "find_slot",
      arguments: "{}",
      output: null,
      error: { type: "http_error", code: 502, message: "Bad gateway" },
    },
  };
  const approval = {
    type: "conversation.item.added",
    event_id: "e11",
    previous_item_id: null,
    item: {
      type: "mcp_approval_request",
      id: "mcpr_1",
      server_label: "calendar",
      name: "book_slot",
      arguments: '{"slot":"9:00"}',
    },
  };
  for (const event of [listed, call, approval]) {
    assert.deepEqual(validateServerEvent(event), [], event.type);
  }
  assert.deepEqual(parseMcpEvent(JSON.stringify(listed)), {
    ok: true,
    event: {
      kind: "tools_listed",
      itemId: "mcpl_1",
      serverLabel: "calendar",
      tools: ["find_slot", "book_slot"],
    },
  });
  assert.deepEqual(parseMcpEvent(JSON.stringify(call)), {
    ok: true,
    event: {
      kind: "call",
      itemId: "mcp_1",
      serverLabel: "calendar",
      name: "find_slot",
      arguments: "{}",
      output: undefined,
      error: { type: "http_error", code: 502, message: "Bad gateway" },
      done: true,
    },
  });
  assert.deepEqual(parseMcpEvent(JSON.stringify(approval)), {
    ok: true,
    event: {
      kind: "approval_request",
      itemId: "mcpr_1",
      serverLabel: "calendar",
      name: "book_slot",
      arguments: '{"slot":"9:00"}',
    },
  });
});

Deno.test("approval answers are valid GA client events; only approve_tools are approved", () => {
  const servers = [calendar];
  const yes = decideApproval(servers, { serverLabel: "calendar", name: "book_slot" });
  const no = decideApproval(servers, { serverLabel: "calendar", name: "cancel_all" });
  const unknown = decideApproval(servers, { serverLabel: "other", name: "book_slot" });
  assert.equal(yes.approve, true);
  assert.equal(no.approve, false);
  assert.equal(unknown.approve, false);
  const event = approvalResponseEvent("mcpr_1", no, "mcpa_1");
  assert.deepEqual(validateClientEvent(event), []);
  assert.equal(event.item.approval_request_id, "mcpr_1");
  assert.equal(event.item.approve, false);
});

Deno.test("malformed MCP events are errors, never throws; other events are not MCP", () => {
  assert.deepEqual(parseMcpEvent('{"type":"response.mcp_call.completed"}'), {
    ok: false,
    error: "OpenAI event response.mcp_call.completed lacks item_id.",
  });
  assert.deepEqual(
    parseMcpEvent(
      '{"type":"conversation.item.done","item":{"type":"mcp_call","server_label":"c"}}',
    ),
    { ok: false, error: "OpenAI event conversation.item.done lacks item.id or item.name." },
  );
  assert.equal(parseMcpEvent("not json"), undefined);
  assert.equal(
    parseMcpEvent('{"type":"conversation.item.done","item":{"type":"message"}}'),
    undefined,
  );
  assert.equal(parseMcpEvent({ type: "response.done" }), undefined);
});

Deno.test("McpMonitor: approvals answered with valid GA events, failures logged without caller data", async () => {
  const { McpMonitor } = await import("../src/agents/mcp_monitor.ts");
  const monitor = new McpMonitor([calendar]);
  const frame = (event: Record<string, unknown>) => JSON.stringify({ event_id: "e", ...event });
  const approval = (id: string, name: string) =>
    frame({
      type: "conversation.item.added",
      previous_item_id: null,
      item: {
        type: "mcp_approval_request",
        id,
        server_label: "calendar",
        name,
        arguments: '{"who":"+15551234567"}',
      },
    });
  const yes = monitor.handle(approval("mcpr_1", "book_slot"), 10);
  const no = monitor.handle(approval("mcpr_2", "cancel_all"), 11);
  const again = monitor.handle(approval("mcpr_2", "cancel_all"), 12);
  assert.equal(yes.send[0].item.approve, true);
  assert.equal(no.send[0].item.approve, false);
  assert.equal(again.send.length, 0, "an approval request is answered once (added and done)");
  for (const event of [...yes.send, ...no.send]) assert.deepEqual(validateClientEvent(event), []);
  assert.notEqual(yes.send[0].item.id, no.send[0].item.id);

  const call = {
    type: "mcp_call",
    id: "mcp_9",
    server_label: "calendar",
    name: "find_slot",
    arguments: '{"who":"+15551234567"}',
  };
  monitor.handle(
    frame({ type: "response.output_item.added", response_id: "r", output_index: 0, item: call }),
    100,
  );
  const done = monitor.handle(
    frame({
      type: "response.output_item.done",
      response_id: "r",
      output_index: 0,
      item: { ...call, output: "Ada Lovelace, 9:00", error: null },
    }),
    350,
  );
  assert.deepEqual(done.logs, [{
    level: "info",
    message: "MCP tool {tool} on {server} answered.",
    properties: { server: "calendar", tool: "find_slot", durationMs: 250 },
  }]);
  const failed = monitor.handle(
    frame({
      type: "response.output_item.done",
      response_id: "r",
      output_index: 1,
      item: {
        ...call,
        id: "mcp_10",
        error: { type: "http_error", code: 401, message: "Unauthorized +15551234567" },
      },
    }),
    400,
  );
  assert.equal(failed.logs[0].level, "warning");
  assert.deepEqual(failed.logs[0].properties, {
    server: "calendar",
    tool: "find_slot",
    errorType: "http_error",
    code: 401,
  });
  const listFailed = monitor.handle(
    frame({ type: "mcp_list_tools.failed", item_id: "mcpl_1" }),
    500,
  );
  assert.match(listFailed.logs[0].message, /could not be listed/);
  const everything = JSON.stringify([yes, no, done, failed, listFailed].map((o) => o.logs));
  assert.ok(
    !everything.includes("+15551234567") && !everything.includes("Ada"),
    "no arguments or outputs in logs",
  );
  assert.deepEqual(monitor.counts, { calls: 2, failures: 2, approvals: 1, declines: 1 });
  assert.deepEqual(
    monitor.handle(frame({ type: "response.created", response: { id: "r" } }), 600),
    { logs: [], send: [] },
  );
});
