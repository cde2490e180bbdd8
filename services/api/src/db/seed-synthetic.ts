/**
 * Bulk-loads a deterministic synthetic organisation (structures tree, users, grants) into an
 * empty, migrated database: the data set for benchmarks and load tests.
 *
 * Everything happens in ONE transaction, so a failure at any point (including a refusal because
 * the tables are not empty) leaves the database exactly as it was, dropped indexes included.
 * Within it: drop the foreign keys and indexes of the three tables, TRUNCATE them (so COPY may
 * use FREEZE), stream the rows through COPY, rebuild the indexes and constraints from the
 * definitions captured from the catalog before dropping them, ANALYZE, move the identity
 * sequences past the loaded ids and record the load as one revision.
 *
 * One transaction means one connection, so the index builds run one after another rather than on
 * several pooled connections; each still uses Postgres's parallel workers for its sort. On the
 * 2-core reference machine building on two connections saved ~1 s of a ~12 s load: not worth
 * giving up the all-or-nothing property.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Pool, PoolClient } from "pg";
import { from as copyFrom } from "pg-copy-streams";

export interface SeedOptions {
  users: number;
  structures: number;
  /** Deepest level of the tree; roots are at depth 0. Shallower when `structures` is too small. */
  depth: number;
  grants: number;
  /** Same options (seed included) => identical rows, apart from the `now()` timestamp columns. */
  seed: number;
}

export interface SeedResult {
  users: number;
  structures: number;
  grants: number;
  /** The canopy_revision value the load committed as. */
  revision: number;
  /** Wall-clock milliseconds per phase, plus `total`. */
  ms: Record<string, number>;
}

export type SeedLog = (msg: string, fields?: Record<string, unknown>) => void;

const TABLES = ["hierarchy_structures", "users", "permissions"] as const;
const CHUNK_BYTES = 64 * 1024;
/** Fraction of grants placed on the top two levels of the tree; the rest go to deep units. */
const TOP_GRANT_SHARE = 0.01;
/** Fraction of grants on the grantee's own unit or its parent, as real delegations mostly are. */
const NEAR_GRANT_SHARE = 0.5;
/** Fraction of users placed on any unit; the others sit on leaf units, as in a real organisation. */
const USERS_ANYWHERE_SHARE = 0.2;

export async function seedSynthetic(pool: Pool, opts: SeedOptions, log: SeedLog): Promise<SeedResult> {
  validateOptions(opts);
  const timer = phaseTimer(log);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    // Bump the revision first: the seed then holds the writers' lock for its whole load, so no
    // API write can slip in between the table locks it takes and its commit.
    const revision = await timer.run("begin", async () => {
      await client.query("BEGIN");
      return bumpRevision(client);
    });
    await timer.run("lock_and_check", () => lockAndCheckEmpty(client));
    // Bulk settings for this transaction only: big sorts for the index builds (parallel workers
    // share maintenance_work_mem) and, for the foreign-key checks, big hash joins.
    await client.query("SET LOCAL maintenance_work_mem = '512MB'");
    await client.query("SET LOCAL work_mem = '256MB'");

    const schema = await timer.run("drop_schema", () => dropSchema(client));
    const tree = timer.runSync("generate_tree", () => buildTree(opts.structures, opts.depth, opts.seed));
    const homes = timer.runSync("assign_users", () => assignUsers(opts.users, tree, opts.seed));

    await timer.run("copy_structures", () =>
      copyRows(
        client,
        "hierarchy_structures (id, parent_id, path, depth, name, external_id)",
        structureRows(tree),
      ),
    );
    await timer.run("copy_users", () =>
      copyRows(client, "users (id, structure_id, email, name, external_id)", userRows(homes, opts.seed)),
    );
    await timer.run("copy_permissions", () =>
      copyRows(
        client,
        "permissions (id, user_id, structure_id, role)",
        grantRows(opts.grants, homes, tree, opts.seed),
      ),
    );

    await timer.run("primary_keys", () => runAll(client, schema.primaryKeys, log));
    await timer.run("indexes", () => runAll(client, schema.indexes, log));
    await timer.run("foreign_keys", () => runAll(client, schema.foreignKeys, log));
    // After the indexes: ANALYZE also gathers statistics on index expressions (lower(email)).
    await timer.run("analyze", () => client.query(`ANALYZE ${TABLES.join(", ")}`));
    await timer.run("finish", async () => {
      await setSequences(client, opts);
      await client.query(
        `INSERT INTO canopy_change_log (revision, kind, structure_ids, user_ids, paths)
         VALUES ($1, 'seed', '{}', '{}', '{}')`,
        [revision],
      );
      await client.query("COMMIT");
    });
    const ms = timer.done();
    log("seed-synthetic: done", { ...opts, revision, ms });
    return { users: opts.users, structures: opts.structures, grants: opts.grants, revision, ms };
  } catch (err) {
    await client.query("ROLLBACK").catch((e: Error) => {
      broken = e;
    });
    throw err;
  } finally {
    // A connection that could not even roll back is not handed back to the pool.
    client.release(broken);
  }
}

// ---------------------------------------------------------------------------------------------
// Options

function validateOptions(opts: SeedOptions): void {
  for (const key of ["users", "structures", "depth", "grants"] as const) {
    const v = opts[key];
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`seedSynthetic: ${key} must be an integer >= 0`);
  }
  if (!Number.isSafeInteger(opts.seed)) throw new Error("seedSynthetic: seed must be a safe integer");
  if (opts.users > 0 && opts.structures === 0) {
    throw new Error("seedSynthetic: users need at least one structure to belong to");
  }
  const possible = opts.users * opts.structures;
  if (opts.grants > possible) {
    throw new Error(
      `seedSynthetic: ${opts.grants} grants requested but only ${possible} distinct (user, structure) pairs exist`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness. Only integer ops, +, *, / and floor (all exactly specified by
// IEEE 754), never Math.random/log/pow, so a seed produces the same rows on any platform.

class Rng {
  private a: number;
  constructor(seed: number, stream: number) {
    // Each table draws from its own stream, so changing how one is generated leaves the others be.
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 0x1_0000_0000) >>> 0;
    this.a = fmix32(fmix32(lo ^ Math.imul(stream, 0x9e3779b9)) ^ hi);
  }

  /** mulberry32: a uniform uint32. */
  uint32(): number {
    this.a = (this.a + 0x6d2b79f5) | 0;
    let t = Math.imul(this.a ^ (this.a >>> 15), 1 | this.a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.uint32() / 0x1_0000_0000;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
}

/** murmur3's finaliser: spreads seed bits so nearby seeds give unrelated streams. */
function fmix32(h: number): number {
  let x = h >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

const STREAM = { tree: 1, homes: 2, users: 3, grants: 4 } as const;

// ---------------------------------------------------------------------------------------------
// The tree. Ids are handed out level by level (breadth first), and within a level grouped by
// parent, so each level is a contiguous id range and siblings have consecutive ids.

interface Tree {
  size: number;
  /** Indexed by id (slot 0 unused); 0 for roots. */
  parent: Int32Array;
  depth: Int32Array;
  childCount: Int32Array;
  /** levelStart[d] is the first id at depth d; levelStart[maxDepth + 1] = size + 1. */
  levelStart: number[];
}

function buildTree(size: number, maxDepth: number, seed: number): Tree {
  const rng = new Rng(seed, STREAM.tree);
  const parent = new Int32Array(size + 1);
  const depth = new Int32Array(size + 1);
  const childCount = new Int32Array(size + 1);
  const sizes = size === 0 ? [] : levelSizes(size, Math.min(maxDepth, size - 1), rng);
  const levelStart = [1];
  for (const n of sizes) levelStart.push((levelStart.at(-1) ?? 1) + n);

  for (let d = 1; d < sizes.length; d++) {
    const first = levelStart[d] as number;
    const parents = pickParents(levelStart[d - 1] as number, first, sizes[d] as number, rng);
    for (let i = 0; i < parents.length; i++) {
      const id = first + i;
      const p = parents[i] as number;
      parent[id] = p;
      depth[id] = d;
      childCount[p] = (childCount[p] as number) + 1;
    }
  }
  return { size, parent, depth, childCount, levelStart };
}

/**
 * How many nodes each level gets: 1 to 3 roots, then geometric growth (ratio found by bisection)
 * so that most nodes sit at the deeper levels, at least one node per level down to `maxDepth`.
 */
function levelSizes(total: number, maxDepth: number, rng: Rng): number[] {
  // A tree of depth 0 is only roots, however many.
  if (maxDepth === 0) return [total];
  const roots = Math.min(1 + rng.int(3), total - maxDepth);
  const shape = (ratio: number): number[] => {
    const sizes = [roots];
    let x = roots;
    for (let d = 1; d <= maxDepth; d++) {
      x *= ratio;
      sizes.push(Math.max(1, Math.floor(x)));
    }
    return sizes;
  };
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  let lo = 0;
  let hi = total;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (sum(shape(mid)) <= total) lo = mid;
    else hi = mid;
  }
  const sizes = shape(lo);
  sizes[maxDepth] = (sizes[maxDepth] as number) + total - sum(sizes);
  return sizes;
}

/**
 * Parents (ids in [from, to)) for `count` children. Each candidate gets a random weight with a
 * long tail, so a few units are large and many are small or childless; the result is sorted so
 * that siblings receive consecutive ids.
 */
function pickParents(from: number, to: number, count: number, rng: Rng): Int32Array {
  const n = to - from;
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += 1 / (0.05 + rng.float());
    cumulative[i] = total;
  }
  const parents = new Int32Array(count);
  for (let c = 0; c < count; c++) {
    const target = rng.float() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] as number) > target) hi = mid;
      else lo = mid + 1;
    }
    parents[c] = from + lo;
  }
  return parents.sort();
}

function leavesOf(tree: Tree): Int32Array {
  const leaves: number[] = [];
  for (let id = 1; id <= tree.size; id++) if (tree.childCount[id] === 0) leaves.push(id);
  return Int32Array.from(leaves);
}

// ---------------------------------------------------------------------------------------------
// Users: each user's home structure, mostly a leaf unit.

function assignUsers(count: number, tree: Tree, seed: number): Int32Array {
  const rng = new Rng(seed, STREAM.homes);
  const leaves = leavesOf(tree);
  const homes = new Int32Array(count + 1);
  for (let id = 1; id <= count; id++) {
    homes[id] =
      rng.float() < USERS_ANYWHERE_SHARE
        ? 1 + rng.int(tree.size)
        : (leaves[rng.int(leaves.length)] as number);
  }
  return homes;
}

// biome-ignore format: keep the lists compact
const FIRST_NAMES = [
  "Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace", "Hedy", "Ivan",
  "John", "Katherine", "Linus", "Margaret", "Niklaus", "Radia", "Shafi", "Tim", "Sophie", "Whitfield",
];
// biome-ignore format: keep the lists compact
const LAST_NAMES = [
  "Lovelace", "Turing", "Liskov", "Shannon", "Knuth", "Dijkstra", "Allen", "Hopper", "Lamarr", "Sutherland",
  "McCarthy", "Johnson", "Torvalds", "Hamilton", "Wirth", "Perlman", "Goldwasser", "Berners-Lee", "Diffie", "Ritchie",
];

// ---------------------------------------------------------------------------------------------
// Rows, in COPY text format. Every value comes from a fixed alphabet (digits, ASCII letters,
// '/', '@', '.', '-', ' '), so nothing needs COPY escaping.

function* structureRows(tree: Tree): Generator<string> {
  // Paths are kept per id because children (later ids) extend their parent's path.
  const paths: string[] = new Array(tree.size + 1);
  for (let id = 1; id <= tree.size; id++) {
    const p = tree.parent[id] as number;
    const path = p === 0 ? `/${id}/` : `${paths[p]}${id}/`;
    paths[id] = path;
    yield `${id}\t${p === 0 ? "\\N" : p}\t${path}\t${tree.depth[id]}\tUnit ${id}\ts-${id}\n`;
  }
}

function* userRows(homes: Int32Array, seed: number): Generator<string> {
  const rng = new Rng(seed, STREAM.users);
  for (let id = 1; id < homes.length; id++) {
    const name = `${FIRST_NAMES[rng.int(FIRST_NAMES.length)]} ${LAST_NAMES[rng.int(LAST_NAMES.length)]}`;
    yield `${id}\t${homes[id]}\tuser${id}@example.com\t${name}\tu-${id}\n`;
  }
}

function roleFor(rng: Rng): string {
  const r = rng.float();
  return r < 0.7 ? "viewer" : r < 0.9 ? "editor" : "admin";
}

function* grantRows(count: number, homes: Int32Array, tree: Tree, seed: number): Generator<string> {
  const rng = new Rng(seed, STREAM.grants);
  const pairs = grantPairs(count, homes, tree, rng);
  for (let id = 1; id <= count; id++) {
    const next = pairs.next();
    if (next.done) throw new Error("seedSynthetic: grant generator ran dry (bug)");
    const [user, structure] = next.value;
    yield `${id}\t${user}\t${structure}\t${roleFor(rng)}\n`;
  }
}

/**
 * Distinct (user, structure) pairs. When few of all possible pairs are wanted, draw at random and
 * skip repeats; when many are, that would stall on repeats, so walk every pair once instead and
 * keep each with the exact probability that yields `count` in total (Knuth's selection sampling).
 */
function grantPairs(count: number, homes: Int32Array, tree: Tree, rng: Rng): Iterator<[number, number]> {
  const possible = (homes.length - 1) * tree.size;
  return count * 4 > possible
    ? selectAllPairs(count, homes.length - 1, tree.size, rng)
    : drawPairs(count, homes, tree, rng);
}

function* selectAllPairs(count: number, users: number, structures: number, rng: Rng) {
  let left = count;
  let unseen = users * structures;
  for (let u = 1; u <= users && left > 0; u++) {
    for (let s = 1; s <= structures && left > 0; s++, unseen--) {
      if (rng.float() * unseen < left) {
        left--;
        yield [u, s] as [number, number];
      }
    }
  }
}

function* drawPairs(count: number, homes: Int32Array, tree: Tree, rng: Rng) {
  const users = homes.length - 1;
  const { parent, depth, levelStart, size } = tree;
  // "Top": depth 0 and 1. "Deep": depth 2 and below, or everything in a tree of depth 0 or 1.
  const depth2Start = levelStart[2] ?? size + 1;
  const topEnd = depth2Start - 1;
  const deepStart = depth2Start <= size ? depth2Start : 1;
  const seen = new PairSet(users, count);
  let misses = 0;
  for (;;) {
    const user = 1 + rng.int(users);
    let structure: number;
    const r = rng.float();
    if (misses > 32) {
      // Only reachable when the biased pools are exhausted: fall back to any pair (at least 3/4
      // of all pairs are still free, see grantPairs).
      structure = 1 + rng.int(size);
    } else if (r < TOP_GRANT_SHARE) {
      structure = 1 + rng.int(topEnd);
    } else if (r < TOP_GRANT_SHARE + NEAR_GRANT_SHARE) {
      const home = homes[user] as number;
      const up = parent[home] as number;
      structure = rng.float() < 0.5 && up !== 0 && (depth[up] as number) >= 2 ? up : home;
    } else {
      structure = deepStart + rng.int(size + 1 - deepStart);
    }
    if (!seen.add(user, structure)) {
      misses++;
      continue;
    }
    misses = 0;
    yield [user, structure] as [number, number];
  }
}

/**
 * The pairs drawn so far, as one chain of structures per user in typed arrays. Users hold a
 * couple of grants each, so a lookup walks a couple of entries; several times faster than a
 * Set of numeric keys at a million entries, and a fraction of the memory.
 */
class PairSet {
  private readonly head: Int32Array;
  private readonly next: Int32Array;
  private readonly structure: Int32Array;
  private used = 0;

  constructor(users: number, capacity: number) {
    // Entry 0 is the end-of-chain marker.
    this.head = new Int32Array(users + 1);
    this.next = new Int32Array(capacity + 1);
    this.structure = new Int32Array(capacity + 1);
  }

  /** Adds the pair; false if it was already there. */
  add(user: number, structure: number): boolean {
    for (let e = this.head[user] as number; e !== 0; e = this.next[e] as number) {
      if (this.structure[e] === structure) return false;
    }
    const e = ++this.used;
    this.structure[e] = structure;
    this.next[e] = this.head[user] as number;
    this.head[user] = e;
    return true;
  }
}

/** Concatenates rows into ~64 KB strings: one COPY data message per chunk, not per row. */
function* chunked(rows: Iterable<string>): Generator<string> {
  let chunk = "";
  for (const row of rows) {
    chunk += row;
    if (chunk.length >= CHUNK_BYTES) {
      yield chunk;
      chunk = "";
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** Streams rows into COPY; pipeline() pulls the generator only as fast as the socket drains. */
async function copyRows(client: PoolClient, target: string, rows: Iterable<string>): Promise<void> {
  // FREEZE: the tables were truncated in this transaction, so rows can be written frozen and
  // all-visible; no later VACUUM pass is needed before index-only scans work.
  const copy = client.query(copyFrom(`COPY ${target} FROM STDIN WITH (FREEZE)`));
  await pipeline(Readable.from(chunked(rows)), copy);
}

// ---------------------------------------------------------------------------------------------
// Schema: capture, drop, rebuild. The definitions are read from the catalog rather than
// repeated here, so the rebuilt schema is the migrated one by construction, whatever later
// migrations add to these tables.

interface Schema {
  primaryKeys: string[];
  indexes: string[];
  foreignKeys: string[];
}

async function lockAndCheckEmpty(client: PoolClient): Promise<void> {
  await client.query(`LOCK TABLE ${TABLES.join(", ")} IN ACCESS EXCLUSIVE MODE`);
  const { rows } = await client.query<{ table: string }>(
    TABLES.map((t) => `SELECT '${t}' AS table WHERE EXISTS (SELECT 1 FROM ${t})`).join(" UNION ALL "),
  );
  if (rows.length > 0) {
    const tables = rows.map((r) => r.table).join(", ");
    throw new Error(`seedSynthetic: refusing to seed, the database is not empty (rows in ${tables})`);
  }
}

async function dropSchema(client: PoolClient): Promise<Schema> {
  const tables = [...TABLES];
  // Foreign keys from, and into, the three tables: the inbound ones pin the primary keys.
  const fks = await client.query<{ tbl: string; name: string; def: string }>(
    `SELECT conrelid::regclass::text AS tbl, quote_ident(conname) AS name, pg_get_constraintdef(oid) AS def
       FROM pg_constraint
      WHERE contype = 'f' AND (conrelid = ANY($1::regclass[]) OR confrelid = ANY($1::regclass[]))
      ORDER BY conrelid, conname`,
    [tables],
  );
  const pks = await client.query<{ tbl: string; name: string; def: string }>(
    `SELECT conrelid::regclass::text AS tbl, quote_ident(conname) AS name, pg_get_constraintdef(oid) AS def
       FROM pg_constraint
      WHERE contype = 'p' AND conrelid = ANY($1::regclass[])
      ORDER BY conrelid`,
    [tables],
  );
  // Plain indexes, i.e. those not owned by a constraint (those go with their constraint).
  const idx = await client.query<{ name: string; def: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i
      WHERE i.indrelid = ANY($1::regclass[])
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
      ORDER BY i.indrelid, i.indexrelid`,
    [tables],
  );
  for (const fk of fks.rows) await client.query(`ALTER TABLE ${fk.tbl} DROP CONSTRAINT ${fk.name}`);
  for (const pk of pks.rows) await client.query(`ALTER TABLE ${pk.tbl} DROP CONSTRAINT ${pk.name}`);
  for (const ix of idx.rows) await client.query(`DROP INDEX ${ix.name}`);
  // Empty already (checked under lock); truncating gives new files, which COPY FREEZE requires.
  await client.query(`TRUNCATE ${TABLES.join(", ")}`);
  return {
    primaryKeys: pks.rows.map((c) => `ALTER TABLE ${c.tbl} ADD CONSTRAINT ${c.name} ${c.def}`),
    indexes: idx.rows.map((i) => i.def),
    foreignKeys: fks.rows.map((c) => `ALTER TABLE ${c.tbl} ADD CONSTRAINT ${c.name} ${c.def}`),
  };
}

async function runAll(client: PoolClient, statements: string[], log: SeedLog): Promise<void> {
  for (const sql of statements) {
    const started = performance.now();
    await client.query(sql);
    log("seed-synthetic: rebuilt", { sql, ms: Math.round(performance.now() - started) });
  }
}

// ---------------------------------------------------------------------------------------------
// Bookkeeping

async function bumpRevision(client: PoolClient): Promise<number> {
  const { rows } = await client.query<{ value: string }>(
    "UPDATE canopy_revision SET value = value + 1 WHERE id = 1 RETURNING value",
  );
  const value = rows[0]?.value;
  if (value === undefined) throw new Error("seedSynthetic: canopy_revision has no row; run the migrations");
  return Number(value);
}

async function setSequences(client: PoolClient, opts: SeedOptions): Promise<void> {
  const last: Record<(typeof TABLES)[number], number> = {
    hierarchy_structures: opts.structures,
    users: opts.users,
    permissions: opts.grants,
  };
  for (const table of TABLES) {
    // setval(seq, n, true): the next id is n + 1. With nothing loaded: setval(seq, 1, false).
    const n = last[table];
    await client.query("SELECT setval(pg_get_serial_sequence($1, 'id'), $2, $3)", [
      table,
      Math.max(n, 1),
      n > 0,
    ]);
  }
}

function phaseTimer(log: SeedLog) {
  const started = performance.now();
  const ms: Record<string, number> = {};
  const record = (phase: string, t0: number) => {
    ms[phase] = Math.round(performance.now() - t0);
    log(`seed-synthetic: ${phase}`, { ms: ms[phase] });
  };
  return {
    async run<T>(phase: string, fn: () => Promise<T>): Promise<T> {
      const t0 = performance.now();
      const result = await fn();
      record(phase, t0);
      return result;
    },
    runSync<T>(phase: string, fn: () => T): T {
      const t0 = performance.now();
      const result = fn();
      record(phase, t0);
      return result;
    },
    done(): Record<string, number> {
      ms.total = Math.round(performance.now() - started);
      return ms;
    },
  };
}
