/**
 * Call recording with consent, as the app serves it: the consent line of an
 * agent with `recording:` (the TwiML's `<Say>` before `<Connect>`), the
 * {@link CallRecording} of each of its Twilio calls (started when the media
 * stream starts, that is after the consent line), and the route Twilio posts
 * the recording's status to (`POST /recording-status`, signed like every
 * Twilio webhook; `RecordingSid`, `RecordingUrl`, `RecordingStatus`,
 * `RecordingDuration`, `RecordingChannels`, `RecordingStartTime`,
 * `ErrorCode`, `CallSid`, per https://www.twilio.com/docs/voice/api/recording
 * "RecordingStatusCallback", read 2026-12-07).
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Config } from "../config/mod.ts";
import type { AgentProfile } from "../agents/agent_profile.ts";
import type { CallRecordingInfo } from "../calls/call_record.ts";
import { CallRecording } from "../twilio/call_recording.ts";
import { TwilioRestClient } from "../twilio/rest_client.ts";
import { publicBase } from "./public_base.ts";
import { text } from "./plain_responses.ts";
import type { SignedWebhook } from "./signed_webhook.ts";

/** The route of Twilio's recording status callbacks. */
export const RECORDING_STATUS_PATH = "/recording-status";

/** A finished recording, as Twilio reported it. */
export interface RecordingReport {
  callSid: string;
  /** The agent of the call (from the callback URL, which Twilio's signature covers). */
  agent: string | null;
  recording: CallRecordingInfo;
}

/** What the app does with recordings. */
export interface AppRecordings {
  /** The consent line to say before the stream, when `profile`'s calls can be recorded. */
  consent(profile: AgentProfile): string | undefined;
  /** The recording of one Twilio call of `profile`, when its calls are recorded. */
  forCall(profile: AgentProfile, request: Request): CallRecording | undefined;
  /** Answers Twilio's `POST /recording-status` (a row of the app's route table). */
  status(request: Request): Promise<Response>;
}

/**
 * The app's recordings (none without Twilio credentials: a start-up warning
 * says so). `signedWebhook` is the app's check of Twilio's webhooks (its
 * signature, body cap and Host, refusals logged and counted in the app's one
 * refusal log).
 */
export function createRecordings(
  config: Config,
  credentials: { accountSid: string; authToken: string } | undefined,
  signedWebhook: (request: Request) => Promise<SignedWebhook | Response>,
  options: { logger: Logger; onRecording?: (report: RecordingReport) => void },
): AppRecordings {
  const client = credentials === undefined
    ? undefined
    : new TwilioRestClient({ ...credentials, baseUrl: config.twilioApiBaseUrl });
  let warned = false;
  const usable = (profile: AgentProfile) => {
    if (profile.recording === undefined) return false;
    if (client !== undefined) return true;
    if (!warned) {
      warned = true;
      options.logger.warn(
        "Agent {agent} asks for call recording, but TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN are not set: its calls are not recorded (and no consent line is said).",
        { agent: profile.name },
      );
    }
    return false;
  };
  async function status(request: Request): Promise<Response> {
    const signed = await signedWebhook(request);
    if (signed instanceof Response) return signed;
    const { form } = signed;
    const callSid = form.get("CallSid");
    const recordingSid = form.get("RecordingSid");
    if (!callSid || !recordingSid) return text("CallSid and RecordingSid are required.\n", 400);
    const number = (name: string) => {
      const value = Number(form.get(name) ?? "");
      return form.get(name) === null || !Number.isFinite(value) ? null : value;
    };
    const report: RecordingReport = {
      callSid: callSid.slice(0, 64),
      agent: new URL(request.url).searchParams.get("agent")?.slice(0, 64) ?? null,
      recording: {
        sid: recordingSid.slice(0, 64),
        url: form.get("RecordingUrl")?.slice(0, 512) ?? null,
        status: form.get("RecordingStatus")?.slice(0, 32) ?? "completed",
        durationSeconds: number("RecordingDuration"),
        channels: number("RecordingChannels"),
        startTime: form.get("RecordingStartTime")?.slice(0, 64) ?? null,
        errorCode: form.get("ErrorCode")?.slice(0, 16) ?? null,
      },
    };
    options.logger.info("Recording {status}.", {
      callSid: report.callSid,
      recordingSid: report.recording.sid,
      status: report.recording.status,
    });
    options.onRecording?.(report);
    return new Response(null, { status: 204 });
  }
  return {
    consent: (profile) => usable(profile) ? profile.recording!.consent : undefined,
    forCall(profile, request) {
      if (!usable(profile)) return undefined;
      const base = publicBase(request, config.publicUrl);
      if (base === undefined) return undefined;
      return new CallRecording({
        client: client!,
        channels: profile.recording!.channels,
        statusCallback: `${base.http}${RECORDING_STATUS_PATH}?agent=${
          encodeURIComponent(profile.name)
        }`,
        logger: options.logger,
      });
    },
    status,
  };
}
