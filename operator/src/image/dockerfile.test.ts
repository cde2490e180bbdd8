import { type ChildProcess, execFile, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { builtIn, canopy } from "../testing/fake-api/resources.ts";
import { FakeApiServer } from "../testing/fake-api/server.ts";
import { repoRoot } from "../testing/helm.ts";
import { copyArgs, parseDockerfile } from "./dockerfile.ts";

/**
 * No Docker engine here: the Dockerfile is checked by replaying it. Its build stage runs in a
 * temporary folder (the same pnpm commands, against the local store), its final stages' COPYs
 * lay out the images' file trees, and the entry points its CMDs name run from those trees.
 */
const run = promisify(execFile);
const stages = parseDockerfile(join(repoRoot, "Dockerfile"));
const stage = (name: string) => {
  const s = stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
};
const root = mkdtempSync(join(tmpdir(), "canopy-image-"));
const inRoot = (p: string) => join(root, p);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("the Dockerfile", () => {
  it("copies only files that exist, and has no HEALTHCHECK", () => {
    const copies = stages.flatMap((s) =>
      s.instructions.filter((i) => i.op === "COPY").map((i) => copyArgs(i.args)),
    );
    const fromContext = copies.filter((c) => !c.from).flatMap((c) => c.sources);
    expect(fromContext.length).toBeGreaterThan(5);
    for (const source of fromContext) expect(existsSync(join(repoRoot, source)), source).toBe(true);
    expect(stages.flatMap((s) => s.instructions).some((i) => i.op === "HEALTHCHECK")).toBe(false);
    for (const name of ["api", "operator"]) {
      expect(stage(name).instructions).toContainEqual({ op: "USER", args: "1000:1000" });
    }
  });

  it("builds production-only deploy trees with pnpm deploy", { timeout: 120_000 }, async () => {
    const build = stage("build");
    let workdir = root;
    for (const i of build.instructions) {
      if (i.op === "WORKDIR") workdir = inRoot(i.args);
      if (i.op === "COPY") {
        const { sources, dest } = copyArgs(i.args);
        for (const s of sources)
          cpSync(
            join(repoRoot, s),
            join(workdir, dest.endsWith("/") ? join(dest, s.split("/").at(-1) as string) : dest),
            { recursive: true },
          );
      }
      // pnpm itself is this machine's; every other RUN is replayed with /out and /src inside the temporary root.
      if (i.op === "RUN" && !i.args.startsWith("npm install --global pnpm")) {
        await run("sh", ["-c", i.args.replaceAll(" /out/", ` ${inRoot("out")}/`)], {
          cwd: workdir,
          env: { ...process.env, CI: "" },
        });
      }
    }
    for (const name of ["api", "operator"]) {
      for (const i of stage(name).instructions.filter((x) => x.op === "COPY")) {
        const { sources, dest } = copyArgs(i.args);
        for (const s of sources) cpSync(inRoot(s), inRoot(dest), { recursive: true });
      }
    }
    expect(existsSync(inRoot("app/services/api/node_modules/hono"))).toBe(true);
    expect(existsSync(inRoot("app/services/api/node_modules/vitest"))).toBe(false);
    expect(existsSync(inRoot("app/operator/node_modules/@kubernetes/client-node"))).toBe(true);
    expect(existsSync(inRoot("app/operator/node_modules/ajv"))).toBe(false);
  });

  const cmd = (name: string) => {
    const s = stage(name);
    const workdir = s.instructions.findLast((i) => i.op === "WORKDIR")?.args as string;
    const command = JSON.parse(s.instructions.findLast((i) => i.op === "CMD")?.args as string) as string[];
    return { cwd: inRoot(workdir), command };
  };

  it("the API image's entry point loads every module and validates its configuration", async () => {
    const { cwd, command } = cmd("api");
    const [node, ...args] = command as [string, ...string[]];
    const r = await run(node, args, {
      cwd,
      env: { PATH: process.env.PATH, DATABASE_URL: "not-a-url" },
    }).catch((e) => e);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("canopy: invalid configuration");
  });

  it("the API image runs the migration CLI and finds the migrations", async () => {
    const { cwd } = cmd("api");
    // The migration Job's command (charts/canopy/templates/migration-job.yaml), without a database.
    const usage = await run("node", ["--import", "tsx", "src/cli.ts"], { cwd });
    expect(usage.stderr).toContain("migrate");
    const probe = await run(
      "node",
      [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        "const m = await import('./src/db/migrations.ts'); const { readMigrationFiles } = await import('drizzle-orm/migrator'); console.log(JSON.stringify({ folder: m.migrationsFolder, count: readMigrationFiles({ migrationsFolder: m.migrationsFolder }).length }));",
      ],
      { cwd },
    );
    const found = JSON.parse(probe.stdout);
    expect(found.folder).toBe(`${inRoot("app/migrations")}`);
    expect(found.count).toBeGreaterThan(0);
  });

  describe("the operator image's entry point", () => {
    const api = new FakeApiServer([...builtIn, ...canopy]);
    let child: ChildProcess | undefined;
    afterAll(async () => {
      child?.kill("SIGKILL");
      await api.stop();
    });

    it("starts against an API server, serves /healthz and /metrics, and stops on SIGTERM", async () => {
      await api.start();
      const kubeconfig = join(root, "kubeconfig");
      writeFileSync(kubeconfig, api.kubeConfig("operator").exportConfig());
      const port = await freePort();
      const { cwd, command } = cmd("operator");
      const [node, ...args] = command as [string, ...string[]];
      const proc = spawn(node, args, {
        cwd,
        env: {
          PATH: process.env.PATH,
          KUBECONFIG: kubeconfig,
          LEADER_ELECTION: "false",
          METRICS_PORT: String(port),
        },
      });
      child = proc;
      let out = "";
      proc.stdout.on("data", (d: Buffer) => {
        out += d;
      });
      proc.stderr.on("data", (d: Buffer) => {
        out += d;
      });
      await expect.poll(() => out, { timeout: 20_000 }).toContain("canopy-operator started");
      expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text()).toBe("ok");
      expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toContain(
        "canopy_operator_leader 1",
      );
      expect(
        api.audit.some((e) => e.user === "operator" && e.resource === "canopyclusters" && e.verb === "watch"),
      ).toBe(true);
      const exited = new Promise<number | null>((resolve) => proc.on("exit", resolve));
      proc.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(existsSync(join(dirname(cwd), "charts/canopy/files/prometheusrule.yaml"))).toBe(true);
    });
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
