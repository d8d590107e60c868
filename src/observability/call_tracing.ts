/**
 * OpenTelemetry spans for calls and assistant turns, through
 * `@opentelemetry/api`. Without a registered tracer provider the API is a
 * no-op; run with `OTEL_DENO=true` and Deno (2.4 and later) exports the spans
 * over OTLP together with what it instruments itself (`Deno.serve`, `fetch`).
 *
 * Spans (same names as the metrics):
 * - `bridge_call`: one per call, from the media stream opening to both
 *   sockets closed; attributes `call.sid`, `call.outcome`, `call.reason`,
 *   `call.barge_ins`, `call.turns`, token counts; status ERROR for
 *   `openai_error`/`bridge_error`.
 * - `bridge_assistant_turn`: one per OpenAI response, child of the call span,
 *   from `response.created` to `response.done`; attributes `response.id`,
 *   `response.status`, `turn.first_audio_ms` (from the response's start) and
 *   `turn.latency_ms` (from the caller's end of speech), `turn.interrupted`.
 *
 * @module
 */
import { context, type Span, SpanStatusCode, trace, type Tracer } from "@opentelemetry/api";
import type { CallObserver } from "../bridge/call_observer.ts";

/** Name of the span of a call. */
export const CALL_SPAN = "bridge_call";
/** Name of the span of one assistant turn (response). */
export const TURN_SPAN = "bridge_assistant_turn";

/** Options of {@link CallTracing}. */
export interface CallTracingOptions {
  /** Default `trace.getTracer("phone-bridge")` (a no-op unless a provider is registered). */
  tracer?: Tracer;
}

/**
 * Creates the spans of each call.
 *
 * @example
 * ```ts
 * import { CallTracing } from "./call_tracing.ts";
 * const tracing = new CallTracing(); // no provider registered: spans are no-ops
 * const observer = tracing.observeCall(0);
 * observer.observe({ kind: "response_started", responseId: "resp_1" }, 10);
 * ```
 */
export class CallTracing {
  #tracer: Tracer;

  /** Uses the given tracer or the global one. */
  constructor(options: CallTracingOptions = {}) {
    this.#tracer = options.tracer ?? trace.getTracer("phone-bridge");
  }

  /** The observer of one call that started at `startedAt` (ms, the runner's clock). */
  observeCall(startedAt: number): CallObserver {
    const tracer = this.#tracer;
    const wallStart = Date.now();
    const callSpan = tracer.startSpan(CALL_SPAN, { startTime: wallStart });
    const callContext = trace.setSpan(context.active(), callSpan);
    const turns = new Map<string, { span: Span; startedAt: number; audio: boolean }>();
    let speechStoppedAt: number | undefined;
    let current: string | undefined;
    const wall = (now: number) => wallStart + (now - startedAt);
    return {
      observe: (event, now) => {
        switch (event.kind) {
          case "response_started": {
            const span = tracer.startSpan(TURN_SPAN, {
              startTime: wall(now),
              attributes: { "response.id": event.responseId },
            }, callContext);
            turns.set(event.responseId, { span, startedAt: now, audio: false });
            current = event.responseId;
            return;
          }
          case "assistant_audio_started": {
            const turn = turns.get(event.responseId);
            if (turn === undefined || turn.audio) return;
            turn.audio = true;
            turn.span.setAttribute("turn.first_audio_ms", Math.round(now - turn.startedAt));
            if (speechStoppedAt !== undefined) {
              turn.span.setAttribute("turn.latency_ms", Math.round(now - speechStoppedAt));
              speechStoppedAt = undefined;
            }
            return;
          }
          case "caller_speech_stopped":
            speechStoppedAt = now;
            return;
          case "barge_in": {
            const turn = current === undefined ? undefined : turns.get(current);
            turn?.span.setAttribute("turn.interrupted", true);
            callSpan.addEvent("barge_in", { truncates: event.truncates }, wall(now));
            return;
          }
          case "response_done": {
            const turn = turns.get(event.responseId);
            if (turn === undefined) return;
            turns.delete(event.responseId);
            if (current === event.responseId) current = undefined;
            turn.span.setAttributes({
              "response.status": event.status,
              "tokens.input_text": event.usage.inputTextTokens,
              "tokens.input_audio": event.usage.inputAudioTokens,
              "tokens.input_cached": event.usage.inputCachedTokens,
              "tokens.output_text": event.usage.outputTextTokens,
              "tokens.output_audio": event.usage.outputAudioTokens,
            });
            if (event.status === "failed") turn.span.setStatus({ code: SpanStatusCode.ERROR });
            turn.span.end(wall(now));
            return;
          }
          case "openai_error":
            callSpan.addEvent("openai_error", { code: event.code }, wall(now));
            return;
          default:
            return;
        }
      },
      finished: (summary) => {
        const end = summary.endedAt.getTime();
        for (const turn of turns.values()) {
          turn.span.setAttribute("response.status", "unfinished");
          turn.span.end(end);
        }
        turns.clear();
        callSpan.setAttributes({
          "call.sid": summary.callSid ?? "",
          "call.outcome": summary.outcome,
          "call.reason": summary.reason,
          "call.duration_ms": summary.durationMs,
          "call.barge_ins": summary.stats.bargeIns,
          "call.responses": summary.stats.responses,
          "call.tool_calls": summary.stats.toolCalls,
          "tokens.input_text": summary.usage.inputTextTokens,
          "tokens.input_audio": summary.usage.inputAudioTokens,
          "tokens.output_text": summary.usage.outputTextTokens,
          "tokens.output_audio": summary.usage.outputAudioTokens,
        });
        if (summary.outcome === "openai_error" || summary.outcome === "bridge_error") {
          callSpan.setStatus({ code: SpanStatusCode.ERROR, message: summary.reason });
        }
        callSpan.end(end);
      },
    };
  }
}
