import { migrationsFolder, openPostgres } from "@canopy/api";
import { dashboards, isAlert, type PanelSpec, panelQueries, ruleGroups } from "@canopy/dashboards";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testSecret } from "../support/app.ts";
import { type Running, runCli, startServer } from "../support/process.ts";
import {
  findPrometheus,
  metricNames,
  type PromSample,
  type RunningPrometheus,
  startPrometheus,
  substituteGrafanaVariables,
} from "../support/prometheus.ts";
import { startPrimaryWithReplica } from "../support/replica.ts";

/**
 * Every PromQL expression of every dashboard panel and every rule, evaluated by a real
 * Prometheus scraping two real API processes after a short load: none may error, every panel
 * on the service's own metrics must return series, and every metric name must be one that
 * something really exports (so a typo fails here).
 */

const binary = findPrometheus();
if (!binary && process.env.CI === "true") {
  throw new Error(
    "prometheus is missing: .ci/run installs it (apt-get install prometheus); CI must not skip this test",
  );
}

const job = "canopy"; // what the chart's ServiceMonitor names the job; the selectors match it
const rulesFile = new URL("../../dashboards/rules/canopy.rules.yaml", import.meta.url).pathname;

/** Series a cluster provides (kube-state-metrics, cAdvisor) but this test's Prometheus does not. */
const kubernetesMetrics = new Set([
  "kube_deployment_status_replicas",
  "kube_deployment_status_replicas_available",
  "kube_horizontalpodautoscaler_status_desired_replicas",
  "kube_horizontalpodautoscaler_spec_max_replicas",
  "kube_pod_container_resource_requests",
  "container_cpu_usage_seconds_total",
]);

const servers: Running[] = [];
let prometheus: RunningPrometheus | undefined;
let drop: (() => Promise<void>) | undefined;
/** Metric names the scraped instances declare (their # TYPE lines, with histogram series) and `up`. */
const exported = new Set<string>(["up"]);
/** Parts of the service that run in this test, judged by whether their metrics have series. */
const running = { cache: false, replica: false };

type Call = { method: string; path: string; body?: unknown; expect: number };

async function call(server: Running, token: string, c: Call) {
  const res = await fetch(`${server.url}${c.path}`, {
    method: c.method,
    headers: { authorization: `Bearer ${token}`, ...(c.body ? { "content-type": "application/json" } : {}) },
    body: c.body ? JSON.stringify(c.body) : undefined,
  });
  const body = res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text();
  const logs = res.status >= 500 ? `\n${server.output().slice(-3000)}` : "";
  expect(res.status, `${c.method} ${c.path}: ${JSON.stringify(body)}${logs}`).toBe(c.expect);
  return body as { id: string };
}

/** Runs calls over both servers in turn, a few at a time. */
async function spread(token: string, calls: Call[], concurrency = 8) {
  let next = 0;
  const results: { id: string }[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < calls.length; i = next++) {
        results[i] = await call(servers[i % servers.length] as Running, token, calls[i] as Call);
      }
    }),
  );
  return results;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A few hundred requests of each kind: writes, checks, batch checks, lists and 404s. */
async function load(token: string): Promise<number> {
  const [root] = await spread(token, [
    { method: "POST", path: "/v1/structures", body: { name: "Acme" }, expect: 201 },
  ]);
  const structures = await spread(
    token,
    range(100).map((i) => ({
      method: "POST",
      path: "/v1/structures",
      body: { name: `Unit ${i}`, parentId: root?.id },
      expect: 201,
    })),
  );
  const users = await spread(
    token,
    range(100).map((i) => ({
      method: "POST",
      path: "/v1/users",
      body: { email: `u${i}@acme.example`, name: `User ${i}`, structureId: structures[i]?.id },
      expect: 201,
    })),
  );
  await spread(
    token,
    range(100).map((i) => ({
      method: "POST",
      path: "/v1/permissions",
      body: { userId: users[i]?.id, structureId: structures[(i * 7) % 100]?.id, role: "editor" },
      expect: 201,
    })),
  );
  const user = (i: number) => users[i % users.length]?.id;
  const structure = (i: number) => structures[i % structures.length]?.id;
  const reads: Call[] = [
    ...range(300).map((i) => ({
      method: "GET",
      path: `/v1/check?userId=${user(i)}&structureId=${structure(i * 3)}&action=write`,
      expect: 200,
    })),
    ...range(200).map((i) => ({
      method: "POST",
      path: "/v1/check/batch",
      body: {
        checks: range(10).map((j) => ({
          userId: user(i + j),
          structureId: structure(i * j),
          action: "read",
        })),
      },
      expect: 200,
    })),
    ...range(300).map((i) => ({
      method: "GET",
      path: [
        "/v1/structures?limit=20",
        `/v1/users/${user(i)}/visible-users`,
        `/v1/structures/${root?.id}/descendants?limit=50`,
        `/v1/permissions?userId=${user(i)}`,
        `/v1/users/${user(i)}/structures`,
      ][i % 5] as string,
      expect: 200,
    })),
    ...range(200).map((i) => ({
      method: "GET",
      path: i % 2 ? `/v1/structures/${900_000 + i}` : `/v1/nothing-here/${i}`,
      expect: 404,
    })),
  ];
  await spread(token, reads);
  return 1 + 300 + reads.length;
}

async function query(expr: string): Promise<PromSample[]> {
  const answer = await prometheus?.query(expr);
  if (answer?.status !== "success") throw new Error(`${expr}: ${JSON.stringify(answer)}`);
  return answer.data.result as PromSample[];
}

/** Polls a condition on Prometheus until it holds; fails with what was last seen. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${prometheus?.output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const scalar = async (expr: string) => Number((await query(expr))[0]?.value[1] ?? Number.NaN);

describe.skipIf(!binary)("dashboards and alerts against a real Prometheus", () => {
  beforeAll(async () => {
    // A primary with a streaming replica, so the replica panels and alerts have series too.
    const pair = await startPrimaryWithReplica();
    drop = pair.stop;
    const migrator = openPostgres({ url: pair.primaryUrl, poolMax: 1 }, () => {});
    await migrator.migrate(migrationsFolder);
    await migrator.close();
    const env = {
      DATABASE_URL: pair.primaryUrl,
      DATABASE_REPLICA_URLS: pair.replicaUrl,
      AUTH_JWT_SECRET: testSecret,
      SLOW_QUERY_MS: "1",
    };
    const token = (await runCli(["token"], env)).output.trim();
    servers.push(...(await Promise.all([startServer(env), startServer(env)])));
    prometheus = await startPrometheus({
      binary: binary ?? "",
      job,
      targets: servers.map((s) => new URL(s.url).host),
      ruleFiles: [rulesFile],
    });
    // Both targets scraped once before any traffic, so every counter's rate sees the load.
    await until(
      "a first scrape of both targets",
      async () => (await scalar(`count(up{job="${job}"} == 1)`)) === 2,
    );
    const sent = await load(token);

    // Wait on conditions, not on time: both targets scraped after the load ended, then once
    // more (so every counter has two samples to rate), then every rule group evaluated after.
    const filter = `job="${job}", route!="/metrics", route!="/healthz"`;
    await until(
      `Prometheus to see all ${sent} requests`,
      async () => (await scalar(`sum(http_requests_total{${filter}})`)) >= sent,
    );
    const seen = Date.now() / 1000;
    await until(
      "one more scrape of both targets",
      async () => (await scalar(`min(timestamp(up{job="${job}"}))`)) > seen + 1,
    );
    const scraped = Date.now();
    type Rules = { data: { groups: { name: string; lastEvaluation: string }[] } };
    await until("every rule group evaluated after the last scrape", async () => {
      const { data } = (await prometheus?.get<Rules>("/api/v1/rules")) ?? { data: { groups: [] } };
      return data.groups.length > 0 && data.groups.every((g) => Date.parse(g.lastEvaluation) > scraped);
    });

    type Metadata = { data: Record<string, { type: string }[]> };
    const metadata = (await prometheus.get<Metadata>("/api/v1/metadata")).data;
    for (const [name, [entry]] of Object.entries(metadata)) {
      exported.add(name);
      if (entry?.type === "histogram")
        for (const s of ["_bucket", "_sum", "_count"]) exported.add(`${name}${s}`);
      if (entry?.type === "summary") for (const s of ["_sum", "_count"]) exported.add(`${name}${s}`);
    }
    running.cache = (await query(`canopy_cache_requests_total{job="${job}"}`)).length > 0;
    running.replica = (await query(`canopy_replica_lag_seconds{job="${job}"}`)).length > 0;
  }, 90_000);

  it("runs every part the panels report on: the caches and a replica", () => {
    expect(running).toEqual({ cache: true, replica: true });
  });

  afterAll(async () => {
    await prometheus?.stop();
    await Promise.all(servers.map((s) => s.stop("SIGKILL")));
    await drop?.();
  });

  const recorded = new Set(
    ruleGroups()
      .flatMap((g) => g.rules)
      .flatMap((r) => ("record" in r ? [r.record] : [])),
  );

  /** Must this panel return series here? Only when its metrics can exist in this test. */
  const mustHaveSeries = (panel: PanelSpec) =>
    panel.source === "service" && (panel.needs === undefined || running[panel.needs]);

  for (const d of dashboards()) {
    const panels = panelQueries(d.spec).map(({ panel, query: q }, i) => ({
      name: `${panel.title} #${i}`,
      panel,
      expr: q.expr,
    }));

    describe(`dashboard ${d.spec.uid}`, () => {
      it.each(panels)(
        "$name evaluates, and returns series when built on the service's metrics",
        async ({ panel, expr }) => {
          const substituted = substituteGrafanaVariables(expr);
          const answer = await prometheus?.query(substituted);
          expect(answer?.status, `${substituted}\n${JSON.stringify(answer)}`).toBe("success");
          if (mustHaveSeries(panel)) {
            const result = answer?.status === "success" ? (answer.data.result as PromSample[]) : [];
            expect(result.length, `no series for ${substituted}`).toBeGreaterThan(0);
          }
        },
      );

      it.each(panels)("$name reads only metrics that exist", ({ panel, expr }) => {
        for (const name of metricNames(expr)) {
          const known = exported.has(name) || (panel.source === "kubernetes" && kubernetesMetrics.has(name));
          expect(known, `${name} in ${expr}`).toBe(true);
        }
      });

      it.each(d.spec.variables)("variable $name lists values", async (v) => {
        const series = await query(substituteGrafanaVariables(v.metric));
        expect(series.length).toBeGreaterThan(0);
        if (v.name === "instance") {
          expect(new Set(series.map((s) => s.metric.instance))).toEqual(
            new Set(servers.map((s) => new URL(s.url).host)),
          );
        }
        for (const name of metricNames(v.metric)) expect(exported, name).toContain(name);
      });
    });
  }

  describe("rules", () => {
    const rules = ruleGroups().flatMap((g) => g.rules);

    it.each(rules.map((r) => [isAlert(r) ? r.alert : r.record, r.expr] as const))(
      "%s evaluates and reads only metrics that exist",
      async (_, expr) => {
        const answer = await prometheus?.query(expr);
        expect(answer?.status, `${expr}\n${JSON.stringify(answer)}`).toBe("success");
        for (const name of metricNames(expr)) {
          expect(exported.has(name) || recorded.has(name), `${name} in ${expr}`).toBe(true);
        }
      },
    );

    it("all load into Prometheus and evaluate without errors", async () => {
      type Rules = { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
      const loaded =
        (await prometheus?.get<Rules>("/api/v1/rules"))?.data.groups.flatMap((g) => g.rules) ?? [];
      expect(loaded.map((r) => r.name).sort()).toEqual(
        rules.map((r) => (isAlert(r) ? r.alert : r.record)).sort(),
      );
      for (const r of loaded) expect(r, r.name).toMatchObject({ health: "ok" });
    });

    it("record the error-ratio SLI from the load (no 5xx: zero, not missing)", async () => {
      const series = await query("canopy:http_request_errors:ratio_rate5m");
      expect(series.map((s) => [s.metric.job, Number(s.value[1])])).toEqual([[job, 0]]);
    });
  });
});
