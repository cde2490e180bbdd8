import { describe, expect, it } from "vitest";
import { defaultConfig } from "./config.ts";
import { dashboards } from "./dashboards/index.ts";
import { panelQueries } from "./dashboards/spec.ts";

// biome-ignore lint/suspicious/noExplicitAny: the tests walk Grafana's JSON field by field.
type Json = any;
const built = dashboards();
const overview = built.find((d) => d.spec.uid === "canopy-overview");
if (!overview) throw new Error("no overview dashboard");

function jsonPanels(json: Json): Json[] {
  return (json.panels as Json[]).filter((p) => p.type !== "row");
}

describe.each(built.map((d) => [d.spec.uid, d] as const))("dashboard %s", (_, d) => {
  const json = d.json as Json;

  it("has the data source, namespace and instance variables", () => {
    const names = json.templating.list.map((v: Json) => v.name);
    expect(names.slice(0, 3)).toEqual(["datasource", "namespace", "instance"]);
    expect(json.templating.list[0]).toMatchObject({ type: "datasource", query: "prometheus" });
    for (const v of json.templating.list.slice(1)) {
      expect(v).toMatchObject({ type: "query", includeAll: true, allValue: ".*" });
      expect(v.query).toMatch(/^label_values\(.+, [a-z_]+\)$/);
    }
  });

  it("queries the chosen data source in every panel and target", () => {
    for (const p of jsonPanels(json)) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template literal.
      expect(p.datasource).toEqual({ type: "prometheus", uid: "${datasource}" });
      for (const t of p.targets) expect(t.datasource).toEqual(p.datasource);
    }
  });

  it("has unique panel ids and refIds", () => {
    const ids = json.panels.map((p: Json) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of jsonPanels(json)) {
      const refs = p.targets.map((t: Json) => t.refId);
      expect(new Set(refs).size).toBe(refs.length);
      expect(refs.every((r: string) => /^[A-Z]$/.test(r))).toBe(true);
    }
  });

  it("carries exactly the queries of its spec (the ones the Prometheus test evaluates)", () => {
    const fromJson = jsonPanels(json).flatMap((p: Json) =>
      p.targets.map((t: Json) => `${p.title}: ${t.expr}`),
    );
    const fromSpec = panelQueries(d.spec).map(({ panel, query }) => `${panel.title}: ${query.expr}`);
    expect(fromJson).toEqual(fromSpec);
  });

  it("narrows service queries by the selector, namespace and instance, Kubernetes ones by namespace", () => {
    for (const { panel, query } of panelQueries(d.spec)) {
      expect(query.expr).toContain('namespace=~"$namespace"');
      if (panel.source === "service") {
        expect(query.expr).toContain(defaultConfig.apiSelector[0]);
        expect(query.expr).toContain('instance=~"$instance"');
      }
    }
  });
});

describe("the overview", () => {
  const exprs = panelQueries(overview.spec).map((q) => q.query.expr);
  const panels = jsonPanels(overview.json as Json);

  it.each([
    "http_requests_total",
    "http_request_duration_seconds_bucket",
    "canopy_cache_requests_total",
    "canopy_db_query_duration_seconds_bucket",
    "canopy_db_slow_queries_total",
    "canopy_db_pool_connections",
    "canopy_replica_lag_seconds",
    "kube_deployment_status_replicas",
    "container_cpu_usage_seconds_total",
    "kube_pod_container_resource_requests",
  ])("shows %s", (metric) => {
    expect(exprs.some((e) => e.includes(`${metric}{`))).toBe(true);
  });

  it("draws the 300 ms and 500 ms objectives on every request latency panel", () => {
    const latency = panels.filter((p: Json) =>
      p.targets.some((t: Json) => t.expr.includes("http_request_duration")),
    );
    expect(latency.length).toBe(4);
    for (const p of latency) {
      expect(p.fieldConfig.defaults.thresholds.steps.map((s: Json) => s.value)).toEqual([null, 0.3, 0.5]);
      expect(p.fieldConfig.defaults.custom.thresholdsStyle.mode).not.toBe("off");
    }
  });

  it.each([
    ["canopy_cache_requests_total", 0.95],
    ["canopy_replica_lag_seconds", 1],
    ["container_cpu_usage_seconds_total", 0.7],
    ['status=~"5.."', 0.001],
  ])("draws the objective on the %s panels at %s", (needle, value) => {
    const matching = panels.filter((p: Json) => p.targets.some((t: Json) => t.expr.includes(needle)));
    expect(matching.length).toBeGreaterThan(0);
    for (const p of matching) {
      expect(p.fieldConfig.defaults.thresholds.steps.map((s: Json) => s.value)).toContain(value);
      expect(p.fieldConfig.defaults.custom.thresholdsStyle.mode).not.toBe("off");
    }
  });

  it("shows P50, P95 and P99 per route", () => {
    for (const q of [0.5, 0.95, 0.99]) {
      expect(exprs).toContain(
        `histogram_quantile(${q}, sum by (le, route) (rate(http_request_duration_seconds_bucket{${defaultConfig.apiSelector[0]}, namespace=~"$namespace", instance=~"$instance"}[$__rate_interval])))`,
      );
    }
  });
});
