import {
  createApp,
  createLogger,
  migrationsFolder,
  openPglite,
  parseConfig,
  signToken,
  startServices,
} from "@canopy/api";
import { type ServerType, serve } from "@hono/node-server";
import { createTestDatabase } from "./database.ts";

export const testSecret = "canopy-test-secret-0123456789abcdef0123456789";
export type Backend = "postgres" | "pglite";
export const backends: Backend[] = ["postgres", "pglite"];

// biome-ignore lint/suspicious/noExplicitAny: tests read answer bodies field by field and assert on them.
export type Answer = { status: number; headers: Headers; body: any };
export type RequestOptions = { token?: string | null; headers?: Record<string, string>; raw?: string };

/** Tokens for each scope, signed with the test secret. */
export async function tokens() {
  const sign = (scope: string) => signToken(testSecret, { scope, subject: `test-${scope}` });
  return {
    admin: await sign("canopy:admin"),
    write: await sign("canopy:write"),
    read: await sign("canopy:read"),
    none: await sign("profile"),
  };
}

/**
 * One API instance over a real database: a database of its own copied from the migrated
 * template (postgres), or an in-memory PGlite migrated on the spot. Requests go through
 * app.request(), no socket, unless listen() is called.
 */
export async function startTestApp(backend: Backend, env: Record<string, string> = {}) {
  const database = backend === "postgres" ? await createTestDatabase() : undefined;
  const instance = await startInstance(
    { ...(database ? { DATABASE_URL: database.url } : {}), ...env },
    backend === "pglite"
      ? async (observe) => {
          const db = await openPglite(undefined, observe);
          await db.migrate(migrationsFolder);
          return db;
        }
      : undefined,
  );
  return {
    ...instance,
    databaseUrl: database?.url,
    close: async () => {
      await instance.close();
      await database?.drop();
    },
  };
}

/** An API instance on the given environment (DATABASE_URL, REDIS_URL, ...), as one replica of a deployment. */
export async function startInstance(env: Record<string, string>, open?: Parameters<typeof startServices>[2]) {
  const parsed = parseConfig({ AUTH_JWT_SECRET: testSecret, LOG_LEVEL: "silent", ...env });
  if (!parsed.ok) throw new Error(parsed.problems.join("; "));
  const logger = createLogger(parsed.config.logLevel);
  const started = await startServices(parsed.config, logger, open);
  const app = createApp(started.services);
  const keys = await tokens();
  let server: ServerType | undefined;

  async function request(
    method: string,
    path: string,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? keys.admin : options.token;
    if (token !== null) headers.authorization ??= `Bearer ${token}`;
    let payload: string | undefined = options.raw;
    if (body !== undefined) {
      payload = JSON.stringify(body);
      headers["content-type"] ??= "application/json";
    }
    const res = await app.request(path, { method, headers, body: payload });
    const text = await res.text();
    let parsedBody: unknown = text;
    try {
      parsedBody = text === "" ? undefined : JSON.parse(text);
    } catch {}
    return { status: res.status, headers: res.headers, body: parsedBody };
  }

  return {
    app,
    services: started.services,
    tokens: keys,
    request,
    get: (path: string, options?: RequestOptions) => request("GET", path, undefined, options),
    post: (path: string, body: unknown, options?: RequestOptions) => request("POST", path, body, options),
    patch: (path: string, body: unknown, options?: RequestOptions) => request("PATCH", path, body, options),
    delete: (path: string, options?: RequestOptions) => request("DELETE", path, undefined, options),
    /** Serves the app on a free loopback port, for clients that need a real socket. */
    listen: () =>
      new Promise<string>((resolve) => {
        server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) =>
          resolve(`http://127.0.0.1:${info.port}`),
        );
      }),
    close: async () => {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await started.close();
    },
  };
}

/** How many statements of each name this instance has run (background polls included). */
export function statementCounts(services: {
  metrics: {
    dbDuration: {
      get(): Promise<{ values: { labels: Record<string, unknown>; value: number; metricName?: string }[] }>;
    };
  };
}) {
  return services.metrics.dbDuration.get().then((m) => {
    const counts = new Map<string, number>();
    for (const v of m.values) {
      if (!v.metricName?.endsWith("_count")) continue;
      const key = `${v.labels.query}@${v.labels.target}`;
      counts.set(key, (counts.get(key) ?? 0) + v.value);
    }
    return counts;
  });
}

/** Polls until the condition holds, returning how long it took; fails after the deadline. */
export async function within(ms: number, condition: () => Promise<boolean>, stepMs = 20): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await condition()) return performance.now() - started;
    if (performance.now() - started > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export type TestApp = Awaited<ReturnType<typeof startTestApp>>;

/** Builds a small tree through the API and returns the ids by name. */
export async function buildTree(
  api: Pick<TestApp, "post">,
  tree: Record<string, string | null>,
): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const [name, parent] of Object.entries(tree)) {
    const res = await api.post("/v1/structures", { name, parentId: parent === null ? null : ids[parent] });
    if (res.status !== 201) throw new Error(`creating ${name}: ${res.status} ${JSON.stringify(res.body)}`);
    ids[name] = res.body.id;
  }
  return ids;
}
