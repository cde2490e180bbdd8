import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The alerts and dashboards generated from dashboards/ (by its own generator), copied into the
 * chart's files/ by `pnpm --filter @canopy/operator gen:chart`. The chart templates and the
 * operator's builders both read this one copy; the image keeps the repository's layout.
 */
export const repoDir = fileURLToPath(new URL("../../../", import.meta.url));
export const generatedDir = join(repoDir, "dashboards/generated");
export const chartFilesDir = join(repoDir, "charts/canopy/files");

export type MonitoringAssets = { prometheusRule?: string; dashboards: Record<string, string> };

/** What a generated folder holds: the rule file and every dashboard JSON. */
export function readAssets(dir: string): MonitoringAssets {
  const rule = join(dir, "prometheusrule.yaml");
  const dashboardsDir = existsSync(join(dir, "dashboards")) ? join(dir, "dashboards") : dir;
  const dashboards: Record<string, string> = {};
  if (existsSync(dashboardsDir)) {
    for (const f of readdirSync(dashboardsDir)
      .filter((f) => f.endsWith(".json"))
      .sort()) {
      dashboards[f] = readFileSync(join(dashboardsDir, f), "utf8");
    }
  }
  return { prometheusRule: existsSync(rule) ? readFileSync(rule, "utf8") : undefined, dashboards };
}
