/**
 * The app's transfers, wired from the configuration: warm transfers (when
 * the Twilio account and `PUBLIC_URL` are set: they place the person's call
 * through REST and Twilio calls back under `PUBLIC_URL`), cold transfers'
 * `<Dial>` chain, and their routes.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Config } from "../config/mod.ts";
import type { AgentCalls } from "../agents/agent_calls.ts";
import type { TransferMode, TransferSpec } from "../agents/agent_profile.ts";
import type { WarmTransferStart } from "../bridge/call_runner.ts";
import type { CallAdmission } from "../security/call_admission.ts";
import type { CallCheckpoints } from "../calls/call_checkpoints.ts";
import { TwilioCalls } from "../outbound/twilio_calls.ts";
import {
  ColdTransfers,
  createTransferRoutes,
  type TransferRelay,
  type TransferReport,
  type TransferResult,
  TransferTokens,
  type WarmTransferHandle,
  WarmTransfers,
} from "../transfer/mod.ts";

/** The transfers of one app. */
export interface AppTransfers {
  cold: ColdTransfers;
  /**
   * Starts a warm transfer of a call to `transfer`'s destinations (for the
   * call runner); `outboundFrom` is the agent's outbound caller id, `agent`
   * its name (undefined: the default agent).
   * Undefined without the Twilio account or `PUBLIC_URL`: the call's warm
   * transfers fall back at once.
   */
  warmFor(
    transfer: TransferSpec,
    outboundFrom: string | undefined,
    agent: string | undefined,
  ): ((start: WarmTransferStart) => WarmTransferHandle) | undefined;
  routes(request: Request, path: string): Promise<Response> | undefined;
}

/** Builds the transfers of the app. */
export function createTransfers(
  config: Config,
  credentials: { accountSid: string; authToken: string } | undefined,
  agentCalls: AgentCalls,
  admission: CallAdmission,
  options: {
    logger: Logger;
    now?: () => number;
    onTransfer?: (mode: TransferMode, result: TransferResult, report: TransferReport) => void;
    /** The shared call store (a cold transfer's fallback replays the conversation). */
    checkpoints?: CallCheckpoints;
    /** The shared store's transfer relay (warm transfer callbacks on any instance). */
    relay?: TransferRelay;
  },
): AppTransfers {
  const tokens = new TransferTokens(config.streamTokenSecret);
  const warm = credentials !== undefined && config.publicUrl !== undefined
    ? new WarmTransfers({
      calls: new TwilioCalls({ ...credentials, baseUrl: config.twilioApiBaseUrl }),
      tokens,
      publicUrl: config.publicUrl,
      logger: options.logger,
      ...(options.now ? { now: options.now } : {}),
      onFinished: (report) => options.onTransfer?.("warm", report.result, report),
      ...(options.relay ? { relay: options.relay } : {}),
    })
    : undefined;
  const cold = new ColdTransfers({
    tokens,
    transferOf: (name) => agentCalls.coldTransferOf(name),
    streamPathOf: (name) => agentCalls.streamPathOf(name),
    streamParameters: (callSid, agent) => admission.streamParameters(callSid, agent),
    onFinished: (report) => options.onTransfer?.("cold", report.result, report),
    ...(options.checkpoints ? { checkpoints: options.checkpoints } : {}),
    logger: options.logger,
  });
  return {
    cold,
    warmFor: (transfer, outboundFrom, agent) =>
      warm && ((start) =>
        warm.start({
          callerCallSid: start.callSid,
          agent,
          // The person sees the number the caller called (else the agent's outbound caller id).
          from: agentCalls.calledNumber(start.callSid) ?? outboundFrom ??
            config.twilioPhoneNumber ??
            "",
          destinations: transfer.destinations,
          ringTimeoutSeconds: transfer.ringTimeoutSeconds,
          briefing: start.briefing,
          onResult: start.onResult,
          onStep: start.onStep,
        })),
    routes: createTransferRoutes({
      admission,
      publicUrl: config.publicUrl,
      warm,
      cold,
      logger: options.logger,
    }),
  };
}
