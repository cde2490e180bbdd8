export type Severity = "critical" | "warning" | "info";

export type RecordingRule = { record: string; expr: string };

export type AlertingRule = {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: Severity } & Record<string, string>;
  annotations: { summary: string; description: string; runbook_url: string };
};

export type Rule = RecordingRule | AlertingRule;

/** A Prometheus rule group, in the shape of a rule file and of PrometheusRule.spec.groups. */
export type RuleGroup = { name: string; rules: Rule[] };

export function isAlert(rule: Rule): rule is AlertingRule {
  return "alert" in rule;
}
