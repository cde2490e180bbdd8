import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { defaultConfig } from "./config.ts";
import { packageRoot } from "./paths.ts";
import { ruleGroups } from "./rules/index.ts";
import { runbookAnchor } from "./rules/runbook.ts";
import { isAlert } from "./rules/types.ts";

const rules = ruleGroups().flatMap((g) => g.rules);
const alerts = rules.filter(isAlert);
const runbook = readFileSync(join(packageRoot, "RUNBOOK.md"), "utf8");
const runbookSections = [...runbook.matchAll(/^## (.+)$/gm)].map((m) => m[1] ?? "");

type AlertTest = { alertname: string; exp_alerts?: unknown[] };
type UnitTests = { tests: { alert_rule_test?: AlertTest[] }[] };
const unitTests = readdirSync(join(packageRoot, "rules/tests"))
  .filter((f) => f.endsWith(".yaml"))
  .flatMap((f) => {
    const file = parse(readFileSync(join(packageRoot, "rules/tests", f), "utf8"), {
      merge: true,
    }) as UnitTests;
    return file.tests.flatMap((t) => t.alert_rule_test ?? []);
  });

describe("alerting rules", () => {
  it("have unique names", () => {
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
  });

  it.each(alerts.map((a) => [a.alert, a] as const))(
    "%s has a severity, a for, a summary and a description",
    (_, a) => {
      expect(["critical", "warning", "info"]).toContain(a.labels.severity);
      expect(a.for).toMatch(/^\d+[smhd]$/);
      expect(a.annotations.summary.length).toBeGreaterThan(10);
      expect(a.annotations.description.length).toBeGreaterThan(20);
    },
  );

  it.each(alerts.map((a) => [a.alert, a] as const))("%s links to its own section of RUNBOOK.md", (_, a) => {
    expect(a.annotations.runbook_url).toBe(`${defaultConfig.runbookUrl}#${a.alert.toLowerCase()}`);
    expect(runbookSections.map(runbookAnchor)).toContain(a.annotations.runbook_url.split("#")[1]);
  });

  it("RUNBOOK.md has a section for every alert and none for alerts that are gone", () => {
    expect(runbookSections.sort()).toEqual(alerts.map((a) => a.alert).sort());
  });

  it.each(alerts.map((a) => a.alert))(
    "%s has promtool unit tests where it fires and where it stays quiet",
    (name) => {
      const cases = unitTests.filter((t) => t.alertname === name);
      expect(
        cases.some((t) => (t.exp_alerts ?? []).length > 0),
        "a case where it fires",
      ).toBe(true);
      expect(
        cases.some((t) => (t.exp_alerts ?? []).length === 0),
        "a case where it stays quiet",
      ).toBe(true);
    },
  );

  it("read only recording rules that exist", () => {
    const recorded = new Set(rules.flatMap((r) => ("record" in r ? [r.record] : [])));
    for (const a of alerts) {
      for (const name of a.expr.match(/canopy:[a-z_]+:[a-z0-9_]+/g) ?? []) expect(recorded).toContain(name);
    }
  });

  it("select the API's series through the configured selector only", () => {
    for (const r of rules) {
      for (const sel of r.expr.match(/\b(?:http_|canopy_|up\b)[a-z_]*\{[^}]*\}/g) ?? []) {
        expect(sel, r.expr).toContain(defaultConfig.apiSelector[0]);
      }
    }
  });
});
