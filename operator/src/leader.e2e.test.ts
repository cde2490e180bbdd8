import { afterAll, beforeAll, expect, it, onTestFinished } from "vitest";
import { runOperator } from "./operator.ts";
import { builtIn, canopy, cloudNativePg } from "./testing/fake-api/resources.ts";
import { checkRbac, operatorRules } from "./testing/rbac.ts";
import { startTestCluster, type TestCluster } from "./testing/test-cluster.ts";

/** Leader election end to end, against the cluster KUBECONFIG names or the fake API server. */
const resources = [...builtIn, ...canopy, ...cloudNativePg];
const [leaseResource, canopyResource] = [
  resources.find((r) => r.kind === "Lease"),
  resources.find((r) => r.kind === "CanopyCluster"),
] as [(typeof resources)[number], (typeof resources)[number]];
const assets = { dashboards: {} };
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startTestCluster(resources);
}, 120_000);
afterAll(() => cluster?.stop());

it(
  "two operator instances: one leads, the other takes over when the leader stops renewing",
  async () => {
    const leases = await cluster.namespace("operators");
    const ns = await cluster.namespace("le");
    const lease = () => cluster.get(leaseResource, leases, "canopy-operator-leader");
    const holder = async () =>
      ((await lease())?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
    const poll = <T>(fn: () => T | Promise<T>) =>
      expect.poll(fn, { timeout: Math.max(10_000, cluster.timeoutMs), interval: 50 });
    const lost: string[] = [];
    const start = (identity: string) =>
      runOperator({
        kc: cluster.kubeConfig(identity),
        assets,
        identity,
        leaseNamespace: leases,
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
    await poll(() => [a.isLeader(), b.isLeader()].filter(Boolean).length).toBe(1);
    // Never two leaders at once while both renew.
    const overlaps: number[] = [];
    const watchdog = setInterval(() => a.isLeader() && b.isLeader() && overlaps.push(Date.now()), 10);
    onTestFinished(() => clearInterval(watchdog));
    const [leader, follower] = a.isLeader() ? [a, b] : [b, a];
    const [leaderName, followerName] = a.isLeader()
      ? ["operator-a", "operator-b"]
      : ["operator-b", "operator-a"];
    expect(await holder()).toBe(leaderName);

    // Only the leader reconciles: one field manager's worth of writes, and the CanopyCluster gets Ready.
    const apply = (version: string) => cluster.applyCanopyCluster(ns, "c", { version });
    const serving = async () =>
      ((await cluster.get(canopyResource, ns, "c"))?.status as { version?: string } | undefined)?.version;
    const [v1, v2] = cluster.versions;
    await apply(v1);
    await poll(serving).toBe(v1);

    // The leader stops renewing without releasing (as a crashed process would): the follower takes over after the lease expires.
    await leader.stop(false);
    await poll(() => follower.isLeader()).toBe(true);
    expect(await holder()).toBe(followerName);
    expect((await lease())?.spec).toMatchObject({
      leaseTransitions: expect.toSatisfy((n: number) => n >= 1),
    });
    await apply(v2);
    await poll(serving).toBe(v2);
    expect(lost).toEqual([leaderName]);
    expect(overlaps).toEqual([]);
    await follower.stop(true);
    expect(await holder()).toBeUndefined();

    // The leader-election Role allows exactly what the election does (the fake server logs requests).
    if (cluster.fake) {
      const { leaderElection } = await operatorRules();
      const calls = cluster.fake.audit.filter((e) => e.group === "coordination.k8s.io");
      expect(checkRbac(leaderElection, calls, "operator-a")).toEqual({ denied: [], unused: [] });
    }
  },
  process.env.KUBECONFIG ? 30 * 60_000 : 60_000,
);
