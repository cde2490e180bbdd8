import { defaultConfig, type MonitoringConfig } from "../config.ts";
import { availabilityAlerts } from "./availability.ts";
import { databaseAlerts } from "./database.ts";
import { latencyAlerts } from "./latency.ts";
import { sloAlerts, sloRecordingRules } from "./slo.ts";
import type { RuleGroup } from "./types.ts";

/** Every recording and alerting rule, in the shape of a rule file's `groups:`. */
export function ruleGroups(config: MonitoringConfig = defaultConfig): RuleGroup[] {
  return [
    sloRecordingRules(config),
    sloAlerts(config),
    latencyAlerts(config),
    databaseAlerts(config),
    availabilityAlerts(config),
  ];
}
