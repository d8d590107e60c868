// The browser softphone: speaks the Twilio Media Streams protocol to the
// bridge's /media-stream, like Twilio does for a phone call. It captures the
// microphone, resamples to 8 kHz, sends 20 ms μ-law `media` frames, plays
// the μ-law audio it receives on the WebAudio clock, honours `clear` at once
// and echoes each `mark` when the audio before it has played.
//
// `window.softphone` exposes the call's state and counters (used by the
// browser end-to-end test).
import { decodeMulaw, encodeMulaw, floatToInt16 } from "../audio/mulaw.js";
import { FRAME_BYTES } from "../audio/frames.js";
import { Downsampler } from "./resample.js";
import { liveState, LiveView } from "./live_view.js";

const RATE = 8000;
const FRAME_SAMPLES = FRAME_BYTES; // 20 ms: one μ-law byte a sample
const SPEAKING_LEVEL = 0.02; // RMS of the microphone that counts as speech
const SPEAKING_HOLD_MS = 300;
const INTERRUPTED_SHOW_MS = 900;

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const statusBox = $("status-box");
const statusText = $("status");
const callButton = /** @type {HTMLButtonElement} */ ($("call"));
const hangupButton = /** @type {HTMLButtonElement} */ ($("hangup"));
const agentSelect = /** @type {HTMLSelectElement} */ ($("agent"));
const inLevel = $("in-level");
const outLevel = $("out-level");
const logList = $("log");

/** State and counters of the current (or last) call, for people and tests. */
const state = {
  status: "idle",
  statusHistory: ["idle"],
  callSid: null,
  framesSent: 0,
  mediaReceived: 0,
  audioReceivedMs: 0,
  marksReceived: 0,
  marksPlayed: 0,
  marksFlushed: 0,
  clears: 0,
  clearedMs: 0,
  micPeak: 0,
  closeCode: null,
  closeReason: null,
  ended: false,
  error: null,
  notice: null,
  /** @type {string | null} the server's note for the page (the offline demo's stand-in). */
  info: null,
  live: liveState,
};
globalThis.softphone = state;
const live = new LiveView();

const LABELS = {
  idle: "Ready to call",
  connecting: "Connecting…",
  listening: "Connected · listening",
  "assistant speaking": "Assistant speaking",
  "you speaking": "You are speaking",
  interrupted: "Interrupted",
  ended: "Call ended",
  error: "Error",
};

function log(text) {
  const li = document.createElement("li");
  const time = document.createElement("time");
  time.textContent = new Date().toLocaleTimeString();
  li.append(time, document.createTextNode(text));
  logList.prepend(li);
}

/** @type {Call | undefined} */
let call;

class Call {
  constructor() {
    this.ctx = new AudioContext({ latencyHint: "interactive" });
    this.ws = undefined;
    this.stream = undefined;
    this.capture = undefined;
    this.down = new Downsampler(this.ctx.sampleRate, RATE);
    this.pending = new Int16Array(0);
    this.streamSid = "";
    this.callSid = "";
    this.started = false;
    this.chunk = 0;
    this.sentMs = 0;
    this.playHead = 0; // context time at which queued audio ends
    /** @type {Set<AudioBufferSourceNode>} */
    this.sources = new Set();
    /** @type {{name: string, at: number}[]} */
    this.marks = [];
    this.lastSpeechAt = -Infinity;
    this.interruptedUntil = -Infinity;
    this.replyMs = 0;
    this.hungUp = false;
    this.output = this.ctx.createGain();
    this.analyser = this.ctx.createAnalyser();
    this.analyser.fftSize = 512;
    this.output.connect(this.analyser);
    this.analyser.connect(this.ctx.destination);
    this.timer = setInterval(() => this.tick(), 10);
  }

  async start() {
    setStatus("connecting");
    await this.ctx.resume();
    // With an agents file, the developer picks the agent; the server answers its stream's path.
    const agent = agentSelect.value;
    const res = await fetch(`/softphone/token?agent=${encodeURIComponent(agent)}`, {
      method: "POST",
    });
    if (!res.ok) throw new Error(`The server refused a softphone token (HTTP ${res.status}).`);
    const issued = await res.json();
    this.callSid = issued.callSid;
    this.streamSid = issued.streamSid;
    state.callSid = issued.callSid;
    this.stream = await openMicrophone();
    // The live view listens before the call starts, so it misses nothing.
    live.open(issued.token, issued.callSid);
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}${issued.streamPath}`, [
      "softphone",
      `softphone-token.${issued.token}`,
    ]);
    this.ws = ws;
    ws.addEventListener("open", () => this.onOpen());
    ws.addEventListener("message", (e) => this.onMessage(e.data));
    ws.addEventListener("close", (e) => this.onClose(e.code, e.reason));
  }

  send(message) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  onOpen() {
    this.send({ event: "connected", protocol: "Call", version: "1.0.0" });
    this.send({
      event: "start",
      sequenceNumber: "1",
      streamSid: this.streamSid,
      start: {
        accountSid: "ACsoftphone",
        streamSid: this.streamSid,
        callSid: this.callSid,
        tracks: ["inbound"],
        customParameters: { softphone: "true" },
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: RATE, channels: 1 },
      },
    });
    this.started = true;
    this.startedAt = performance.now();
    setStatus("listening");
    log("Call connected.");
    this.startCapture();
  }

  startCapture() {
    const source = this.ctx.createMediaStreamSource(this.stream);
    // ScriptProcessorNode: simple and available everywhere; the work per block is tiny.
    const node = this.ctx.createScriptProcessor(1024, 1, 1);
    const mute = this.ctx.createGain();
    mute.gain.value = 0;
    node.addEventListener("audioprocess", (e) => this.onMic(e.inputBuffer.getChannelData(0)));
    source.connect(node);
    node.connect(mute);
    mute.connect(this.ctx.destination);
    this.capture = { source, node, mute };
  }

  onMic(input) {
    let sum = 0;
    for (let i = 0; i < input.length; i++) sum += input[i] * input[i];
    const rms = Math.sqrt(sum / input.length);
    state.micPeak = Math.max(state.micPeak, rms);
    inLevel.style.width = `${Math.min(100, rms * 400)}%`;
    if (rms > SPEAKING_LEVEL) this.lastSpeechAt = performance.now();
    if (!this.started) return;
    const samples = floatToInt16(this.down.push(input));
    const joined = new Int16Array(this.pending.length + samples.length);
    joined.set(this.pending);
    joined.set(samples, this.pending.length);
    let offset = 0;
    while (joined.length - offset >= FRAME_SAMPLES) {
      const frame = encodeMulaw(joined.subarray(offset, offset + FRAME_SAMPLES));
      offset += FRAME_SAMPLES;
      this.chunk++;
      this.send({
        event: "media",
        sequenceNumber: String(this.chunk + 1),
        streamSid: this.streamSid,
        media: {
          track: "inbound",
          chunk: String(this.chunk),
          timestamp: String(this.sentMs),
          payload: toBase64(frame),
        },
      });
      this.sentMs += 20;
      state.framesSent++;
    }
    this.pending = joined.slice(offset);
  }

  onMessage(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    switch (message.event) {
      case "media":
        this.play(fromBase64(message.media?.payload ?? ""));
        return;
      case "mark":
        state.marksReceived++;
        this.marks.push({ name: String(message.mark?.name ?? ""), at: this.playHead });
        this.tick();
        return;
      case "clear":
        this.clear();
        return;
    }
  }

  /** The context time by which audio scheduled at `at` has reached the speaker. */
  heard(at) {
    return this.ctx.currentTime >= at + (this.ctx.outputLatency || 0);
  }

  play(bytes) {
    if (bytes.length === 0) return;
    state.mediaReceived++;
    state.audioReceivedMs += bytes.length / 8;
    const samples = decodeMulaw(bytes);
    const buffer = this.ctx.createBuffer(1, samples.length, RATE);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < samples.length; i++) channel[i] = samples[i] / 32768;
    const node = this.ctx.createBufferSource();
    node.buffer = buffer;
    node.connect(this.output);
    const at = Math.max(this.ctx.currentTime, this.playHead);
    node.start(at);
    this.playHead = at + buffer.duration;
    this.sources.add(node);
    node.addEventListener("ended", () => this.sources.delete(node));
    if (this.replyMs === 0) log("The assistant is speaking.");
    this.replyMs += bytes.length / 8;
  }

  clear() {
    state.clears++;
    const pendingMs = Math.max(0, (this.playHead - this.ctx.currentTime) * 1000);
    state.clearedMs += pendingMs;
    for (const node of this.sources) {
      try {
        node.stop();
      } catch {
        // already stopped
      }
    }
    this.sources.clear();
    this.playHead = this.ctx.currentTime;
    // Like Twilio: marks still waiting are echoed at once after a clear.
    for (const mark of this.marks.splice(0)) {
      state.marksFlushed++;
      this.send({ event: "mark", streamSid: this.streamSid, mark: { name: mark.name } });
    }
    this.interruptedUntil = performance.now() + INTERRUPTED_SHOW_MS;
    log(`Interrupted: dropped ${Math.round(pendingMs)} ms of queued assistant audio.`);
    this.replyMs = 0;
  }

  tick() {
    while (this.marks.length > 0 && this.heard(this.marks[0].at)) {
      const mark = this.marks.shift();
      state.marksPlayed++;
      this.send({ event: "mark", streamSid: this.streamSid, mark: { name: mark.name } });
    }
    if (!this.started || state.ended) return;
    const speaking = this.playHead > this.ctx.currentTime;
    if (!speaking && this.replyMs > 0) {
      log(`The assistant finished (${(this.replyMs / 1000).toFixed(1)} s of audio).`);
      this.replyMs = 0;
    }
    const levels = new Float32Array(this.analyser.fftSize);
    this.analyser.getFloatTimeDomainData(levels);
    let sum = 0;
    for (const v of levels) sum += v * v;
    outLevel.style.width = `${Math.min(100, Math.sqrt(sum / levels.length) * 400)}%`;
    const now = performance.now();
    if (now < this.interruptedUntil) setStatus("interrupted");
    else if (now - this.lastSpeechAt < SPEAKING_HOLD_MS) setStatus("you speaking");
    else if (speaking) setStatus("assistant speaking");
    else setStatus("listening");
  }

  hangUp() {
    this.hungUp = true;
    if (this.ws?.readyState === WebSocket.OPEN) {
      this.send({
        event: "stop",
        sequenceNumber: String(this.chunk + 2),
        streamSid: this.streamSid,
        stop: { accountSid: "ACsoftphone", callSid: this.callSid },
      });
      this.ws.close(1000, "caller hung up");
    } else {
      this.onClose(1000, "caller hung up");
    }
  }

  onClose(code, reason) {
    if (state.ended) return;
    state.ended = true;
    state.closeCode = code;
    state.closeReason = reason;
    clearInterval(this.timer);
    this.started = false;
    this.capture?.source.disconnect();
    this.capture?.node.disconnect();
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    // Let queued audio (e.g. the farewell) finish before closing the context.
    const rest = Math.max(0, this.playHead - this.ctx.currentTime);
    setTimeout(() => this.ctx.close(), rest * 1000 + 200);
    inLevel.style.width = "0%";
    outLevel.style.width = "0%";
    setStatus("ended");
    if (this.hungUp) log("You hung up.");
    else if (code === 1000 || code === 1005) log("The call was ended by the assistant.");
    else {log(
        `Call ended: the server closed the stream (code ${code}${reason ? `, ${reason}` : ""}).`,
      );}
    callButton.disabled = false;
    hangupButton.disabled = true;
    agentSelect.disabled = false;
  }
}

/** Shows a message the developer must act on (above the buttons). */
function notice(text) {
  state.notice = text;
  const box = $("notice");
  box.textContent = text;
  box.hidden = false;
}

/**
 * The microphone, or an error that says what to do: browsers only offer it
 * in a secure context (https, or http on localhost), and only when there is one.
 */
async function openMicrophone() {
  if (!globalThis.isSecureContext || navigator.mediaDevices?.getUserMedia === undefined) {
    throw new Error(insecureMessage());
  }
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: {
        channelCount: 1,
        echoCancellation: true,
        noiseSuppression: true,
        autoGainControl: true,
      },
    });
  } catch (error) {
    const name = error instanceof DOMException ? error.name : "";
    if (name === "NotFoundError" || name === "OverconstrainedError") {
      throw new Error(
        "No microphone found. Connect one (or enable it in the system settings) and call again.",
      );
    }
    if (name === "NotAllowedError" || name === "SecurityError") {
      throw new Error(
        "The microphone is blocked for this page. Allow it in the browser's site settings " +
          "(the icon left of the address) and call again.",
      );
    }
    if (name === "NotReadableError") {
      throw new Error("The microphone is in use by another application or could not be opened.");
    }
    throw error;
  }
}

function insecureMessage() {
  const port = location.port ? `:${location.port}` : "";
  return `This page was opened over plain http at ${location.hostname}, and browsers only allow ` +
    `the microphone in a secure context. Open it on this machine as ` +
    `http://localhost${port}/, or serve it over https (e.g. a tunnel such as ngrok).`;
}

function setStatus(status) {
  if (state.status === status) return;
  state.status = status;
  state.statusHistory.push(status);
  statusBox.dataset.status = status;
  statusText.textContent = LABELS[status] ?? status;
}

function toBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary);
}

function fromBase64(text) {
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return new Uint8Array(0);
  }
}

callButton.addEventListener("click", () => {
  callButton.disabled = true;
  hangupButton.disabled = false;
  // The call's agent is fixed when it starts: no other choice until it ends.
  agentSelect.disabled = true;
  for (const key of ["framesSent", "mediaReceived", "audioReceivedMs", "marksReceived"]) {
    state[key] = 0;
  }
  for (const key of ["marksPlayed", "marksFlushed", "clears", "clearedMs", "micPeak"]) {
    state[key] = 0;
  }
  Object.assign(state, { ended: false, closeCode: null, closeReason: null, error: null });
  state.notice = null;
  $("notice").hidden = true;
  call = new Call();
  call.start().catch((error) => {
    state.error = error instanceof Error ? error.message : String(error);
    log(`Could not start the call: ${state.error}`);
    notice(state.error);
    live.close();
    call?.onClose(1006, "");
    setStatus("error");
  });
});

hangupButton.addEventListener("click", () => call?.hangUp());

// Say at once, not on the first call, when this page cannot get a microphone.
if (!globalThis.isSecureContext || navigator.mediaDevices?.getUserMedia === undefined) {
  notice(insecureMessage());
  callButton.disabled = true;
} else {
  navigator.mediaDevices.enumerateDevices?.()
    .then((devices) => {
      if (!devices.some((d) => d.kind === "audioinput")) {
        notice("No microphone found. Connect one and reload this page to call.");
      }
    })
    .catch(() => {});
}

// The agents of the agents file, if any: the picker shows when there is a choice.
fetch("/softphone/agents")
  .then((res) => (res.ok ? res.json() : { agents: [] }))
  .then((list) => {
    const select = agentSelect;
    for (const name of list.agents) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name === list.default ? `${name} (default)` : name;
      option.selected = name === list.default;
      select.append(option);
    }
    $("agent-picker").hidden = list.agents.length < 2;
    // What the server wants the developer to know (the offline demo: its Realtime API is a stand-in).
    if (typeof list.notice === "string") {
      state.info = list.notice;
      $("info").textContent = list.notice;
      $("info").hidden = false;
    }
  })
  .catch(() => {});
