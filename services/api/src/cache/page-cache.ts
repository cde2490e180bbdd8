import { LRUCache } from "lru-cache";
import type { Page } from "../db/fragments.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Freshness } from "./freshness.ts";
import type { SharedCache } from "./redis.ts";

type Entry = { revision: bigint; dependencies: string[]; page: Page<unknown> };

/**
 * The `query` cache: pages of list answers that are costly to compute (visible users, a user's
 * structures, principals), in process and in Redis. Each page carries the dependency keys its
 * statement read in the same snapshot, and is served under the same rule as the check caches:
 * only while fresh, and only while none of its dependencies changed after its revision.
 */
export class PageCache {
  private readonly l1: LRUCache<string, Entry>;
  private readonly inflight = new Map<string, Promise<Page<unknown>>>();

  constructor(
    private readonly freshness: Freshness,
    private readonly shared: SharedCache | undefined,
    private readonly metrics: Metrics,
    private readonly options: { ttlS: number; l1MaxEntries: number },
  ) {
    this.l1 = new LRUCache({ max: options.l1MaxEntries, ttl: options.ttlS * 1000 });
  }

  /**
   * The page under `key`, from a cache when one holds it valid, else from `load` (which reads at
   * least the given revision). Pages read without dependencies are not cached.
   */
  async read<T>(
    key: string,
    minRevision: string | undefined,
    load: (minRevision: bigint | undefined) => Promise<Page<T>>,
  ): Promise<Page<T>> {
    const min = minRevision === undefined ? undefined : BigInt(minRevision);
    if (!this.freshness.isFresh() || (min !== undefined && this.freshness.seen < min)) {
      return this.store(key, await load(min));
    }
    const seen = this.freshness.seen;
    const answer = (entry: Entry) => ({ ...(entry.page as Page<T>), revision: seen.toString() });
    const local = this.l1.get(key);
    const l1Hit = local !== undefined && this.freshness.isValid(local.revision, local.dependencies);
    this.metrics.countLookup("query", "l1", l1Hit);
    if (l1Hit && local) return answer(local);
    if (this.shared) {
      const [raw] = await this.shared.get([redisKey(key)]);
      const entry = raw ? parse(raw) : undefined;
      const hit = entry !== undefined && this.freshness.isValid(entry.revision, entry.dependencies);
      this.metrics.countLookup("query", "l2", hit);
      if (hit && entry) {
        this.l1.set(key, entry);
        return answer(entry);
      }
    }
    // Single flight: concurrent misses of one page share one statement.
    const pending = this.inflight.get(key);
    if (pending) return pending as Promise<Page<T>>;
    const loading = load(seen)
      .then((page) => this.store(key, page))
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, loading as Promise<Page<unknown>>);
    return loading;
  }

  private store<T>(key: string, page: Page<T>): Page<T> {
    if (page.dependencies && page.dependencies.length > 0) {
      const entry: Entry = { revision: BigInt(page.revision), dependencies: page.dependencies, page };
      this.l1.set(key, entry);
      this.shared?.set(
        redisKey(key),
        JSON.stringify({ r: page.revision, d: page.dependencies, p: page }),
        this.options.ttlS,
      );
    }
    return page;
  }
}

const redisKey = (key: string) => `q:${key}`;

function parse(raw: string): Entry | undefined {
  try {
    const { r, d, p } = JSON.parse(raw) as { r: string; d: string[]; p: Page<unknown> };
    return { revision: BigInt(r), dependencies: d, page: p };
  } catch {
    return undefined;
  }
}
