/**
 * Remote MCP tools in the GA Realtime interface: how the bridge declares an
 * MCP server in `session.update` (OpenAI then lists and calls its tools
 * itself), how it reads the MCP server events and items, and how it answers
 * an approval request.
 *
 * Events (GA server union): `mcp_list_tools.in_progress|completed|failed`
 * (`item_id`), `response.mcp_call_arguments.delta|done`,
 * `response.mcp_call.in_progress|completed|failed` (`item_id`, `output_index`).
 * Items (in `conversation.item.added|done`, `response.output_item.added|done`):
 * `mcp_list_tools` (`server_label`, `tools[]`), `mcp_call` (`server_label`,
 * `name`, `arguments`, `output`, `error`) and `mcp_approval_request` (`id`,
 * `server_label`, `name`, `arguments`), answered with a client
 * `conversation.item.create` of an `mcp_approval_response` item.
 *
 * Like `server_events.ts`, parsing never throws: a malformed MCP event is an
 * `{ok: false, error}`, and anything that is not MCP is `undefined`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mcpToolDeclaration, parseMcpEvent } from "./mcp_events.ts";
 * const tool = mcpToolDeclaration({
 *   serverLabel: "calendar", serverUrl: "https://mcp.example.com/mcp",
 *   headers: { Authorization: "Bearer t" }, requireApproval: "never", approveTools: [],
 * });
 * assert.deepEqual(tool, {
 *   type: "mcp", server_label: "calendar", server_url: "https://mcp.example.com/mcp",
 *   headers: { Authorization: "Bearer t" }, require_approval: "never",
 * });
 * const failed = parseMcpEvent('{"type":"response.mcp_call.failed","event_id":"e1","output_index":0,"item_id":"mcp_1"}');
 * assert.deepEqual(failed, { ok: true, event: { kind: "call_failed", itemId: "mcp_1" } });
 * assert.equal(parseMcpEvent('{"type":"response.created","response":{"id":"r"}}'), undefined);
 * ```
 *
 * @module
 */
import type { McpServerSpec } from "../agents/agent_profile.ts";
import { rec, str } from "./server_events.ts";

/** The `session.tools` entry of an MCP server (GA `MCPTool`). */
export interface McpToolDeclaration {
  type: "mcp";
  server_label: string;
  server_url: string;
  server_description?: string;
  headers?: Record<string, string>;
  authorization?: string;
  allowed_tools?: string[];
  require_approval: McpServerSpec["requireApproval"];
}

/** Declares an MCP server to the Realtime session. */
export function mcpToolDeclaration(
  spec:
    & Omit<McpServerSpec, "serverDescription" | "authorization" | "allowedTools" | "headers">
    & Partial<McpServerSpec>,
): McpToolDeclaration {
  return {
    type: "mcp",
    server_label: spec.serverLabel,
    server_url: spec.serverUrl,
    ...(spec.serverDescription !== undefined ? { server_description: spec.serverDescription } : {}),
    ...(spec.headers !== undefined ? { headers: { ...spec.headers } } : {}),
    ...(spec.authorization !== undefined ? { authorization: spec.authorization } : {}),
    ...(spec.allowedTools !== undefined ? { allowed_tools: [...spec.allowedTools] } : {}),
    require_approval: spec.requireApproval,
  };
}

/** An MCP error as the GA `mcp_call.error` gives it. */
export interface McpCallError {
  type: "protocol_error" | "tool_execution_error" | "http_error" | "unknown";
  code?: number;
  message: string;
}

/** What the bridge reads from MCP events and items. */
export type McpEvent =
  | {
    kind: "list_tools_in_progress" | "list_tools_completed" | "list_tools_failed";
    itemId: string;
  }
  | { kind: "call_in_progress" | "call_completed" | "call_failed"; itemId: string }
  | { kind: "call_arguments_done"; itemId: string; responseId: string; arguments: string }
  | { kind: "tools_listed"; itemId: string | undefined; serverLabel: string; tools: string[] }
  | {
    kind: "call";
    itemId: string;
    serverLabel: string;
    name: string;
    arguments: string;
    /** The tool's output, when the call is done. */
    output: string | undefined;
    error: McpCallError | undefined;
    /** Whether the item is complete (`.done` events). */
    done: boolean;
  }
  | {
    kind: "approval_request";
    itemId: string;
    serverLabel: string;
    name: string;
    arguments: string;
  };

/** Result of {@link parseMcpEvent}; undefined for events that are not MCP. */
export type McpEventResult =
  | { ok: true; event: McpEvent }
  | { ok: false; error: string }
  | undefined;

const ITEM_EVENTS = new Set([
  "conversation.item.added",
  "conversation.item.done",
  "conversation.item.created",
  "response.output_item.added",
  "response.output_item.done",
]);

/**
 * A cheap test on the raw frame, so that only frames that may be MCP are
 * parsed a second time.
 */
export function mayBeMcpEvent(text: string): boolean {
  return text.includes("mcp");
}

/** Parses a Realtime server event (text or already-parsed JSON) as MCP. Never throws. */
export function parseMcpEvent(input: string | Record<string, unknown>): McpEventResult {
  let obj: Record<string, unknown> | undefined;
  if (typeof input === "string") {
    try {
      obj = rec(JSON.parse(input));
    } catch {
      return undefined;
    }
  } else obj = input;
  const type = str(obj?.type);
  if (obj === undefined || type === undefined) return undefined;
  const bad = (what: string): McpEventResult => ({
    ok: false,
    error: `OpenAI event ${type} lacks ${what}.`,
  });
  const simple = {
    "mcp_list_tools.in_progress": "list_tools_in_progress",
    "mcp_list_tools.completed": "list_tools_completed",
    "mcp_list_tools.failed": "list_tools_failed",
    "response.mcp_call.in_progress": "call_in_progress",
    "response.mcp_call.completed": "call_completed",
    "response.mcp_call.failed": "call_failed",
  } as const;
  if (type in simple) {
    const itemId = str(obj.item_id);
    if (itemId === undefined) return bad("item_id");
    return { ok: true, event: { kind: simple[type as keyof typeof simple], itemId } };
  }
  if (type === "response.mcp_call_arguments.done") {
    const itemId = str(obj.item_id);
    const args = str(obj.arguments);
    if (itemId === undefined || args === undefined) return bad("item_id or arguments");
    return {
      ok: true,
      event: {
        kind: "call_arguments_done",
        itemId,
        responseId: str(obj.response_id) ?? "",
        arguments: args,
      },
    };
  }
  if (!ITEM_EVENTS.has(type)) return undefined;
  const item = rec(obj.item);
  const itemType = str(item?.type);
  if (item === undefined || itemType === undefined || !itemType.startsWith("mcp_")) {
    return undefined;
  }
  const serverLabel = str(item.server_label);
  if (serverLabel === undefined) return bad("item.server_label");
  switch (itemType) {
    case "mcp_list_tools": {
      const tools = Array.isArray(item.tools) ? item.tools : [];
      return {
        ok: true,
        event: {
          kind: "tools_listed",
          itemId: str(item.id),
          serverLabel,
          tools: tools.map((t) => str(rec(t)?.name)).filter((n): n is string => n !== undefined),
        },
      };
    }
    case "mcp_call": {
      const itemId = str(item.id);
      const name = str(item.name);
      if (itemId === undefined || name === undefined) return bad("item.id or item.name");
      return {
        ok: true,
        event: {
          kind: "call",
          itemId,
          serverLabel,
          name,
          arguments: str(item.arguments) ?? "",
          output: str(item.output),
          error: callError(item.error),
          done: type.endsWith(".done"),
        },
      };
    }
    case "mcp_approval_request": {
      const itemId = str(item.id);
      const name = str(item.name);
      if (itemId === undefined || name === undefined) return bad("item.id or item.name");
      return {
        ok: true,
        event: {
          kind: "approval_request",
          itemId,
          serverLabel,
          name,
          arguments: str(item.arguments) ?? "",
        },
      };
    }
    default:
      // mcp_approval_response items echo the bridge's own answer.
      return undefined;
  }
}

function callError(value: unknown): McpCallError | undefined {
  const error = rec(value);
  if (error === undefined) return undefined;
  const type = str(error.type);
  const known = type === "protocol_error" || type === "tool_execution_error" ||
    type === "http_error";
  return {
    type: known ? type : "unknown",
    ...(typeof error.code === "number" ? { code: error.code } : {}),
    message: str(error.message) ?? "(no message)",
  };
}

/**
 * Whether the bridge approves a tool call OpenAI asks about: only tools the
 * agent lists in `approve_tools` of that server (nobody can approve during a
 * phone call).
 */
export function decideApproval(
  servers: readonly Pick<McpServerSpec, "serverLabel" | "approveTools">[],
  request: { serverLabel: string; name: string },
): { approve: boolean; reason: string } {
  const server = servers.find((s) => s.serverLabel === request.serverLabel);
  if (server?.approveTools.includes(request.name)) {
    return { approve: true, reason: "Listed in approve_tools of the agents file." };
  }
  return {
    approve: false,
    reason:
      "Not approved: the tool is not in approve_tools of the agents file. Tell the caller you cannot do this on the phone.",
  };
}

/**
 * The client event that answers an approval request (`id` must be unique in
 * the conversation).
 */
export function approvalResponseEvent(
  approvalRequestId: string,
  decision: { approve: boolean; reason: string },
  id: string,
) {
  return {
    type: "conversation.item.create" as const,
    item: {
      type: "mcp_approval_response" as const,
      id,
      approval_request_id: approvalRequestId,
      approve: decision.approve,
      reason: decision.reason,
    },
  };
}
