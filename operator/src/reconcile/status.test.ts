import { describe, expect, it } from "vitest";
import { validateSpec } from "../validate.ts";
import { conditions } from "./status.ts";

describe("status conditions", () => {
  const ready = { status: "True" as const, reason: "Available", message: "" };
  const idle = { status: "False" as const, reason: "Reconciled", message: "" };
  const fine = { status: "False" as const, reason: "AsExpected", message: "" };

  it("keep lastTransitionTime while a condition's status holds, and move it when it changes", () => {
    const first = conditions(
      undefined,
      { Ready: ready, Progressing: idle, Degraded: fine },
      1,
      "2026-01-01T00:00:00.000Z",
    );
    const degraded = { status: "True" as const, reason: "MigrationFailed", message: "x" };
    const later = conditions(
      first,
      { Ready: ready, Progressing: idle, Degraded: degraded },
      2,
      "2026-01-02T00:00:00.000Z",
    );
    expect(later.find((c) => c.type === "Ready")).toMatchObject({
      lastTransitionTime: "2026-01-01T00:00:00.000Z",
      observedGeneration: 2,
    });
    expect(later.find((c) => c.type === "Degraded")).toMatchObject({
      status: "True",
      reason: "MigrationFailed",
      lastTransitionTime: "2026-01-02T00:00:00.000Z",
    });
  });
});

describe("spec validation beyond the CRD schema", () => {
  it.each([
    [
      { autoscaling: { minReplicas: 12 } },
      "autoscaling.minReplicas (12) must not exceed autoscaling.maxReplicas (10)",
    ],
    [
      { postgres: { external: { secretName: "db" }, instances: 3 } },
      "postgres: set either postgres.external",
    ],
    [
      { redis: { external: { secretName: "r" }, cluster: {} } },
      "redis: set either redis.external or redis.cluster",
    ],
    [{ auth: { jwksUrl: "https://keys" } }, "auth.jwksUrl needs auth.secretName"],
  ])("refuses %j", (spec, message) => {
    expect(validateSpec({ version: "1", ...spec }).join("; ")).toContain(message);
  });

  it("accepts the defaults", () => {
    expect(validateSpec({ version: "1" })).toEqual([]);
  });
});
