import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5];

const cacheNames = ["hierarchy", "permissions", "query"] as const;
export type CacheName = (typeof cacheNames)[number];
export type CacheLayer = "l1" | "l2";

export type PoolStats = { target: "primary" | "replica"; total: number; idle: number; waiting: number };

/**
 * Every metric of the contract, on a registry of its own so that several app instances
 * (as in tests) never share or clash.
 */
export function createMetrics(options: { poolStats?: () => PoolStats[] } = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const httpDuration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request latency by route pattern",
    labelNames: ["method", "route", "status"] as const,
    buckets: latencyBuckets,
    registers: [registry],
  });
  // Tallied like the cache look-ups below, by "method route status" (routes hold no spaces).
  const requests = new Map<string, number>();
  const httpRequests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests by route pattern",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
    collect() {
      for (const [labels, n] of requests) {
        const [method, route, status] = labels.split(" ") as [string, string, string];
        this.inc({ method, route, status }, n);
      }
      requests.clear();
    },
  });
  const countRequest = (method: string, route: string, status: string) => {
    const labels = `${method} ${route} ${status}`;
    requests.set(labels, (requests.get(labels) ?? 0) + 1);
  };
  // Look-ups are tallied in plain numbers and added to the counter when it is read: prom-client
  // hashes the label set on every inc, which a cached check would pay twice.
  const lookups = Object.fromEntries(
    cacheNames.map((cache) => [cache, { l1: { hit: 0, miss: 0 }, l2: { hit: 0, miss: 0 } }]),
  ) as Record<CacheName, Record<CacheLayer, Record<"hit" | "miss", number>>>;
  const cacheRequests = new Counter({
    name: "canopy_cache_requests_total",
    help: "Cache look-ups by cache, layer and result",
    labelNames: ["cache", "layer", "result"] as const,
    registers: [registry],
    collect() {
      for (const cache of cacheNames) {
        for (const layer of ["l1", "l2"] as const) {
          for (const result of ["hit", "miss"] as const) {
            const n = lookups[cache][layer][result];
            lookups[cache][layer][result] = 0;
            if (n > 0) this.inc({ cache, layer, result }, n);
          }
        }
      }
    },
  });
  const countLookup = (cache: CacheName, layer: CacheLayer, hit: boolean, n = 1) => {
    lookups[cache][layer][hit ? "hit" : "miss"] += n;
  };
  const cacheInvalidations = new Counter({
    name: "canopy_cache_invalidations_total",
    help: "Cache invalidations by cache and reason",
    labelNames: ["cache", "reason"] as const,
    registers: [registry],
  });
  const dbDuration = new Histogram({
    name: "canopy_db_query_duration_seconds",
    help: "Database statement latency by statement name and target",
    labelNames: ["query", "target"] as const,
    buckets: latencyBuckets,
    registers: [registry],
  });
  const dbSlow = new Counter({
    name: "canopy_db_slow_queries_total",
    help: "Statements slower than SLOW_QUERY_MS",
    labelNames: ["query", "target"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "canopy_db_pool_connections",
    help: "Database pool connections by state",
    labelNames: ["target", "state"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of options.poolStats?.() ?? []) {
        this.set({ target: s.target, state: "total" }, s.total);
        this.set({ target: s.target, state: "idle" }, s.idle);
        this.set({ target: s.target, state: "waiting" }, s.waiting);
      }
    },
  });
  const replicaLag = new Gauge({
    name: "canopy_replica_lag_seconds",
    help: "Replay lag of each read replica",
    labelNames: ["replica"] as const,
    registers: [registry],
  });

  return {
    registry,
    httpDuration,
    httpRequests,
    countRequest,
    cacheRequests,
    countLookup,
    cacheInvalidations,
    dbDuration,
    dbSlow,
    replicaLag,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
