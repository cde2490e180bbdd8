import { sql } from "drizzle-orm";
import type { Logger } from "../observability/logger.ts";
import type { Executor } from "./database.ts";
import { revisionCounter } from "./schema/index.ts";

export type ReplicaHandle = {
  /** host:port, never credentials: the label of metrics and readyz. */
  label: string;
  executor: Executor;
  stats: () => { total: number; idle: number; waiting: number };
  close: () => Promise<void>;
};

type State = { revision: bigint; freshUntil: number; down: boolean; lagSeconds: number };

/**
 * Read routing. A replica serves a plain read only while it is known to hold every write that
 * returned more than the staleness bound ago: each probe reads the primary's revision first,
 * then the replica's, and a replica that has caught up with it stays in rotation until that
 * primary reading is a bound old. A read with minRevision goes to a replica that has replayed
 * it. Anything else goes to the primary, as does a read whose replica fails mid-way.
 */
export class ReplicaRouter {
  private readonly states = new Map<ReplicaHandle, State>();
  private next = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly primary: Executor,
    /** The primary on a connection of its own, for probes. */
    private readonly probeExecutor: Executor,
    private readonly replicas: readonly ReplicaHandle[],
    private readonly options: { boundMs: number; intervalMs: number },
    private readonly logger: Logger,
    private readonly onLag: (label: string, seconds: number) => void,
  ) {
    for (const r of replicas)
      this.states.set(r, { revision: -1n, freshUntil: 0, down: false, lagSeconds: 0 });
  }

  start(): void {
    const tick = () => {
      void this.probe().finally(() => {
        this.timer = setTimeout(tick, this.options.intervalMs);
        this.timer.unref();
      });
    };
    tick();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** Where a read goes. */
  reader(minRevision?: bigint): Executor {
    const now = performance.now();
    const eligible = this.replicas.filter((r) => {
      const s = this.states.get(r);
      if (!s || s.down) return false;
      return minRevision !== undefined ? s.revision >= minRevision : now < s.freshUntil;
    });
    if (eligible.length === 0) return this.primary;
    const replica = eligible[this.next++ % eligible.length] as ReplicaHandle;
    return this.withFallback(replica);
  }

  /** Replicas that are down or too far behind to serve, for readyz. */
  degraded(): string[] {
    const now = performance.now();
    return this.replicas
      .filter((r) => {
        const s = this.states.get(r);
        return !s || s.down || now >= s.freshUntil;
      })
      .map((r) => `replica ${r.label}`);
  }

  private withFallback(replica: ReplicaHandle): Executor {
    return {
      target: "replica",
      rows: async (name, query) => {
        try {
          return await replica.executor.rows(name, query);
        } catch (err) {
          // A Postgres error (a bad query) would fail on the primary too; a lost replica would not.
          if (
            (err as { severity?: unknown }).severity &&
            !String((err as { code?: string }).code).startsWith("57")
          ) {
            throw err;
          }
          this.markDown(replica, err);
          return this.primary.rows(name, query);
        }
      },
    };
  }

  private markDown(replica: ReplicaHandle, err: unknown) {
    const state = this.states.get(replica);
    if (state && !state.down)
      this.logger.warn({ replica: replica.label, err: (err as Error).message }, "replica out of rotation");
    if (state) {
      state.down = true;
      state.freshUntil = 0;
    }
  }

  /** One round: the primary's revision, then each replica's, with how far its replay lags. */
  async probe(): Promise<void> {
    const startedAt = performance.now();
    let primaryRevision: bigint;
    try {
      const [row] = await this.probeExecutor.rows<{ revision: string }>(
        "replicas.primary_revision",
        sql`SELECT value::text AS revision FROM ${revisionCounter} WHERE id = 1`,
      );
      primaryRevision = BigInt(row?.revision ?? "0");
    } catch {
      return;
    }
    await Promise.all(
      this.replicas.map(async (replica) => {
        const state = this.states.get(replica);
        if (!state) return;
        try {
          const [row] = await replica.executor.rows<{ revision: string; lag: number }>(
            "replicas.replayed",
            sql`SELECT (SELECT value::text FROM ${revisionCounter} WHERE id = 1) AS revision,
                       CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                            ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8 AS lag`,
          );
          const revision = BigInt(row?.revision ?? "-1");
          if (state.down) this.logger.info({ replica: replica.label }, "replica back in rotation");
          state.down = false;
          if (revision > state.revision) state.revision = revision;
          if (revision >= primaryRevision) state.freshUntil = startedAt + this.options.boundMs;
          state.lagSeconds = revision >= primaryRevision ? 0 : Number(row?.lag ?? 0);
          this.onLag(replica.label, state.lagSeconds);
        } catch (err) {
          this.markDown(replica, err);
        }
      }),
    );
  }
}
