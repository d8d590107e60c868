/**
 * The validated configuration of the server, built from the environment by
 * {@link parseConfig} in `config.ts`.
 *
 * @module
 */
import type { TokenPrices } from "./calls/prices.ts";

/** Turn detection as sent in `session.audio.input.turn_detection`. */
export type TurnDetection =
  | {
    type: "server_vad";
    /** Activation threshold, 0 to 1. */
    threshold: number;
    /** Audio kept before speech starts, in ms. */
    prefixPaddingMs: number;
    /** Silence that ends a turn, in ms. */
    silenceDurationMs: number;
    /** Whether speech interrupts the assistant (barge-in). */
    interruptResponse: boolean;
  }
  | {
    type: "semantic_vad";
    /** How eagerly the model ends the caller's turn. */
    eagerness: "low" | "medium" | "high" | "auto";
    /** Whether speech interrupts the assistant (barge-in). */
    interruptResponse: boolean;
  };

/** The voices the GA Realtime API accepts by name. */
export const VOICES = [
  "alloy",
  "ash",
  "ballad",
  "coral",
  "echo",
  "sage",
  "shimmer",
  "verse",
  "marin",
  "cedar",
] as const;

/** Log output format. */
export type LogFormat = "json" | "pretty";

/** Log level names accepted in `LOG_LEVEL`. */
export type LogLevelName = "trace" | "debug" | "info" | "warning" | "error" | "fatal";

/** The whole validated configuration. */
export interface Config {
  /** OpenAI API key (secret; never logged). */
  openaiApiKey: string;
  /** Base URL of the Realtime WebSocket endpoint, without the `model` query parameter. */
  openaiRealtimeUrl: string;
  /** Realtime model name. */
  openaiModel: string;
  /** TCP port of the HTTP server. */
  port: number;
  /** Host name to listen on. */
  hostname: string;
  /** Public base URL (`https://example.com`), without trailing slash, or undefined to use the request's Host. */
  publicUrl: string | undefined;
  /** Voice name (one of {@link VOICES}) or a custom voice id (`voice_…`). */
  voice: string;
  /** Company name used in the default system message. */
  companyName: string;
  /** The session instructions, from `SYSTEM_MESSAGE`, `SYSTEM_MESSAGE_FILE` or the default. */
  systemMessage: string;
  /** Greeting the assistant says first, or undefined when greeting is turned off. */
  greeting: string | undefined;
  /** Turn detection settings. */
  turnDetection: TurnDetection;
  /** Noise reduction, or undefined for none. */
  noiseReduction: "near_field" | "far_field" | undefined;
  /** Input transcription model, or undefined when transcription is off. */
  transcriptionModel: string | undefined;
  /** Seconds between the end of the farewell and the hang-up. */
  endCallGraceSeconds: number;
  /** Seconds to wait for farewell audio to start before hanging up anyway. */
  endCallWatchdogSeconds: number;
  /** Log the barge-in arithmetic at info level. */
  showTimingMath: boolean;
  /** Twilio credentials for REST hang-up (and later signature checks), or undefined. */
  twilio: { accountSid: string; authToken: string } | undefined;
  /** Minimum log level. */
  logLevel: LogLevelName;
  /** Log line format. */
  logFormat: LogFormat;
  /** Warnings found while parsing (e.g. `TEMPERATURE` has no effect); logged at start-up. */
  warnings: string[];
  /** Serve the browser softphone at `GET /` and accept its token on `/media-stream`. */
  softphone: boolean;
  /** Twilio auth token for signature checks (secret; never logged), or undefined. */
  twilioAuthToken: string | undefined;
  /** Whether Twilio signatures and stream tokens are required (`TWILIO_SIGNATURE_CHECK`). */
  twilioSignatureCheck: boolean;
  /** Key of the per-call stream tokens (secret), or undefined for a random per-process key. */
  streamTokenSecret: string | undefined;
  /** Most calls in progress at once; further calls are rejected as busy. */
  maxConcurrentCalls: number;
  /** Longest call in seconds before the assistant wraps up; 0: no limit. */
  maxCallSeconds: number;
  /** Seconds of caller silence (and no assistant speech) before the assistant wraps up; 0: off. */
  callerIdleSeconds: number;
  /** Bearer token that protects `GET /metrics` (secret), or undefined for open access. */
  metricsToken: string | undefined;
  /**
   * Where call records are kept: a Deno KV file (`path`), the platform's
   * managed KV (`path` undefined, on Deno Deploy), or undefined for no records.
   */
  callStore: { path: string | undefined } | undefined;
  /** Days a call record is kept; 0 keeps records forever. */
  callRecordRetentionDays: number;
  /** Where each call record is also POSTed, signed with the secret; undefined for none. */
  callRecordWebhook: { url: string; secret: string } | undefined;
  /** Store callers' phone numbers in full in call records (else masked). */
  storeCallerNumbers: boolean;
  /** Token prices for the cost estimate, USD per 1M tokens. */
  prices: TokenPrices;
  /** Seconds after which a Realtime session is renewed with the conversation replayed; 0: never. */
  realtimeSessionRenewSeconds: number;
  /** Seconds to get a session back after the OpenAI socket dropped before apologizing; 0: at once. */
  realtimeReconnectSeconds: number;
  /** Seconds calls may go on after SIGTERM/SIGINT before the assistant says goodbye. */
  drainSeconds: number;
  /**
   * Phone number (E.164) the `transfer_call` tool hands callers to, or undefined
   * when the assistant cannot transfer calls.
   */
  transferNumber: string | undefined;
  /** Bearer token of the control API (`POST /calls`, `/campaigns`; secret), or undefined: off. */
  apiToken: string | undefined;
  /** Caller id of outbound calls (E.164), or undefined. */
  twilioPhoneNumber: string | undefined;
  /** Base URL of Twilio's REST API (`TWILIO_API_BASE_URL`), without trailing slash. */
  twilioApiBaseUrl: string;
}
