import { trace } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../config.ts";
import { activeTraceId, childSpan, extractContext, startTracing, traceIdOf, tracer } from "./tracing.ts";

const traceId = "0af7651916cd43dd8448eb211c80319c";
const parentId = "b7ad6b7169203331";

describe("tracing without an OTLP endpoint", () => {
  it("starts no SDK: the default configuration leaves startTracing with nothing to do", async () => {
    const parsed = parseConfig({});
    expect(parsed.ok && parsed.config.tracing).toEqual({ endpoint: undefined, serviceName: "canopy" });
    if (!parsed.ok) return;
    expect(await startTracing(parsed.config)).toBeUndefined();
  });

  it("OTEL_SDK_DISABLED=true wins over an endpoint", () => {
    const parsed = parseConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_SDK_DISABLED: "TRUE",
    });
    expect(parsed.ok && parsed.config.tracing.endpoint).toBeUndefined();
    const enabled = parseConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_SERVICE_NAME: "x",
    });
    expect(enabled.ok && enabled.config.tracing).toEqual({
      endpoint: "http://collector:4318",
      serviceName: "x",
    });
  });

  it("refuses an endpoint that is not an http(s) URL", () => {
    const parsed = parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" });
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.problems.some((p) => p.startsWith("OTEL_EXPORTER_OTLP_ENDPOINT"))).toBe(true);
  });

  it("an incoming traceparent still names the request's trace, through the no-op span", () => {
    const parent = extractContext(
      (name) => new Headers({ traceparent: `00-${traceId}-${parentId}-01` }).get(name) ?? undefined,
    );
    expect(trace.getSpanContext(parent)).toMatchObject({ traceId, spanId: parentId, isRemote: true });
    const span = tracer.startSpan("GET", {}, parent);
    expect(span.isRecording()).toBe(false);
    expect(traceIdOf(span)).toBe(traceId);
  });

  it("a missing or malformed traceparent leaves the request outside any trace", () => {
    const cases: Record<string, string>[] = [
      {},
      { traceparent: "garbage" },
      { traceparent: `00-${"0".repeat(32)}-${parentId}-01` },
    ];
    for (const headers of cases) {
      const span = tracer.startSpan(
        "GET",
        {},
        extractContext((name) => new Headers(headers).get(name) ?? undefined),
      );
      expect(traceIdOf(span)).toBeUndefined();
    }
  });

  it("makes no client spans and knows no active trace without an SDK", () => {
    expect(childSpan("structures.get")).toBeUndefined();
    expect(activeTraceId()).toBeUndefined();
  });
});
