import { sql } from "drizzle-orm";
import type { Executor } from "../db/database.ts";
import { changeLog, revisionCounter } from "../db/schema/index.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { type Change, touchedBy } from "./dependencies.ts";
import type { Freshness } from "./freshness.ts";
import type { SharedCache } from "./redis.ts";

const batch = 1_000;
type Row = { revision: string; kind: string; userIds: string[]; structureIds: string[]; paths: string[] };

const cacheOfKey = (key: string) =>
  key.startsWith("s:") ? "hierarchy" : key.startsWith("u:") ? "permissions" : "query";

/**
 * How this instance learns what changed: its own writes at once, other instances' writes
 * from Redis pub/sub within milliseconds, and every write from the change log in Postgres,
 * polled several times per staleness bound. The poll alone keeps the bound (pub/sub may drop
 * messages, Redis may be down); it is also what marks the cache fresh.
 */
export class ChangeFeed {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly primary: Executor,
    private readonly freshness: Freshness,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly shared: SharedCache | undefined,
    private readonly options: { intervalMs: number; horizonSeconds: number },
  ) {}

  /**
   * Replays the changes recent enough for a Redis entry to still be alive (the longest TTL),
   * so that entries other instances wrote stay usable across this one's restart.
   */
  async start(): Promise<void> {
    const [current] = await this.primary.rows<{ revision: string }>(
      "changes.current",
      sql`SELECT value::text AS revision FROM ${revisionCounter}`,
    );
    const rows = await this.primary.rows<Row>(
      "changes.recent",
      sql`SELECT revision::text AS revision, kind, user_ids::text[] AS "userIds",
                 structure_ids::text[] AS "structureIds", paths
          FROM ${changeLog}
          WHERE committed_at > now() - make_interval(secs => ${this.options.horizonSeconds}::int)
          ORDER BY revision DESC LIMIT ${50_000}`,
    );
    const revision = BigInt(current?.revision ?? "0");
    const oldest = rows.at(-1);
    // Trust nothing older than what was replayed (or than now, when the log holds nothing recent).
    this.freshness.reset(
      rows.length === 50_000 && oldest
        ? BigInt(oldest.revision)
        : oldest
          ? BigInt(oldest.revision) - 1n
          : revision,
    );
    for (const row of rows.reverse()) this.apply(toChange(row), "recovery");
    this.freshness.synced(revision, performance.now());
    this.shared?.subscribe((message) => this.onMessage(message));
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** This instance committed a change: apply it now and tell the others. */
  committed(change: Change): void {
    this.apply(change, "write");
    this.shared?.publish(JSON.stringify({ ...change, revision: change.revision.toString() }));
  }

  private onMessage(message: string): void {
    try {
      const parsed = JSON.parse(message) as Omit<Change, "revision"> & { revision: string };
      this.apply({ ...parsed, revision: BigInt(parsed.revision) }, "remote");
    } catch {
      this.logger.warn("ignored a malformed change message");
    }
  }

  private apply(change: Change, reason: "write" | "remote" | "recovery"): void {
    if (change.kind === "seed") {
      // A bulk load touched everything: distrust every entry read before it.
      this.freshness.reset(change.revision);
      this.metrics.cacheInvalidations.inc({ cache: "hierarchy", reason: "recovery" });
      this.metrics.cacheInvalidations.inc({ cache: "permissions", reason: "recovery" });
      return;
    }
    const keys = touchedBy(change);
    if (this.freshness.touch(change.revision, keys) === 0) return;
    const counts = new Map<string, number>();
    for (const key of keys) counts.set(cacheOfKey(key), (counts.get(cacheOfKey(key)) ?? 0) + 1);
    for (const [cache, n] of counts) this.metrics.cacheInvalidations.inc({ cache, reason }, n);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.poll().finally(() => this.schedule()), this.options.intervalMs);
    this.timer.unref();
  }

  /** Applies every change after `seen`, in order; a complete pass marks the cache fresh as of its start. */
  async poll(): Promise<void> {
    const startedAt = performance.now();
    try {
      for (;;) {
        const rows = await this.primary.rows<Row>(
          "changes.poll",
          sql`SELECT revision::text AS revision, kind, user_ids::text[] AS "userIds",
                     structure_ids::text[] AS "structureIds", paths
              FROM ${changeLog} WHERE revision > ${this.freshness.seen.toString()}::bigint
              ORDER BY revision LIMIT ${batch}`,
        );
        for (const row of rows) {
          const change = toChange(row);
          this.apply(change, "remote");
          this.freshness.synced(change.revision, Number.NEGATIVE_INFINITY);
        }
        if (rows.length < batch) break;
      }
      this.freshness.synced(this.freshness.seen, startedAt);
    } catch (err) {
      // The cache goes stale-unsafe on its own once polls stop succeeding; reads then go to Postgres.
      this.logger.warn({ err: (err as Error).message }, "change log poll failed");
    }
  }
}

function toChange(row: Row): Change {
  return {
    revision: BigInt(row.revision),
    kind: row.kind,
    userIds: row.userIds,
    structureIds: row.structureIds,
    paths: row.paths,
  };
}
