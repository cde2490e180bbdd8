import type { MonitoringConfig } from "../config.ts";

/** GitHub's anchor for a `## Heading` made of letters and digits: the heading in lower case. */
export function runbookAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, "")
    .replace(/ /g, "-");
}

/** The alert's own section of RUNBOOK.md, headed by the alert's name. */
export function runbook(config: MonitoringConfig, alert: string): string {
  return `${config.runbookUrl}#${runbookAnchor(alert)}`;
}
