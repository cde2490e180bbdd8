import { CoordinationV1Api, type KubeConfig, type V1Lease } from "@kubernetes/client-node";
import { statusOf } from "./kube/client.ts";

export type LeaderOptions = {
  kc: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
};

/**
 * Leader election on a coordination.k8s.io Lease: take it when it is free or expired, renew it
 * every retry period, and step down when a renewal fails for longer than the lease lasts.
 * Writes carry the Lease's resourceVersion, so two candidates never both win (409 for the loser).
 */
export function runLeaderElection(o: LeaderOptions): {
  stop: (release?: boolean) => Promise<void>;
  isLeader: () => boolean;
} {
  const api = o.kc.makeApiClient(CoordinationV1Api);
  const durationMs = o.leaseDurationMs ?? 15_000;
  const retryMs = o.retryPeriodMs ?? 2_000;
  let leading = false;
  let lastRenew = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const spec = (acquire: boolean, previous?: V1Lease["spec"]) => ({
    holderIdentity: o.identity,
    leaseDurationSeconds: Math.ceil(durationMs / 1000),
    acquireTime: acquire ? new Date() : previous?.acquireTime,
    renewTime: new Date(),
    leaseTransitions: (previous?.leaseTransitions ?? 0) + (acquire && previous ? 1 : 0),
  });

  async function tryAcquireOrRenew(): Promise<boolean> {
    let lease: V1Lease | undefined;
    try {
      lease = await api.readNamespacedLease({ name: o.name, namespace: o.namespace });
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    if (!lease) {
      await api.createNamespacedLease({
        namespace: o.namespace,
        body: { metadata: { name: o.name, namespace: o.namespace }, spec: spec(true) as V1Lease["spec"] },
      });
      return true;
    }
    const s = lease.spec ?? {};
    const renewed = s.renewTime ? new Date(s.renewTime).getTime() : 0;
    const expired = renewed + (s.leaseDurationSeconds ?? 0) * 1000 < Date.now();
    const mine = s.holderIdentity === o.identity;
    if (!mine && !expired && s.holderIdentity) return false;
    await api.replaceNamespacedLease({
      name: o.name,
      namespace: o.namespace,
      body: { ...lease, spec: spec(!mine, s) as V1Lease["spec"] },
    });
    return true;
  }

  async function tick() {
    if (stopped) return;
    let won = false;
    try {
      won = await tryAcquireOrRenew();
      if (won) lastRenew = Date.now();
    } catch (err) {
      // A 409 means another candidate wrote first; anything else is a failed renewal.
      if (statusOf(err) !== 409)
        o.log?.("lease renewal failed", { error: err instanceof Error ? err.message : String(err) });
      won = leading && Date.now() - lastRenew < durationMs;
    }
    if (won && !leading && !stopped) {
      leading = true;
      o.log?.("started leading", { identity: o.identity });
      // Not awaited: starting the controller must not hold up the next renewal.
      void Promise.resolve(o.onStartedLeading()).catch((err: unknown) =>
        o.log?.("starting as leader failed", { error: err instanceof Error ? err.message : String(err) }),
      );
    } else if (!won && leading) {
      leading = false;
      o.log?.("stopped leading", { identity: o.identity });
      o.onStoppedLeading();
    }
    if (!stopped) timer = setTimeout(run, retryMs);
  }
  const run = () => {
    inFlight = tick();
  };
  run();

  return {
    isLeader: () => leading,
    /** Stops campaigning; with release, empties the Lease so another instance takes over at once. */
    async stop(release = false) {
      stopped = true;
      if (timer) clearTimeout(timer);
      // A renewal under way finishes first, so the release is the last write.
      await inFlight;
      if (leading) {
        leading = false;
        o.onStoppedLeading();
        if (release) {
          const lease = await api
            .readNamespacedLease({ name: o.name, namespace: o.namespace })
            .catch(() => undefined);
          if (lease?.spec?.holderIdentity === o.identity) {
            await api
              .replaceNamespacedLease({
                name: o.name,
                namespace: o.namespace,
                body: { ...lease, spec: { ...lease.spec, holderIdentity: undefined, renewTime: undefined } },
              })
              .catch(() => {});
          }
        }
      }
    },
  };
}
