/**
 * `pnpm bench [--small] [...]`: seeds a synthetic organisation into a scratch Postgres
 * database, starts the API (`tsx services/api/src/main.ts`, production settings) and a bare
 * Hono hello-world in child processes, and measures them side by side with autocannon.
 * See options.ts for every flag; results land in tests/bench/results/latest.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { signToken } from "@canopy/api";
import { Redis } from "ioredis";
import pg from "pg";
import { buildCases, verify } from "./cases.ts";
import { openBenchDatabase, prepare, redact } from "./database.ts";
import { type Measurement, measure } from "./load.ts";
import { parseOptions, UsageError } from "./options.ts";
import { cpuSecondsOf, repoRoot, resultsDir, type Server, startServer } from "./servers.ts";
import { pickSubjects } from "./subjects.ts";

const log = (msg: string) => console.error(`[bench] ${msg}`);
const secret = "canopy-bench-secret-0123456789abcdef0123456789";

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** Undone in reverse order on success, failure or a signal. */
const cleanups: (() => Promise<void>)[] = [];
async function cleanUp() {
  while (cleanups.length) await (cleanups.pop() as () => Promise<void>)().catch((e) => log(`cleanup: ${e}`));
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

/**
 * After a case that overloaded the API, requests it accepted may still be queued for a
 * database connection: wait until /readyz (one query on the same pool) answers promptly, so the
 * next case starts on an idle server. False if it does not within the timeout.
 */
async function settle(url: string, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const t = performance.now();
    const ok = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(10_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok && performance.now() - t < 200) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

/** Two simultaneous runs as one: rates add up; latency percentiles are taken as the worse of the two. */
function combine([a, b]: Measurement[]): Measurement {
  if (!a || !b) throw new Error("two measurements expected");
  const codes: Record<string, number> = { ...a.statusCodes };
  for (const [k, v] of Object.entries(b.statusCodes)) codes[k] = (codes[k] ?? 0) + v;
  return {
    rps: a.rps + b.rps,
    p50: Math.max(a.p50, b.p50),
    p99: Math.max(a.p99, b.p99),
    requests: a.requests + b.requests,
    non2xx: a.non2xx + b.non2xx,
    errors: a.errors + b.errors,
    timeouts: a.timeouts + b.timeouts,
    statusCodes: codes,
    cpuSeconds: a.cpuSeconds + b.cpuSeconds,
  };
}

async function serverVersion(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ v: string }>("SHOW server_version")).rows[0]?.v ?? "?";
  } finally {
    await c.end();
  }
}

async function main() {
  const opts = parseOptions(process.argv.slice(2), process.env);
  const db = await openBenchDatabase(opts.databaseUrl, opts.adminUrl);
  log(`database ${redact(db.url)}${db.scratch ? " (scratch)" : ""}`);
  cleanups.push(async () => {
    if (db.scratch && opts.keep) log(`kept ${redact(db.url)} (reuse with BENCH_DATABASE_URL=...)`);
    else if (db.scratch) await db.drop().then(() => log("dropped the scratch database"));
  });

  const t0 = performance.now();
  const seed = await prepare(db.url, opts.sizes, log);
  log(`database ready in ${Math.round(performance.now() - t0)} ms ${JSON.stringify(seed.ms)}`);

  const t1 = performance.now();
  const subjects = await pickSubjects(db.url, opts.pairs, opts.viewers);
  log(`subjects in ${Math.round(performance.now() - t1)} ms: ${JSON.stringify(subjects.stats)}`);

  // A Redis database of the bench's own, emptied first, so that no run inherits another's entries
  // (BENCH_DATABASE_URL reuses a database, and with it its namespace in Redis).
  const benchRedis = opts.apiEnv.REDIS_URL ?? "redis://127.0.0.1:6379/15";
  if (benchRedis) {
    const redis = new Redis(benchRedis, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    await redis.flushdb();
    redis.disconnect();
  }
  // As in production: `tsx services/api/src/main.ts` with the production settings.
  const startApi = () =>
    startServer(
      "api",
      "services/api/src/main.ts",
      {
        // Production runs with Redis; --api-env REDIS_URL= runs with the in-process cache only.
        REDIS_URL: benchRedis,
        ...opts.apiEnv,
        NODE_ENV: "production",
        LOG_LEVEL: "info",
        DATABASE_URL: db.url,
        AUTH_JWT_SECRET: secret,
      },
      "/readyz",
    );
  const wantsPair = !opts.cases.length || opts.cases.includes("check-2x");
  const servers: Record<"hello" | "api", Server> & { api2?: Server } = {
    api: await startApi(),
    hello: await startServer("hello", "tests/bench/hello.ts", {}, "/"),
  };
  // Registered before the checks below, so a failure still stops them.
  cleanups.push(
    () => servers.api.stop(),
    () => servers.hello.stop(),
  );
  if (wantsPair) {
    servers.api2 = await startApi();
    cleanups.push(() => (servers.api2 as Server).stop());
  }

  const token = await signToken(secret, { scope: "canopy:read", subject: "bench", ttlSeconds: 24 * 3600 });
  const cases = buildCases(subjects, opts.batchSize, seed.counts).filter(
    (c) => !opts.cases.length || opts.cases.includes(c.name),
  );
  const sanity = await verify(servers.api.url, token, subjects, cases);
  for (const m of sanity.checkMismatches) log(`WARNING check answer differs from the sample: ${m}`);

  const runs: ({ repeat: number; case: string } & Measurement)[] = [];
  for (let r = 1; r <= opts.repeat; r++) {
    for (const c of cases) {
      let i = 0;
      const next = () => c.calls[i++ % c.calls.length] as (typeof c.calls)[number];
      // An open-loop case runs at a share of the rate its reference case reached in this repeat.
      const reference = c.rate && runs.find((x) => x.repeat === r && x.case === c.rate?.of);
      const overallRate = c.rate && reference ? reference.rps * c.rate.share : undefined;
      if (c.rate && !reference) log(`  ${c.name}: no ${c.rate.of} run to take the rate from; flat out`);
      const shape = overallRate
        ? `-c ${opts.rateConnections} at ${Math.round(overallRate)} req/s`
        : `-c ${opts.connections}`;
      log(`repeat ${r}/${opts.repeat} ${c.name}: ${opts.warmup} s warm-up + ${opts.duration} s, ${shape}`);
      const load = (server: Server, connections: number, share = 1) =>
        measure(server.url, next, {
          connections,
          duration: opts.duration,
          warmup: opts.warmup,
          headers: c.target === "hello" ? {} : { authorization: `Bearer ${token}` },
          overallRate: overallRate && overallRate * share,
          cpuSeconds: () => cpuSecondsOf(server.pid),
        });
      const m =
        c.target === "api-pair" && servers.api2
          ? combine(
              await Promise.all([
                load(servers.api, Math.ceil(opts.connections / 2), 0.5),
                load(servers.api2, Math.floor(opts.connections / 2), 0.5),
              ]),
            )
          : await load(
              servers[c.target === "hello" ? "hello" : "api"],
              // autocannon's rate limiter sends in bursts over many connections: hello's p99 reaches
              // tens of ms at -c 100; fewer connections keep the open-loop cases' latency honest.
              c.rate ? opts.rateConnections : opts.connections,
            );
      if (m.non2xx || m.errors)
        log(`  ${c.name}: ${m.non2xx} non-2xx, ${m.errors} errors ${JSON.stringify(m.statusCodes)}`);
      runs.push({ repeat: r, case: c.name, ...m });
      if (c.target !== "hello" && !(await settle(servers.api.url))) {
        log("the API is still working off that case's backlog: restarting it");
        await servers.api.stop();
        servers.api = await startApi();
      }
    }
  }

  const helloRps = median(runs.filter((x) => x.case === "hello").map((x) => x.rps));
  const summary = cases.map((c) => {
    const mine = runs.filter((x) => x.case === c.name);
    const rps = median(mine.map((x) => x.rps));
    return {
      case: c.name,
      what: c.what,
      rps: Math.round(rps),
      p50: median(mine.map((x) => x.p50)),
      p99: median(mine.map((x) => x.p99)),
      ratio: helloRps ? Math.round((rps / helloRps) * 1000) / 1000 : null,
      /** Server CPU per request, in µs: what one request costs the server, whoever else runs. */
      cpuUs: Math.round(median(mine.map((x) => (x.requests ? (x.cpuSeconds * 1e6) / x.requests : 0)))),
      non2xx: mine.reduce((a, x) => a + x.non2xx, 0),
      errors: mine.reduce((a, x) => a + x.errors, 0),
    };
  });

  const rows = [
    ["case", "req/s", "p50 ms", "p99 ms", "vs hello", "server CPU µs/req", "non-2xx", "errors"],
    ...summary.map((s) => [
      s.case,
      s.rps.toLocaleString("en-US"),
      String(s.p50),
      String(s.p99),
      s.ratio === null ? "-" : `${(s.ratio * 100).toFixed(1)}%`,
      String(s.cpuUs),
      String(s.non2xx),
      String(s.errors),
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  const line = (r: string[]) =>
    `| ${r.map((x, i) => (i === 0 ? x.padEnd(widths[i] ?? 0) : x.padStart(widths[i] ?? 0))).join(" | ")} |`;
  const sizes = seed.counts;
  console.log(
    `\nCanopy bench: ${sizes.users} users, ${sizes.structures} structures, ${sizes.grants} grants; ` +
      `-c ${opts.connections} (fixed-rate cases: -c ${opts.rateConnections}), ${opts.warmup} s warm-up, ` +
      `${opts.duration} s, median of ${opts.repeat}`,
  );
  const seedNote = seed.seeded ? `seed ${seed.ms.total} ms` : "seed: reused existing data";
  const probed = `checks answered as sampled: ${sanity.checksProbed - sanity.checkMismatches.length}/${sanity.checksProbed}`;
  const page =
    sanity.visibleUsersMeanItems === null
      ? ""
      : `; visible-users page: ${sanity.visibleUsersMeanItems} items on average`;
  console.log(`${seedNote}; ${probed}${page}\n`);
  console.log(line(rows[0] ?? []));
  console.log(`|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`);
  for (const r of rows.slice(1)) console.log(line(r));

  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, "latest.json");
  const result = {
    finishedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version, postgres: await serverVersion(db.url) },
    options: {
      ...opts,
      databaseUrl: opts.databaseUrl ? redact(opts.databaseUrl) : undefined,
      adminUrl: redact(opts.adminUrl),
    },
    seed,
    subjects: subjects.stats,
    sanity,
    summary,
    runs,
  };
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nresults: ${file.slice(repoRoot.length + 1)}`);
}

try {
  await main();
} catch (err) {
  if (err instanceof UsageError) console.error(err.message);
  else log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = err instanceof UsageError ? err.exitCode : 1;
} finally {
  await cleanUp();
}
