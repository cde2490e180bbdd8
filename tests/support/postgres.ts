import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

const pgBin = "/usr/lib/postgresql/15/bin";

export async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** Runs a command as the postgres user: initdb and pg_ctl refuse root. */
function asPostgres(args: string[]) {
  const asRoot = process.getuid?.() === 0;
  return asRoot
    ? execFileSync("runuser", ["-u", "postgres", "--", ...args])
    : execFileSync(args[0] ?? "", args.slice(1));
}

export type ThrowawayPostgres = { url: string; stop: () => void; start: () => void };

/** A throwaway PostgreSQL in a temporary folder on a free port: for machines that run none, and for tests that stop one. */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const dir = mkdtempSync(join(tmpdir(), "canopy-pg-"));
  execFileSync("chown", ["postgres", dir]);
  const port = await freePort();
  asPostgres([`${pgBin}/initdb`, "-D", dir, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
  const start = () =>
    asPostgres([
      `${pgBin}/pg_ctl`,
      "-D",
      dir,
      "-l",
      `${dir}/log`,
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
      "-w",
      "start",
    ]);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop: () => asPostgres([`${pgBin}/pg_ctl`, "-D", dir, "-m", "immediate", "-w", "stop"]),
  };
}

/** The admin URL of a server where tests may create databases: DATABASE_URL, else the local one. */
export async function findPostgres(): Promise<{ url: string; stop?: () => void }> {
  const candidates = [process.env.DATABASE_URL, "postgres://postgres@127.0.0.1:5432/postgres"].filter(
    (x): x is string => Boolean(x),
  );
  for (const url of candidates) if (await canConnect(url)) return { url };
  if (process.env.CI === "true") {
    throw new Error(`no PostgreSQL answers at ${candidates.join(" or ")}; CI must not skip database tests`);
  }
  return startThrowawayPostgres();
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
