/**
 * The configuration table: every environment variable of the server, once,
 * with its `Config` key, kind (accepted values), default, secrecy, one-line
 * doc and section. Everything else is derived from it: `Config` (see
 * `config_type.ts`), parsing, `describeConfig`, the secret list, unit
 * conversions, the unknown-variable warnings, `.env.example` and
 * `docs/configuration.md` (`deno task gen:config`).
 *
 * To add a variable, add a row here with {@link setting} (in the place its
 * problems should be listed), then run `deno task gen:config`. A row with a
 * key becomes a `Config` field of the kind's type (`T`, or `T | undefined`
 * without a default). Rules that span variables go in `rules.ts`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SETTINGS } from "./spec.ts";
 *
 * const port = SETTINGS.find((row) => row.env === "PORT");
 * assert.equal(port?.key, "port");
 * assert.equal(port?.default, "5050");
 * ```
 *
 * @module
 */
import {
  boolean,
  choice,
  e164,
  ignored,
  integer,
  mapped,
  number,
  offableToken,
  pattern,
  secretToken,
  text,
  token,
  url,
} from "./kinds.ts";
import {
  agentsFile,
  apiKey,
  callStore,
  DEFAULT_AGENTS_FILE,
  httpsBaseUrl,
  logLevel,
  publicUrl,
  transferDestinations,
  truncation,
  voice,
  waitingSound,
} from "./server_kinds.ts";
import { retrySchedule, webhookEvents, webhookSecret } from "./webhook_kinds.ts";
import { extractSchema } from "./analysis_kinds.ts";
import { DEFAULT_RETRY_SCHEDULE } from "../webhooks/mod.ts";
import { priceRows } from "./price_rows.ts";
import { setting } from "./setting.ts";

import {
  DEFAULT_CALL_STORE_PATH,
  DEFAULT_LIVE_BACKEND_MODEL,
  DEFAULT_LIVE_PRICE_PER_MINUTE,
  DEFAULT_LIVE_URL,
  DEFAULT_MODEL,
  DEFAULT_REALTIME_URL,
  DEFAULT_TWILIO_API_BASE_URL,
  MISSING_API_KEY_PROBLEM,
} from "./defaults.ts";
import { DEFAULT_COMPANY_NAME } from "../prompts/mod.ts";

/** Whether the server runs on Deno Deploy (shorter drain, managed KV). */
export function onDenoDeploy(env: Readonly<Record<string, string | undefined>>): boolean {
  return (env.DENO_DEPLOYMENT_ID?.trim() ?? "") !== "";
}

const RETENTION = number(0, 3650, "a number of days from 0 (keep forever) to 3650");
/** `CALL_RECORD_RETENTION_DAYS` when set to a valid value (its own row reports a bad one). */
function legacyRetention(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const raw = env.CALL_RECORD_RETENTION_DAYS?.trim();
  if (raw === undefined || raw === "") return undefined;
  const days = Number(raw);
  return Number.isFinite(days) && days >= 0 && days <= 3650 ? days : undefined;
}
/** Whether every instance sees the same call store: Deploy's managed KV or a KV Connect URL. */
function sharedCallStore(env: Readonly<Record<string, string | undefined>>): boolean {
  const path = env.CALL_STORE_PATH?.trim() ?? "";
  return /^https?:\/\//i.test(path) || (path === "" && onDenoDeploy(env));
}

const SECONDS = (from: string, to: number) => `a number of seconds from ${from} to ${to}`;
const onOff = mapped({ on: true, off: false });
const serverVad = (env: Readonly<Record<string, string | undefined>>) =>
  (env.TURN_DETECTION?.trim().toLowerCase() || "server_vad") !== "semantic_vad";

/** The table, in the order problems are reported. */
export const SETTINGS = [
  setting("OPENAI_API_KEY", "openaiApiKey", apiKey(), {
    required: { missing: MISSING_API_KEY_PROBLEM },
    secret: true,
    section: "required",
    example: "sk-...",
    doc:
      "OpenAI API key, from https://platform.openai.com/api-keys. Placeholders such as `sk-...` are refused at start-up.",
  }),
  setting(
    "OPENAI_REALTIME_URL",
    "openaiRealtimeUrl",
    url(["ws:", "wss:"], `a ws:// or wss:// URL such as ${DEFAULT_REALTIME_URL}`),
    {
      default: DEFAULT_REALTIME_URL,
      section: "openai",
      doc:
        "Realtime WebSocket endpoint. A URL copied from OpenAI's docs with `?model=…` works: that model is used when OPENAI_MODEL is unset (a different OPENAI_MODEL is an error).",
    },
  ),
  setting("ALLOW_INSECURE_UPSTREAM", "allowInsecureUpstream", boolean(), {
    default: "false",
    section: "openai",
    doc:
      "Accept a cleartext ws:// or http:// URL to a host that is not loopback (the key, audio, records or tool secrets then cross the network unencrypted): OPENAI_REALTIME_URL, OPENAI_LIVE_URL, OPENAI_BASE_URL, WEBHOOK_URL, and the agents file's webhooks, context_webhook, HTTP tool and MCP server URLs. false refuses them (at start-up, and on a reload of the agents file); true accepts them with a warning. Loopback hosts are always accepted.",
  }),
  setting(
    "OPENAI_MODEL",
    "openaiModel",
    token(`a model name without whitespace, such as ${DEFAULT_MODEL}`),
    {
      default: DEFAULT_MODEL,
      section: "openai",
      doc:
        "Realtime model; any model id is accepted (e.g. gpt-realtime-2.1-mini, gpt-realtime-2). See docs/configuration.md for notes on the models.",
    },
  ),
  setting("ENGINE", "engine", choice(["realtime", "live"]), {
    default: "realtime",
    section: "openai",
    doc:
      "Speech-to-speech engine of the environment's agent: realtime (OpenAI Realtime) or live (GPT-Live, gpt-live-1 unless OPENAI_MODEL names another model). An agents file chooses per agent with `engine:`. See docs/agents.md for what differs.",
  }),
  setting(
    "OPENAI_LIVE_URL",
    "openaiLiveUrl",
    url(["ws:", "wss:"], `a ws:// or wss:// URL such as ${DEFAULT_LIVE_URL}`),
    {
      default: DEFAULT_LIVE_URL,
      section: "openai",
      doc:
        "GPT-Live WebSocket endpoint (agents on `engine: live`); the key goes in the Authorization header and the model in `session.start`, never in the URL.",
    },
  ),
  setting(
    "LIVE_BACKEND_MODEL",
    "liveBackendModel",
    token(`a model name without whitespace, such as ${DEFAULT_LIVE_BACKEND_MODEL}`),
    {
      default: DEFAULT_LIVE_BACKEND_MODEL,
      section: "openai",
      doc:
        "Responses model a GPT-Live session delegates tool calls to (`delegation.responses.model`); an agent's `backend_model` overrides it. Its tokens are billed at that model's prices.",
    },
  ),
  setting(
    "PRICE_LIVE_PER_MINUTE",
    "priceLivePerMinute",
    number(0, 100, "a price in USD per minute from 0 to 100"),
    {
      default: String(DEFAULT_LIVE_PRICE_PER_MINUTE),
      section: "openai",
      doc:
        "Price of a GPT-Live session, USD per minute (billed per second), for the cost estimate of calls on `engine: live`; backend model tokens are added at the PRICE_* token prices.",
    },
  ),
  setting("PORT", "port", integer(0, 65535), {
    default: "5050",
    section: "server",
    doc: "TCP port to listen on.",
  }),
  setting("HOST", "hostname", token("a host name or IP address such as 0.0.0.0"), {
    default: "0.0.0.0",
    section: "server",
    doc: "Host name or IP address to listen on.",
  }),
  setting("PUBLIC_URL", "publicUrl", publicUrl(), {
    section: "server",
    example: "https://example.ngrok.app",
    defaultDoc: "unset: each request's Host (and X-Forwarded-Proto for the webhook URLs)",
    describe: (value) => value ?? "not set (derived from each request's Host header)",
    doc:
      "Public base URL Twilio reaches this server at. http:// is refused unless the host is loopback (localhost, 127.0.0.0/8, [::1]), because Twilio only streams over wss://. The base only: a URL ending in a path of the server (a pasted https://…/incoming-call) is refused; a path prefix (https://example.com/voice) works behind a proxy that strips it.",
  }),
  setting("VOICE", "voice", voice(), {
    default: "alloy",
    section: "openai",
    doc: "Assistant voice.",
  }),
  setting("COMPANY_NAME", "companyName", text(), {
    default: DEFAULT_COMPANY_NAME,
    section: "assistant",
    doc: "Company name used in the default system message and greeting.",
  }),
  setting("SYSTEM_MESSAGE", undefined, text(), {
    section: "assistant",
    example: "You are the friendly phone receptionist of Acme Realty.",
    defaultDoc: "a brief, friendly phone receptionist for COMPANY_NAME",
    doc:
      "Session instructions (system prompt) as text; do not set together with SYSTEM_MESSAGE_FILE.",
  }),
  setting("SYSTEM_MESSAGE_FILE", undefined, text("a file path"), {
    section: "assistant",
    example: "prompts/receptionist.md",
    doc:
      "Path of a text file holding the system message instead (relative to the working directory); do not set together with SYSTEM_MESSAGE.",
  }),
  setting("AGENTS_FILE", "agentsFile", agentsFile(), {
    defaultValue: () => ({ path: DEFAULT_AGENTS_FILE, required: false }),
    defaultDoc: "agents.yaml (when it exists)",
    section: "assistant",
    example: "agents.yaml",
    describe: (value) =>
      value === undefined ? "off" : `${value.path}${value.required ? "" : " (when present)"}`,
    doc:
      "The agents file (YAML or JSON, see docs/agents.md): agents per called number, their tools and caller context; off ignores it. Without a file, the variables of this section make the single agent. SIGHUP reloads it.",
  }),
  setting("GREETING", undefined, text("any text, or off, none, false or empty for no greeting"), {
    emptyIsValue: true,
    section: "assistant",
    example: "Hello! Thanks for calling Acme Realty. How can I help you today?",
    defaultDoc: "Hello! Thanks for calling `COMPANY_NAME`. How can I help you today?",
    doc:
      "What the assistant says first; off, none, false or an empty value means no greeting (the only variable where empty is not unset).",
  }),
  setting("TURN_DETECTION", undefined, choice(["server_vad", "semantic_vad"]), {
    default: "server_vad",
    section: "turns",
    doc: "How the end of the caller's turn is detected.",
  }),
  setting("VAD_THRESHOLD", undefined, number(0, 1, "a number from 0 to 1"), {
    default: "0.5",
    when: serverVad,
    section: "turns",
    doc: "server_vad only: speech activation threshold.",
  }),
  setting("VAD_PREFIX_PADDING_MS", undefined, integer(0, 5000), {
    default: "300",
    when: serverVad,
    section: "turns",
    doc: "server_vad only: audio kept before detected speech, in ms.",
  }),
  setting("VAD_SILENCE_DURATION_MS", undefined, integer(0, 10000), {
    default: "500",
    when: serverVad,
    section: "turns",
    doc: "server_vad only: silence that ends a turn, in ms.",
  }),
  setting("VAD_EAGERNESS", undefined, choice(["low", "medium", "high", "auto"]), {
    default: "auto",
    when: (env) => !serverVad(env),
    section: "turns",
    doc: "semantic_vad only: how eagerly the caller's turn is ended.",
  }),
  setting("INTERRUPT_RESPONSE", undefined, boolean(), {
    default: "true",
    section: "turns",
    doc: "Whether the caller can interrupt the assistant by speaking (barge-in).",
  }),
  setting("INTERRUPTION_RESUME", "interruptionResume", boolean(), {
    default: "true",
    section: "turns",
    doc:
      "The bridge decides interruptions: a false one (shorter than INTERRUPTION_MIN_SPEECH_MS, no words, or only backchannels) does not lose the assistant's sentence, which goes on where the caller stopped hearing it. The session runs with `interrupt_response` and `create_response` off. false: OpenAI cancels on any speech (the barge-in of earlier versions).",
  }),
  setting("INTERRUPTION_MODE", "interruptionMode", choice(["cut", "confirm"]), {
    default: "cut",
    section: "turns",
    doc:
      "cut: the audio stops the moment the caller speaks and resumes after a false interruption; confirm: the assistant keeps talking until the interruption is confirmed (no gap for backchannels, real ones cut INTERRUPTION_MIN_SPEECH_MS later).",
  }),
  setting("INTERRUPTION_MIN_SPEECH_MS", "interruptionMinSpeechMs", integer(0, 5000), {
    default: "250",
    section: "turns",
    doc:
      "Caller speech shorter than this, with no words other than backchannels, is not an interruption. Without input transcription the duration alone decides.",
  }),
  setting(
    "INTERRUPTION_BACKCHANNELS",
    "interruptionBackchannels",
    text("words and short phrases separated by commas"),
    {
      section: "turns",
      example: "mm-hmm, uh-huh, yeah, okay, right, sure",
      defaultDoc:
        "the English list in `src/prompts/mod.ts` (mm-hmm, uh-huh, yeah, okay, right, sure, …)",
      doc:
        "Words that never interrupt the assistant (needs input transcription, TRANSCRIPTION_MODEL, to hear them).",
    },
  ),
  setting("GREETING_INTERRUPTIBLE", "greetingInterruptible", boolean(), {
    default: "true",
    section: "turns",
    doc:
      "false: the greeting plays to the end whatever the caller says; what they say meanwhile is answered after it (needs INTERRUPTION_RESUME).",
  }),
  setting(
    "NOISE_REDUCTION",
    "noiseReduction",
    mapped({
      near_field: "near_field" as const,
      far_field: "far_field" as const,
      off: undefined,
    }),
    {
      default: "off",
      section: "openai",
      describe: (value) => value ?? "off",
      doc: "Noise reduction on caller audio.",
    },
  ),
  setting(
    "TRANSCRIPTION_MODEL",
    "transcriptionModel",
    offableToken(
      "a transcription model name without whitespace (such as gpt-4o-mini-transcribe) or off",
    ),
    {
      section: "openai",
      example: "gpt-4o-mini-transcribe",
      defaultDoc: "gpt-4o-mini-transcribe while REALTIME_SESSION_RENEW_SECONDS is on, else off",
      describe: (value) => value ?? "off",
      doc:
        "Input transcription model, to log what callers say and replay it into renewed sessions; off or empty means no transcription.",
    },
  ),
  setting(
    "REASONING_EFFORT",
    "reasoningEffort",
    choice(["minimal", "low", "medium", "high", "xhigh"]),
    {
      section: "openai",
      defaultDoc: "unset: the model's default (low for reasoning models); not sent",
      describe: (value) => value ?? "model default",
      doc:
        "Reasoning effort of reasoning models (gpt-realtime-2 and later), sent as `session.reasoning.effort`; higher effort means better answers to hard questions and a longer pause before speaking.",
    },
  ),
  setting("TRUNCATION", "truncation", truncation(), {
    section: "openai",
    defaultDoc: "unset: the model's default (auto); not sent",
    describe: (value) => value ?? "model default",
    doc:
      "What OpenAI drops when a long call outgrows the context: auto, disabled (an error instead), or a ratio of the conversation to keep (e.g. 0.8), which truncates less often and keeps the prompt cache warmer. Sent as `session.truncation`.",
  }),
  setting("PARALLEL_TOOL_CALLS", "parallelToolCalls", boolean(), {
    section: "openai",
    defaultDoc: "unset: the model's default; not sent",
    describe: (value) => value ?? "model default",
    doc:
      "Whether the model may call several tools at once (reasoning models only), sent as `session.parallel_tool_calls`.",
  }),
  setting(
    "END_CALL_GRACE_SECONDS",
    "endCallGraceSeconds",
    number(0, 60, "a number from 0 to 60"),
    {
      default: "3",
      coreMs: "endCallGraceMs",
      section: "ending",
      doc: "Seconds between the end of the farewell audio and hanging up.",
    },
  ),
  setting(
    "END_CALL_WATCHDOG_SECONDS",
    "endCallWatchdogSeconds",
    number(0, 60, "a number greater than 0 and at most 60", { minExclusive: true }),
    {
      default: "4",
      coreMs: "endCallWatchdogMs",
      section: "ending",
      doc: "Seconds to wait for farewell audio to start before hanging up anyway.",
    },
  ),
  setting("SHOW_TIMING_MATH", "showTimingMath", boolean(), {
    default: "false",
    section: "logging",
    doc: "Log the barge-in timing arithmetic at info level.",
  }),
  setting(
    "TWILIO_ACCOUNT_SID",
    "twilioAccountSid",
    pattern(
      /^AC[0-9a-fA-F]{32}$/,
      '"AC" followed by 32 hexadecimal digits (see https://console.twilio.com)',
    ),
    {
      private: true,
      section: "twilio",
      example: "ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
      doc:
        "Twilio Account SID, from https://console.twilio.com; with TWILIO_AUTH_TOKEN, calls are hung up and transferred through the REST API.",
    },
  ),
  setting(
    "TWILIO_AUTH_TOKEN",
    "twilioAuthToken",
    secretToken("Copy it again from https://console.twilio.com without spaces or line breaks."),
    {
      secret: true,
      section: "required",
      example: "",
      doc:
        "Twilio Auth Token, from https://console.twilio.com. Needed to check Twilio's signatures: without it every call is refused, unless TWILIO_SIGNATURE_CHECK=off.",
    },
  ),
  setting("TWILIO_API_BASE_URL", "twilioApiBaseUrl", httpsBaseUrl(DEFAULT_TWILIO_API_BASE_URL), {
    default: DEFAULT_TWILIO_API_BASE_URL,
    section: "twilio",
    doc:
      "Base URL of every Twilio REST call (hang-up, transfer, doctor, outbound calls): set a regional edge such as https://api.dublin.ie1.twilio.com, or a local fake in tests (http:// only for loopback hosts).",
  }),
  setting("TWILIO_PHONE_NUMBER", "twilioPhoneNumber", e164(), {
    private: true,
    section: "twilio",
    example: "+14155550100",
    doc:
      "Your Twilio phone number (E.164): the number calls come in on and outbound calls go out from; `deno task doctor` checks its voice webhook.",
  }),
  setting(
    "API_TOKEN",
    "apiToken",
    {
      accepted: "at least 32 characters without whitespace",
      parse: (raw, ctx) =>
        raw.length < 32 || /\s/.test(raw)
          ? ctx.problem(
            "API_TOKEN must be at least 32 characters without spaces (value not shown), e.g. the output of `openssl rand -hex 32`.",
          )
          : raw,
    },
    {
      secret: true,
      section: "twilio",
      example: "",
      defaultDoc: "unset: the control API (POST /calls, /campaigns) is off",
      doc:
        "Bearer token of the control API that places outbound calls and runs campaigns (docs/outbound.md). Outbound calls also need PUBLIC_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_PHONE_NUMBER.",
    },
  ),
  setting("MAX_CALLS_PER_MINUTE", "maxCallsPerMinute", integer(0, 100_000), {
    default: "0",
    section: "twilio",
    doc:
      "Most POST /calls placed per minute (a leaked API_TOKEN cannot dial without bound), by all the instances that share the call store together (by each instance without one); more get 429 with Retry-After. 0: no cap. Campaigns are paced by their concurrency.",
  }),
  setting("LOG_LEVEL", "logLevel", logLevel(), {
    default: "info",
    section: "logging",
    doc: "Lowest log level.",
  }),
  setting("LOG_FORMAT", "logFormat", choice(["json", "pretty"]), {
    default: "json",
    section: "logging",
    doc: "Log line format: json (one JSON object per line) or pretty (one readable line).",
  }),
  setting("SOFTPHONE", "softphone", boolean(), {
    default: "off",
    defaultDoc: "off (on in `deno task dev` unless set, always on in `deno task demo`)",
    section: "softphone",
    doc:
      "Serve the browser softphone at GET / and accept its short-lived tokens on /media-stream. Keep it off on public deployments.",
  }),
  setting("TEMPERATURE", undefined, ignored(), {
    section: "unsupported",
    example: "",
    doc:
      "Has no effect: the GA Realtime interface has no temperature setting; if set, a warning is logged at start-up.",
  }),
  setting("TWILIO_SIGNATURE_CHECK", "twilioSignatureCheck", onOff, {
    default: "on",
    section: "security",
    describe: (value) => value ? "on" : "off",
    doc:
      "Check X-Twilio-Signature on webhooks and the media-stream upgrade, and require the per-call stream token. off accepts anyone (a start-up warning says so): only for local tests, never in production.",
  }),
  setting(
    "STREAM_TOKEN_SECRET",
    "streamTokenSecret",
    {
      accepted: "at least 16 characters",
      parse: (raw, ctx) =>
        raw.length < 16
          ? ctx.problem(
            "STREAM_TOKEN_SECRET is too short (value not shown): use at least 16 random characters, e.g. the output of `openssl rand -hex 32`, the same on every instance.",
          )
          : raw,
    },
    {
      secret: true,
      section: "security",
      example: "",
      defaultDoc: "a random key per process",
      describe: (value) => value === undefined ? "not set (random per process)" : "set",
      doc:
        "Key of the per-call stream tokens, e.g. from `openssl rand -hex 32`. Set the same value on every instance when several run behind a load balancer.",
    },
  ),
  setting("MAX_CONCURRENT_CALLS", "maxConcurrentCalls", integer(1, 100_000), {
    default: "20",
    section: "security",
    doc:
      'Most calls in progress at once; further calls hear a busy signal (<Reject reason="busy"/>).',
  }),
  setting("MAX_CALL_SECONDS", "maxCallSeconds", integer(0, 86_400), {
    default: "1800",
    coreMs: "maxCallMs",
    section: "security",
    doc:
      "Longest call in seconds (0: no limit); then the assistant says a short goodbye and hangs up.",
  }),
  setting("CALLER_IDLE_SECONDS", "callerIdleSeconds", integer(0, 86_400), {
    default: "60",
    coreMs: "callerIdleMs",
    section: "security",
    doc:
      "Seconds without caller speech (while the assistant is not speaking) before the assistant says goodbye and hangs up (0: off).",
  }),
  setting("STREAM_SILENCE_SECONDS", "streamSilenceSeconds", integer(0, 3600), {
    default: "15",
    coreMs: "streamSilenceMs",
    section: "security",
    doc:
      "Seconds without any message from Twilio on a media stream before the bridge asks it with a mark; if Twilio does not echo it (after the audio queued before it, then as long again, at most 5 s) the stream counts as lost and the call can resume on another instance (0: off; WebSocket pings then find a dead stream after about 2 minutes).",
  }),
  setting(
    "METRICS_TOKEN",
    "metricsToken",
    secretToken("Use a token without spaces, e.g. from `openssl rand -hex 32`."),
    {
      secret: true,
      section: "operations",
      example: "",
      defaultDoc: "unset: /metrics is open",
      doc: "Bearer token required by GET /metrics.",
    },
  ),
  setting("CALL_STORE_PATH", "callStore", callStore(), {
    defaultValue: (env) => ({ path: onDenoDeploy(env) ? undefined : DEFAULT_CALL_STORE_PATH }),
    defaultDoc: `${DEFAULT_CALL_STORE_PATH} (on Deno Deploy: the project's managed KV)`,
    example: DEFAULT_CALL_STORE_PATH,
    section: "operations",
    describe: (value) =>
      value === undefined ? "off" : value.path ?? "the platform's default Deno KV",
    doc: "Deno KV file of the call records; off keeps no records; a KV Connect URL works too.",
  }),
  setting("CAMPAIGN_DISPATCH", "campaignDispatch", choice(["interval", "cron"]), {
    defaultValue: (env) => onDenoDeploy(env) ? "cron" : "interval",
    defaultDoc: "interval (cron on Deno Deploy)",
    example: "interval",
    section: "operations",
    doc:
      "What wakes campaigns up for retries and calling windows: interval (this process looks every 2 s) or cron (Deno.cron every minute; Deno Deploy runs it). A call's end and a new campaign dispatch at once either way.",
  }),
  setting("RETENTION_DAYS", "retentionDays", RETENTION, {
    defaultValue: (env) => legacyRetention(env) ?? 30,
    defaultDoc: "30 (or the deprecated CALL_RECORD_RETENTION_DAYS)",
    example: "30",
    section: "operations",
    doc:
      "Days call records, outbound attempts, webhook deliveries (dead letters too) and ended campaigns' contacts are kept in the call store; Deno KV deletes them after (0: forever).",
  }),
  setting("CALL_RECORD_RETENTION_DAYS", undefined, RETENTION, {
    section: "operations",
    example: "",
    doc: "Deprecated alias of RETENTION_DAYS (a start-up warning says so).",
  }),
  setting("STORE_TRANSCRIPTS", "storeTranscripts", onOff, {
    default: "on",
    section: "operations",
    doc:
      "off keeps no transcript in call records and call.ended webhooks (the post-call analysis still reads the call's words, and keeps only its result).",
  }),
  setting("REDACT", "redact", onOff, {
    default: "on",
    section: "operations",
    doc:
      "Redact card numbers (Luhn-checked) as [card], e-mail addresses as [email] and mask phone numbers in stored transcripts, webhook bodies and logs; the analysis reads the words, its result is kept as given. off keeps them (logs still mask phone numbers).",
  }),
  setting(
    "WEBHOOK_URL",
    undefined,
    url(
      ["http:", "https:"],
      "an absolute http:// or https:// URL such as https://example.com/hooks",
    ),
    {
      section: "operations",
      example: "https://example.com/hooks",
      doc:
        "POST events (call.ended with the call record, call.analyzed, recording.completed, campaign.attempt.finished, transfer.completed, transfer.failed) here, signed the Standard Webhooks way, from a durable outbox with retries (see docs/operations.md). Agents may add their own webhooks in the agents file.",
    },
  ),
  setting("WEBHOOK_SECRET", undefined, webhookSecret(), {
    secret: true,
    section: "operations",
    example: "",
    doc:
      'Signing secret of WEBHOOK_URL, written whsec_<base64 of 24 to 64 random bytes> (e.g. `echo "whsec_$(openssl rand -base64 32)"`); required with it.',
  }),
  setting("WEBHOOK_EVENTS", undefined, webhookEvents(), {
    section: "operations",
    example: "call.ended,call.analyzed",
    defaultDoc: "unset: every event",
    doc: "The events WEBHOOK_URL gets, comma-separated.",
  }),
  setting("WEBHOOK_RETRY_SCHEDULE", "webhookRetrySchedule", retrySchedule(), {
    default: DEFAULT_RETRY_SCHEDULE,
    section: "operations",
    describe: (value) => value.map((ms) => `${ms / 1000}s`).join(","),
    doc:
      "Pauses before each retry of a failed webhook delivery (units ms, s, m, h, d; each stretched by up to 10 % of jitter); after the last the delivery is a dead letter (`deno task calls --webhooks`). The default spans 31 h 35 min.",
  }),
  setting("WEBHOOK_TIMEOUT_SECONDS", "webhookTimeoutSeconds", number(1, 120, SECONDS("1", 120)), {
    default: "15",
    section: "operations",
    doc: "Seconds a webhook receiver has to answer one try (2xx) before it counts as failed.",
  }),
  setting(
    "CALL_RECORD_WEBHOOK_URL",
    undefined,
    url(
      ["http:", "https:"],
      "an absolute http:// or https:// URL such as https://example.com/call-records",
    ),
    {
      section: "operations",
      example: "",
      doc:
        "Deprecated alias of WEBHOOK_URL (a start-up warning says so); its deliveries also carry the old X-Signature-256 header.",
    },
  ),
  setting("CALL_RECORD_WEBHOOK_SECRET", undefined, text(), {
    secret: true,
    section: "operations",
    example: "",
    doc:
      "Deprecated alias of WEBHOOK_SECRET, any text: its UTF-8 bytes are the HMAC key (of webhook-signature and X-Signature-256).",
  }),
  setting(
    "OPENAI_BASE_URL",
    "openaiBaseUrl",
    url(["http:", "https:"], "an http:// or https:// URL such as https://api.openai.com/v1"),
    {
      default: "https://api.openai.com/v1",
      section: "operations",
      doc:
        "Base URL of OpenAI's REST API (the post-call analysis POSTs {OPENAI_BASE_URL}/responses with OPENAI_API_KEY).",
    },
  ),
  setting("ANALYSIS_SUMMARY", "analysisSummary", boolean(), {
    default: "false",
    section: "operations",
    doc:
      "Post-call analysis of the environment's agent: a few sentences summing up each call (agents of the agents file set `analysis:` instead).",
  }),
  setting("ANALYSIS_EXTRACT", "analysisExtract", extractSchema(), {
    section: "operations",
    example:
      '{"type":"object","properties":{"name":{"type":"string"},"intent":{"type":"string"}},"required":["intent"]}',
    doc:
      "Post-call analysis: the JSON Schema (an object; inline or a .json file) of the fields to extract from each call; optional fields come back null when the call did not give them.",
  }),
  setting("ANALYSIS_SUCCESS", "analysisSuccess", text(), {
    section: "operations",
    example: "The caller booked a viewing or left a callback number.",
    doc:
      "Post-call analysis: what counts as success; each call gets passed true or false with a reason.",
  }),
  setting("ANALYSIS_MODEL", "analysisModel", token("a model name without whitespace"), {
    default: "gpt-5-mini",
    section: "operations",
    doc: "Responses API model of the post-call analysis (every agent's unless it names its own).",
  }),
  setting(
    "PRICE_ANALYSIS_INPUT_PER_MTOK",
    "priceAnalysisInput",
    number(0, 100_000, "a price in USD per 1M tokens from 0 to 100000"),
    {
      default: "0.25",
      section: "operations",
      doc:
        "Price of the analysis model's input tokens, USD per 1M (gpt-5-mini's list price; check yours).",
    },
  ),
  setting(
    "PRICE_ANALYSIS_CACHED_INPUT_PER_MTOK",
    "priceAnalysisCachedInput",
    number(0, 100_000, "a price in USD per 1M tokens from 0 to 100000"),
    {
      default: "0.025",
      section: "operations",
      doc: "Price of the analysis model's cached input tokens, USD per 1M.",
    },
  ),
  setting(
    "PRICE_ANALYSIS_OUTPUT_PER_MTOK",
    "priceAnalysisOutput",
    number(0, 100_000, "a price in USD per 1M tokens from 0 to 100000"),
    {
      default: "2",
      section: "operations",
      doc: "Price of the analysis model's output tokens (reasoning included), USD per 1M.",
    },
  ),
  setting("RECORDING_CONSENT", "recordingConsent", text(), {
    section: "operations",
    example: "This call is recorded for quality.",
    doc:
      "Record the environment's agent's calls with Twilio: this consent line is said first, in full, and the recording starts after it (agents of the agents file set recording: instead). Needs the Twilio credentials and PUBLIC_URL.",
  }),
  setting("RECORDING_CHANNELS", "recordingChannels", choice(["dual", "mono"]), {
    default: "dual",
    section: "operations",
    doc: "dual: the caller and the agent on separate channels of the recording; mono: one channel.",
  }),
  setting("STORE_CALLER_NUMBERS", "storeCallerNumbers", boolean(), {
    default: "false",
    section: "operations",
    doc: "Store callers' phone numbers in full in call records; false masks them (+14•••••••23).",
  }),
  setting("RECORD_KEYPAD_DIGITS", "recordKeypadDigits", boolean(), {
    default: "false",
    section: "operations",
    doc:
      "Keep the keys callers press in call records and the live view (default agent; agents-file agents: record_keypad_digits). false shows each as • (they may be a PIN); the model always gets them, logs never.",
  }),
  ...priceRows(),
  setting(
    "REALTIME_SESSION_RENEW_SECONDS",
    "realtimeSessionRenewSeconds",
    number(0, 3540, "a number of seconds from 0 (off) to 3540 (sessions last 3600 seconds)"),
    {
      default: "3300",
      coreMs: "renewAfterMs",
      section: "long_calls",
      doc:
        "Renew each Realtime session after this many seconds, replaying the conversation (sessions end at 3600).",
    },
  ),
  setting(
    "REALTIME_RECONNECT_SECONDS",
    "realtimeReconnectSeconds",
    number(0, 60, "a number of seconds from 0 (apologize at once) to 60"),
    {
      default: "5",
      coreMs: "reconnectWindowMs",
      section: "long_calls",
      doc:
        "Seconds to get a session back after the OpenAI socket dropped or failed to open, before the caller hears the apology.",
    },
  ),
  setting("DRAIN_SECONDS", "drainSeconds", number(0, 3600, SECONDS("0", 3600)), {
    defaultValue: (env) => onDenoDeploy(env) ? 4 : 30,
    defaultDoc: "30 (4 on Deno Deploy)",
    example: "30",
    section: "long_calls",
    doc:
      "After SIGTERM/SIGINT, seconds calls may go on before the assistant says goodbye and hangs up.",
  }),
  setting("DRAIN_MODE", "drainMode", choice(["handover", "goodbye"]), {
    defaultValue: (env) => sharedCallStore(env) ? "handover" : "goodbye",
    defaultDoc:
      "handover when the call store is shared (Deno Deploy, a KV Connect URL), else goodbye",
    example: "goodbye",
    section: "long_calls",
    doc:
      "What SIGTERM/SIGINT does to calls in progress: handover closes each stream at a turn boundary so another instance resumes the call with its conversation (needs a call store all instances share); goodbye lets calls go on for DRAIN_SECONDS, then says goodbye and hangs up.",
  }),
  setting("WAITING_SOUND", "waitingSound", waitingSound(), {
    default: "on",
    section: "long_calls",
    doc:
      "What the caller hears while OpenAI takes more than about 1 s to connect or reconnect: on (a short comfort tone shipped with the project), off, or the path of a raw 8 kHz μ-law file (checked readable at start-up).",
  }),
  setting("TRANSFER_NUMBER", "transferNumber", e164(), {
    private: true,
    section: "twilio",
    example: "+14155550123",
    doc:
      "Phone number (E.164) of a person the assistant may transfer callers to with its transfer_call tool; unset means no transfers (TRANSFER_NUMBERS lists several).",
  }),
  setting("TRANSFER_NUMBERS", "transferNumbers", transferDestinations(), {
    private: true,
    section: "twilio",
    example: "+14155550123,sip:desk@pbx.example.com",
    doc:
      "Where transfer_call finds a person, tried in order: comma-separated E.164 numbers or SIP URIs (up to 10); replaces TRANSFER_NUMBER.",
  }),
  setting("TRANSFER_MODE", "transferMode", choice(["cold", "warm"]), {
    default: "cold",
    section: "twilio",
    doc:
      "cold: Twilio dials the transfer destinations once the assistant hangs up; warm: the assistant stays with the caller, briefs the person (press 1 to take the call) and hands over once they accept (needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and PUBLIC_URL). See docs/agents.md.",
  }),
  setting(
    "DEMO_SILENCE_TIMEOUT_SECONDS",
    undefined,
    number(1, 3600, SECONDS("1", 3600)),
    {
      default: "20",
      section: "softphone",
      doc:
        "`deno task demo` only: seconds of caller silence after which the stand-in ends the call through end_call.",
    },
  ),
] as const;

/** One row of {@link SETTINGS}. */
export type SpecRow = (typeof SETTINGS)[number];
