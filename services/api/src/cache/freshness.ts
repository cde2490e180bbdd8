/**
 * This instance's knowledge of what changed, learned from its own writes, from Redis pub/sub
 * and, authoritatively, from the change log in Postgres.
 *
 * - `lastChanged` maps a dependency key to the last revision that touched it; an entry read at
 *   revision R is valid while every dependency's last change is at or below R.
 * - `seen` is the revision up to which every change has been applied, without gaps (only the
 *   change-log poll advances it, since pub/sub can skip messages).
 * - `syncedAt` is when the last complete poll started: every write that returned before then is
 *   known. Cached entries are served only while that is younger than the staleness bound, so a
 *   stalled poll or database sends reads to the database rather than serve stale answers.
 */
export class Freshness {
  private readonly lastChanged = new Map<string, bigint>();
  /** Entries read below this revision are invalid (set when the map is reset). */
  private floor = 0n;
  seen = 0n;
  /** Moves whenever an entry may have stopped being valid: what was valid at one value still is. */
  version = 0;
  private syncedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys = 500_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Starts (or restarts) from a revision: nothing read before it is trusted. */
  reset(revision: bigint): void {
    this.version++;
    this.lastChanged.clear();
    this.floor = revision;
    if (revision > this.seen) this.seen = revision;
  }

  /** Records that a revision touched these keys. Returns how many keys it moved forward. */
  touch(revision: bigint, keys: readonly string[]): number {
    if (this.lastChanged.size + keys.length > this.maxKeys) {
      // Bounded memory: forget the details and distrust everything read before now.
      this.reset(revision > this.seen ? revision : this.seen);
      return keys.length;
    }
    this.version++;
    let moved = 0;
    for (const key of keys) {
      const known = this.lastChanged.get(key);
      if (known === undefined || known < revision) {
        this.lastChanged.set(key, revision);
        moved++;
      }
    }
    return moved;
  }

  /** A complete poll that started at `startedAt` brought `seen` up to `revision`. */
  synced(revision: bigint, startedAt: number): void {
    if (revision > this.seen) this.seen = revision;
    if (startedAt > this.syncedAt) this.syncedAt = startedAt;
  }

  /** Whether cached entries may be served now. */
  isFresh(): boolean {
    return this.now() - this.syncedAt < this.windowMs;
  }

  /** Whether an entry read at `revision` with these dependencies still reflects every known change. */
  isValid(revision: bigint, keys: readonly string[]): boolean {
    if (revision < this.floor) return false;
    for (const key of keys) {
      const changed = this.lastChanged.get(key);
      if (changed !== undefined && changed > revision) return false;
    }
    return true;
  }
}
