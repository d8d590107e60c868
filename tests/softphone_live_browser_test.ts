/**
 * The softphone's live call view in a real browser: Debian's headless
 * Chromium calls the bridge, whose OpenAI side is the tests' fake Realtime
 * server scripting a caller turn (with its transcript), a tool call and a
 * spoken answer the caller interrupts. The page must show the transcript,
 * the tool call with its arguments, result and duration, the turn's latency,
 * the barge-in (the unheard words struck through), a running timer and the
 * call id.
 */
import assert from "node:assert/strict";
import type { ToolDefinition } from "../src/tools/tool_registry.ts";
import { AgentBook } from "../src/agents/agent_book.ts";
import { environmentProfile } from "../src/agents/agent_profile.ts";
import { HttpTool } from "../src/agents/http_tool.ts";
import { parseConfig } from "../src/config/mod.ts";
import { BridgeHarness, sleep, TEST_API_KEY } from "./support/bridge_harness.ts";
import { Chromium, openSoftphone } from "./support/chromium.ts";
import { requireCommand } from "./support/system_tools.ts";

const SCREENSHOT_DIR = new URL("../test-output/", import.meta.url);
const ANSWER =
  "We have a two-bedroom flat on Elm Road, available from March, viewings on Tuesdays.";

type Live = {
  open: boolean;
  callId: string | null;
  agent: string | null;
  events: number;
  turns: {
    role: string;
    itemId: string | null;
    text: string;
    heard: string | null;
    latencyMs: number | null;
  }[];
  tools: {
    name: string;
    arguments: string;
    output: string | null;
    durationMs: number | null;
    failed: boolean;
  }[];
  bargeIns: number;
  outcome: string | null;
};

Deno.test({
  name:
    "browser softphone: the live view shows the transcript, a tool call, latency and a barge-in",
  sanitizeOps: true,
  sanitizeResources: true,
  fn: async () => {
    const chromiumPath = await requireCommand("/usr/bin/chromium", "chromium");
    const listings: ToolDefinition = {
      declaration: {
        type: "function",
        name: "lookup_listings",
        description: "Finds flats to let.",
        parameters: { type: "object" },
      },
      async handler(args) {
        await sleep(150);
        return { matches: [{ street: "Elm Road 4", beds: args.beds, from: "March" }] };
      },
    };
    // The script answers the caller and barges in as the server itself would (INTERRUPTION_RESUME=false).
    await using h = await BridgeHarness.start({
      SOFTPHONE: "on",
      LOG_LEVEL: "error",
      INTERRUPTION_RESUME: "false",
    }, {
      app: { tools: [listings] },
    });
    let browser: Chromium | undefined;
    try {
      const opened = await openSoftphone(chromiumPath, h.server.localUrl + "/");
      browser = opened.browser;
      const page = opened.page;
      assert.equal(await page.evaluate("softphone.notice"), null, "127.0.0.1 is a secure context");
      await page.click("#call");

      const session = await h.realtime.nextSession();
      await session.waitFor("session.update");
      await page.waitFor("softphone.live.callId !== null", 10_000, "the live view opens");
      session.userTurn("Do you have a two-bedroom flat?");
      await session.respond({
        items: [{ functionCall: { name: "lookup_listings", arguments: '{"beds":2}' } }],
      }).ended;
      await session.waitFor("response.create");
      // A 4 s answer, generated faster than it plays (like the model); the caller
      // interrupts it after about 1.5 s of playing.
      const answer = session.respond({
        items: [{ audioMs: 4000, value: 0x35, transcript: ANSWER }],
      });
      await page.waitFor(
        "softphone.live.turns.some((t) => t.role === 'assistant' && t.latencyMs !== null)",
        5_000,
        "the answer starts playing",
      );
      await answer.ended;
      await sleep(1500);
      session.speechStarted();
      await page.waitFor(
        "softphone.live.turns.some((t) => t.heard !== null)",
        5_000,
        "the interrupted answer is shown with its unheard part",
      );
      const during = await page.evaluate<Live>("structuredClone(softphone.live)");
      const shown = await page.evaluate<
        { transcript: string; struck: string; tools: string; callId: string; timer: string }
      >(
        `({
          transcript: document.getElementById("transcript").innerText,
          struck: [...document.querySelectorAll("#transcript s")].map((s) => s.textContent).join(""),
          tools: document.getElementById("tools").innerText,
          callId: document.getElementById("call-id").textContent,
          timer: document.getElementById("call-timer").textContent,
        })`,
      );
      await Deno.mkdir(SCREENSHOT_DIR, { recursive: true });
      const screenshot = new URL("softphone_live_view.png", SCREENSHOT_DIR);
      await Deno.writeFile(screenshot, await page.screenshot());
      console.log(`Softphone screenshot (live view): ${screenshot.pathname}`);

      await page.click("#hangup");
      await page.waitFor("softphone.live.outcome !== null", 5_000, "the live view hears the end");
      const after = await page.evaluate<Live>("structuredClone(softphone.live)");

      // The transcript: the caller's words, then the assistant's answer.
      const caller = during.turns.find((t) => t.role === "caller");
      assert.equal(caller?.text, "Do you have a two-bedroom flat?");
      const assistant = during.turns.find((t) => t.role === "assistant");
      assert.equal(assistant?.text, ANSWER);
      assert.match(shown.transcript, /You\s*Do you have a two-bedroom flat\?/);
      // The barge-in: the caller heard the start, the rest is struck through.
      assert.ok(during.bargeIns >= 1);
      assert.ok(
        assistant.heard !== null && assistant.heard.length > 0 &&
          assistant.heard.length < ANSWER.length,
        `heard part: "${assistant.heard}"`,
      );
      assert.equal(shown.struck, ANSWER.slice(assistant.heard.length));
      assert.ok(ANSWER.startsWith(assistant.heard));
      // The turn's latency: caller stopped → first audio, which waited for the tool.
      assert.ok(
        assistant.latencyMs !== null && assistant.latencyMs >= 150,
        `latency ${assistant.latencyMs} ms`,
      );
      // The tool call, with its arguments, result and duration.
      assert.equal(during.tools.length, 1);
      const [tool] = during.tools;
      assert.equal(tool.name, "lookup_listings");
      assert.equal(tool.arguments, '{"beds":2}');
      assert.deepEqual(JSON.parse(tool.output ?? "null"), {
        matches: [{ street: "Elm Road 4", beds: 2, from: "March" }],
      });
      assert.ok(tool.durationMs !== null && tool.durationMs >= 140, `${tool.durationMs} ms`);
      assert.match(shown.tools, /lookup_listings/);
      assert.match(shown.tools, /\{"beds":2\}/);
      assert.match(shown.tools, /Elm Road 4/);
      assert.match(shown.tools, /\d+ ms/);
      // The call id and a running timer.
      assert.equal(shown.callId, `${during.callId} · agent default`);
      assert.match(during.callId ?? "", /^SP[0-9a-f]{32}$/);
      assert.match(shown.timer, /^0:0[1-9]$/);
      assert.equal(after.outcome, "caller_hung_up");
      assert.equal(after.open, false, "the page closed its EventSource");
      assert.deepEqual(session.schemaErrors, []);
    } finally {
      await browser?.close();
    }
  },
});

Deno.test({
  name:
    "browser softphone: clear messages for a page over plain http on a LAN name and for no microphone",
  sanitizeOps: true,
  sanitizeResources: true,
  fn: async () => {
    const chromiumPath = await requireCommand("/usr/bin/chromium", "chromium");
    // The softphone answers only loopback names and PUBLIC_URL's host (DNS rebinding): the LAN
    // name is PUBLIC_URL's host here, so the page is served and can say what is wrong.
    await using h = await BridgeHarness.start({
      SOFTPHONE: "on",
      LOG_LEVEL: "error",
      PUBLIC_URL: "https://softphone.lan.test",
    });
    const port = new URL(h.server.localUrl).port;
    // A LAN name over plain http: not a secure context, so no microphone.
    let browser = await Chromium.launch({
      executable: chromiumPath,
      args: [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        "--host-resolver-rules=MAP softphone.lan.test 127.0.0.1",
      ],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`http://softphone.lan.test:${port}/`);
      await page.waitFor("softphone.notice !== null", 5_000, "the insecure-page notice");
      const notice = await page.evaluate<string>("softphone.notice");
      assert.match(notice, /plain http at softphone\.lan\.test/);
      assert.match(notice, new RegExp(`http://localhost:${port}/`));
      assert.match(notice, /https/);
      assert.equal(await page.evaluate("document.getElementById('notice').hidden"), false);
      assert.equal(await page.evaluate("document.getElementById('call').disabled"), true);
    } finally {
      await browser.close();
    }
    // No capture device at all: the page says so, and a call attempt says what to do.
    browser = await Chromium.launch({
      executable: chromiumPath,
      args: ["--use-fake-ui-for-media-stream"],
    });
    try {
      const page = await browser.newPage();
      await page.goto(h.server.localUrl + "/");
      await page.waitFor("softphone.notice !== null", 5_000, "the no-microphone notice");
      assert.match(await page.evaluate<string>("softphone.notice"), /No microphone found/);
      await page.click("#call");
      await page.waitFor("softphone.error !== null", 5_000, "the call attempt fails");
      assert.match(
        await page.evaluate<string>("softphone.error"),
        /No microphone found\. Connect one/,
      );
      assert.equal(
        await page.evaluate("softphone.live.open"),
        false,
        "no live view without a call",
      );
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "browser softphone: a tool whose backend is down is marked failed on its card",
  sanitizeOps: true,
  sanitizeResources: true,
  fn: async () => {
    const chromiumPath = await requireCommand("/usr/bin/chromium", "chromium");
    // A closed port: the backend is down.
    const closed = Deno.listen({ port: 0, hostname: "127.0.0.1" });
    const port = (closed.addr as Deno.NetAddr).port;
    closed.close();
    const stock = new HttpTool({
      name: "stock_check",
      description: "Checks the stock.",
      parameters: { type: "object", properties: { sku: { type: "string" } } },
      method: "GET",
      url: `http://127.0.0.1:${port}/stock/{sku}`,
      headers: {},
      timeoutMs: 2000,
    }).definition();
    await using h = await BridgeHarness.start({ SOFTPHONE: "on", LOG_LEVEL: "error" }, {
      app: { tools: [stock] },
    });
    const browser = await Chromium.launch({
      executable: chromiumPath,
      args: ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"],
    });
    try {
      const page = await browser.newPage();
      await page.goto(h.server.localUrl + "/");
      await page.click("#call");
      const session = await h.realtime.nextSession();
      await session.waitFor("session.update");
      await page.waitFor("softphone.live.callId !== null", 10_000, "the live view opens");
      await session.respond({
        items: [{ functionCall: { name: "stock_check", arguments: '{"sku":"A7"}' } }],
      }).ended;
      await page.waitFor(
        "softphone.live.tools.some((t) => t.durationMs !== null)",
        5_000,
        "the tool's result reaches the page",
      );
      const card = await page.evaluate<{ failed: boolean; classes: string; text: string }>(
        `({
          failed: softphone.live.tools[0].failed,
          classes: document.querySelector("#tools li").className,
          text: document.querySelector("#tools li").innerText,
        })`,
      );
      assert.equal(card.failed, true);
      assert.match(card.classes, /\bfailed\b/);
      assert.match(card.text, /stock_check[\s\S]*· failed/);
      assert.match(card.text, /unreachable/);
      await page.click("#hangup");
      await page.waitFor("softphone.live.outcome !== null", 5_000, "the live view hears the end");
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name:
    "browser softphone: end_call gets its result, a long unbroken word (tool result, transcript) stays in the card, the agent picker is locked during a call",
  sanitizeOps: true,
  sanitizeResources: true,
  fn: async () => {
    const chromiumPath = await requireCommand("/usr/bin/chromium", "chromium");
    // One JSON "word" far wider than the card: no space to wrap at.
    const blob = "Q".repeat(120) + "-" + "7".repeat(200);
    const dump: ToolDefinition = {
      declaration: {
        type: "function",
        name: "dump_record",
        description: "Returns the whole record.",
        parameters: { type: "object" },
      },
      handler: () => Promise.resolve({ record: blob }),
    };
    const config = parseConfig({ OPENAI_API_KEY: TEST_API_KEY });
    const front = environmentProfile(config);
    const agents = {
      book: new AgentBook([front, { ...front, name: "sales" }], "agents.yaml"),
    };
    await using h = await BridgeHarness.start(
      { SOFTPHONE: "on", LOG_LEVEL: "error", END_CALL_GRACE_SECONDS: "0.2" },
      { app: { tools: [dump], agents, softphoneNotice: "Offline demo: a stand-in answers." } },
    );
    let browser: Chromium | undefined;
    try {
      const opened = await openSoftphone(chromiumPath, h.server.localUrl + "/");
      browser = opened.browser;
      const page = opened.page;
      await page.waitFor(
        "!document.getElementById('agent-picker').hidden",
        5_000,
        "the agent picker (two agents)",
      );
      // The server's note (the offline demo says its Realtime API is a stand-in) is shown.
      assert.equal(await page.evaluate("softphone.info"), "Offline demo: a stand-in answers.");
      assert.equal(await page.evaluate("document.getElementById('info').hidden"), false);
      assert.equal(
        await page.evaluate("document.getElementById('info').textContent"),
        "Offline demo: a stand-in answers.",
      );
      const pickerLocked = "document.getElementById('agent').disabled";
      assert.equal(await page.evaluate(pickerLocked), false, "a choice before the call");
      await page.click("#call");
      const session = await h.realtime.nextSession();
      await session.waitFor("session.update");
      await page.waitFor("softphone.live.callId !== null", 10_000, "the live view opens");
      assert.equal(await page.evaluate(pickerLocked), true, "no choice during the call");

      await session.respond({
        items: [{ functionCall: { name: "dump_record", arguments: "{}" } }],
      }).ended;
      await page.waitFor(
        "softphone.live.tools.some((t) => t.output !== null)",
        5_000,
        "the tool's result",
      );
      // The assistant reads out a reference: one long word in the transcript too.
      await session.waitFor("response.create");
      await session.respond({
        items: [{ audioMs: 300, value: 0x35, transcript: `Your reference is ${blob}.` }],
      }).ended;
      await page.waitFor(
        "softphone.live.turns.some((t) => t.role === 'assistant' && t.text.includes('reference'))",
        5_000,
        "the answer's transcript",
      );
      const fit = await page.evaluate<
        { cardRight: number; overflowing: string[]; resultLines: number }
      >(
        `(() => {
          const card = document.getElementById("live").getBoundingClientRect();
          const boxes = [...document.querySelectorAll(
            "#transcript, #transcript li, #transcript li *, #tools li, #tools li *",
          )];
          const result = document.querySelector("#tools .result");
          return {
            cardRight: card.right,
            overflowing: boxes
              .filter((b) => b.getBoundingClientRect().right > card.right + 0.5 || b.scrollWidth > b.clientWidth + 1)
              .map((b) => b.className || b.tagName),
            resultLines: Math.round(result.getBoundingClientRect().height / parseFloat(getComputedStyle(result).lineHeight)),
          };
        })()`,
      );
      assert.deepEqual(
        fit.overflowing,
        [],
        "nothing in the transcript or a tool card runs past the card's edge",
      );
      assert.ok(fit.resultLines > 1, `the long result wraps (${fit.resultLines} lines)`);

      // The assistant ends the call: end_call's card gets its result, not "running…".
      await session.respond({
        items: [{ functionCall: { name: "end_call", arguments: '{"reason":"done"}' } }],
      }).ended;
      await session.waitFor(
        "response.create",
        (e) => /goodbye/i.test(String(e.response?.instructions ?? "")),
      );
      await session.respond({ items: [{ audioMs: 300, value: 0x41, transcript: "Goodbye!" }] })
        .ended;
      await page.waitFor("softphone.live.outcome !== null", 10_000, "the call ends");
      await page.waitFor(`!${pickerLocked}`, 5_000, "the picker is free again after the call");
      const after = await page.evaluate<Live>("structuredClone(softphone.live)");
      assert.equal(after.outcome, "assistant_ended");
      const endCall = after.tools.find((t) => t.name === "end_call");
      assert.deepEqual(JSON.parse(endCall?.output ?? "null"), { ok: true });
      assert.equal(endCall?.failed, false);
      const cards = await page.evaluate<string>("document.getElementById('tools').innerText");
      assert.doesNotMatch(cards, /running…/);
      assert.deepEqual(session.schemaErrors, []);
    } finally {
      await browser?.close();
    }
  },
});
