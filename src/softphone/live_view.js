// The softphone's live call view: listens to the server's Server-Sent Events
// for one call (`/softphone/events?token=…`, the call's softphone token) and
// shows the transcript (the unheard part of an interrupted answer struck
// through), tool calls with arguments, result and duration, the latency of
// each turn (caller stopped speaking → first assistant audio), barge-ins, a
// call timer and the call id. See src/softphone/live_calls.ts for the events.
//
// `liveState` (exposed as `softphone.live`) mirrors what is shown, for tests.

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** The live view before a call: nothing shown. */
function emptyState() {
  return {
    open: false,
    /** @type {string | null} */
    callId: null,
    /** @type {string | null} */
    agent: null,
    events: 0,
    /** @type {{role: "caller" | "assistant", itemId: string | null, text: string, note?: string | null, heard: string | null, latencyMs: number | null}[]} */
    turns: [],
    /** @type {{callId: string, name: string, arguments: string, output: string | null, durationMs: number | null, failed: boolean}[]} */
    tools: [],
    bargeIns: 0,
    /** @type {{itemId: string, verdict: string, speechMs: number, text: string | null, resumedAtMs: number | null}[]} */
    falseInterruptions: [],
    /** Steps of a warm transfer, e.g. "ringing (destination 1)". @type {string[]} */
    transfer: [],
    /** @type {string | null} */
    outcome: null,
  };
}

/** What the live view shows, as data. */
export const liveState = emptyState();

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The words of a warm transfer's steps (see `TransferStep` in src/transfer/warm_transfers.ts). */
const TRANSFER_STEPS = {
  calling: "calling a person",
  ringing: "ringing",
  answered: "answered, hearing the briefing",
  accepted: "accepted: the caller is handed over",
  declined: "declined",
  no_key: "no key pressed",
  "no-answer": "no answer",
  machine: "a machine answered",
  hung_up: "hung up",
  not_placed: "could not be called",
  nobody: "nobody took the call: the assistant tells the caller",
  caller_hung_up: "the caller hung up: the person's call is ended",
};

function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** The heard part of `text` when `heardMs` of `sentMs` played (cut at a word). */
export function heardPart(text, heardMs, sentMs) {
  const ratio = sentMs > 0 ? heardMs / sentMs : 0;
  if (ratio >= 1) return text;
  if (ratio <= 0) return "";
  const cut = Math.round(text.length * ratio);
  const space = text.lastIndexOf(" ", cut);
  return space > 0 ? text.slice(0, space) : text.slice(0, cut);
}

export class LiveView {
  constructor() {
    this.transcript = $("transcript");
    this.toolList = $("tools");
    this.timer = $("call-timer");
    this.callIdBox = $("call-id");
    this.source = undefined;
    this.startedAt = 0;
    this.ticker = undefined;
    /** @type {Map<string, {li: HTMLElement, turn: object, cut: {heardMs: number, sentMs: number} | null}>} */
    this.assistant = new Map();
    /** @type {{li: HTMLElement, turn: object}[]} caller turns waiting for their words, oldest first */
    this.pendingCaller = [];
    /** @type {Map<string, {li: HTMLElement, tool: object}>} */
    this.tools = new Map();
  }

  /** Starts listening to the call of `token` (before its media stream opens). */
  open(token, callId) {
    this.close();
    this.transcript.replaceChildren();
    this.toolList.replaceChildren();
    this.assistant.clear();
    this.tools.clear();
    this.pendingCaller = [];
    Object.assign(liveState, emptyState(), { open: true, callId });
    this.callIdBox.textContent = callId;
    this.timer.textContent = "0:00";
    const source = new EventSource(`/softphone/events?token=${encodeURIComponent(token)}`);
    this.source = source;
    source.addEventListener("message", (e) => {
      let event;
      try {
        event = JSON.parse(e.data);
      } catch {
        return;
      }
      liveState.events++;
      this.onEvent(event);
    });
    // The server ends the stream after the call; an error before then is shown, not retried.
    source.addEventListener("error", () => {
      if (liveState.outcome === null) this.note("The live view lost its connection.");
      this.close();
    });
  }

  close() {
    this.source?.close();
    this.source = undefined;
    liveState.open = false;
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  note(text) {
    this.transcript.append(el("li", "event", text));
    this.scroll();
  }

  scroll() {
    this.transcript.scrollTop = this.transcript.scrollHeight;
  }

  onEvent(event) {
    switch (event.type) {
      case "call":
        liveState.callId = event.callId;
        liveState.agent = event.agent ?? null;
        this.callIdBox.textContent = event.agent
          ? `${event.callId} · agent ${event.agent}`
          : event.callId;
        this.startedAt = performance.now() - event.t;
        this.ticker = setInterval(() => {
          this.timer.textContent = clock(performance.now() - this.startedAt);
        }, 250);
        return;
      case "caller_stopped":
        // A caller turn ended; its words (with input transcription on) follow.
        if (this.transcript.lastElementChild?.classList.contains("pending") !== true) {
          this.callerTurn(null);
        }
        return;
      case "caller": {
        const pending = this.pendingCaller.shift() ?? this.callerTurn(event.itemId, false);
        pending.turn.text = event.text;
        pending.turn.itemId = event.itemId;
        // A turn without words shows the server's note (its length; the demo: a stand-in).
        pending.turn.note = event.note ?? null;
        pending.li.querySelector(".text").textContent = event.text || (event.note ?? "");
        pending.li.classList.remove("pending");
        return;
      }
      case "assistant_audio": {
        const entry = this.assistantTurn(event.itemId);
        if (event.latencyMs !== undefined && entry.turn.latencyMs === null) {
          entry.turn.latencyMs = event.latencyMs;
          const badge = el("span", "latency", `${event.latencyMs} ms`);
          badge.title = "Caller stopped speaking → first assistant audio";
          entry.li.querySelector(".who").append(badge);
        }
        return;
      }
      case "assistant": {
        const entry = this.assistantTurn(event.itemId);
        entry.turn.text = event.text;
        this.renderAssistant(entry);
        return;
      }
      case "truncated": {
        const entry = this.assistantTurn(event.itemId);
        entry.cut = { heardMs: event.heardMs, sentMs: event.sentMs };
        entry.li.classList.add("interrupted");
        this.renderAssistant(entry);
        return;
      }
      case "barge_in":
        liveState.bargeIns++;
        this.note(`Barge-in at ${clock(event.t)}: the caller spoke over the assistant.`);
        return;
      case "false_interruption": {
        liveState.falseInterruptions.push({
          itemId: event.itemId,
          verdict: event.verdict,
          speechMs: event.speechMs,
          text: event.text ?? null,
          resumedAtMs: event.resumedAtMs ?? null,
        });
        const li = el("li", "event false-interruption");
        const span = el(
          "s",
          "",
          event.text
            ? `“${event.text}”`
            : `${event.speechMs} ms of ${
              event.verdict === "backchannel" ? "backchannel" : "noise"
            }`,
        );
        span.title = "Not an interruption: the assistant went on";
        li.append(span);
        li.append(
          document.createTextNode(
            event.resumedAtMs === undefined
              ? " (not an interruption)"
              : ` (not an interruption; resumed at ${(event.resumedAtMs / 1000).toFixed(1)} s)`,
          ),
        );
        this.transcript.append(li);
        this.scroll();
        return;
      }
      case "tool_call": {
        const tool = {
          callId: event.callId,
          name: event.name,
          arguments: event.arguments,
          output: null,
          durationMs: null,
          failed: false,
        };
        liveState.tools.push(tool);
        const li = el("li", "tool running");
        const head = el("div", "tool-head");
        head.append(el("strong", "", event.name), el("span", "duration", "running…"));
        li.append(head, el("code", "args", event.arguments), el("code", "result", ""));
        this.toolList.append(li);
        this.tools.set(event.callId, { li, tool });
        this.note(`Tool ${event.name} called at ${clock(event.t)}.`);
        return;
      }
      case "tool_result": {
        const entry = this.tools.get(event.callId);
        if (entry === undefined) return;
        Object.assign(entry.tool, {
          output: event.output,
          durationMs: event.durationMs,
          failed: event.failed,
        });
        entry.li.classList.remove("running");
        if (event.failed) entry.li.classList.add("failed");
        entry.li.querySelector(".duration").textContent = `${event.durationMs} ms${
          event.failed ? " · failed" : ""
        }`;
        entry.li.querySelector(".result").textContent = `→ ${event.output}`;
        return;
      }
      case "transfer": {
        const step = `${
          TRANSFER_STEPS[event.step] ?? event.step
        } (destination ${event.destination})`;
        liveState.transfer.push(step);
        this.note(`Transfer at ${clock(event.t)}: ${step}.`);
        return;
      }
      case "ended":
        liveState.outcome = event.outcome;
        for (const p of this.pendingCaller.splice(0)) {
          p.li.querySelector(".text").textContent = "(no transcript)";
          p.li.classList.remove("pending");
        }
        this.timer.textContent = clock(event.t);
        this.note(`Call ended (${event.outcome.replaceAll("_", " ")}) after ${clock(event.t)}.`);
        this.close();
        return;
    }
  }

  callerTurn(itemId, pending = true) {
    const turn = { role: "caller", itemId, text: "", note: null, heard: null, latencyMs: null };
    liveState.turns.push(turn);
    const li = el("li", `turn caller${pending ? " pending" : ""}`);
    li.append(el("span", "who", "You"), el("span", "text", "…"));
    this.transcript.append(li);
    this.scroll();
    const entry = { li, turn };
    if (pending) this.pendingCaller.push(entry);
    return entry;
  }

  assistantTurn(itemId) {
    let entry = this.assistant.get(itemId);
    if (entry === undefined) {
      const turn = { role: "assistant", itemId, text: "", heard: null, latencyMs: null };
      liveState.turns.push(turn);
      const li = el("li", "turn assistant");
      li.append(el("span", "who", "Assistant"), el("span", "text", "…"));
      this.transcript.append(li);
      this.scroll();
      entry = { li, turn, cut: null };
      this.assistant.set(itemId, entry);
    }
    return entry;
  }

  renderAssistant(entry) {
    const box = entry.li.querySelector(".text");
    const text = entry.turn.text;
    if (text === "") return;
    if (entry.cut === null) {
      box.textContent = text;
      return;
    }
    const heard = heardPart(text, entry.cut.heardMs, entry.cut.sentMs);
    entry.turn.heard = heard;
    const unheard = el("s", "unheard", text.slice(heard.length));
    unheard.title =
      `Not heard: the caller interrupted after ${entry.cut.heardMs} of ${entry.cut.sentMs} ms`;
    box.replaceChildren(document.createTextNode(heard), unheard);
  }
}
