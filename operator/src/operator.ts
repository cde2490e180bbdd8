import type { KubeConfig } from "@kubernetes/client-node";
import { startController } from "./controller/controller.ts";
import { createKube } from "./kube/client.ts";
import { runLeaderElection } from "./leader.ts";
import type { Metrics } from "./metrics.ts";
import type { MonitoringAssets } from "./monitoring/assets.ts";

export type OperatorOptions = {
  kc: KubeConfig;
  assets: MonitoringAssets;
  identity: string;
  /** Namespace of the leader Lease; no leader election when undefined. */
  leaseNamespace?: string;
  leaseName?: string;
  leaseDurationMs?: number;
  retryPeriodMs?: number;
  watchNamespace?: string;
  resyncMs?: number;
  backoffBaseMs?: number;
  metrics?: Metrics;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Called when leadership is lost; the process entry point exits, tests observe. */
  onLostLeadership?: () => void;
};

/** Wires leader election, the controller and the Kubernetes client; importing starts nothing. */
export function runOperator(o: OperatorOptions) {
  const kube = createKube(o.kc);
  let controller: { stop: () => void } | undefined;
  // Leadership can be lost while the controller is still starting: a term number tells.
  let term = 0;
  const start = async () => {
    const myTerm = ++term;
    o.metrics?.setLeader(true);
    const started = await startController({
      kc: o.kc,
      kube,
      assets: o.assets,
      metrics: o.metrics,
      namespace: o.watchNamespace,
      resyncMs: o.resyncMs,
      backoffBaseMs: o.backoffBaseMs,
      log: o.log,
    });
    if (myTerm === term) controller = started;
    else started.stop();
  };
  const halt = () => {
    term++;
    o.metrics?.setLeader(false);
    controller?.stop();
    controller = undefined;
  };
  if (o.leaseNamespace === undefined) {
    const ready = start();
    return { ready, isLeader: () => true, stop: async () => halt() };
  }
  const election = runLeaderElection({
    kc: o.kc,
    namespace: o.leaseNamespace,
    name: o.leaseName ?? "canopy-operator-leader",
    identity: o.identity,
    leaseDurationMs: o.leaseDurationMs,
    retryPeriodMs: o.retryPeriodMs,
    onStartedLeading: start,
    onStoppedLeading: () => {
      halt();
      o.onLostLeadership?.();
    },
    log: o.log,
  });
  return {
    ready: Promise.resolve(),
    isLeader: election.isLeader,
    stop: (release = true) => election.stop(release),
  };
}
