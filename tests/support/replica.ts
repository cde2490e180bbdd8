import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { exitCleanup, isAlive, Supervised } from "./exit-cleanup.ts";
import { dieWithParent, freePorts } from "./redis.ts";

/**
 * A PostgreSQL primary with a streaming hot-standby replica, both of the test's own (temporary folders,
 * free loopback ports), for read-replica fault tests. The postmasters are children of the test process:
 * tracked, and shut down when it exits or dies (`setpriv --pdeathsig`). Their folders are in /dev/shm
 * where there is one (several times faster than disk here); those of a process that died without
 * cleaning up are removed by the next call.
 */

export type ReplicaPair = {
  /** `postgres://postgres@127.0.0.1:PORT/canopy` on the primary */
  primaryUrl: string;
  /** `postgres://postgres@127.0.0.1:PORT/canopy` on the replica */
  replicaUrl: string;
  /** `127.0.0.1:PORT` of the replica */
  replicaHostPort: string;
  primaryPort: number;
  replicaPort: number;
  /** Fast shutdown of the replica; resolves once it has exited. */
  stopReplica: () => Promise<void>;
  /** Starts the replica again and waits until it accepts connections (it then catches up by streaming). */
  startReplica: () => Promise<void>;
  /** `pg_wal_replay_pause()` on the replica: what the primary writes from now on is not applied there. */
  pauseReplay: () => Promise<void>;
  /** `pg_wal_replay_resume()` on the replica. */
  resumeReplay: () => Promise<void>;
  /** Waits until the replica has replayed the primary's WAL up to its `pg_current_wal_lsn()` at the call. */
  waitForReplay: (timeoutMs?: number) => Promise<void>;
  /** Fast shutdown of both, then removes their folders. */
  stop: () => Promise<void>;
  /** What each server printed (its log), for failure messages. */
  output: () => { primary: string; replica: string };
  /** The data folders. */
  dataDirs: { primary: string; replica: string };
};

const pgBin = "/usr/lib/postgresql/15/bin";
const database = "canopy";
const asRoot = process.getuid?.() === 0;
const stopTimeoutMs = 30_000;
const readyTimeoutMs = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Where the data folders go: memory where there is some, else the temporary folder. */
const baseDir = () => (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());

/** `canopy-replica-<pid>-…` and `canopy-pg-template-<key>.<pid>-…`: the pid is the process that made it. */
const ownedDir = /^canopy-(?:replica-|pg-template-[0-9a-f]+\.)(\d+)-/;

/**
 * Removes the folders of processes that died without removing them (killed by a signal), once no
 * postmaster runs in them any more.
 */
export function sweepStaleReplicaDirs(): void {
  const base = baseDir();
  for (const name of readdirSync(base)) {
    const owner = Number(ownedDir.exec(name)?.[1] ?? Number.NaN);
    if (Number.isNaN(owner) || owner === process.pid || isAlive(owner)) continue;
    const dir = join(base, name);
    const postmasterRuns = ["primary", "replica", "data"].some((sub) => {
      try {
        const pid = Number(readFileSync(join(dir, sub, "postmaster.pid"), "utf8").split("\n")[0]);
        return pid > 0 && isAlive(pid);
      } catch {
        return false;
      }
    });
    if (postmasterRuns) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {}
  }
}

// Immediate shutdown on exit: the postmasters end their backends and exit on their own.
const { running, tempDirs } = exitCleanup("SIGQUIT");
const pairs = new Set<ReplicaPair>();

/** Stops every primary/replica pair this process started (for afterAll hooks). */
export async function stopAllReplicaPairs(): Promise<void> {
  await Promise.all([...pairs].map((p) => p.stop()));
}

/** The environment for PostgreSQL's programs: no PG* variables of the caller's. */
function pgEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, LANG: "C.UTF-8", TZ: process.env.TZ };
}

/** Runs one of PostgreSQL's programs to completion as the postgres user (initdb refuses root). */
function runAsPostgres(args: string[], timeoutMs = 60_000): Promise<string> {
  const argv = asRoot ? ["runuser", "-u", "postgres", "--", ...args] : args;
  return new Promise((resolve, reject) => {
    execFile(
      argv[0] ?? "",
      argv.slice(1),
      { timeout: timeoutMs, env: pgEnv(), cwd: "/" },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`${args.join(" ")} failed: ${err.message}\n${stdout}${stderr}`))
          : resolve(stdout),
    );
  });
}

async function query<R extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

type Postmaster = {
  port: number;
  url: (db?: string) => string;
  start: () => Promise<void>;
  stop: () => Promise<void>;
  output: () => string;
};

/** A postmaster on `dataDir` as a child of this process (no pg_ctl, so that it dies with this process). */
function postmaster(dataDir: string, port: number, name: string): Postmaster {
  const proc = new Supervised(running, 64_000);
  const url = (db = "postgres") => `postgres://postgres@127.0.0.1:${port}/${db}`;

  const launch = () => {
    const cmd = [
      `${pgBin}/postgres`,
      "-D",
      dataDir,
      "-p",
      String(port),
      "-k",
      dataDir,
      "-c",
      "listen_addresses=127.0.0.1",
    ];
    // One setpriv for both: a parent-death signal set before the change of user would be cleared by it.
    // SIGQUIT is an immediate shutdown: the postmaster ends its backends too.
    const argv = asRoot
      ? [
          "setpriv",
          "--reuid=postgres",
          "--regid=postgres",
          "--init-groups",
          "--pdeathsig=SIGQUIT",
          "--",
          ...cmd,
        ]
      : dieWithParent(cmd, "SIGQUIT");
    proc.spawn(argv, { env: pgEnv(), cwd: dataDir });
  };

  const stop = async () => {
    const c = proc.child;
    if (c && proc.alive) {
      c.kill("SIGINT"); // fast shutdown
      const timer = setTimeout(() => c.kill("SIGQUIT"), stopTimeoutMs);
      await proc.exited;
      clearTimeout(timer);
    }
    await proc.exited;
  };

  const start = async () => {
    if (proc.alive) throw new Error(`the ${name} on ${port} is already running`);
    await proc.exited;
    launch();
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (!proc.alive) throw new Error(`the ${name} on ${port} exited:\n${proc.output}`);
      const ok = await query(url(), "SELECT 1").then(
        () => true,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) {
        await stop();
        throw new Error(
          `the ${name} on ${port} did not accept connections within ${readyTimeoutMs} ms:\n${proc.output}`,
        );
      }
      await sleep(25);
    }
  };

  return { port, url, start, stop, output: () => proc.output };
}

/** The primary's settings on top of initdb's. */
const primaryConf = [
  "",
  "# canopy test harness: a primary for a streaming replica",
  "wal_level = replica",
  "max_wal_senders = 10",
  "max_replication_slots = 10",
  "hot_standby = on",
  "hot_standby_feedback = on",
  "wal_receiver_status_interval = 1s",
  // No replication slot: keep enough WAL for a replica stopped for a while to catch up.
  "wal_keep_size = 256MB",
  // A test server: speed over durability.
  "fsync = off",
  "shared_buffers = 32MB",
  "",
].join("\n");

const primaryHba = [
  "local all all trust",
  "local replication all trust",
  "host all all 127.0.0.1/32 trust",
  "host replication all 127.0.0.1/32 trust",
  "",
].join("\n");

// 1 MB WAL segments rather than 16: less to copy and to stream.
const initdbArgs = [
  "-U",
  "postgres",
  "--auth=trust",
  "-E",
  "UTF8",
  "--locale=C.UTF-8",
  "--wal-segsize=1",
  "--no-sync",
];

function copyDir(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile("cp", ["-a", from, to], (err, _stdout, stderr) =>
      err ? reject(new Error(`cp -a ${from} ${to} failed: ${stderr || err.message}`)) : resolve(),
    ),
  );
}

let template: Promise<string> | undefined;

/**
 * A primary's data folder with its settings and the canopy database, made once per machine (for these
 * binaries and settings) and kept beside the pairs' folders: copying it takes a fraction of initdb's time.
 */
function primaryTemplate(): Promise<string> {
  template ??= (async () => {
    const key = createHash("sha256")
      .update(
        JSON.stringify([
          statSync(`${pgBin}/postgres`).mtimeMs,
          initdbArgs,
          primaryConf,
          primaryHba,
          database,
        ]),
      )
      .digest("hex")
      .slice(0, 16);
    const dir = join(baseDir(), `canopy-pg-template-${key}`);
    const data = join(dir, "data");
    if (existsSync(data)) return data;
    // Made aside and renamed into place, so that a process running at the same time never sees half of one.
    const staging = mkdtempSync(`${dir}.${process.pid}-`);
    tempDirs.add(staging);
    if (asRoot) execFileSync("chown", ["postgres", staging]);
    const stagingData = join(staging, "data");
    await runAsPostgres([`${pgBin}/initdb`, "-D", stagingData, ...initdbArgs, "--no-instructions"]);
    appendFileSync(join(stagingData, "postgresql.conf"), primaryConf);
    writeFileSync(join(stagingData, "pg_hba.conf"), primaryHba);
    const [port = 0] = await freePorts(1);
    const server = postmaster(stagingData, port, "template");
    try {
      await server.start();
      await query(server.url(), `CREATE DATABASE ${database}`);
    } finally {
      await server.stop(); // a clean shutdown: the copies start without recovery
    }
    rmSync(join(stagingData, "postmaster.opts"), { force: true });
    try {
      renameSync(staging, dir);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another process made it first
    }
    tempDirs.delete(staging);
    // Templates of other binaries or settings are of no more use (each holds some 40 MB of memory).
    for (const name of readdirSync(baseDir())) {
      if (/^canopy-pg-template-[0-9a-f]{16}$/.test(name) && name !== `canopy-pg-template-${key}`) {
        rmSync(join(baseDir(), name), { recursive: true, force: true });
      }
    }
    return data;
  })().catch((err) => {
    template = undefined;
    throw err;
  });
  return template;
}

/**
 * Starts a primary (a copy of an initdb'd template with a `canopy` database) and a streaming replica made
 * from it with `pg_basebackup -R -X stream`, and checks that the replica is in recovery and replays what
 * the primary writes.
 */
export async function startPrimaryWithReplica(): Promise<ReplicaPair> {
  sweepStaleReplicaDirs();
  for (let attempt = 1; ; attempt++) {
    try {
      return await startPairOnce();
    } catch (err) {
      // Someone may have taken a port between choosing and binding it: choose again.
      if (attempt < 3 && /Address already in use/i.test(String(err))) continue;
      throw err;
    }
  }
}

async function startPairOnce(): Promise<ReplicaPair> {
  const root = mkdtempSync(join(baseDir(), `canopy-replica-${process.pid}-`));
  tempDirs.add(root);
  if (asRoot) execFileSync("chown", ["postgres", root]); // initdb and pg_basebackup run as postgres
  const primaryDir = join(root, "primary");
  const replicaDir = join(root, "replica");
  const [primaryPort = 0, replicaPort = 0] = await freePorts(2);
  const primary = postmaster(primaryDir, primaryPort, "primary");
  const replica = postmaster(replicaDir, replicaPort, "replica");

  const stop = async () => {
    await Promise.all([replica.stop(), primary.stop()]);
    rmSync(root, { recursive: true, force: true });
    tempDirs.delete(root);
    pairs.delete(pair);
  };

  const pair: ReplicaPair = {
    primaryUrl: primary.url(database),
    replicaUrl: replica.url(database),
    replicaHostPort: `127.0.0.1:${replicaPort}`,
    primaryPort,
    replicaPort,
    stopReplica: () => replica.stop(),
    startReplica: () => replica.start(),
    pauseReplay: async () => {
      await query(replica.url(), "SELECT pg_wal_replay_pause()");
    },
    resumeReplay: async () => {
      await query(replica.url(), "SELECT pg_wal_replay_resume()");
    },
    waitForReplay: async (timeoutMs = 10_000) => {
      const [target] = await query<{ lsn: string }>(
        primary.url(),
        "SELECT pg_current_wal_lsn()::text AS lsn",
      );
      const lsn = target?.lsn ?? "0/0";
      const deadline = Date.now() + timeoutMs;
      const client = new pg.Client({ connectionString: replica.url(), connectionTimeoutMillis: 5_000 });
      await client.connect();
      try {
        for (;;) {
          const { rows } = await client.query<{ done: boolean | null; replayed: string | null }>(
            "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done, pg_last_wal_replay_lsn()::text AS replayed",
            [lsn],
          );
          if (rows[0]?.done) return;
          if (Date.now() > deadline) {
            throw new Error(
              `the replica replayed up to ${rows[0]?.replayed}, not ${lsn}, within ${timeoutMs} ms` +
                " (is replay paused?)",
            );
          }
          await sleep(10);
        }
      } finally {
        await client.end().catch(() => {});
      }
    },
    stop,
    output: () => ({ primary: primary.output(), replica: replica.output() }),
    dataDirs: { primary: primaryDir, replica: replicaDir },
  };
  pairs.add(pair);

  try {
    await copyDir(await primaryTemplate(), primaryDir);
    await primary.start();
    await runAsPostgres([
      `${pgBin}/pg_basebackup`,
      "-h",
      "127.0.0.1",
      "-p",
      String(primaryPort),
      "-U",
      "postgres",
      "-D",
      replicaDir,
      "-R",
      "-X",
      "stream",
      "-c",
      "fast",
      "--no-sync",
      "--no-manifest",
    ]);
    await replica.start();

    const [recovery] = await query<{ in_recovery: boolean }>(
      replica.url(),
      "SELECT pg_is_in_recovery() AS in_recovery",
    );
    if (!recovery?.in_recovery) throw new Error("the replica is not in recovery");
    // A row written on the primary shows on the replica (in the postgres database: canopy stays empty).
    await query(
      primary.url(),
      "CREATE TABLE replica_probe (at timestamptz); INSERT INTO replica_probe VALUES (now())",
    );
    await pair.waitForReplay(15_000);
    const [probe] = await query<{ n: number }>(replica.url(), "SELECT count(*)::int AS n FROM replica_probe");
    if (probe?.n !== 1) throw new Error("a row written on the primary did not show on the replica");
    return pair;
  } catch (err) {
    const logs = pair.output();
    await stop().catch(() => {});
    throw new Error(
      `${err instanceof Error ? err.message : String(err)}\n--- primary log ---\n${logs.primary}\n--- replica log ---\n${logs.replica}`,
    );
  }
}
