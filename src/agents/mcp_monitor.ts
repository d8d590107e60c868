/**
 * What the bridge does with the MCP events of one call's Realtime session
 * (sans-IO: Realtime frames in, log records and client events out).
 *
 * - Tool listing and calls are logged (server label, tool name, duration;
 *   never the arguments or the output, which may hold caller data).
 * - Failures (`mcp_list_tools.failed`, `response.mcp_call.failed`, an
 *   `mcp_call` item with an `error`) are logged as warnings with the error
 *   type and code.
 * - Approval requests are answered at once: approved when the tool is in
 *   the server's `approve_tools`, else declined (nobody can click
 *   "approve" during a phone call); the answer is an `mcp_approval_response`
 *   item for the call runner to send.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { McpMonitor } from "./mcp_monitor.ts";
 * const monitor = new McpMonitor([{ serverLabel: "calendar", approveTools: ["find_slot"] }]);
 * const out = monitor.handle(JSON.stringify({
 *   type: "conversation.item.added", event_id: "e1", previous_item_id: null,
 *   item: { type: "mcp_approval_request", id: "mcpr_1", server_label: "calendar", name: "find_slot", arguments: "{}" },
 * }), 0);
 * assert.equal(out.send[0].item.approve, true);
 * assert.equal(out.logs[0].message, "MCP approval requested for {tool} on {server}: {decision}.");
 * ```
 *
 * @module
 */
import type { McpServerSpec } from "./agent_profile.ts";
import {
  approvalResponseEvent,
  decideApproval,
  mayBeMcpEvent,
  parseMcpEvent,
} from "../openai/mcp_events.ts";

/** A log record to write (LogTape-style message template and properties). */
export interface McpLog {
  level: "debug" | "info" | "warning";
  message: string;
  properties: Record<string, unknown>;
}

/** What one frame gives. */
export interface McpOutput {
  logs: McpLog[];
  /** Client events to send to the same session (approval answers). */
  send: Array<ReturnType<typeof approvalResponseEvent>>;
}

const NONE: McpOutput = { logs: [], send: [] };

/** The MCP side of one call. */
export class McpMonitor {
  #servers: readonly Pick<McpServerSpec, "serverLabel" | "approveTools">[];
  /** In-flight calls by item id: server, tool and start time. */
  #calls = new Map<string, { server: string; tool: string; startedAt: number | undefined }>();
  #answered = new Set<string>();
  #seq = 0;
  /** Counters, e.g. for the call record. */
  readonly counts = { calls: 0, failures: 0, approvals: 0, declines: 0 };

  /** Watches a session declared with `servers`. */
  constructor(servers: readonly Pick<McpServerSpec, "serverLabel" | "approveTools">[]) {
    this.#servers = servers;
  }

  /** Handles one Realtime text frame at `now` (ms). Never throws. */
  handle(text: string, now: number): McpOutput {
    if (!mayBeMcpEvent(text)) return NONE;
    const parsed = parseMcpEvent(text);
    if (parsed === undefined) return NONE;
    if (!parsed.ok) {
      return { logs: [{ level: "warning", message: parsed.error, properties: {} }], send: [] };
    }
    const event = parsed.event;
    switch (event.kind) {
      case "tools_listed":
        return this.#log("info", "MCP server {server} lists {count} tools.", {
          server: event.serverLabel,
          count: event.tools.length,
          tools: event.tools.slice(0, 50),
        });
      case "list_tools_failed":
        this.counts.failures++;
        return this.#log(
          "warning",
          "MCP tools could not be listed (item {itemId}); the model cannot use that server. Check server_url and its headers in the agents file.",
          { itemId: event.itemId },
        );
      case "call": {
        const known = this.#calls.get(event.itemId);
        if (known === undefined) {
          this.#calls.set(event.itemId, {
            server: event.serverLabel,
            tool: event.name,
            startedAt: event.done ? undefined : now,
          });
          if (!event.done) this.counts.calls++;
        }
        if (!event.done) return NONE;
        const started = this.#calls.get(event.itemId)?.startedAt;
        this.#calls.delete(event.itemId);
        if (known === undefined) this.counts.calls++;
        const properties = {
          server: event.serverLabel,
          tool: event.name,
          ...(started !== undefined ? { durationMs: Math.round(now - started) } : {}),
        };
        if (event.error !== undefined) {
          this.counts.failures++;
          return this.#log("warning", "MCP tool {tool} on {server} failed: {errorType}.", {
            ...properties,
            errorType: event.error.type,
            ...(event.error.code !== undefined ? { code: event.error.code } : {}),
          });
        }
        return this.#log("info", "MCP tool {tool} on {server} answered.", properties);
      }
      case "call_failed": {
        const call = this.#calls.get(event.itemId);
        this.counts.failures++;
        return this.#log("warning", "MCP tool call {itemId} failed.", {
          itemId: event.itemId,
          ...(call !== undefined ? { server: call.server, tool: call.tool } : {}),
        });
      }
      case "approval_request": {
        if (this.#answered.has(event.itemId)) return NONE;
        this.#answered.add(event.itemId);
        const decision = decideApproval(this.#servers, event);
        if (decision.approve) this.counts.approvals++;
        else this.counts.declines++;
        return {
          logs: [{
            level: decision.approve ? "info" : "warning",
            message: "MCP approval requested for {tool} on {server}: {decision}.",
            properties: {
              tool: event.name,
              server: event.serverLabel,
              decision: decision.approve ? "approved (approve_tools)" : "declined",
            },
          }],
          send: [approvalResponseEvent(event.itemId, decision, `mcpapr_${++this.#seq}_${now | 0}`)],
        };
      }
      case "list_tools_in_progress":
      case "list_tools_completed":
      case "call_in_progress":
      case "call_completed":
      case "call_arguments_done":
        return NONE;
    }
  }

  #log(level: McpLog["level"], message: string, properties: Record<string, unknown>): McpOutput {
    return { logs: [{ level, message, properties }], send: [] };
  }
}
