import { latencyObjective, type MonitoringConfig } from "../../config.ts";
import type { PanelSpec } from "../spec.ts";

/** Grafana's rate window: at least four scrape intervals, whatever the scrape interval is. */
export const R = "$__rate_interval";

export function latencyLines(config: MonitoringConfig): PanelSpec["thresholds"] {
  return {
    base: "green",
    steps: [
      { value: latencyObjective(config, 0.95), color: "orange" },
      { value: latencyObjective(config, 0.99), color: "red" },
    ],
  };
}

/** For ratios where higher is better: red below the objective. */
export function floor(value: number): PanelSpec["thresholds"] {
  return { base: "red", steps: [{ value, color: "green" }] };
}

export function ceiling(value: number): PanelSpec["thresholds"] {
  return { base: "green", steps: [{ value, color: "red" }] };
}

export const pct = (x: number) => `${Number((x * 100).toPrecision(6))}%`;
