import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chartFilesDir, generatedDir, readAssets } from "../../operator/src/monitoring/assets.ts";
import { find, monitoringApis, parseYaml as parse, renderChart } from "../../operator/src/testing/render.ts";
import { validateObject } from "../../operator/src/testing/schemas.ts";

const generated = existsSync(generatedDir);

describe("the chart ships the alerts and dashboards generated from dashboards/", () => {
  it.skipIf(!generated)(
    "charts/canopy/files matches dashboards/generated (run `pnpm --filter @canopy/operator gen:chart`)",
    () => {
      expect(readAssets(chartFilesDir)).toEqual(readAssets(generatedDir));
    },
  );

  it.skipIf(!generated)(
    "renders them as a valid PrometheusRule and a Grafana dashboards ConfigMap",
    async () => {
      const objects = await renderChart("canopy", { apiVersions: monitoringApis });
      const assets = readAssets(chartFilesDir);
      if (assets.prometheusRule !== undefined) {
        const rule = find(objects, "PrometheusRule");
        expect(validateObject(rule)).toMatchObject({ ok: true });
        expect(rule.spec.groups.length).toBeGreaterThan(0);
      }
      // The same content as the dashboards package's own Kubernetes forms.
      const generatedRule = parse(readFileSync(join(generatedDir, "prometheusrule.yaml"), "utf8"));
      expect(find(objects, "PrometheusRule").spec).toEqual(generatedRule.spec);
      const generatedConfigMap = parse(readFileSync(join(generatedDir, "dashboards-configmap.yaml"), "utf8"));
      expect(find(objects, "ConfigMap").data).toEqual(generatedConfigMap.data);
      const names = Object.keys(assets.dashboards);
      if (names.length > 0) {
        const cm = find(objects, "ConfigMap");
        expect(cm.metadata.labels?.grafana_dashboard).toBe("1");
        expect(Object.keys(cm.data).sort()).toEqual(names);
        for (const n of names) expect(() => JSON.parse(cm.data[n])).not.toThrow();
      }
    },
  );
});
