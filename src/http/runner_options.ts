/**
 * What a media stream's call runner is given, built in one pure function
 * from what the app found at the upgrade (the agent's set-up, the kind of
 * stream, a resumed call's checkpoint) and the app's own parts. No socket is
 * touched here: `createApp` upgrades, then hands these options to the
 * call runner.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { type Config, coreTimings } from "../config/mod.ts";
import type { CallSetup } from "../agents/agent_calls.ts";
import { McpMonitor } from "../agents/mcp_monitor.ts";
import { profileCoreOptions, profileEngine } from "../agents/profile_session.ts";
import type { CallRunnerOptions } from "../bridge/call_runner.ts";
import type { SocketFactory } from "../bridge/realtime_sockets.ts";
import { CheckpointWriter } from "../bridge/checkpoint_writer.ts";
import type { CallObserver } from "../bridge/call_observer.ts";
import type { CallCheckpoint, CallCheckpoints } from "../calls/call_checkpoints.ts";
import type { CallCoreOptions } from "../core/call_core_options.ts";
import type { CallAdmission } from "../security/call_admission.ts";
import type { StreamGuardOptions } from "../security/limits.ts";
import type { Base64 } from "../audio/base64.ts";
import type { HangUp } from "../twilio/rest_hang_up.ts";
import type { AppTransfers } from "./app_transfers.ts";
import type { CallRecording } from "../twilio/call_recording.ts";
import type { OutboundStreamRoutes } from "./outbound_plug.ts";
import { formatStreamPath, type StreamPath } from "./stream_path.ts";

/** One media stream's call, as the app found it at the upgrade. */
export interface StreamCall {
  /** The stream's URL path. */
  path: string;
  /** What the path names (the stream after keypad tones keeps the path the call started on). */
  stream: StreamPath;
  /** The agent and its session (`AgentCalls.forStream`). */
  setup: CallSetup;
  /** A browser softphone call (admitted by its token, no Twilio REST). */
  softphone: boolean;
  /** The call its softphone token was issued for (its `start` must carry no other). */
  softphoneCallSid?: string;
  /** The call's recording (an agent with `recording:`): starts with the stream. */
  recording?: CallRecording;
  /** An outbound call's core settings (greeting, AMD wait, keypad), from its stream path. */
  outboundCore: Partial<CallCoreOptions> | undefined;
  /** The checkpoint of a call resumed in this stream. */
  resumed: CallCheckpoint | undefined;
  observer: CallObserver | undefined;
  /** The call's logger. */
  logger: Logger;
}

/** The parts of the app every call shares. */
export interface RunnerParts {
  config: Config;
  admission: CallAdmission;
  /** The waiting sound's frames (read once at start-up). */
  waitingSound: readonly Base64[];
  hangUp: HangUp | undefined;
  transfers: AppTransfers;
  outbound: OutboundStreamRoutes | undefined;
  checkpoints: CallCheckpoints | undefined;
  openSocket?: SocketFactory;
  now?: () => number;
  maxBufferedBytes?: number;
  streamGuard?: StreamGuardOptions;
  /** Where checkpoint failures are logged. */
  callLog: Logger;
  /** The call's outcome is known (before its sockets close). */
  onOutcome: CallRunnerOptions["onOutcome"];
  /** The call is over. */
  onFinished: CallRunnerOptions["onFinished"];
}

function sensitiveTools(call: StreamCall): ReadonlySet<string> {
  return new Set(call.setup.profile.httpTools.filter((t) => t.sensitive).map((t) => t.name));
}

/** The options of the call runner of `call`. */
export function runnerOptions(call: StreamCall, app: RunnerParts): CallRunnerOptions {
  const { setup, resumed, softphone, outboundCore, recording } = call;
  const { profile } = setup;
  const { config } = app;
  const transfer = profile.transfers[0];
  // Twilio's calls are checkpointed (softphone calls have no `<Connect action>`). The stream after
  // keypad tones keeps the path the call started on.
  const checkpointable = !softphone;
  const { stream } = call;
  const firstPath = resumed?.streamPath ??
    (stream.kind === "outbound" && stream.resumeCallSid !== undefined
      ? formatStreamPath({ kind: "outbound", agent: stream.agent })
      : call.path);
  return {
    core: {
      sessionUpdate: setup.sessionUpdate,
      greeting: setup.greeting,
      showTimingMath: config.showTimingMath,
      transferEnabled: transfer !== undefined,
      ...(transfer !== undefined
        ? { transferToolName: transfer.name, transferMode: transfer.mode }
        : {}),
      prompts: setup.prompts,
      waitingSound: app.waitingSound,
      ...coreTimings(config),
      ...profileCoreOptions(profile, config),
      ...outboundCore,
      // A resumed call: no second greeting; the conversation is replayed, one short line.
      // (A call handed over before anything was said is greeted as a new one.)
      // An outbound call resumed mid-conversation does not wait for the answering machine again.
      ...(resumed !== undefined && resumed.conversation.length > 0
        ? {
          greeting: undefined,
          awaitAnswer: undefined,
          resume: resumed.conversation,
          acknowledgeResume: true,
        }
        : {}),
    },
    // Softphone calls were admitted by their token; Twilio streams need a valid stream token.
    admitStart: (start) => {
      // A softphone call is the one its token was issued for: no other CallSid (a real call's).
      if (softphone) {
        return start.callSid === call.softphoneCallSid ? undefined : "softphone call mismatch";
      }
      if (setup.agentName !== undefined && start.customParameters.agent !== setup.agentName) {
        return "stream agent mismatch";
      }
      if (setup.callSid !== undefined && start.callSid !== setup.callSid) {
        return "stream call mismatch";
      }
      if (resumed !== undefined && start.callSid !== resumed.callSid) {
        return "stream call mismatch";
      }
      const refused = app.admission.admitStart(start);
      if (refused === undefined && start.callSid) void recording?.start(start.callSid);
      return refused;
    },
    openaiUrl: setup.openaiUrl,
    engine: profileEngine(profile),
    openaiApiKey: config.openaiApiKey,
    ...(app.openSocket ? { openSocket: app.openSocket } : {}),
    ...(app.now ? { now: app.now } : {}),
    logger: call.logger,
    hangUp: softphone ? undefined : app.hangUp,
    softphone,
    // Sensitive keypad collections pause the recording while the caller types.
    ...(recording !== undefined
      ? {
        sensitiveKeys: (typing: boolean) => void (typing ? recording.pause() : recording.resume()),
      }
      : {}),
    // Sensitive tools pause the recording while they run.
    tools: recording === undefined
      ? setup.tools
      : recording.guard(setup.tools, sensitiveTools(call)),
    ...(profile.mcpServers.length > 0 ? { mcp: new McpMonitor(profile.mcpServers) } : {}),
    ...(call.observer ? { observer: call.observer } : {}),
    ...(app.maxBufferedBytes ? { maxBufferedBytes: app.maxBufferedBytes } : {}),
    ...(app.streamGuard ? { guard: app.streamGuard } : {}),
    ...(outboundCore !== undefined && app.outbound
      ? { outbound: app.outbound, ...(setup.caller !== undefined ? { caller: setup.caller } : {}) }
      : {}),
    ...(transfer?.mode === "warm" && !softphone
      ? { transfer: app.transfers.warmFor(transfer, profile.outbound.from, setup.agentName) }
      : {}),
    ...(checkpointable && app.checkpoints !== undefined
      ? {
        checkpoint: new CheckpointWriter(
          app.checkpoints,
          {
            streamPath: firstPath,
            ...(setup.agentName !== undefined ? { agent: setup.agentName } : {}),
            ...(setup.caller !== undefined ? { caller: setup.caller } : {}),
          },
          app.callLog,
          { coldTransfer: transfer?.mode === "cold" },
        ),
      }
      : {}),
    onOutcome: app.onOutcome,
    onFinished: app.onFinished,
  };
}
