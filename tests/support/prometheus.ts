import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./postgres.ts";

/** Debian's `prometheus` package; .ci/run installs it when missing. */
export function findPrometheus(): string | undefined {
  const found = spawnSync("sh", ["-c", "command -v prometheus || ls /usr/bin/prometheus"], {
    encoding: "utf8",
  });
  return found.status === 0 ? found.stdout.trim().split("\n")[0] : undefined;
}

export type PromSample = { metric: Record<string, string>; value: [number, string] };
export type PromAnswer =
  | { status: "success"; data: { resultType: string; result: PromSample[] | [number, string] } }
  | { status: "error"; errorType: string; error: string };

export type RunningPrometheus = {
  url: string;
  query: (expr: string) => Promise<PromAnswer>;
  get: <T>(path: string) => Promise<T>;
  output: () => string;
  stop: () => Promise<void>;
};

/**
 * A real Prometheus on a free loopback port, with its own config and data folder, scraping
 * the given targets every second and evaluating the given rule files every second. Never the
 * packaged service on :9090.
 */
export async function startPrometheus(options: {
  binary: string;
  job: string;
  targets: string[];
  ruleFiles: string[];
}): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), "canopy-prometheus-"));
  const port = await freePort();
  // JSON is YAML: no YAML library needed for Prometheus's config.
  const config = {
    global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
    rule_files: options.ruleFiles,
    scrape_configs: [{ job_name: options.job, static_configs: [{ targets: options.targets }] }],
  };
  writeFileSync(join(dir, "prometheus.yml"), JSON.stringify(config, null, 2));
  const args = [
    options.binary,
    `--config.file=${join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
  ];
  // Dies with the test process, even one killed before its afterAll.
  const [command = "", ...rest] =
    process.platform === "linux" ? ["setpriv", "--pdeathsig=SIGTERM", "--", ...args] : args;
  const child: ChildProcess = spawn(command, rest, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    return (await res.json()) as T;
  };
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus was not ready within 30 s:\n${output}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    get,
    query: (expr) => get<PromAnswer>(`/api/v1/query?query=${encodeURIComponent(expr)}`),
    output: () => output,
    stop,
  };
}

/** Grafana's template variables, as the dashboards' "All" and a 1 s scrape interval make them. */
export function substituteGrafanaVariables(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "1m")
    .replaceAll("$__interval", "1m")
    .replaceAll("$__range", "5m")
    .replace(/\$\{?[a-z_]+\}?/gi, ".*");
}

const keywords = new Set([
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "inf",
  "nan",
]);

/**
 * The metric names a PromQL expression reads: identifiers outside label matchers, strings,
 * ranges and grouping clauses that are not function calls or keywords.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    const name = m[1] ?? "";
    if (!keywords.has(name.toLowerCase())) names.add(name);
  }
  return [...names];
}
