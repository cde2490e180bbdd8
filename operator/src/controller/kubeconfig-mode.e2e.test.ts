import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import {
  builtIn,
  canopy,
  cloudNativePg,
  prometheusOperator,
  redisOperator,
} from "../testing/fake-api/resources.ts";
import { FakeApiServer } from "../testing/fake-api/server.ts";
import { simulateControllers } from "../testing/fake-api/simulate.ts";
import { repoRoot } from "../testing/helm.ts";

/**
 * The controller and leader-election suites in the mode they run in against a real cluster: KUBECONFIG names an API
 * server in a kubeconfig file, the suite applies the chart's CRD, works in namespaces of its own
 * and reads everything through the client. Here the server is the fake one, in this process.
 */
type Report = {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: { assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
};

const api = new FakeApiServer([
  ...builtIn,
  ...canopy,
  ...cloudNativePg,
  ...redisOperator,
  ...prometheusOperator,
]);
const dir = mkdtempSync(join(tmpdir(), "canopy-kubeconfig-"));
let stopSimulation = () => {};
afterAll(async () => {
  stopSimulation();
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
});

it("the operator suites pass against the API server KUBECONFIG names, as against a real cluster", async () => {
  await api.start();
  stopSimulation = simulateControllers(api);
  const kubeconfig = join(dir, "kubeconfig.json");
  writeFileSync(kubeconfig, api.kubeConfig("suite").exportConfig());
  const report = join(dir, "report.json");
  const vitest = join(repoRoot, "node_modules/vitest/vitest.mjs");
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfig, CANOPY_E2E_TIMEOUT_MS: "20000" };
  await promisify(execFile)(
    process.execPath,
    [
      vitest,
      "run",
      "operator/src/controller/controller.e2e.test.ts",
      "operator/src/leader.e2e.test.ts",
      // One cluster for both: each suite's operators would reconcile the other's CanopyClusters.
      "--no-file-parallelism",
      "--reporter=json",
      `--outputFile=${report}`,
    ],
    { cwd: repoRoot, env, timeout: 240_000 },
  ).catch((err: { stderr?: string }) => {
    // The report names each failed test and why; without one, the child's own output says.
    const failures = existsSync(report)
      ? (JSON.parse(readFileSync(report, "utf8")) as Report).testResults
          .flatMap((f) => f.assertionResults)
          .filter((t) => t.status === "failed")
          .map((t) => `${t.fullName}: ${t.failureMessages.join("\n").slice(0, 1500)}`)
          .join("\n\n")
      : (err.stderr ?? "").slice(-6000);
    throw new Error(`the suite failed:\n${failures}`);
  });
  const result = JSON.parse(readFileSync(report, "utf8")) as Report;
  // The two tests that need the fake's simulated failure or audit log do not run in this mode.
  expect(result).toMatchObject({ numPassedTests: 8, numFailedTests: 0, numPendingTests: 2 });
  const calls = api.audit.filter((a) => a.user === "suite");
  expect(calls).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ verb: "patch", resource: "customresourcedefinitions" }),
      expect.objectContaining({ verb: "create", resource: "namespaces" }),
      expect.objectContaining({ verb: "delete", resource: "namespaces" }),
    ]),
  );
  const created = calls.filter((a) => a.verb === "create" && a.resource === "namespaces");
  // One per controller test that runs, and two for leader election (leases, and its CanopyCluster).
  expect(created.length).toBe(9);
}, 300_000);
