import type { MonitoringConfig } from "../config.ts";
import { cacheHitRatio, errorRatio } from "../promql.ts";
import { runbook } from "./runbook.ts";
import type { AlertingRule, RecordingRule, RuleGroup, Severity } from "./types.ts";

/**
 * Multi-window, multi-burn-rate alerts as in the Google SRE workbook: a long window proves the
 * budget is really burning, a short one that it still is (so the alert resolves soon after).
 * 14.4x over 1h spends 2% of a 30-day budget; 6x over 6h 5%; 3x over 1d 10%; 1x over 3d 10%.
 */
export const burnRates = {
  fast: [
    { long: "1h", short: "5m", factor: 14.4 },
    { long: "6h", short: "30m", factor: 6 },
  ],
  slow: [
    { long: "1d", short: "2h", factor: 3 },
    { long: "3d", short: "6h", factor: 1 },
  ],
};

type BurnRate = { long: string; short: string; factor: number };

const seconds = (w: string) =>
  Number.parseInt(w, 10) * ({ m: 60, h: 3600, d: 86400 }[w.slice(-1)] ?? Number.NaN);

/** Every window the burn-rate alerts read, shortest first. */
const windows = [
  ...new Set(Object.values(burnRates).flatMap((rs) => rs.flatMap((r) => [r.short, r.long]))),
].sort((a, b) => seconds(a) - seconds(b));

export const errorRatioRecord = (window: string) => `canopy:http_request_errors:ratio_rate${window}`;
export const cacheMissRatioRecord = (window: string) => `canopy:cache_misses:ratio_rate${window}`;

/** 1 - 0.999 is 0.0010000000000000009 in floating point; rules should read 0.001. */
function budget(target: number): number {
  return Number((1 - target).toPrecision(12));
}

function burning(record: (w: string) => string, budgetShare: number, rates: BurnRate[]): string {
  return rates
    .map((r) => {
      const threshold = `(${r.factor} * ${budgetShare})`;
      return `(${record(r.long)} > ${threshold} and ${record(r.short)} > ${threshold})`;
    })
    .join("\nor\n");
}

function describeRates(rates: BurnRate[]): string {
  return rates.map((r) => `${r.factor}x over ${r.long} and ${r.short}`).join(", or ");
}

export function sloRecordingRules(config: MonitoringConfig): RuleGroup {
  const rules: RecordingRule[] = [];
  for (const w of windows) {
    rules.push({
      record: errorRatioRecord(w),
      expr: errorRatio(config, config.apiSelector, config.groupBy, w),
    });
  }
  for (const w of windows) {
    rules.push({
      record: cacheMissRatioRecord(w),
      expr: `1 - (${cacheHitRatio(config.apiSelector, [...config.groupBy, "cache"], w)})`,
    });
  }
  return { name: "canopy-slo.recording", rules };
}

function burnAlert(
  config: MonitoringConfig,
  spec: {
    alert: string;
    record: (w: string) => string;
    target: number;
    rates: BurnRate[];
    severity: Severity;
    for: string;
    summary: string;
    what: string;
    where: string;
  },
): AlertingRule {
  const share = budget(spec.target);
  return {
    alert: spec.alert,
    expr: burning(spec.record, share, spec.rates),
    for: spec.for,
    labels: { severity: spec.severity },
    annotations: {
      summary: spec.summary,
      description:
        `${spec.where}: {{ $value | humanizePercentage }} ${spec.what} over the long window, ` +
        `against a budget of ${share * 100}% (objective ${spec.target * 100}%). ` +
        `Burn rate above ${describeRates(spec.rates)}.`,
      runbook_url: runbook(config, spec.alert),
    },
  };
}

export function sloAlerts(config: MonitoringConfig): RuleGroup {
  const where = "{{ $labels.namespace }}/{{ $labels.job }}";
  const errors = {
    record: errorRatioRecord,
    target: config.slo.availability,
    what: "of /v1 requests answered with a 5xx",
    where,
  };
  const cache = {
    record: cacheMissRatioRecord,
    target: config.slo.cacheHitRatio,
    what: "of look-ups missed every layer",
    where: `${where} {{ $labels.cache }} cache`,
  };
  return {
    name: "canopy-slo.alerts",
    rules: [
      burnAlert(config, {
        ...errors,
        alert: "CanopyErrorBudgetFastBurn",
        rates: burnRates.fast,
        severity: "critical",
        for: "2m",
        summary: "Canopy is spending its 5xx error budget fast: the budget is gone within days",
      }),
      burnAlert(config, {
        ...errors,
        alert: "CanopyErrorBudgetSlowBurn",
        rates: burnRates.slow,
        severity: "warning",
        for: "15m",
        summary: "Canopy is spending its 5xx error budget faster than it can afford over 30 days",
      }),
      burnAlert(config, {
        ...cache,
        alert: "CanopyCacheHitRatioFastBurn",
        rates: burnRates.fast,
        severity: "warning",
        for: "5m",
        summary: "A Canopy cache misses far more than its 5% budget: reads fall through to Postgres",
      }),
      burnAlert(config, {
        ...cache,
        alert: "CanopyCacheHitRatioSlowBurn",
        rates: burnRates.slow,
        severity: "info",
        for: "30m",
        summary: "A Canopy cache stays below its 95% hit-ratio objective",
      }),
    ],
  };
}
