import type { MonitoringConfig } from "../config.ts";
import {
  apiReplicas,
  cacheHitRatioByCache,
  cacheHitRatioByLayer,
  cpuAgainstTarget,
  errorRatioPanel,
  eventLoopLag,
  instancesUp,
  latencyByRoute,
  latencyPercentiles,
  poolUtilizationPanel,
  poolWaiting,
  processCpu,
  replicaLag,
  requestRateByRoute,
  responsesByStatus,
  slowStatements,
  statementLatencyByTarget,
} from "./panels/index.ts";
import type { DashboardSpec } from "./spec.ts";
import { scopeVariables } from "./variables.ts";

/** What on-call opens first: the four SLOs, then the data layer and capacity behind them. */
export function overview(config: MonitoringConfig): DashboardSpec {
  return {
    uid: "canopy-overview",
    title: "Canopy / Overview",
    description: "Canopy API for on-call: SLOs (errors, latency, cache), the data layer and capacity.",
    tags: ["canopy"],
    variables: scopeVariables(config),
    rows: [
      {
        title: "Traffic and errors",
        panels: [requestRateByRoute(config), responsesByStatus(config), errorRatioPanel(config)],
      },
      {
        title: "Latency",
        panels: [
          { ...latencyPercentiles(config), width: 12 },
          { ...latencyByRoute(config, 0.5), width: 12 },
          { ...latencyByRoute(config, 0.95), width: 12 },
          { ...latencyByRoute(config, 0.99), width: 12 },
        ],
      },
      {
        title: "Cache",
        panels: [
          { ...cacheHitRatioByCache(config), width: 12 },
          { ...cacheHitRatioByLayer(config), width: 12 },
        ],
      },
      {
        title: "Database",
        panels: [
          statementLatencyByTarget(config),
          slowStatements(config),
          replicaLag(config),
          poolUtilizationPanel(config),
          poolWaiting(config),
        ],
      },
      {
        title: "Capacity",
        panels: [
          apiReplicas(config),
          cpuAgainstTarget(config),
          instancesUp(config),
          processCpu(config),
          eventLoopLag(config),
        ],
      },
    ],
  };
}
