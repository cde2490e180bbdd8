import { createServer, type Server } from "node:http";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The operator's own metrics, served with /healthz on the metrics port. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const reconciles = new Counter({
    name: "canopy_operator_reconcile_total",
    help: "Reconcile passes by result",
    labelNames: ["result"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "canopy_operator_reconcile_duration_seconds",
    help: "Duration of reconcile passes",
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const leader = new Gauge({
    name: "canopy_operator_leader",
    help: "1 while this instance holds the leader Lease",
    registers: [registry],
  });
  return {
    registry,
    reconciled(result: "success" | "error", seconds: number) {
      reconciles.inc({ result });
      duration.observe(seconds);
    },
    setLeader(isLeader: boolean) {
      leader.set(isLeader ? 1 : 0);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

export function serveMetrics(metrics: Metrics, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === "/metrics") {
      void metrics.registry.metrics().then((body) => {
        res.writeHead(200, { "content-type": metrics.registry.contentType });
        res.end(body);
      });
    } else if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(port, () => resolve(server)));
}
