import {
  GraphThresholdsStyleConfigBuilder,
  GraphThresholdsStyleMode,
} from "@grafana/grafana-foundation-sdk/common";
import {
  type Dashboard,
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  type DataSourceRef,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
} from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import type { DashboardSpec, PanelSpec, VariableSpec } from "./spec.ts";

/** Every panel and variable queries the data source picked in the `datasource` variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template literal.
const datasource: DataSourceRef = { type: "prometheus", uid: "${datasource}" };

function queries(panel: PanelSpec) {
  return panel.queries.map((q, i) =>
    new DataqueryBuilder()
      .expr(q.expr)
      .legendFormat(q.legend)
      .refId(String.fromCharCode(65 + i))
      .datasource(datasource),
  );
}

function thresholds(panel: PanelSpec) {
  const t = panel.thresholds ?? { base: "green", steps: [] };
  return new ThresholdsConfigBuilder()
    .mode(ThresholdsMode.Absolute)
    .steps([{ value: null, color: t.base }, ...t.steps]);
}

function panelBuilder(panel: PanelSpec, id: number) {
  const builder =
    panel.type === "stat"
      ? new stat.PanelBuilder()
      : new timeseries.PanelBuilder()
          .fillOpacity(10)
          .thresholdsStyle(
            new GraphThresholdsStyleConfigBuilder().mode(
              panel.thresholds ? GraphThresholdsStyleMode.Dashed : GraphThresholdsStyleMode.Off,
            ),
          );
  builder
    .id(id)
    .title(panel.title)
    .description(panel.description)
    .datasource(datasource)
    .unit(panel.unit)
    .thresholds(thresholds(panel))
    .span(panel.width ?? 8)
    .height(8)
    .targets(queries(panel));
  if (panel.min !== undefined) builder.min(panel.min);
  if (panel.max !== undefined) builder.max(panel.max);
  return builder;
}

function variable(v: VariableSpec) {
  return (
    new QueryVariableBuilder(v.name)
      .label(v.label)
      .description(v.description)
      .datasource(datasource)
      .query(`label_values(${v.metric}, ${v.labelName})`)
      .refresh(VariableRefresh.OnTimeRangeChanged)
      .sort(VariableSort.AlphabeticalAsc)
      .multi(true)
      .includeAll(true)
      // "All" selects every value, and also series without the label (a Prometheus outside Kubernetes).
      .allValue(".*")
      .current({ selected: true, text: "All", value: "$__all" })
  );
}

/** The Grafana dashboard JSON of a spec. */
export function grafanaDashboard(spec: DashboardSpec): Dashboard {
  const builder = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags(spec.tags)
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh("30s")
    .time({ from: "now-3h", to: "now" })
    .timezone("browser")
    .link(
      new DashboardLinkBuilder("Canopy")
        .type(DashboardLinkType.Dashboards)
        .tags(["canopy"])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true),
    )
    .withVariable(new DatasourceVariableBuilder("datasource").label("Data source").type("prometheus"));
  for (const v of spec.variables) builder.withVariable(variable(v));
  let id = 1;
  for (const row of spec.rows) {
    builder.withRow(new RowBuilder(row.title).id(id++));
    for (const panel of row.panels) builder.withPanel(panelBuilder(panel, id++));
  }
  return builder.build();
}
