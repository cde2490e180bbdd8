/**
 * Every selector, target and threshold the dashboards and rules use, in one place (as the
 * prometheus-operator mixins do). Generators take a config, so a chart or an operator can
 * render the same dashboards and rules for other names.
 */
export type MonitoringConfig = {
  /**
   * Label matchers that select the API's own series (its /metrics). The chart's ServiceMonitor
   * names the job after the Service: `canopy`, or `<release>-canopy`.
   */
  apiSelector: string[];
  /** Labels that alerts and recording rules keep when they aggregate across instances. */
  groupBy: string[];
  /** The routes the SLOs cover: the API, not /metrics, /healthz or /readyz. */
  sloRoutes: string;
  slo: {
    /** Share of /v1 requests answered without a 5xx. */
    availability: number;
    /** Share of cache look-ups answered by some cache layer. */
    cacheHitRatio: number;
    latency: { quantile: number; seconds: number }[];
  };
  /** STALENESS_BOUND_MS: how stale a read may be; replica lag beyond it makes a replica useless. */
  stalenessBoundSeconds: number;
  /** SLOW_QUERY_MS, drawn on statement latency panels. */
  slowQuerySeconds: number;
  /** Slow statements of one name per second, sustained, that make a burst. */
  slowQueryBurstPerSecond: number;
  /** Clients waiting for a pool connection, on average over the window, that mean saturation. */
  poolWaitingClients: number;
  /** kube-state-metrics and cAdvisor series of the API's Deployment (not the service's metrics). */
  kubernetes: {
    deployment: string;
    hpa: string;
    pod: string;
    container: string;
    /** The HPA's target average CPU utilisation (of requests). */
    cpuTarget: number;
  };
  /** RUNBOOK.md as on-call opens it; each alert links to its own section. */
  runbookUrl: string;
};

export const defaultConfig: MonitoringConfig = {
  apiSelector: ['job=~"(.+-)?canopy"'],
  groupBy: ["namespace", "job"],
  sloRoutes: "/v1/.*",
  slo: {
    availability: 0.999,
    cacheHitRatio: 0.95,
    latency: [
      { quantile: 0.95, seconds: 0.3 },
      { quantile: 0.99, seconds: 0.5 },
    ],
  },
  stalenessBoundSeconds: 1,
  slowQuerySeconds: 0.1,
  slowQueryBurstPerSecond: 0.2,
  poolWaitingClients: 1,
  kubernetes: {
    deployment: "(.+-)?canopy",
    hpa: "(.+-)?canopy",
    pod: "(.+-)?canopy-[a-z0-9]+-[a-z0-9]+",
    container: "api",
    cpuTarget: 0.7,
  },
  runbookUrl: "https://github.com/canopy-dev/canopy/blob/main/dashboards/RUNBOOK.md",
};

/** The latency objective for a quantile (0.95 -> 300 ms); throws if the config has none. */
export function latencyObjective(config: MonitoringConfig, quantile: number): number {
  const found = config.slo.latency.find((l) => l.quantile === quantile);
  if (!found) throw new Error(`no latency objective for quantile ${quantile}`);
  return found.seconds;
}
