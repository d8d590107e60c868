/**
 * The HTTP routes Twilio calls during transfers, as one table (path →
 * handler); every one is POST only and refuses a request whose
 * `X-Twilio-Signature` does not match (403) before it reads the token:
 *
 * | Route | Twilio calls it | Answer |
 * |---|---|---|
 * | `/transfer/briefing?t=` | the person answered (the leg's `Url`) | TwiML: briefing in `<Gather>` |
 * | `/transfer/answer?t=` | the `<Gather>` action (`Digits`) | TwiML: `<Conference>` or goodbye |
 * | `/transfer/status?t=` | the leg's `StatusCallback` (`CallStatus`) | 204 |
 * | `/transfer/amd?t=` | the leg's `AsyncAmdStatusCallback` (`AnsweredBy`) | 204 |
 * | `/transfer/conference?t=` | the person's `<Conference statusCallback>` (`participant-join`) | 204 |
 * | `/transfer/dial-ended?t=` | a cold transfer's `<Dial action>` (`DialCallStatus`) | TwiML |
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { CallAdmission } from "../security/call_admission.ts";
import { readSignedWebhook } from "../http/signed_webhook.ts";
import type { ColdTransfers } from "./cold_transfer.ts";
import type { WarmTransfers } from "./warm_transfers.ts";
import { TRANSFER_ROUTES } from "./transfer_paths.ts";

/** Options of {@link createTransferRoutes}. */
export interface TransferRoutesOptions {
  admission: CallAdmission;
  /** `PUBLIC_URL`, or undefined to take the public origin from each request's Host. */
  publicUrl: string | undefined;
  /** Undefined: warm transfers are off (their routes answer 404). */
  warm: WarmTransfers | undefined;
  cold: ColdTransfers;
  logger: Logger;
}

type Handler = (
  form: URLSearchParams,
  token: string | null,
  base: { http: string; ws: string },
  query: URLSearchParams,
) => string | undefined | Promise<string | undefined>;

/** A handler answered with no body (204), after `work` is done. */
function noContent(
  work: (form: URLSearchParams, token: string | null) => void | Promise<unknown>,
): Handler {
  return async (form, token) => {
    await work(form, token);
    return undefined;
  };
}

/** The transfer routes: a response, or undefined when the path is not one of them. */
export function createTransferRoutes(
  options: TransferRoutesOptions,
): (request: Request, path: string) => Promise<Response> | undefined {
  const { warm, cold } = options;
  const table: Record<string, Handler | undefined> = {
    [TRANSFER_ROUTES.briefing]: warm && ((form, token) => warm.briefing(token, form)),
    [TRANSFER_ROUTES.answer]: warm && ((form, token) => warm.answer(token, form)),
    // A callback relayed to another instance is answered once relayed (its order is kept).
    [TRANSFER_ROUTES.status]: warm && noContent((form, token) => warm.status(token, form)),
    [TRANSFER_ROUTES.amd]: warm && noContent((form, token) => warm.amd(token, form)),
    [TRANSFER_ROUTES.conference]: warm && noContent((form, token) => warm.conference(token, form)),
    [TRANSFER_ROUTES.dialEnded]: (form, _token, base, query) => cold.dialEnded(query, form, base),
  };

  async function serve(request: Request, path: string, handler: Handler): Promise<Response> {
    if (request.method !== "POST") {
      return new Response("Method not allowed: Twilio calls this route with POST.\n", {
        status: 405,
        headers: { allow: "POST" },
      });
    }
    const signed = await readSignedWebhook(request, {
      admission: options.admission,
      publicUrl: options.publicUrl,
      refused: (refusal) => {
        if (refusal !== "too_large") {
          options.logger.warn("Refused a transfer callback: {refusal}.", { refusal, path });
        }
      },
    });
    if (signed instanceof Response) return signed;
    const { form, base } = signed;
    const query = new URL(request.url).searchParams;
    const twiml = await handler(form, query.get("t"), base, query);
    return twiml === undefined
      ? new Response(null, { status: 204 })
      : new Response(twiml, { headers: { "content-type": "text/xml; charset=utf-8" } });
  }

  return (request, path) => {
    if (!Object.hasOwn(table, path)) return undefined;
    const handler = table[path];
    if (handler === undefined) {
      return Promise.resolve(
        new Response("Warm transfers are off on this server.\n", { status: 404 }),
      );
    }
    return serve(request, path, handler);
  };
}
