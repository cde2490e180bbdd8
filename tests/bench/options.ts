import { parseArgs } from "node:util";

export type Sizes = { users: number; structures: number; depth: number; grants: number; seed: number };

export type Options = {
  sizes: Sizes;
  /** Seconds of measurement and of warm-up per case; concurrent connections. */
  duration: number;
  warmup: number;
  connections: number;
  /** Connections of the open-loop (fixed-rate) cases. */
  rateConnections: number;
  /** How many times every case runs; the table shows medians over the repeats. */
  repeat: number;
  /** Allowed check pairs to sample (denied ones are added, a third as many). */
  pairs: number;
  /** Users sampled for the visible-users case. */
  viewers: number;
  batchSize: number;
  /** Only these cases (all when empty). */
  cases: string[];
  keep: boolean;
  /** A database to use as it is (seeded if empty, never dropped); else a scratch one. */
  databaseUrl: string | undefined;
  /** Where scratch databases are created and dropped. */
  adminUrl: string;
  /** Extra environment for the API process (e.g. DB_POOL_MAX=40). */
  apiEnv: Record<string, string>;
};

const full: Sizes = { users: 1_000_000, structures: 100_000, depth: 8, grants: 1_500_000, seed: 1 };
const small: Sizes = { users: 20_000, structures: 2_000, depth: 8, grants: 30_000, seed: 1 };

const usage = `usage: pnpm bench [options]   (every option also reads BENCH_<NAME>, e.g. BENCH_USERS)
  --small                 20k users, 2k structures, 30k grants (default: 1M / 100k / 1.5M)
  --users N --structures N --depth N --grants N --seed N
  --duration S (10)  --warmup S (3)  --connections N (100)  --repeat N (1)
  --rate-connections N (20)   connections of the fixed-rate cases (*-half-rate)
  --pairs N (2000)  --viewers N (500)  --batch-size N (10)
  --cases a,b         subset of: hello, check, hello-half-rate and check-half-rate (both need
                      check), check-uncached, check-2x, batch, visible-users
  --api-env K=V       extra environment for the API process (repeatable)
  --keep              keep the scratch database (its URL is printed)
  BENCH_DATABASE_URL  use this database instead of a scratch one (seeded only when empty)
  BENCH_ADMIN_URL     server for scratch databases (postgres://postgres@127.0.0.1:5432/postgres)`;

export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const { values } = parseArgs({
    args: argv.filter((a) => a !== "--"),
    options: {
      small: { type: "boolean" },
      keep: { type: "boolean" },
      help: { type: "boolean" },
      users: { type: "string" },
      structures: { type: "string" },
      depth: { type: "string" },
      grants: { type: "string" },
      seed: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      connections: { type: "string" },
      "rate-connections": { type: "string" },
      repeat: { type: "string" },
      pairs: { type: "string" },
      viewers: { type: "string" },
      "batch-size": { type: "string" },
      cases: { type: "string" },
      "api-env": { type: "string", multiple: true },
    },
  });
  if (values.help) throw new UsageError(usage, 0);
  const flag = (name: keyof typeof values): string | undefined => {
    const v = values[name];
    if (typeof v === "string") return v;
    const e = env[`BENCH_${name.toUpperCase().replace(/-/g, "_")}`];
    return e === "" ? undefined : e;
  };
  const num = (name: keyof typeof values, fallback: number, min = 0): number => {
    const raw = flag(name);
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isFinite(n) || n < min)
      throw new UsageError(`--${name} must be a number >= ${min}, got ${raw}`);
    return n;
  };
  const base = values.small || env.BENCH_SMALL === "1" ? small : full;
  const int = (name: keyof Sizes) => Math.floor(num(name, base[name]));
  const apiEnv: Record<string, string> = {};
  for (const kv of values["api-env"] ?? []) {
    const at = kv.indexOf("=");
    if (at < 1) throw new UsageError(`--api-env wants KEY=VALUE, got ${kv}`);
    apiEnv[kv.slice(0, at)] = kv.slice(at + 1);
  }
  const cases = (flag("cases") ?? "").split(",").filter(Boolean);
  const known = [
    "hello",
    "check",
    "hello-half-rate",
    "check-half-rate",
    "check-uncached",
    "check-2x",
    "batch",
    "visible-users",
  ];
  const unknown = cases.filter((c) => !known.includes(c));
  if (unknown.length)
    throw new UsageError(`unknown case(s) ${unknown.join(", ")}; known: ${known.join(", ")}`);
  const batchSize = Math.floor(num("batch-size", 10, 1));
  if (batchSize > 100) throw new UsageError("--batch-size must be at most 100 (the API's limit)");
  return {
    sizes: {
      users: int("users"),
      structures: int("structures"),
      depth: int("depth"),
      grants: int("grants"),
      seed: int("seed"),
    },
    duration: num("duration", 10, 1),
    warmup: num("warmup", 3, 0),
    connections: Math.floor(num("connections", 100, 1)),
    rateConnections: Math.floor(num("rate-connections", 20, 1)),
    repeat: Math.floor(num("repeat", 1, 1)),
    pairs: Math.floor(num("pairs", 2000, 1)),
    viewers: Math.floor(num("viewers", 500, 1)),
    batchSize,
    cases,
    keep: Boolean(values.keep) || env.BENCH_KEEP === "1",
    databaseUrl: env.BENCH_DATABASE_URL || undefined,
    adminUrl: env.BENCH_ADMIN_URL || "postgres://postgres@127.0.0.1:5432/postgres",
    apiEnv,
  };
}
