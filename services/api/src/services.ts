import type { TokenVerifier } from "./auth/tokens.ts";
import type { CheckCache } from "./cache/check-cache.ts";
import type { PageCache } from "./cache/page-cache.ts";
import type { Database } from "./db/database.ts";
import type { Cursors } from "./domain/cursor.ts";
import type { Logger } from "./observability/logger.ts";
import type { Metrics } from "./observability/metrics.ts";

/** Everything a request may use, built once at start-up and handed to createApp. */
export type Services = {
  db: Database;
  cursors: Cursors;
  verifyToken: TokenVerifier | undefined;
  logger: Logger;
  metrics: Metrics;
  /** Checks, answered from the hierarchy and permission caches. */
  checks: CheckCache;
  /** Pages of the costly lists (visible users, user structures, principals). */
  pages: PageCache;
  /** Dependencies that are down but not needed to serve (Redis, a replica), for readyz. */
  degraded: () => string[];
  /** False once shutdown has begun: readyz turns 503 so load balancers stop sending traffic. */
  accepting: () => boolean;
};

export type AppEnv = {
  Variables: {
    services: Services;
    requestId: string;
    traceId: string | undefined;
    caller: import("./auth/tokens.ts").Caller | undefined;
  };
};
