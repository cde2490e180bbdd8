import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chartFilesDir, generatedDir, readAssets } from "../monitoring/assets.ts";

/** Copies dashboards/generated/ into charts/canopy/files/, where the chart and the operator read it. */
if (!existsSync(generatedDir)) {
  console.error(`gen:chart: ${generatedDir} does not exist yet; generate the dashboards first`);
  process.exit(1);
}
const assets = readAssets(generatedDir);
rmSync(join(chartFilesDir, "dashboards"), { recursive: true, force: true });
mkdirSync(join(chartFilesDir, "dashboards"), { recursive: true });
if (assets.prometheusRule !== undefined)
  writeFileSync(join(chartFilesDir, "prometheusrule.yaml"), assets.prometheusRule);
for (const [name, json] of Object.entries(assets.dashboards)) {
  writeFileSync(join(chartFilesDir, "dashboards", name), json);
}
console.log(
  `gen:chart: copied ${assets.prometheusRule ? "prometheusrule.yaml and " : ""}${Object.keys(assets.dashboards).length} dashboards into ${chartFilesDir}`,
);
