/** A dashboard as data: the builder turns it into Grafana JSON, the tests read its queries. */

export type Query = { expr: string; legend: string };

export type PanelSpec = {
  title: string;
  description: string;
  type: "timeseries" | "stat";
  unit: string;
  queries: Query[];
  /** Drawn as lines on a time series and as colours on a stat: `base` below the first step. */
  thresholds?: { base: string; steps: { value: number; color: string }[] };
  min?: number;
  max?: number;
  /** Out of Grafana's 24 columns. */
  width?: number;
  /**
   * Where the series come from: the API's own /metrics, or kube-state-metrics and cAdvisor,
   * which a cluster provides and a test Prometheus does not have.
   */
  source: "service" | "kubernetes";
  /** A part of the service that must be running before the series exist. */
  needs?: "cache" | "replica";
};

export type RowSpec = { title: string; panels: PanelSpec[] };

/** A query variable: the values of `label` on the series `metric` selects. */
export type VariableSpec = {
  name: string;
  label: string;
  description: string;
  metric: string;
  labelName: string;
};

export type DashboardSpec = {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  variables: VariableSpec[];
  rows: RowSpec[];
};

/** Every query of every panel, with the panel it belongs to. */
export function panelQueries(spec: DashboardSpec): { panel: PanelSpec; query: Query }[] {
  return spec.rows.flatMap((row) =>
    row.panels.flatMap((panel) => panel.queries.map((query) => ({ panel, query }))),
  );
}
