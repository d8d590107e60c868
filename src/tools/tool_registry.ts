/**
 * Function tools the model may call, and how the bridge declares them.
 *
 * `end_call` is built in and handled by the call core itself (farewell, then
 * hang-up). Other tools are {@link ToolDefinition}s with an async handler that
 * the call runner executes off the audio path.
 *
 * @module
 */
import { TOOL_DESCRIPTIONS } from "../prompts/mod.ts";

/** The name of the built-in tool that ends the call. */
export const END_CALL_TOOL = "end_call";

/** The name of the built-in tool that hands the call to a person (when `TRANSFER_NUMBER` is set). */
export const TRANSFER_CALL_TOOL = "transfer_call";

/** A function tool as declared in `session.tools`. */
export interface ToolDeclaration {
  type: "function";
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** Context a tool handler receives. */
export interface ToolContext {
  /** The Twilio CallSid of the call. */
  callSid: string;
  /** Aborted when the call ends or the tool times out. */
  signal: AbortSignal;
}

/** A custom tool: its declaration and its handler. */
export interface ToolDefinition {
  declaration: ToolDeclaration;
  /** Runs the tool; the result is JSON-serialized into `function_call_output`. */
  handler(args: Record<string, unknown>, context: ToolContext): Promise<unknown> | unknown;
}

/** Declaration of the built-in `end_call` tool. */
const END_CALL_DECLARATION: ToolDeclaration = {
  type: "function",
  name: END_CALL_TOOL,
  description: TOOL_DESCRIPTIONS.endCall,
  parameters: {
    type: "object",
    properties: {
      reason: { type: "string", description: TOOL_DESCRIPTIONS.endCallReason },
    },
    required: [],
  },
};

/** Declaration of the built-in `transfer_call` tool. */
export const TRANSFER_CALL_DECLARATION: ToolDeclaration = {
  type: "function",
  name: TRANSFER_CALL_TOOL,
  description: TOOL_DESCRIPTIONS.transferCall,
  parameters: {
    type: "object",
    properties: {
      reason: { type: "string", description: TOOL_DESCRIPTIONS.transferCallReason },
    },
    required: [],
  },
};

/** Which built-in tools besides `end_call` the session declares. */
export interface BuiltInTools {
  /** Declare `transfer_call` (a transfer number is configured). */
  transfer?: boolean;
}

/**
 * The `session.tools` array: `end_call` (and `transfer_call` when enabled) first, then the
 * custom tools.
 *
 * @example
 * ```ts
 * import { toolDeclarations } from "./tool_registry.ts";
 * if (toolDeclarations()[0].name !== "end_call") throw new Error();
 * ```
 */
export function toolDeclarations(
  custom: readonly ToolDefinition[] = [],
  builtIn: BuiltInTools = {},
): ToolDeclaration[] {
  return [
    END_CALL_DECLARATION,
    ...(builtIn.transfer ? [TRANSFER_CALL_DECLARATION] : []),
    ...custom.map((t) => t.declaration),
  ];
}
