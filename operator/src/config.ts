import { hostname } from "node:os";
import { z } from "zod";

const bool = z.enum(["true", "false"]).transform((v) => v === "true");
const env = z.object({
  WATCH_NAMESPACE: z.string().optional(),
  POD_NAMESPACE: z.string().default("default"),
  POD_NAME: z.string().default(hostname()),
  LEADER_ELECTION: bool.default(true),
  LEASE_NAME: z.string().default("canopy-operator-leader"),
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).default(8081),
  RESYNC_SECONDS: z.coerce.number().int().min(5).max(86_400).default(300),
});

export type OperatorConfig = ReturnType<typeof parseOperatorConfig>;

/** The operator's environment, parsed once; every problem is reported together. */
export function parseOperatorConfig(source: Record<string, string | undefined>) {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ""));
  const parsed = env.safeParse(cleaned);
  if (!parsed.success) {
    return {
      ok: false as const,
      problems: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`),
    };
  }
  const e = parsed.data;
  return {
    ok: true as const,
    config: {
      watchNamespace: e.WATCH_NAMESPACE,
      podNamespace: e.POD_NAMESPACE,
      identity: e.POD_NAME,
      leaderElection: e.LEADER_ELECTION,
      leaseName: e.LEASE_NAME,
      metricsPort: e.METRICS_PORT,
      resyncMs: e.RESYNC_SECONDS * 1000,
    },
  };
}
