import { LRUCache } from "lru-cache";
import type { Executor } from "../db/database.ts";
import { ensureReflects } from "../db/fragments.ts";
import { type CheckInputs, loadCheckInputs } from "../db/queries/check-inputs.ts";
import { effectiveRole, type Grants } from "../domain/decide.ts";
import type { Role } from "../domain/roles.ts";
import type { Metrics } from "../observability/metrics.ts";
import { chainDependencies, deps, idsOfPath } from "./dependencies.ts";
import type { Freshness } from "./freshness.ts";
import type { SharedCache } from "./redis.ts";

type CacheName = "hierarchy" | "permissions";
/** A structure's path, or a user's grants; null records that the id names nothing. */
type Value<N extends CacheName> = N extends "hierarchy" ? string | null : [string, Role][] | null;
type Entry<N extends CacheName> = {
  revision: bigint;
  value: Value<N>;
  /** Derived on first use and kept with the entry in L1 (never in Redis): checks reuse them. */
  deps?: readonly string[];
  /** Freshness.version when the entry was last found valid. */
  validAt?: number;
  chain?: readonly string[];
  grants?: Grants;
};

export type Subject = { userId: string | null; structureId: string | null };
export type CheckDecision = {
  userFound: boolean;
  structureFound: boolean;
  role: Role | null;
  grantedAt: string | null;
};

export type CheckCacheOptions = {
  ttlHierarchyS: number;
  ttlPermissionsS: number;
  l1MaxEntries: number;
};

const dependenciesOf = {
  hierarchy: (id: string, value: string | null) => chainDependencies(id, value),
  permissions: (id: string) => [deps.user(id)],
} as const;

/** Under the database's namespace (see redis.ts). */
const redisKey = (cache: CacheName, id: string) => `${cache === "hierarchy" ? "h" : "p"}:${id}`;

/**
 * Checks from cached parts: each structure's path (hierarchy) and each user's grants
 * (permissions), in process (L1) and in Redis (L2). A warm check makes no database round trip.
 * Every entry carries the revision it was read at and is served only while Freshness says
 * none of its dependencies changed since, so an invalidation is a map write, never a scan,
 * and an entry Redis kept through an outage cannot resurrect a revoked grant.
 */
export class CheckCache {
  private readonly l1: { [N in CacheName]: LRUCache<string, Entry<N>> };
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(
    private readonly freshness: Freshness,
    private readonly shared: SharedCache | undefined,
    private readonly metrics: Metrics,
    private readonly reader: (minRevision: bigint | undefined) => Executor,
    private readonly options: CheckCacheOptions,
  ) {
    const l1 = <N extends CacheName>(ttlS: number) =>
      new LRUCache<string, Entry<N>>({ max: options.l1MaxEntries, ttl: ttlS * 1000, ttlAutopurge: false });
    this.l1 = { hierarchy: l1(options.ttlHierarchyS), permissions: l1(options.ttlPermissionsS) };
  }

  /** The decisions, from memory when it can, else read through the caches and the database. */
  async decide(subjects: readonly Subject[], minRevision: string | undefined): Promise<Decided> {
    return this.fromMemory(subjects, minRevision) ?? this.readThrough(subjects, minRevision);
  }

  /**
   * The decisions when every part is in L1, valid, and the cache may serve at `minRevision`; else
   * undefined, having counted nothing (the read-through counts what it finds).
   */
  fromMemory(subjects: readonly Subject[], minRevision: string | undefined): Decided | undefined {
    const { seen } = this.freshness;
    if (!this.freshness.isFresh() || (minRevision !== undefined && seen < BigInt(minRevision))) return;
    const found: Found = { hierarchy: new Map(), permissions: new Map() };
    for (const { userId, structureId } of subjects) {
      if (structureId !== null && !this.peek("hierarchy", structureId, found.hierarchy)) return;
      if (userId !== null && !this.peek("permissions", userId, found.permissions)) return;
    }
    for (const cache of caches) this.metrics.countLookup(cache, "l1", true, found[cache].size);
    return { decisions: compute(subjects, found), revision: seen.toString() };
  }

  private peek<N extends CacheName>(cache: N, id: string, found: Map<string, Entry<N>>): boolean {
    if (found.has(id)) return true;
    const entry = this.l1[cache].get(id) as Entry<N> | undefined;
    if (entry === undefined || !this.isValid(cache, id, entry)) return false;
    found.set(id, entry);
    return true;
  }

  private async readThrough(subjects: readonly Subject[], minRevision: string | undefined): Promise<Decided> {
    const wanted = {
      hierarchy: unique(subjects.map((x) => x.structureId)),
      permissions: unique(subjects.map((x) => x.userId)),
    };
    const min = minRevision === undefined ? undefined : BigInt(minRevision);
    if (this.freshness.isFresh() && (min === undefined || this.freshness.seen >= min)) {
      const seen = this.freshness.seen;
      const found: Found = { hierarchy: new Map(), permissions: new Map() };
      const missing = {
        hierarchy: this.fromL1("hierarchy", wanted.hierarchy, found.hierarchy),
        permissions: this.fromL1("permissions", wanted.permissions, found.permissions),
      };
      // A warm check ends here, without another await.
      if (missing.hierarchy.length + missing.permissions.length > 0) await this.resolve(missing, seen, found);
      // Cached parts reflect every write up to `seen`; parts loaded now reflect at least as much.
      return { decisions: compute(subjects, found), revision: seen.toString() };
    }
    // Not known to be fresh, or asked for a revision not seen yet: read through, caching what comes back.
    const inputs = await loadCheckInputs(this.reader(min), wanted.hierarchy, wanted.permissions);
    ensureReflects(inputs.revision.toString(), minRevision);
    return { decisions: compute(subjects, this.store(wanted, inputs)), revision: inputs.revision.toString() };
  }

  /** Entries L1 missed, valid: from L2, else one database load shared by concurrent misses. */
  private async resolve(l1Missed: { [N in CacheName]: string[] }, seen: bigint, found: Found): Promise<void> {
    let missing = l1Missed;
    if (this.shared) {
      missing = {
        hierarchy: await this.fromShared("hierarchy", missing.hierarchy, found.hierarchy),
        permissions: await this.fromShared("permissions", missing.permissions, found.permissions),
      };
    }
    for (let attempt = 0; missing.hierarchy.length + missing.permissions.length > 0; attempt++) {
      const waits: Promise<unknown>[] = [];
      const own = { hierarchy: [] as string[], permissions: [] as string[] };
      for (const cache of caches) {
        for (const id of missing[cache]) {
          const pending = attempt === 0 ? this.inflight.get(`${cache}:${id}`) : undefined;
          if (pending) waits.push(pending);
          else own[cache].push(id);
        }
      }
      if (own.hierarchy.length + own.permissions.length > 0) waits.push(this.load(own, seen, found));
      await Promise.all(waits);
      // Keys another request was loading: take them from L1 now, or load them ourselves next round.
      missing = {
        hierarchy: this.fromL1(
          "hierarchy",
          missing.hierarchy.filter((id) => !found.hierarchy.has(id)),
          found.hierarchy,
          false,
        ),
        permissions: this.fromL1(
          "permissions",
          missing.permissions.filter((id) => !found.permissions.has(id)),
          found.permissions,
          false,
        ),
      };
    }
  }

  private load(ids: { [N in CacheName]: string[] }, seen: bigint, found: Found): Promise<void> {
    const load = loadCheckInputs(this.reader(seen), ids.hierarchy, ids.permissions).then((inputs) => {
      const stored = this.store(ids, inputs);
      for (const [id, e] of stored.hierarchy) found.hierarchy.set(id, e);
      for (const [id, e] of stored.permissions) found.permissions.set(id, e);
    });
    const settled = load.finally(() => {
      for (const cache of caches) for (const id of ids[cache]) this.inflight.delete(`${cache}:${id}`);
    });
    for (const cache of caches)
      for (const id of ids[cache])
        this.inflight.set(
          `${cache}:${id}`,
          settled.catch(() => {}),
        );
    return settled;
  }

  private fromL1<N extends CacheName>(
    cache: N,
    ids: string[],
    found: Map<string, Entry<N>>,
    count = true,
  ): string[] {
    const missing: string[] = [];
    for (const id of ids) {
      const entry = this.l1[cache].get(id) as Entry<N> | undefined;
      const hit = entry !== undefined && this.isValid(cache, id, entry);
      if (count) this.metrics.countLookup(cache, "l1", hit);
      if (hit && entry) found.set(id, entry);
      else missing.push(id);
    }
    return missing;
  }

  private async fromShared<N extends CacheName>(
    cache: N,
    ids: string[],
    found: Map<string, Entry<N>>,
  ): Promise<string[]> {
    if (ids.length === 0 || !this.shared) return ids;
    const raw = await this.shared.get(ids.map((id) => redisKey(cache, id)));
    const missing: string[] = [];
    ids.forEach((id, i) => {
      const entry = parseEntry<N>(raw[i] ?? null);
      const hit = entry !== undefined && this.isValid(cache, id, entry);
      this.metrics.countLookup(cache, "l2", hit);
      if (hit && entry) {
        (this.l1[cache] as LRUCache<string, Entry<N>>).set(id, entry);
        found.set(id, entry);
      } else missing.push(id);
    });
    return missing;
  }

  private isValid<N extends CacheName>(cache: N, id: string, entry: Entry<N>): boolean {
    // Nothing changed since it was last found valid: no need to look at its dependencies again.
    if (entry.validAt === this.freshness.version) return true;
    entry.deps ??=
      cache === "hierarchy"
        ? dependenciesOf.hierarchy(id, entry.value as string | null)
        : dependenciesOf.permissions(id);
    if (!this.freshness.isValid(entry.revision, entry.deps)) return false;
    entry.validAt = this.freshness.version;
    return true;
  }

  private store(ids: { [N in CacheName]: string[] }, inputs: CheckInputs): Found {
    const found: Found = { hierarchy: new Map(), permissions: new Map() };
    for (const id of ids.hierarchy) {
      const entry = { revision: inputs.revision, value: inputs.paths.get(id) ?? null };
      this.put("hierarchy", id, entry);
      found.hierarchy.set(id, entry);
    }
    for (const id of ids.permissions) {
      const grants = inputs.grants.get(id);
      const entry = { revision: inputs.revision, value: grants ? [...grants] : null };
      this.put("permissions", id, entry);
      found.permissions.set(id, entry);
    }
    return found;
  }

  private put<N extends CacheName>(cache: N, id: string, entry: Entry<N>) {
    (this.l1[cache] as LRUCache<string, Entry<N>>).set(id, entry);
    const ttl = cache === "hierarchy" ? this.options.ttlHierarchyS : this.options.ttlPermissionsS;
    this.shared?.set(
      redisKey(cache, id),
      JSON.stringify({ r: entry.revision.toString(), v: entry.value }),
      ttl,
    );
  }
}

type Found = { [N in CacheName]: Map<string, Entry<N>> };
export type Decided = { decisions: CheckDecision[]; revision: string };
const caches = ["hierarchy", "permissions"] as const;

function compute(subjects: readonly Subject[], found: Found): CheckDecision[] {
  return subjects.map(({ userId, structureId }) => {
    const place = structureId === null ? undefined : found.hierarchy.get(structureId);
    const holder = userId === null ? undefined : found.permissions.get(userId);
    const path = place?.value ?? null;
    const grants = holder?.value ?? null;
    if (path === null || grants === null || !place || !holder) {
      return { userFound: grants !== null, structureFound: path !== null, role: null, grantedAt: null };
    }
    place.chain ??= idsOfPath(path);
    holder.grants ??= new Map(grants);
    return { userFound: true, structureFound: true, ...effectiveRole(place.chain, holder.grants) };
  });
}

function unique(ids: (string | null)[]): string[] {
  return [...new Set(ids.filter((x): x is string => x !== null))];
}

function parseEntry<N extends CacheName>(raw: string | null): Entry<N> | undefined {
  if (raw === null) return undefined;
  try {
    const { r, v } = JSON.parse(raw) as { r: string; v: Value<N> };
    return { revision: BigInt(r), value: v };
  } catch {
    return undefined;
  }
}
