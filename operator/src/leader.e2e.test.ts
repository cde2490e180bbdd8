import { KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, it, onTestFinished } from "vitest";
import { runOperator } from "./operator.ts";
import { builtIn, canopy, cloudNativePg } from "./testing/fake-api/resources.ts";
import { FakeApiServer } from "./testing/fake-api/server.ts";
import { simulateControllers } from "./testing/fake-api/simulate.ts";
import { checkRbac, operatorRules } from "./testing/rbac.ts";

const api = new FakeApiServer([...builtIn, ...canopy, ...cloudNativePg]);
const assets = { dashboards: {} };
let stopSimulation: () => void;

beforeAll(async () => {
  await api.start();
  stopSimulation = simulateControllers(api);
});
afterAll(async () => {
  stopSimulation();
  await api.stop();
});

const lease = () =>
  api.store.get(api.resource("coordination.k8s.io/v1", "Lease"), "operators", "canopy-operator-leader");
const holder = () => (lease()?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;

it("two operator instances: one leads, the other takes over when the leader stops renewing", async () => {
  const lost: string[] = [];
  const start = (identity: string) =>
    runOperator({
      kc: api.kubeConfig(identity),
      assets,
      identity,
      leaseNamespace: "operators",
      leaseDurationMs: 1_000,
      retryPeriodMs: 100,
      resyncMs: 2_000,
      backoffBaseMs: 100,
      onLostLeadership: () => lost.push(identity),
    });
  const a = start("operator-a");
  const b = start("operator-b");
  onTestFinished(async () => {
    await a.stop(false);
    await b.stop(false);
  });
  await expect.poll(() => [a.isLeader(), b.isLeader()].filter(Boolean).length, { timeout: 5_000 }).toBe(1);
  // Never two leaders at once while both renew.
  const overlaps: number[] = [];
  const watchdog = setInterval(() => a.isLeader() && b.isLeader() && overlaps.push(Date.now()), 10);
  onTestFinished(() => clearInterval(watchdog));
  const [leader, follower] = a.isLeader() ? [a, b] : [b, a];
  const [leaderName, followerName] = a.isLeader()
    ? ["operator-a", "operator-b"]
    : ["operator-b", "operator-a"];
  expect(holder()).toBe(leaderName);

  // Only the leader reconciles: one field manager's worth of writes, and the CanopyCluster gets Ready.
  const kubectl = KubernetesObjectApi.makeApiClient(api.kubeConfig());
  const apply = (version: string) =>
    kubectl.patch(
      {
        apiVersion: "canopy.dev/v1alpha1",
        kind: "CanopyCluster",
        metadata: { name: "c", namespace: "le" },
        spec: { version },
      } as never,
      undefined,
      undefined,
      "kubectl",
      true,
      PatchStrategy.ServerSideApply,
    );
  const serving = () =>
    (
      api.store.get(api.resource("canopy.dev/v1alpha1", "CanopyCluster"), "le", "c")?.status as
        | { version?: string }
        | undefined
    )?.version;
  await apply("1.0.0");
  await expect.poll(serving, { timeout: 10_000 }).toBe("1.0.0");

  // The leader stops renewing without releasing (as a crashed process would): the follower takes over after the lease expires.
  await leader.stop(false);
  await expect.poll(() => follower.isLeader(), { timeout: 5_000 }).toBe(true);
  expect(holder()).toBe(followerName);
  expect(lease()?.spec).toMatchObject({ leaseTransitions: expect.toSatisfy((n: number) => n >= 1) });
  await apply("1.1.0");
  await expect.poll(serving, { timeout: 10_000 }).toBe("1.1.0");
  expect(lost).toEqual([leaderName]);
  expect(overlaps).toEqual([]);
  await follower.stop(true);
  expect(holder()).toBeUndefined();

  // The leader-election Role allows exactly what the election does.
  const { leaderElection } = await operatorRules();
  const leases = api.audit.filter((e) => e.group === "coordination.k8s.io");
  expect(checkRbac(leaderElection, leases, "operator-a")).toEqual({ denied: [], unused: [] });
});
