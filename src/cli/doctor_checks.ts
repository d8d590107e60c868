/**
 * The checks of `deno task doctor`: is everything in place for a real phone
 * call? Each check gives one line (✔ passed, ✘ failed with what to do, – not
 * run and why). The network goes through the injected `fetch`, so tests run
 * the checks against local fakes of OpenAI and Twilio.
 *
 * - the OpenAI key is accepted and the model is available: one cheap
 *   authenticated request, `GET /v1/models/{model}`, on the host of
 *   `OPENAI_REALTIME_URL` (see {@link openaiModelUrl}), or of
 *   `OPENAI_LIVE_URL` for GPT-Live (`ENGINE=live`, agents on `engine: live`;
 *   see {@link liveModelUrl}) rather than opening a billed session;
 * - the Twilio credentials work: `GET /2010-04-01/Accounts/{sid}.json` at
 *   `TWILIO_API_BASE_URL`;
 * - the voice webhook of `TWILIO_PHONE_NUMBER` is `PUBLIC_URL/incoming-call`
 *   (HTTP POST);
 * - `PUBLIC_URL` is an https:// address Twilio can reach;
 * - the port is free.
 *
 * @module
 */
import { twilioCredentials } from "../config/mod.ts";
import { defaultModel } from "../agents/engine_rules.ts";
import type { Config } from "../config/mod.ts";
import { maskPhoneNumber } from "../security/phone_numbers.ts";
import { TwilioRestClient, TwilioRestError } from "../twilio/rest_client.ts";
import type { AgentsFileSetting, LoadAgentsResult } from "../agents/agent_book.ts";
import { errorMessage } from "../observability/error_message.ts";

/** The outcome of one check. */
export interface DoctorCheck {
  /** `ok` ✔, `fail` ✘, `warn` ⚠ (works, but read this), `skip` – (could not run). */
  status: "ok" | "fail" | "warn" | "skip";
  /** What was found, one sentence. */
  text: string;
  /** What to do about it (for `fail` and `skip`). */
  hint?: string;
}

/** Dependencies of {@link runDoctorChecks}. */
export interface DoctorDependencies {
  /** Default the global `fetch`. */
  fetch?: typeof fetch;
  /** Whether `port` can be bound on `hostname`. Default: try `Deno.listen`. */
  portFree?: (port: number, hostname: string) => "free" | "in_use" | string;
  /** Ms each request may take. Default 10000. */
  timeoutMs?: number;
  /** The models of the agents file's agents, checked besides the environment's. */
  models?: readonly ModelTarget[];
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/**
 * The URL of `GET /v1/models/{model}` on the host of the Realtime URL:
 * `wss://host/v1/realtime` → `https://host/v1/models/{model}` (`ws://` →
 * `http://`, for local fakes). Undefined when the path does not end in
 * `/realtime` (then the key cannot be checked this way).
 *
 * @example
 * ```ts
 * import { openaiModelUrl } from "./doctor_checks.ts";
 * const url = openaiModelUrl("wss://api.openai.com/v1/realtime", "gpt-realtime");
 * if (url !== "https://api.openai.com/v1/models/gpt-realtime") throw new Error(url);
 * ```
 */
export function openaiModelUrl(realtimeUrl: string, model: string): string | undefined {
  return modelUrlBeside(realtimeUrl, "realtime", model);
}

/**
 * `GET {base}models/{model}` over HTTP(S) on the host of a WebSocket URL whose
 * path is `{base}{tail}`; undefined when it is not a ws(s) URL ending in `/{tail}`.
 */
function modelUrlBeside(socketUrl: string, tail: string, model: string): string | undefined {
  let url: URL;
  try {
    url = new URL(socketUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== "wss:" && url.protocol !== "ws:") return undefined;
  const path = url.pathname.replace(/\/+$/, "");
  if (!path.endsWith(`/${tail}`)) return undefined;
  const scheme = url.protocol === "wss:" ? "https:" : "http:";
  const base = path.slice(0, -tail.length);
  return `${scheme}//${url.host}${base}models/${encodeURIComponent(model)}`;
}

/**
 * The URL of `GET /v1/models/{model}` on the host of GPT-Live's sessions URL:
 * `wss://host/v1/live/sessions` → `https://host/v1/models/{model}`.
 * Undefined when the path does not end in `/live/sessions`.
 *
 * @example
 * ```ts
 * import { liveModelUrl } from "./doctor_checks.ts";
 * const url = liveModelUrl("wss://api.openai.com/v1/live/sessions", "gpt-live-1");
 * if (url !== "https://api.openai.com/v1/models/gpt-live-1") throw new Error(url);
 * ```
 */
export function liveModelUrl(liveUrl: string, model: string): string | undefined {
  return modelUrlBeside(liveUrl, "live/sessions", model);
}

/** A model the server's agents use, on its engine. */
export interface ModelTarget {
  engine: "realtime" | "live";
  model: string;
}

/** What a check says about an engine: where its URL comes from and which models to suggest. */
const ENGINE_WORDS = {
  realtime: {
    setting: "OPENAI_REALTIME_URL",
    shape: "ending in /realtime (such as wss://api.openai.com/v1/realtime)",
    model: "a Realtime model the account can use, such as gpt-realtime",
  },
  live: {
    setting: "OPENAI_LIVE_URL",
    shape: "ending in /live/sessions (such as wss://api.openai.com/v1/live/sessions)",
    model: "a GPT-Live model the account can use, such as gpt-live-1",
  },
} as const;

/** The OpenAI key and model checks (two lines from one request). */
async function checkOpenAI(
  config: Config,
  target: ModelTarget,
  fetcher: typeof fetch,
  timeoutMs: number,
): Promise<DoctorCheck[]> {
  const { model } = target;
  const words = ENGINE_WORDS[target.engine];
  const url = target.engine === "live"
    ? liveModelUrl(config.openaiLiveUrl, model)
    : openaiModelUrl(config.openaiRealtimeUrl, model);
  if (url === undefined) {
    const hint = `The check needs an ${words.setting} ${words.shape}; ` +
      "other endpoints (e.g. Azure) are not checked.";
    return [
      { status: "skip", text: "OpenAI API key: not checked.", hint },
      { status: "skip", text: `Model ${model}: not checked.`, hint },
    ];
  }
  const origin = new URL(url).origin;
  let response: Response;
  try {
    response = await fetcher(url, {
      headers: { authorization: `Bearer ${config.openaiApiKey}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    return [
      {
        status: "fail",
        text: `Could not reach OpenAI at ${origin} (${errorMessage(error)}).`,
        hint: `Check the network (proxy, firewall, DNS) and ${words.setting}.`,
      },
      { status: "skip", text: `Model ${model}: not checked (OpenAI was not reachable).` },
    ];
  }
  // OpenAI's error body may quote part of the key: it is never printed.
  await response.body?.cancel();
  const status = response.status;
  if (status === 401 || status === 403) {
    return [
      {
        status: "fail",
        text: `OpenAI rejected the API key (HTTP ${status}).`,
        hint: status === 401
          ? "Create a key at https://platform.openai.com/api-keys and set OPENAI_API_KEY (in .env or the environment)."
          : "The key has no access to this API: check its project and permissions at https://platform.openai.com/api-keys.",
      },
      { status: "skip", text: `Model ${model}: not checked (the key was rejected).` },
    ];
  }
  if (status === 404) {
    return [
      { status: "ok", text: "OpenAI accepted the API key." },
      {
        status: "fail",
        text: `Model ${model} is not available to this key (HTTP 404).`,
        hint: `Set OPENAI_MODEL (or the agent's model) to ${words.model}.`,
      },
    ];
  }
  if (status >= 200 && status < 300) {
    return [
      { status: "ok", text: "OpenAI accepted the API key." },
      { status: "ok", text: `Model ${model} is available.` },
    ];
  }
  return [
    {
      status: "fail",
      text: `OpenAI answered HTTP ${status} to ${origin}/…/models/${model}.`,
      hint: status === 429
        ? "Rate limit or quota: check the account's usage and billing at https://platform.openai.com."
        : `Try again later; if it persists, check https://status.openai.com and ${words.setting}.`,
    },
    { status: "skip", text: `Model ${model}: not checked.` },
  ];
}

/** The Twilio credential and webhook checks. */
async function checkTwilio(
  config: Config,
  fetcher: typeof fetch,
  timeoutMs: number,
): Promise<DoctorCheck[]> {
  const credentials = twilioCredentials(config);
  if (credentials === undefined) {
    const hint =
      "Set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (from https://console.twilio.com) to check them and the number's webhook.";
    return [
      { status: "skip", text: "Twilio credentials: not set.", hint },
      { status: "skip", text: "Voice webhook of the Twilio number: not checked." },
    ];
  }
  const client = new TwilioRestClient({
    ...credentials,
    baseUrl: config.twilioApiBaseUrl,
    fetch: fetcher,
    timeoutMs,
  });
  const checks: DoctorCheck[] = [];
  try {
    const account = await client.fetchAccount();
    if (account.status !== "active") {
      checks.push({
        status: "fail",
        text: `The Twilio account is ${account.status}, not active.`,
        hint: "Reactivate it in https://console.twilio.com, or use another account.",
      });
    } else {
      checks.push({ status: "ok", text: "Twilio accepted the credentials (account active)." });
    }
  } catch (error) {
    const rejected = error instanceof TwilioRestError && error.code === 20003;
    checks.push({
      status: "fail",
      text: rejected
        ? "Twilio rejected TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (Twilio error 20003)."
        : `Twilio credentials not checked: ${errorMessage(error)}`,
      hint: rejected
        ? "Copy both again from https://console.twilio.com (Account Info); the auth token changes when it is rotated."
        : "Check TWILIO_API_BASE_URL and the network.",
    });
    checks.push({ status: "skip", text: "Voice webhook of the Twilio number: not checked." });
    return checks;
  }
  checks.push(await checkWebhook(config, client));
  return checks;
}

async function checkWebhook(config: Config, client: TwilioRestClient): Promise<DoctorCheck> {
  const number = config.twilioPhoneNumber;
  if (number === undefined) {
    return {
      status: "skip",
      text: "Voice webhook: not checked (TWILIO_PHONE_NUMBER is not set).",
      hint: "Set TWILIO_PHONE_NUMBER=+1… (the number callers dial) to check where its calls go.",
    };
  }
  if (config.publicUrl === undefined) {
    return {
      status: "skip",
      text: "Voice webhook: not checked (PUBLIC_URL is not set).",
    };
  }
  const expected = `${config.publicUrl}/incoming-call`;
  let found;
  try {
    found = await client.findIncomingPhoneNumber(number);
  } catch (error) {
    return { status: "fail", text: `Voice webhook not checked: ${errorMessage(error)}` };
  }
  const masked = maskPhoneNumber(number);
  const where =
    "In https://console.twilio.com: Phone Numbers → Manage → Active numbers → the number → " +
    `Voice Configuration: "A call comes in" → Webhook ${expected}, HTTP POST.`;
  if (found === undefined) {
    return {
      status: "fail",
      text: `TWILIO_PHONE_NUMBER (${masked}) is not a number of this Twilio account.`,
      hint: "Check TWILIO_PHONE_NUMBER (E.164, e.g. +14155550123) and TWILIO_ACCOUNT_SID.",
    };
  }
  if (found.voice_application_sid) {
    return {
      status: "fail",
      text:
        `Calls to ${masked} go to a TwiML App (${found.voice_application_sid}), not to a webhook.`,
      hint: where,
    };
  }
  const actual = (found.voice_url ?? "").replace(/\/+$/, "");
  if (actual !== expected) {
    return {
      status: "fail",
      text: `Calls to ${masked} go to ${actual === "" ? "no webhook" : actual}, not ${expected}.`,
      hint: where,
    };
  }
  if ((found.voice_method ?? "POST").toUpperCase() !== "POST") {
    return {
      status: "fail",
      text: `Calls to ${masked} use HTTP ${found.voice_method}; /incoming-call takes POST.`,
      hint: where,
    };
  }
  return { status: "ok", text: `Calls to ${masked} go to ${expected} (HTTP POST).` };
}

function checkPublicUrl(config: Config): DoctorCheck {
  const value = config.publicUrl;
  if (value === undefined) {
    return {
      status: "fail",
      text: "PUBLIC_URL is not set.",
      hint:
        "Set PUBLIC_URL to the https:// address Twilio reaches this server at, e.g. https://abc.ngrok.app or https://voice.example.com.",
    };
  }
  const url = new URL(value);
  if (url.protocol !== "https:") {
    return {
      status: "fail",
      text: `PUBLIC_URL is ${value}: Twilio needs https:// (and wss:// for the media stream).`,
      hint:
        "Put the server behind TLS (a reverse proxy, a platform with HTTPS, or a tunnel such as ngrok) and set PUBLIC_URL=https://….",
    };
  }
  if (LOOPBACK.test(url.hostname)) {
    return {
      status: "fail",
      text: `PUBLIC_URL is ${value}: Twilio cannot reach this machine's loopback address.`,
      hint: "Use the public address, e.g. a tunnel such as ngrok.",
    };
  }
  return { status: "ok", text: `PUBLIC_URL is https (${value}).` };
}

/** Tries to bind the port. */
function tryListen(port: number, hostname: string): "free" | "in_use" | string {
  try {
    Deno.listen({ port, hostname }).close();
    return "free";
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) return "in_use";
    return errorMessage(error);
  }
}

function checkPort(config: Config, portFree: DoctorDependencies["portFree"]): DoctorCheck {
  const { port, hostname } = config;
  if (port === 0) return { status: "ok", text: "PORT=0: the system picks a free port." };
  const result = (portFree ?? tryListen)(port, hostname);
  if (result === "free") return { status: "ok", text: `Port ${port} on ${hostname} is free.` };
  if (result === "in_use") {
    return {
      status: "fail",
      text: `Port ${port} on ${hostname} is in use (is the server already running?).`,
      hint: `Stop the other program, or pick another port: PORT=${
        port >= 65535 ? 5050 : port + 1
      }.`,
    };
  }
  return {
    status: "fail",
    text: `Cannot listen on port ${port} on ${hostname}: ${result}.`,
    hint: "Pick another PORT (ports below 1024 need privileges) or HOST.",
  };
}

/**
 * Runs every check; the network checks run in parallel.
 *
 * @example
 * ```ts
 * import { parseConfig } from "../config/mod.ts";
 * import { runDoctorChecks } from "./doctor_checks.ts";
 * const config = parseConfig({
 *   OPENAI_API_KEY: "sk-proj-doctorExample0123456789",
 *   PUBLIC_URL: "https://voice.example.com",
 * });
 * // A stand-in for OpenAI that accepts the key and knows the model.
 * const fetch = () => Promise.resolve(Response.json({ id: "gpt-realtime", object: "model" }));
 * const checks = await runDoctorChecks(config, { fetch, portFree: () => "free" });
 * if (checks.some((c) => c.status === "fail")) throw new Error(JSON.stringify(checks));
 * ```
 */
export async function runDoctorChecks(
  config: Config,
  dependencies: DoctorDependencies = {},
): Promise<DoctorCheck[]> {
  const fetcher = dependencies.fetch ?? fetch;
  const timeoutMs = dependencies.timeoutMs ?? 10_000;
  // The environment's agent's model first (its request also checks the key), then the others.
  const first: ModelTarget = { engine: config.engine, model: defaultModel(config.engine, config) };
  const others = (dependencies.models ?? []).filter((t, i, all) =>
    (t.engine !== first.engine || t.model !== first.model) &&
    all.findIndex((u) => u.engine === t.engine && u.model === t.model) === i
  );
  const [openai, twilio, ...more] = await Promise.all([
    checkOpenAI(config, first, fetcher, timeoutMs),
    checkTwilio(config, fetcher, timeoutMs),
    ...others.map((target) => checkOpenAI(config, target, fetcher, timeoutMs)),
  ]);
  for (const lines of more) openai.push(lines[1]); // the key's line is said once
  return [
    ...openai,
    ...twilio,
    checkPublicUrl(config),
    checkPort(config, dependencies.portFree),
  ];
}

/**
 * The agents file as the server loads it (`loaded`, from `loadAgents`): each
 * problem that would stop the server is a ✘, each warning it would log at
 * start-up (the file's and the configuration's, such as a cleartext URL
 * accepted by `ALLOW_INSECURE_UPSTREAM=true`) a ⚠. No file: only the warnings.
 *
 * @example
 * ```ts
 * import { agentsFileChecks } from "./doctor_checks.ts";
 * const checks = agentsFileChecks({ ok: false, problems: ["agents.yaml: agents[0].name is missing."] }, { path: "agents.yaml", required: true }, []);
 * if (checks[0].status !== "fail" || !checks[0].text.includes("name is missing")) throw new Error();
 * ```
 */
export function agentsFileChecks(
  loaded: LoadAgentsResult,
  file: AgentsFileSetting | undefined,
  configWarnings: readonly string[],
): DoctorCheck[] {
  const warnings = [...configWarnings, ...(loaded.ok ? loaded.warnings : [])];
  const lines: DoctorCheck[] = warnings.map((text) => ({ status: "warn", text }));
  if (!loaded.ok) {
    return [
      ...loaded.problems.map((text): DoctorCheck => ({
        status: "fail",
        text,
        hint: "The server refuses to start with this agents file: fix it (see docs/agents.md).",
      })),
      ...lines,
    ];
  }
  if (file !== undefined && loaded.book.source !== "environment") {
    const names = loaded.book.profiles.map((p) => p.name).join(", ");
    lines.unshift({ status: "ok", text: `The agents file ${file.path} is valid (${names}).` });
  }
  return lines;
}

/**
 * The lines to print: `✔ text`, `✘ text`, `⚠ text` or `– text`, each hint indented
 * on the next line.
 *
 * @example
 * ```ts
 * import { formatDoctorChecks } from "./doctor_checks.ts";
 * const text = formatDoctorChecks([{ status: "fail", text: "Bad.", hint: "Fix it." }]);
 * if (text !== "✘ Bad.\n    Fix it.") throw new Error(text);
 * ```
 */
export function formatDoctorChecks(checks: readonly DoctorCheck[]): string {
  const mark = { ok: "✔", fail: "✘", warn: "⚠", skip: "–" } as const;
  return checks.map((c) =>
    `${mark[c.status]} ${c.text}${c.hint === undefined ? "" : `\n    ${c.hint}`}`
  ).join("\n");
}
