import { PGlite, type Transaction } from "@electric-sql/pglite";
import type { SQL } from "drizzle-orm";
import { drizzle as drizzlePostgres } from "drizzle-orm/node-postgres";
import { migrate as migratePostgres } from "drizzle-orm/node-postgres/migrator";
import { PgDialect } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import pg from "pg";
import type { Logger } from "../observability/logger.ts";
import type { PoolStats } from "../observability/metrics.ts";
import { childSpan, failSpan } from "../observability/tracing.ts";
import { type ReplicaHandle, ReplicaRouter } from "./replicas.ts";

export type Target = "primary" | "replica";

/** Runs named statements. Every statement the service sends goes through one of these. */
export interface Executor {
  readonly target: Target;
  rows<T>(name: string, query: SQL): Promise<T[]>;
}

export interface Database {
  readonly kind: "postgres" | "pglite";
  readonly primary: Executor;
  /**
   * The primary, on a connection of its own: the change-log poll and replica probes must not
   * queue behind request traffic, or the cache would go stale-unsafe exactly under load.
   */
  readonly background: Executor;
  /** Where a read goes: a replica known to reflect minRevision (or fresh within the bound), else the primary. */
  reader(minRevision?: bigint | string): Executor;
  /** Replicas out of rotation, for readyz. */
  degraded(): string[];
  /** One transaction on the primary; it rolls back when fn throws. */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
  /** Called after every committed write transaction (the cache learns of its own writes here). */
  afterCommit?: ((revision: string, change: import("./writes/commit.ts").Change) => void) | undefined;
  /** Applies the migrations in the folder that this database has not applied yet. */
  migrate(migrationsFolder: string): Promise<void>;
  poolStats(): PoolStats[];
  close(): Promise<void>;
}

export type QueryObserver = (name: string, target: Target, seconds: number) => void;

const dialect = new PgDialect();

/**
 * Each name stands for one SQL text (node-postgres prepares it once per connection under that
 * name); a second text under a known name is a programming error, caught here.
 */
const texts = new Map<string, string>();
function compile(name: string, query: SQL) {
  const { sql, params } = dialect.sqlToQuery(query);
  const known = texts.get(name);
  if (known === undefined) texts.set(name, sql);
  else if (known !== sql) throw new Error(`statement ${name} was given two different texts`);
  return { text: sql, values: params };
}

/** Sends one statement; calls `sending` once a connection is in hand, where its timing starts. */
type Send = (
  name: string,
  text: string,
  values: unknown[],
  sending: () => void,
) => Promise<{ rows: unknown[] }>;

function executor(target: Target, send: Send, observe: QueryObserver): Executor {
  return {
    target,
    async rows<T>(name: string, query: SQL) {
      const { text, values } = compile(name, query);
      // A span per statement of a request: its fixed name and target, never its parameters.
      const span = childSpan(name);
      if (span?.isRecording()) {
        span.setAttributes({
          "db.system": "postgresql",
          "db.operation.name": name,
          "canopy.query": name,
          "canopy.target": target,
        });
      }
      const called = performance.now();
      let started = called;
      try {
        return (
          await send(name, text, values, () => {
            started = performance.now();
          })
        ).rows as T[];
      } catch (err) {
        failSpan(span, err);
        throw err;
      } finally {
        // The span includes the wait for a connection (the duration metric does not): say how long.
        if (span?.isRecording())
          span.setAttribute("canopy.pool_wait_ms", Math.round((started - called) * 100) / 100);
        span?.end();
        observe(name, target, (performance.now() - started) / 1000);
      }
    },
  };
}

export type PostgresOptions = {
  url: string;
  poolMax: number;
  applicationName?: string;
  replicaUrls?: readonly string[];
  /** The staleness bound: how stale a replica may be and still serve plain reads. */
  stalenessBoundMs?: number;
  onReplicaLag?: (replica: string, seconds: number) => void;
  logger?: Logger;
};

function openPool(url: string, max: number, applicationName: string, timeoutMs: number) {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    application_name: applicationName,
    // Short OLTP statements never gain from JIT; a misestimate can make one pay 20 ms to compile.
    options: "-c jit=off",
    // A dead database answers 503 quickly instead of queueing requests forever.
    connectionTimeoutMillis: timeoutMs,
    idleTimeoutMillis: 30_000,
  });
  // A connection that drops (a restarted server) must not crash the process: idle clients report
  // it on the pool, busy ones on themselves after failing their query; the next query reconnects.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  return pool;
}

const send =
  (client: pg.PoolClient): Send =>
  (name, text, values, sending) => {
    sending();
    return client.query({ name, text, values });
  };

/** Statements outside transactions take a connection first, so their timing excludes the pool wait. */
function poolExecutor(
  target: Target,
  pool: pg.Pool,
  observe: QueryObserver,
  queryTimeoutMs?: number,
): Executor {
  return executor(
    target,
    async (name, text, values, sending) => {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        sending();
        return await client.query({
          name,
          text,
          values,
          ...(queryTimeoutMs ? { query_timeout: queryTimeoutMs } : {}),
        } as pg.QueryConfig);
      } catch (err) {
        // A server error leaves the connection usable; anything else (a dropped socket) does not.
        if (!(err as { severity?: unknown }).severity) broken = err as Error;
        throw err;
      } finally {
        client.release(broken);
      }
    },
    observe,
  );
}

/** host:port of a URL, never its credentials. */
export const hostPort = (url: string) => {
  const u = new URL(url);
  return `${u.hostname}:${u.port || "5432"}`;
};

export function openPostgres(options: PostgresOptions, observe: QueryObserver): Database {
  const name = options.applicationName ?? "canopy";
  const pool = openPool(options.url, options.poolMax, name, 5_000);
  const primary = poolExecutor("primary", pool, observe);
  const backgroundPool = openPool(options.url, 1, `${name}-background`, 5_000);
  const background = poolExecutor("primary", backgroundPool, observe);
  const boundMs = options.stalenessBoundMs ?? 1_000;
  const replicas: ReplicaHandle[] = (options.replicaUrls ?? []).map((url) => {
    const replicaPool = openPool(url, options.poolMax, name, Math.min(1_000, boundMs));
    return {
      label: hostPort(url),
      executor: poolExecutor("replica", replicaPool, observe, Math.max(1_000, boundMs)),
      stats: () => ({
        total: replicaPool.totalCount,
        idle: replicaPool.idleCount,
        waiting: replicaPool.waitingCount,
      }),
      close: () => replicaPool.end(),
    };
  });
  const router =
    replicas.length > 0 && options.logger
      ? new ReplicaRouter(
          primary,
          background,
          replicas,
          { boundMs: boundMs - 50, intervalMs: Math.max(10, Math.floor(boundMs / 5)) },
          options.logger,
          options.onReplicaLag ?? (() => {}),
        )
      : undefined;
  router?.start();

  return {
    kind: "postgres",
    primary,
    background,
    reader: (minRevision) =>
      router?.reader(minRevision === undefined ? undefined : BigInt(minRevision)) ?? primary,
    degraded: () => router?.degraded() ?? [],
    async transaction(fn) {
      const client = await pool.connect();
      let broken: unknown;
      try {
        await client.query("BEGIN");
        const result = await fn(executor("primary", send(client), observe));
        await client.query("COMMIT");
        return result;
      } catch (err) {
        await client.query("ROLLBACK").catch((e: unknown) => {
          broken = e;
        });
        throw err;
      } finally {
        // A connection whose rollback failed is in an unknown state: destroy it.
        client.release(broken instanceof Error ? broken : undefined);
      }
    },
    migrate: (migrationsFolder) => migratePostgres(drizzlePostgres(pool), { migrationsFolder }),
    poolStats: () => [
      { target: "primary", total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount },
      ...replicas.map((r) => ({ target: "replica" as const, ...r.stats() })),
    ],
    close: async () => {
      router?.stop();
      await Promise.all([pool.end(), backgroundPool.end(), ...replicas.map((r) => r.close())]);
    },
  };
}

export async function openPglite(dataDir: string | undefined, observe: QueryObserver): Promise<Database> {
  const db = await PGlite.create(dataDir === undefined ? {} : { dataDir });
  const send =
    (client: PGlite | Transaction): Send =>
    (_name, text, values) =>
      client.query(text, values);
  const primary = executor("primary", send(db), observe);
  return {
    kind: "pglite",
    primary,
    background: primary,
    reader: () => primary,
    degraded: () => [],
    transaction: (fn) => db.transaction((tx) => fn(executor("primary", send(tx), observe))),
    migrate: (migrationsFolder) => migratePglite(drizzlePglite(db), { migrationsFolder }),
    poolStats: () => [{ target: "primary", total: 1, idle: 1, waiting: 0 }],
    close: () => db.close(),
  };
}
