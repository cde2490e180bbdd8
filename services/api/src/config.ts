import { z } from "zod";

/** Kubernetes and shells often pass empty strings for unset variables: treat them as unset. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === "" ? undefined : v), schema.optional());
const withDefault = <T extends z.ZodType>(schema: T, fallback: z.input<T>) =>
  z.preprocess((v) => (v === "" || v === undefined ? fallback : v), schema);

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const csv = z.string().transform((s) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean),
);
const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL");

const env = z.object({
  NODE_ENV: withDefault(z.enum(["development", "test", "production"]), "development"),
  PORT: withDefault(int(0, 65535), 8080),
  DATABASE_URL: optional(postgresUrl),
  DATA_DIR: withDefault(z.string(), "./.canopy"),
  DATABASE_REPLICA_URLS: withDefault(csv.pipe(z.array(postgresUrl)), ""),
  DB_POOL_MAX: withDefault(int(1, 1000), 20),
  REDIS_URL: optional(z.string().regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")),
  REDIS_CLUSTER_NODES: optional(csv.pipe(z.array(z.string().regex(/^[^:]+:\d+$/, "must be host:port")))),
  CACHE_TTL_HIERARCHY_S: withDefault(int(1, 86_400), 3600),
  CACHE_TTL_PERMISSIONS_S: withDefault(int(1, 86_400), 900),
  CACHE_TTL_QUERY_S: withDefault(int(1, 86_400), 300),
  STALENESS_BOUND_MS: withDefault(int(10, 600_000), 1000),
  AUTH_MODE: withDefault(z.enum(["jwt", "none"]), "jwt"),
  AUTH_JWT_SECRET: optional(z.string()),
  AUTH_JWKS_URL: optional(z.url({ protocol: /^https?$/ })),
  AUTH_ISSUER: optional(z.string()),
  AUTH_AUDIENCE: optional(z.string()),
  CURSOR_SECRET: optional(z.string().min(32, "must be at least 32 bytes")),
  SLOW_QUERY_MS: withDefault(int(1, 600_000), 100),
  LOG_LEVEL: withDefault(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]), "info"),
  SHUTDOWN_TIMEOUT_MS: withDefault(int(100, 60_000), 10_000),
  // The standard OpenTelemetry variables that decide whether tracing starts; the SDK reads the rest
  // (OTEL_BSP_*, OTEL_TRACES_SAMPLER, OTEL_EXPORTER_OTLP_HEADERS) itself.
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(z.url({ protocol: /^https?$/ })),
  OTEL_SERVICE_NAME: withDefault(z.string(), "canopy"),
  // The specification's boolean: "true" in any case disables, anything else does not.
  OTEL_SDK_DISABLED: withDefault(
    z.string().transform((s) => s.trim().toLowerCase() === "true"),
    "false",
  ),
});

/**
 * Rules across variables, checked on the raw strings so that they are reported together with
 * any per-variable problem rather than only once those are fixed.
 */
function crossChecks(raw: Record<string, string | undefined>): string[] {
  const e = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== "" && v !== undefined));
  const mode = e.AUTH_MODE ?? "jwt";
  const problems: string[] = [];
  if (mode === "none" && e.NODE_ENV === "production") {
    problems.push("AUTH_MODE: AUTH_MODE=none is refused when NODE_ENV=production");
  }
  if (e.AUTH_JWT_SECRET !== undefined && Buffer.byteLength(e.AUTH_JWT_SECRET) < 32) {
    problems.push("AUTH_JWT_SECRET: must be at least 32 bytes");
  }
  if (e.AUTH_JWT_SECRET && e.AUTH_JWKS_URL) {
    problems.push("AUTH_JWKS_URL: set either AUTH_JWT_SECRET or AUTH_JWKS_URL, not both");
  }
  // The embedded default generates its own secret; a real deployment must say how tokens verify.
  if (mode === "jwt" && e.DATABASE_URL && !e.AUTH_JWT_SECRET && !e.AUTH_JWKS_URL) {
    problems.push("AUTH_JWT_SECRET: AUTH_MODE=jwt needs AUTH_JWT_SECRET or AUTH_JWKS_URL");
  }
  if (mode === "jwt" && e.AUTH_JWKS_URL && !e.CURSOR_SECRET) {
    problems.push(
      "CURSOR_SECRET: with AUTH_JWKS_URL, set CURSOR_SECRET (shared by every instance) to sign cursors",
    );
  }
  if (e.REDIS_URL && e.REDIS_CLUSTER_NODES) {
    problems.push("REDIS_CLUSTER_NODES: set either REDIS_URL or REDIS_CLUSTER_NODES, not both");
  }
  return problems;
}

export type Config = ReturnType<typeof toConfig>;

function toConfig(e: z.output<typeof env>) {
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    database: {
      url: e.DATABASE_URL,
      dataDir: e.DATA_DIR,
      replicaUrls: e.DATABASE_REPLICA_URLS,
      poolMax: e.DB_POOL_MAX,
      slowQueryMs: e.SLOW_QUERY_MS,
    },
    redis: { url: e.REDIS_URL, clusterNodes: e.REDIS_CLUSTER_NODES },
    cache: {
      ttlHierarchyS: e.CACHE_TTL_HIERARCHY_S,
      ttlPermissionsS: e.CACHE_TTL_PERMISSIONS_S,
      ttlQueryS: e.CACHE_TTL_QUERY_S,
      stalenessBoundMs: e.STALENESS_BOUND_MS,
    },
    auth: {
      mode: e.AUTH_MODE,
      jwtSecret: e.AUTH_JWT_SECRET,
      jwksUrl: e.AUTH_JWKS_URL,
      issuer: e.AUTH_ISSUER,
      audience: e.AUTH_AUDIENCE,
    },
    cursorSecret: e.CURSOR_SECRET,
    logLevel: e.LOG_LEVEL,
    tracing: {
      /** The OTLP/HTTP base URL; without it no SDK or exporter is loaded and spans are no-ops. */
      endpoint: e.OTEL_SDK_DISABLED ? undefined : e.OTEL_EXPORTER_OTLP_ENDPOINT,
      serviceName: e.OTEL_SERVICE_NAME,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  };
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/** Parses the environment once; every problem is reported, not only the first. */
export function parseConfig(source: Record<string, string | undefined>): ConfigResult {
  const parsed = env.safeParse(source);
  const problems = [
    ...(parsed.success
      ? []
      : parsed.error.issues.map((i) => `${i.path.join(".") || "environment"}: ${i.message}`)),
    ...crossChecks(source),
  ];
  if (parsed.success && problems.length === 0) return { ok: true, config: toConfig(parsed.data) };
  return { ok: false, problems };
}
