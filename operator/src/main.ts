import { KubeConfig } from "@kubernetes/client-node";
import { parseOperatorConfig } from "./config.ts";
import { createMetrics, serveMetrics } from "./metrics.ts";
import { chartFilesDir, readAssets } from "./monitoring/assets.ts";
import { runOperator } from "./operator.ts";

const parsed = parseOperatorConfig(process.env);
if (!parsed.ok) {
  console.error(
    `canopy-operator: invalid configuration\n${parsed.problems.map((p) => `  - ${p}`).join("\n")}`,
  );
  process.exit(1);
}
const { config } = parsed;
const log = (msg: string, fields: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), msg, ...fields }));

const kc = new KubeConfig();
kc.loadFromDefault();
const metrics = createMetrics();
const server = await serveMetrics(metrics, config.metricsPort);

const operator = runOperator({
  kc,
  assets: readAssets(chartFilesDir),
  identity: config.identity,
  leaseNamespace: config.leaderElection ? config.podNamespace : undefined,
  leaseName: config.leaseName,
  watchNamespace: config.watchNamespace,
  resyncMs: config.resyncMs,
  metrics,
  log,
  // Losing the Lease means another instance may be acting: stop at once and let Kubernetes restart us.
  onLostLeadership: () => process.exit(1),
});
await operator.ready;
log("canopy-operator started", { identity: config.identity, leaderElection: config.leaderElection });

async function shutdown(signal: string) {
  log("shutting down", { signal });
  await operator.stop(true);
  server.close();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
