import { existsSync } from "node:fs";
import { join } from "node:path";

/**
 * The folder of the real CRDs we validate generated objects against: CANOPY_SHARED_CRDS if set,
 * else `shared/crds` beside the checkout (as on a developer's machine), else the machine's
 * `/work/shared/crds` (as where CI clones elsewhere). Missing everywhere is an error, never a skip.
 */
export function findSharedCrds(repoRoot: string): string {
  const candidates = [process.env.CANOPY_SHARED_CRDS, join(repoRoot, "../shared/crds"), "/work/shared/crds"];
  for (const dir of candidates) {
    if (dir && existsSync(join(dir, "monitoring.coreos.com_prometheusrules.yaml"))) return dir;
  }
  throw new Error(
    `the shared CRDs are not found in ${candidates.filter(Boolean).join(", ")}; set CANOPY_SHARED_CRDS`,
  );
}
