import { createHash, randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import { embeddedSecret, signToken } from "./auth/dev-token.ts";
import { createTokenVerifier, type TokenVerifier } from "./auth/tokens.ts";
import { ChangeFeed } from "./cache/change-feed.ts";
import { CheckCache } from "./cache/check-cache.ts";
import { Freshness } from "./cache/freshness.ts";
import { PageCache } from "./cache/page-cache.ts";
import { connectRedis } from "./cache/redis.ts";
import type { Config } from "./config.ts";
import { type Database, openPglite, openPostgres, type QueryObserver } from "./db/database.ts";
import { migrationsFolder, schemaStatus } from "./db/migrations.ts";
import { databaseIdentity } from "./db/queries/identity.ts";
import { revisionCounter } from "./db/schema/index.ts";
import { seedDemo } from "./db/seed-demo.ts";
import { createCursors } from "./domain/cursor.ts";
import type { Logger } from "./observability/logger.ts";
import { createMetrics, type Metrics } from "./observability/metrics.ts";
import { currentRequest } from "./observability/request-context.ts";
import { activeTraceId } from "./observability/tracing.ts";
import type { Services } from "./services.ts";

export class StartupError extends Error {}

/** Where a database's entries live in Redis: `canopy:v1:<database identity>:`. */
export const redisNamespace = (identity: string) => `canopy:v1:${identity}`;

/**
 * Times every statement and flags slow ones by name, never with their parameters. The trace id
 * ties a slow statement to its request's log lines and spans (when an SDK propagates context).
 */
function queryObserver(metrics: Metrics, logger: Logger, slowMs: number): QueryObserver {
  return (query, target, seconds) => {
    metrics.dbDuration.observe({ query, target }, seconds);
    if (seconds * 1000 >= slowMs) {
      metrics.dbSlow.inc({ query, target });
      logger.warn(
        {
          query,
          target,
          durationMs: Math.round(seconds * 1000),
          requestId: currentRequest()?.requestId,
          traceId: activeTraceId() ?? currentRequest()?.traceId,
        },
        "slow query",
      );
    }
  };
}

async function openDatabase(
  config: Config,
  observe: QueryObserver,
  logger: Logger,
  metrics: Metrics,
): Promise<Database> {
  const { url, dataDir, poolMax, replicaUrls } = config.database;
  if (url) {
    const db = openPostgres(
      {
        url,
        poolMax,
        replicaUrls,
        stalenessBoundMs: config.cache.stalenessBoundMs,
        onReplicaLag: (replica, seconds) => metrics.replicaLag.set({ replica }, seconds),
        logger,
      },
      observe,
    );
    const status = await schemaStatus(db.primary).catch(async (err) => {
      await db.close();
      throw new StartupError(`cannot reach the database at DATABASE_URL: ${(err as Error).message}`);
    });
    if (status.behind) {
      await db.close();
      throw new StartupError(
        `the database schema is behind this build (${status.applied} of ${status.expected} migrations applied): run \`pnpm canopy migrate\``,
      );
    }
    return db;
  }
  // The embedded default migrates itself and seeds a demo organisation the first time.
  logger.info({ dataDir }, "starting on the embedded database (PGlite)");
  const db = await openPglite(dataDir, observe);
  await db.migrate(migrationsFolder);
  const [row] = await db.primary.rows<{ value: string }>(
    "revision.current",
    sql`SELECT value::text AS value FROM ${revisionCounter}`,
  );
  if (row?.value === "0") {
    await seedDemo(db);
    logger.info("seeded the demo organisation");
  }
  return db;
}

/** The secret that signs cursors: shared by every instance, so a cursor works on any of them. */
function cursorSecret(config: Config, jwtSecret: string | undefined): string {
  if (config.cursorSecret) return config.cursorSecret;
  if (jwtSecret) return createHash("sha256").update("canopy-cursor\0").update(jwtSecret).digest("hex");
  // AUTH_MODE=none is for local experiments on one instance: a per-process secret will do.
  return randomBytes(32).toString("hex");
}

export type Started = { services: Services; devToken: string | undefined; close: () => Promise<void> };

/** Builds every service from the configuration; the caller owns closing them. */
export async function startServices(
  config: Config,
  logger: Logger,
  // Tests hand in a database they opened themselves (an in-memory PGlite, say).
  open?: (observe: QueryObserver) => Promise<Database>,
): Promise<Started> {
  let db: Database | undefined;
  const metrics = createMetrics({ poolStats: () => db?.poolStats() ?? [] });
  const observe = queryObserver(metrics, logger, config.database.slowQueryMs);
  db = await (open ? open(observe) : openDatabase(config, observe, logger, metrics));

  const embedded = !config.database.url;
  let jwtSecret = config.auth.jwtSecret;
  if (config.auth.mode === "jwt" && embedded && !jwtSecret && !config.auth.jwksUrl) {
    jwtSecret = await embeddedSecret(config.database.dataDir);
  }
  const verifyToken: TokenVerifier | undefined =
    config.auth.mode === "none"
      ? undefined
      : createTokenVerifier({
          ...config.auth,
          jwtSecret,
          jwksUrl: jwtSecret ? undefined : config.auth.jwksUrl,
        });
  const devToken =
    embedded && jwtSecret
      ? await signToken(jwtSecret, {
          scope: "canopy:admin",
          issuer: config.auth.issuer,
          audience: config.auth.audience,
        })
      : undefined;

  // The cache: fresh while the change-log poll keeps up; polled five times per staleness bound.
  const { stalenessBoundMs } = config.cache;
  const freshness = new Freshness(stalenessBoundMs - 50);
  const shared = connectRedis(config.redis, logger, redisNamespace(await databaseIdentity(db.primary)));
  const feed = new ChangeFeed(db.background, freshness, metrics, logger, shared, {
    intervalMs: Math.max(10, Math.floor(stalenessBoundMs / 5)),
    horizonSeconds:
      Math.max(config.cache.ttlHierarchyS, config.cache.ttlPermissionsS, config.cache.ttlQueryS) + 60,
  });
  await feed.start();
  db.afterCommit = (revision, change) =>
    feed.committed({
      revision: BigInt(revision),
      kind: change.kind,
      userIds: (change.userIds ?? []).filter((x): x is string => x !== null),
      structureIds: (change.structureIds ?? []).filter((x): x is string => x !== null),
      paths: (change.paths ?? []).filter((x): x is string => x !== null),
    });
  const database = db;
  const checks = new CheckCache(freshness, shared, metrics, (minRevision) => database.reader(minRevision), {
    ttlHierarchyS: config.cache.ttlHierarchyS,
    ttlPermissionsS: config.cache.ttlPermissionsS,
    l1MaxEntries: 200_000,
  });

  let accepting = true;
  return {
    services: {
      db: database,
      checks,
      pages: new PageCache(freshness, shared, metrics, {
        ttlS: config.cache.ttlQueryS,
        l1MaxEntries: 50_000,
      }),
      degraded: () => [...(shared && !shared.healthy() ? ["redis"] : []), ...database.degraded()],
      cursors: createCursors(cursorSecret(config, jwtSecret)),
      verifyToken,
      logger,
      metrics,
      accepting: () => accepting,
    },
    devToken,
    close: async () => {
      accepting = false;
      feed.stop();
      await shared?.close();
      await database.close();
    },
  };
}
