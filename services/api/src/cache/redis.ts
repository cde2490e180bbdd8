import type { Span } from "@opentelemetry/api";
import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { Logger } from "../observability/logger.ts";
import { childSpan, failSpan } from "../observability/tracing.ts";

/** Nothing on the request path waits longer than this for Redis. */
export const redisTimeoutMs = 250;

/**
 * The shared (L2) cache and the change channel. Never throws on the request path: a slow or
 * absent Redis answers "nothing" and the caller goes to Postgres. After a failure the circuit
 * stays open briefly, so a stalled Redis costs one timeout, not one per request.
 */
export interface SharedCache {
  get(keys: readonly string[]): Promise<(string | null)[]>;
  set(key: string, value: string, ttlSeconds: number): void;
  publish(message: string): void;
  subscribe(onMessage: (message: string) => void): void;
  healthy(): boolean;
  close(): Promise<void>;
}

type Client = Redis | Cluster;

/** A span per call of a request: the command, never the keys or values. */
function redisSpan(operation: string): Span | undefined {
  const span = childSpan(`redis ${operation}`);
  if (span?.isRecording()) span.setAttributes({ "db.system": "redis", "db.operation.name": operation });
  return span;
}

/**
 * Every key and the change channel live under `namespace` (the database's identity), so one Redis
 * can serve several databases without one reading the other's entries.
 */
export function connectRedis(
  options: { url?: string | undefined; clusterNodes?: string[] | undefined },
  logger: Logger,
  namespace: string,
): SharedCache | undefined {
  const channel = `${namespace}:changes`;
  const base: RedisOptions = {
    keyPrefix: `${namespace}:`,
    commandTimeout: redisTimeoutMs,
    connectTimeout: 1_000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(times * 200, 1_000),
    lazyConnect: false,
  };
  let client: Client;
  if (options.clusterNodes) {
    const nodes = options.clusterNodes.map((n) => {
      const [host, port] = n.split(":");
      return { host: host ?? "127.0.0.1", port: Number(port) };
    });
    client = new Cluster(nodes, {
      redisOptions: base,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      clusterRetryStrategy: (times) => Math.min(times * 200, 1_000),
      slotsRefreshTimeout: 1_000,
    });
  } else if (options.url) {
    client = new Redis(options.url, { ...base, enableAutoPipelining: true });
  } else {
    return undefined;
  }
  client.on("error", () => {});

  let openUntil = 0;
  const trip = (err: unknown) => {
    if (performance.now() >= openUntil)
      logger.warn({ err: (err as Error)?.message }, "redis unavailable; serving from postgres");
    openUntil = performance.now() + 1_000;
  };
  const usable = () => client.status === "ready" && performance.now() >= openUntil;

  // A background probe closes the circuit once Redis answers again, so recovery needs no traffic.
  const probe = setInterval(() => {
    if (client.status !== "ready") return;
    client.ping().then(
      () => {
        openUntil = 0;
      },
      (err) => trip(err),
    );
  }, 1_000);
  probe.unref();

  // Fire-and-forget calls end their span when Redis answers, after the caller has moved on.
  const settle = (span: Span | undefined, sent: Promise<unknown>) => {
    if (span === undefined) {
      sent.catch(trip);
      return;
    }
    sent.then(
      () => span.end(),
      (err: unknown) => {
        failSpan(span, err);
        span.end();
        trip(err);
      },
    );
  };

  let subscriber: Client | undefined;
  return {
    async get(keys) {
      if (!usable() || keys.length === 0) return keys.map(() => null);
      const span = redisSpan("GET");
      try {
        const values = await Promise.all(keys.map((k) => client.get(k)));
        if (span?.isRecording()) {
          span.setAttributes({
            "db.operation.batch.size": keys.length,
            "canopy.hits": values.filter((v) => v !== null).length,
          });
        }
        return values;
      } catch (err) {
        failSpan(span, err);
        trip(err);
        return keys.map(() => null);
      } finally {
        span?.end();
      }
    },
    set(key, value, ttlSeconds) {
      if (!usable()) return;
      settle(redisSpan("SET"), client.set(key, value, "EX", ttlSeconds));
    },
    publish(message) {
      if (!usable()) return;
      settle(redisSpan("PUBLISH"), client.publish(channel, message));
    },
    subscribe(onMessage) {
      // A connection of its own, which queues its SUBSCRIBE until Redis is reachable.
      subscriber = client.duplicate({ enableOfflineQueue: true } as never) as Client;
      subscriber.on("error", () => {});
      subscriber.on("message", (_channel: string, message: string) => onMessage(message));
      subscriber.subscribe(channel).catch(() => {});
    },
    healthy: () => usable(),
    async close() {
      clearInterval(probe);
      subscriber?.disconnect();
      client.disconnect();
    },
  };
}
