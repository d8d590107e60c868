/**
 * A webhook receiver for tests: a local server on port 0 that checks each
 * delivery with the npm `standardwebhooks` library (as a business's receiver
 * would) and answers with the given statuses in turn (then 200; a refused
 * signature: 401).
 *
 * @module
 */
import { Webhook } from "standardwebhooks";
import { sleep } from "./bridge_harness.ts";

/** The secret the receivers verify with by default. */
export const WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/** One delivery received. */
export interface Received {
  id: string | null;
  body: string;
  /** What the npm `standardwebhooks` verifier made of it (the payload), or its error. */
  verified: unknown;
  headers: Headers;
  at: number;
}

/** A receiver answering `statuses` in turn (then 200). */
export function receiver(
  statuses: number[],
  options: { delayMs?: number[]; secret?: string } = {},
) {
  const received: Received[] = [];
  const answeredAt: number[] = [];
  const verifier = new Webhook(options.secret ?? WEBHOOK_SECRET);
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const n = received.length;
    const body = await req.text();
    let verified: unknown;
    try {
      verified = verifier.verify(body, Object.fromEntries(req.headers));
    } catch (error) {
      verified = error;
    }
    received.push({
      id: req.headers.get("webhook-id"),
      body,
      verified,
      headers: req.headers,
      at: performance.now(),
    });
    const delay = options.delayMs?.[n];
    if (delay) await sleep(delay);
    answeredAt.push(performance.now());
    if (verified instanceof Error) return new Response(null, { status: 401 });
    return new Response(null, { status: statuses[n] ?? 200 });
  });
  const url = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/hooks`;
  return { server, url, received, answeredAt };
}
