/**
 * A minimal driver for Debian's headless Chromium over the DevTools protocol
 * (a WebSocket, no npm package): launch with a fresh profile, open a page,
 * evaluate JavaScript, take screenshots, and always kill the browser.
 *
 * @module
 */

/** Options of {@linkcode Chromium.launch}. */
export interface ChromiumOptions {
  /** The browser binary. Default `/usr/bin/chromium`. */
  executable?: string;
  /** Extra command-line flags. */
  args?: string[];
  /** Ms to wait for the DevTools endpoint. Default 15000. */
  timeoutMs?: number;
}

// deno-lint-ignore no-explicit-any
type Json = any;

interface Pending {
  resolve: (value: Json) => void;
  reject: (error: Error) => void;
  method: string;
}

/** A running browser. Always `await close()` (or `await using`). */
export class Chromium implements AsyncDisposable {
  #child: Deno.ChildProcess;
  #socket: WebSocket;
  #profile: string;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #events: { method: string; params: Json; sessionId?: string }[] = [];
  #stderr: Promise<string>;
  #socketClosed: Promise<void>;
  #closed = false;

  private constructor(
    child: Deno.ChildProcess,
    socket: WebSocket,
    profile: string,
    stderr: Promise<string>,
  ) {
    this.#child = child;
    this.#socket = socket;
    this.#profile = profile;
    this.#stderr = stderr;
    this.#socketClosed = new Promise((resolve) =>
      socket.addEventListener("close", () => resolve(), { once: true })
    );
    socket.addEventListener("message", (e) => {
      const message = JSON.parse(String(e.data));
      if (typeof message.id === "number") {
        const pending = this.#pending.get(message.id);
        if (pending === undefined) return;
        this.#pending.delete(message.id);
        if (message.error) {
          pending.reject(new Error(`${pending.method}: ${message.error.message}`));
        } else pending.resolve(message.result);
      } else if (typeof message.method === "string") {
        this.#events.push(message);
      }
    });
    socket.addEventListener("close", () => {
      for (const pending of this.#pending.values()) {
        pending.reject(new Error(`${pending.method}: the browser connection closed.`));
      }
      this.#pending.clear();
    });
  }

  /** Starts the browser headless with a fresh profile and connects to it. */
  static async launch(options: ChromiumOptions = {}): Promise<Chromium> {
    const profile = await Deno.makeTempDir({ prefix: "chromium_profile_" });
    const child = new Deno.Command(options.executable ?? "/usr/bin/chromium", {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--metrics-recording-only",
        `--user-data-dir=${profile}`,
        "--remote-debugging-port=0",
        ...(options.args ?? []),
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Read stderr to the end (so the pipe never fills), resolving the DevTools URL on the way.
    let resolveUrl!: (url: string | undefined) => void;
    const url = new Promise<string | undefined>((resolve) => resolveUrl = resolve);
    const stderr = (async () => {
      let text = "";
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) {
        text += decoder.decode(chunk, { stream: true });
        const match = /DevTools listening on (ws:\/\/\S+)/.exec(text);
        if (match) resolveUrl(match[1]);
        if (text.length > 200_000) text = text.slice(-100_000);
      }
      resolveUrl(undefined);
      return text;
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeoutMs = options.timeoutMs ?? 15_000;
    const endpoint = await Promise.race([
      url,
      new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), timeoutMs)),
    ]);
    clearTimeout(timer);
    if (endpoint === undefined) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
      const log = await stderr;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw new Error(
        `Chromium did not open its DevTools endpoint within ${timeoutMs} ms. Its output:\n${
          log.slice(-2000)
        }`,
      );
    }
    const socket = new WebSocket(endpoint);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener("error", () => reject(new Error("Could not connect to DevTools.")), {
        once: true,
      });
    });
    return new Chromium(child, socket, profile, stderr);
  }

  /** Sends a DevTools command and resolves with its result. */
  send(method: string, params: Json = {}, sessionId?: string): Promise<Json> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, method });
      this.#socket.send(
        JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }),
      );
    });
  }

  /** Opens a new tab and attaches to it. */
  async newPage(width = 900, height = 1000): Promise<ChromiumPage> {
    const { targetId } = await this.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.send("Target.attachToTarget", { targetId, flatten: true });
    const page = new ChromiumPage(this, sessionId);
    await page.send("Page.enable");
    await page.send("Runtime.enable");
    await page.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    });
    return page;
  }

  /** Console messages and exceptions of a page session so far, as text lines. */
  consoleOf(sessionId: string): string[] {
    return this.#events.filter((e) => e.sessionId === sessionId).flatMap((e) => {
      if (e.method === "Runtime.consoleAPICalled") {
        return [
          `console.${e.params.type}: ${
            e.params.args.map((a: Json) => a.value ?? a.description ?? "").join(" ")
          }`,
        ];
      }
      if (e.method === "Runtime.exceptionThrown") {
        const d = e.params.exceptionDetails;
        return [`exception: ${d.exception?.description ?? d.text}`];
      }
      return [];
    });
  }

  /** Kills the browser, waits for it to exit and removes its profile. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#socket.close();
    } catch {
      // ignore
    }
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await this.#child.status;
    await this.#stderr;
    await this.#socketClosed;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** One tab. */
export class ChromiumPage {
  #browser: Chromium;
  /** The DevTools session id of this tab. */
  readonly sessionId: string;

  constructor(browser: Chromium, sessionId: string) {
    this.#browser = browser;
    this.sessionId = sessionId;
  }

  /** Sends a command to this tab. */
  send(method: string, params: Json = {}): Promise<Json> {
    return this.#browser.send(method, params, this.sessionId);
  }

  /** Navigates and waits until the document has loaded. */
  async goto(url: string, timeoutMs = 10_000): Promise<void> {
    const result = await this.send("Page.navigate", { url });
    if (result.errorText) throw new Error(`Could not open ${url}: ${result.errorText}`);
    await this.waitFor("document.readyState === 'complete'", timeoutMs, `${url} loaded`);
  }

  /** Evaluates an expression in the page (awaiting promises) and returns its value. */
  async evaluate<T = Json>(expression: string): Promise<T> {
    const result = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    });
    if (result.exceptionDetails) {
      throw new Error(
        `Page threw: ${
          result.exceptionDetails.exception?.description ?? result.exceptionDetails.text
        }`,
      );
    }
    return result.result.value as T;
  }

  /** Polls `expression` until it is truthy. */
  async waitFor(expression: string, timeoutMs: number, label = expression): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!(await this.evaluate<boolean>(`Boolean(${expression})`))) {
      if (performance.now() > deadline) {
        throw new Error(`Timed out after ${timeoutMs} ms waiting for: ${label}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Clicks the element matching `selector` (a real mouse click at its centre). */
  async click(selector: string): Promise<void> {
    const box = await this.evaluate<{ x: number; y: number } | null>(`(() => {
      const el = document.querySelector(${JSON.stringify(selector)});
      if (!el) return null;
      const r = el.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
    })()`);
    if (box === null) throw new Error(`No element matches ${selector}.`);
    for (const type of ["mousePressed", "mouseReleased"]) {
      await this.send("Input.dispatchMouseEvent", {
        type,
        x: box.x,
        y: box.y,
        button: "left",
        clickCount: 1,
      });
    }
  }

  /** A PNG screenshot of the viewport. */
  async screenshot(): Promise<Uint8Array> {
    const { data } = await this.send("Page.captureScreenshot", { format: "png" });
    const binary = atob(data);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }
}

/**
 * The flags of a softphone test: the microphone allowed without asking and
 * faked (Chromium's tone, or the WAV file `microphoneWav`), and the caller's
 * audio played without a click.
 */
export function softphoneFlags(microphoneWav?: string): string[] {
  return [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    ...(microphoneWav === undefined ? [] : [`--use-file-for-fake-audio-capture=${microphoneWav}`]),
    "--autoplay-policy=no-user-gesture-required",
  ];
}

/**
 * The softphone as a caller opens it: Chromium with {@link softphoneFlags}
 * (`microphoneWav` as the microphone, if given) on a new page at `url`. Closes
 * the browser if the page does not open.
 */
export async function openSoftphone(
  executable: string,
  url: string,
  microphoneWav?: string,
): Promise<{ browser: Chromium; page: ChromiumPage }> {
  const browser = await Chromium.launch({ executable, args: softphoneFlags(microphoneWav) });
  try {
    const page = await browser.newPage();
    await page.goto(url);
    return { browser, page };
  } catch (error) {
    await browser.close();
    throw error;
  }
}
