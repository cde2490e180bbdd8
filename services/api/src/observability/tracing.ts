import {
  type Context,
  context,
  DiagLogLevel,
  diag,
  isSpanContextValid,
  propagation,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import type { Config } from "../config.ts";
import type { Logger } from "./logger.ts";

/** Every span of the service comes from this tracer: a no-op until startTracing registers an SDK. */
export const tracer = trace.getTracer("canopy");

// Shared options, so that starting a no-op span allocates nothing but the span.
export const serverSpan: SpanOptions = { kind: SpanKind.SERVER };
const clientSpan: SpanOptions = { kind: SpanKind.CLIENT };

/**
 * A client span (a statement, a Redis call) under the active span; none outside one, so the
 * background polls make no traces of their own and no SDK means no span at all.
 */
export function childSpan(name: string): Span | undefined {
  return trace.getActiveSpan() === undefined ? undefined : tracer.startSpan(name, clientSpan);
}

export type Tracing = { shutdown(): Promise<void> };

let sdkRunning = false;
/** Whether an SDK records spans: requests then all take the traced path (see routes/warm-check.ts). */
export const tracingStarted = () => sdkRunning;

/**
 * Starts the OpenTelemetry SDK, exporting spans in batches over OTLP/HTTP (JSON), when an endpoint
 * is configured. The SDK and the exporter are imported only then: the default run never loads them.
 * The SDK reads the other standard variables itself (OTEL_BSP_*, OTEL_TRACES_SAMPLER, headers).
 */
export async function startTracing(
  config: Pick<Config, "tracing">,
  logger?: Logger,
): Promise<Tracing | undefined> {
  const { endpoint, serviceName } = config.tracing;
  if (!endpoint) return undefined;
  if (logger) {
    // The SDK reports failed exports (an unreachable collector, say) through its diagnostic logger.
    const warn = (message: string, ...args: unknown[]) =>
      logger.warn(
        { detail: args.map((a) => (a instanceof Error ? a.message : a)) },
        `opentelemetry: ${message}`,
      );
    const ignore = () => {};
    diag.setLogger({ error: warn, warn, info: ignore, debug: ignore, verbose: ignore }, DiagLogLevel.WARN);
  }
  const [sdk, otlp, resources] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
  ]);
  const provider = new sdk.NodeTracerProvider({
    resource: resources
      .defaultResource()
      .merge(resources.resourceFromAttributes({ "service.name": serviceName })),
    spanProcessors: [
      // OTEL_EXPORTER_OTLP_ENDPOINT is the base URL: the traces path goes after it, as the spec says.
      new sdk.BatchSpanProcessor(
        new otlp.OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, "")}/v1/traces` }),
      ),
    ],
  });
  // Registers the provider, an AsyncLocalStorage context manager and the W3C propagators.
  provider.register();
  sdkRunning = true;
  return {
    async shutdown() {
      try {
        await provider.shutdown();
      } finally {
        sdkRunning = false;
        trace.disable();
        context.disable();
        propagation.disable();
        diag.disable();
      }
    },
  };
}

const w3c = new W3CTraceContextPropagator();
/** Looks a request header up by its lower-case name. */
export type HeaderLookup = (name: string) => string | undefined;

const headerGetter: TextMapGetter<HeaderLookup> = {
  get: (lookup, key) => lookup(key),
  keys: () => ["traceparent", "tracestate"],
};

/**
 * The caller's W3C trace context (traceparent, tracestate). Read with the propagator itself rather
 * than the global one, so an incoming trace id reaches the logs even when no SDK runs.
 */
export function extractContext(lookup: HeaderLookup): Context {
  return w3c.extract(context.active(), lookup, headerGetter);
}

/** The trace id of the caller's traceparent, if it sent a valid one. */
export function callerTraceId(lookup: HeaderLookup): string | undefined {
  const spanContext = trace.getSpanContext(extractContext(lookup));
  return spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

/** The span's trace id, or undefined for a span outside any trace (no SDK and no traceparent). */
export function traceIdOf(span: Span | undefined): string | undefined {
  const spanContext = span?.spanContext();
  return spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

/** The trace id of the active span; only set while an SDK propagates context. */
export const activeTraceId = () => traceIdOf(trace.getActiveSpan());

/**
 * Marks a span failed by the error's code or class, never its message: a database error's message
 * can quote a parameter.
 */
export function failSpan(span: Span | undefined, err: unknown) {
  if (!span?.isRecording()) return;
  const e = err as { code?: unknown; name?: unknown } | undefined;
  span.setAttribute("error.type", String(e?.code ?? e?.name ?? "Error"));
  span.setStatus({ code: SpanStatusCode.ERROR });
}
