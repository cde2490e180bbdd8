import { randomBytes } from "node:crypto";
import { type CanopyCluster, resolveSpec } from "../types.ts";
import { names, objectMeta } from "./meta.ts";

/**
 * The generated auth Secret, when the spec names none. Created once and never applied again:
 * a new secret would invalidate every token and cursor. `random` is injected for tests.
 */
export function buildAuthSecret(c: CanopyCluster, random = () => randomBytes(36).toString("base64url")) {
  const r = resolveSpec(c.spec);
  if (r.auth.secretName) return undefined;
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: objectMeta(c, r, names(c).auth),
    type: "Opaque",
    stringData: { [r.auth.jwtSecretKey]: random(), [r.auth.cursorSecretKey]: random() },
  };
}
