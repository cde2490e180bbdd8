import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { prometheusRule } from "./kubernetes.ts";
import { packageRoot } from "./paths.ts";
import { toYaml } from "./render.ts";

/** promtool comes with Debian's `prometheus` package; CI installs it and must not skip. */
function findPromtool(): string | undefined {
  const found = spawnSync("sh", ["-c", "command -v promtool"], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

const promtool = findPromtool();
if (!promtool && process.env.CI === "true") {
  throw new Error(
    "promtool is missing: .ci/run installs it (apt-get install prometheus); CI must not skip these tests",
  );
}

function run(args: string[]) {
  const result = spawnSync(promtool ?? "promtool", args, { cwd: packageRoot, encoding: "utf8" });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

describe.skipIf(!promtool)("promtool", () => {
  it("checks the rule file: every expression parses, names and labels are valid", () => {
    const { code, output } = run(["check", "rules", "rules/canopy.rules.yaml"]);
    expect(output).toContain("SUCCESS");
    expect(code, output).toBe(0);
  });

  it("checks the PrometheusRule's groups as a rule file too", () => {
    const dir = mkdtempSync(join(tmpdir(), "canopy-rules-"));
    writeFileSync(join(dir, "spec.yaml"), toYaml({ groups: prometheusRule().spec.groups }));
    const { code, output } = run(["check", "rules", join(dir, "spec.yaml")]);
    expect(code, output).toBe(0);
  });

  it("passes every unit test: each alert fires on its synthetic series and stays quiet on the others", () => {
    const tests = readdirSync(join(packageRoot, "rules/tests"))
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => `rules/tests/${f}`);
    expect(tests.length).toBeGreaterThan(0);
    const { code, output } = run(["test", "rules", ...tests]);
    expect(code, output).toBe(0);
    expect(output).not.toContain("FAILED");
  });

  it("reports a broken expectation (the unit tests can fail)", () => {
    const dir = mkdtempSync(join(tmpdir(), "canopy-rules-"));
    const file = join(dir, "broken.yaml");
    writeFileSync(
      file,
      toYaml({
        rule_files: [join(packageRoot, "rules/canopy.rules.yaml")],
        evaluation_interval: "1m",
        tests: [
          {
            interval: "1m",
            input_series: [{ series: 'up{job="canopy", namespace="prod", instance="a:1"}', values: "0x20" }],
            alert_rule_test: [{ eval_time: "15m", alertname: "CanopyInstanceDown", exp_alerts: [] }],
          },
        ],
      }),
    );
    const { code, output } = run(["test", "rules", file]);
    expect(code).not.toBe(0);
    expect(output).toContain("FAILED");
  });
});
