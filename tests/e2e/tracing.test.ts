import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testSecret, within } from "../support/app.ts";
import { createTestDatabase } from "../support/database.ts";
import { type Running, runCli, startServer } from "../support/process.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";

type Attributes = Record<string, string | number | boolean>;
type ReceivedSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Attributes;
  service: unknown;
};
// OTLP's span kinds, one more than the API's.
const SERVER = 2;
const CLIENT = 3;

type OtlpValue = {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  doubleValue?: number;
};
type OtlpAttribute = { key: string; value: OtlpValue };
type OtlpExport = {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      spans?: (Omit<ReceivedSpan, "attributes" | "service"> & { attributes?: OtlpAttribute[] })[];
    }[];
  }[];
};

const flatten = (attributes: OtlpAttribute[] = []): Attributes =>
  Object.fromEntries(
    attributes.map(({ key, value }) => [
      key,
      value.stringValue ?? value.boolValue ?? value.doubleValue ?? Number(value.intValue),
    ]),
  );

/** An OTLP/HTTP receiver of the test's own: POST /v1/traces with the JSON encoding. */
async function startReceiver() {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/traces") {
        res.writeHead(404).end();
        return;
      }
      const payload = JSON.parse(body) as OtlpExport;
      for (const resourceSpans of payload.resourceSpans ?? []) {
        const service = flatten(resourceSpans.resource?.attributes)["service.name"];
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({ ...span, attributes: flatten(span.attributes), service });
          }
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    inTrace: (traceId: string) => spans.filter((s) => s.traceId === traceId),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A preload that prints, as the process exits, every CommonJS module it loaded (the OpenTelemetry
 * packages are CommonJS, so an imported SDK or exporter shows up here).
 */
function moduleProbe(dir: string): string {
  const file = join(dir, "probe.mjs");
  writeFileSync(
    file,
    `import { writeSync } from "node:fs";
import { createRequire } from "node:module";
const cache = createRequire(import.meta.url).cache;
process.on("exit", () => writeSync(2, "canopy-loaded-modules " + JSON.stringify(Object.keys(cache)) + "\\n"));
`,
  );
  return `--import=${pathToFileURL(file).href}`;
}

/** The modules the server process reported at exit (its tsx launcher reports too, with few). */
async function loadedModules(server: Running): Promise<string[]> {
  const reports = () =>
    server
      .output()
      .split("\n")
      .filter((line) => line.startsWith("canopy-loaded-modules "))
      .map((line) => JSON.parse(line.slice("canopy-loaded-modules ".length)) as string[]);
  // The server's own report is the one that saw pino.
  await within(5_000, async () => reports().some((r) => r.some((m) => m.includes("/pino/"))));
  return reports().flat();
}

const sdkModules = /@opentelemetry[/+](sdk-trace|exporter-trace-otlp|otlp-|resources)/;

/** The JSON log lines of the process. */
function logLines(server: Running): Record<string, unknown>[] {
  return server
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const newTrace = () => ({
  traceId: randomBytes(16).toString("hex"),
  parentId: randomBytes(8).toString("hex"),
});
const traceparent = (t: { traceId: string; parentId: string }) => `00-${t.traceId}-${t.parentId}-01`;

describe("tracing through OpenTelemetry", () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let redis: RedisServer;
  let probeDir: string;
  let env: Record<string, string>;
  let token: string;
  const servers: Running[] = [];
  const track = (s: Running) => {
    servers.push(s);
    return s;
  };

  beforeAll(async () => {
    receiver = await startReceiver();
    database = await createTestDatabase();
    redis = await startRedis();
    probeDir = mkdtempSync(join(tmpdir(), "canopy-probe-"));
    env = { DATABASE_URL: database.url, AUTH_JWT_SECRET: testSecret, REDIS_URL: redis.url };
    token = (await runCli(["token"], env)).output.trim();
  });
  afterAll(async () => {
    for (const s of servers) await s.stop("SIGKILL");
    await receiver?.close();
    await redis?.stop();
    await database?.drop();
    if (probeDir) rmSync(probeDir, { recursive: true, force: true });
  });

  const call = (
    server: Running,
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: unknown,
  ) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  describe("with OTEL_EXPORTER_OTLP_ENDPOINT set", () => {
    let server: Running;
    beforeAll(async () => {
      server = track(
        await startServer({
          ...env,
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_BSP_SCHEDULE_DELAY: "50",
          OTEL_SERVICE_NAME: "canopy-tracing-test",
          LOG_LEVEL: "debug",
          NODE_OPTIONS: moduleProbe(probeDir),
        }),
      );
    });

    it("a request's server span reaches the receiver as a child of the caller's traceparent, with its named statement nested under it", async () => {
      const created = await call(server, "POST", "/v1/structures", {}, { name: "traced root" });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      const t = newTrace();
      const res = await call(server, "GET", `/v1/structures/${id}`, { traceparent: traceparent(t) });
      expect(res.status).toBe(200);

      await within(10_000, async () =>
        receiver.inTrace(t.traceId).some((s) => s.kind === SERVER && s.name === "GET /v1/structures/:id"),
      );
      const spans = receiver.inTrace(t.traceId);
      const request = spans.find((s) => s.kind === SERVER) as ReceivedSpan;
      expect(request).toMatchObject({
        name: "GET /v1/structures/:id",
        parentSpanId: t.parentId,
        service: "canopy-tracing-test",
        attributes: {
          "http.request.method": "GET",
          "http.route": "/v1/structures/:id",
          "http.response.status_code": 200,
          "canopy.request_id": res.headers.get("x-request-id"),
        },
      });
      const statement = spans.find((s) => s.name === "structures.get");
      expect(statement).toMatchObject({
        kind: CLIENT,
        parentSpanId: request.spanId,
        attributes: {
          "db.system": "postgresql",
          "db.operation.name": "structures.get",
          "canopy.query": "structures.get",
          "canopy.target": "primary",
        },
      });
      // Statements are named, never described by their parameters: these are all the attributes.
      expect(Object.keys(statement?.attributes ?? {}).sort()).toEqual(
        ["canopy.pool_wait_ms", "canopy.query", "canopy.target", "db.operation.name", "db.system"].sort(),
      );
    });

    it("every log line of a request carries its request id and the caller's trace id", async () => {
      const t = newTrace();
      const res = await call(server, "GET", "/v1/structures?limit=1", { traceparent: traceparent(t) });
      expect(res.status).toBe(200);
      const requestId = res.headers.get("x-request-id");
      await within(5_000, async () => logLines(server).some((l) => l.requestId === requestId));
      const lines = logLines(server).filter((l) => l.requestId === requestId);
      expect(lines.map((l) => l.msg)).toContain("request");
      for (const line of lines) expect(line.traceId).toBe(t.traceId);
    });

    it("a check's Redis calls are spans of its request, naming the command but no key", async () => {
      const root = (await (await call(server, "POST", "/v1/structures", {}, { name: "r" })).json()) as {
        id: string;
      };
      const user = (await (
        await call(
          server,
          "POST",
          "/v1/users",
          {},
          { email: "traced@t.test", name: "T", structureId: root.id },
        )
      ).json()) as { id: string };
      const checkIn = (trace: ReturnType<typeof newTrace>) =>
        call(server, "GET", `/v1/check?userId=${user.id}&structureId=${root.id}&action=read`, {
          traceparent: traceparent(trace),
        });
      const t = newTrace();
      expect((await checkIn(t)).status).toBe(200);

      // Spans arrive in export batches: the Redis call's may come before its request's.
      await within(10_000, async () => {
        const received = receiver.inTrace(t.traceId);
        return received.some((s) => s.name === "redis GET") && received.some((s) => s.kind === SERVER);
      });
      const spans = receiver.inTrace(t.traceId);
      const request = spans.find((s) => s.kind === SERVER) as ReceivedSpan;
      expect(request.name).toBe("GET /v1/check");
      const get = spans.find((s) => s.name === "redis GET");
      expect(get).toMatchObject({
        kind: CLIENT,
        parentSpanId: request.spanId,
        attributes: { "db.system": "redis", "db.operation.name": "GET" },
      });
      const allowed = ["db.system", "db.operation.name", "db.operation.batch.size", "canopy.hits"];
      for (const span of spans.filter((s) => s.attributes["db.system"] === "redis")) {
        expect(allowed).toEqual(expect.arrayContaining(Object.keys(span.attributes)));
      }
      // Now in memory, the same check would be warm; with an SDK recording, it is traced all the same.
      const again = newTrace();
      expect((await checkIn(again)).status).toBe(200);
      await within(10_000, async () => receiver.inTrace(again.traceId).some((s) => s.kind === SERVER));
      expect(receiver.inTrace(again.traceId).find((s) => s.kind === SERVER)).toMatchObject({
        name: "GET /v1/check",
        parentSpanId: again.parentId,
      });
    });

    it("a slow statement is logged by name with its duration and the request's trace id, never its parameters", async () => {
      // Holding the revision row makes the write's revision bump wait past SLOW_QUERY_MS (100).
      const blocker = new pg.Client({ connectionString: database.url });
      await blocker.connect();
      await blocker.query("BEGIN");
      await blocker.query("SELECT value FROM canopy_revision FOR UPDATE");
      const t = newTrace();
      const secret = `confidential-${randomBytes(4).toString("hex")}`;
      const write = call(server, "POST", "/v1/structures", { traceparent: traceparent(t) }, { name: secret });
      await new Promise((r) => setTimeout(r, 300));
      await blocker.query("COMMIT");
      await blocker.end();
      expect((await write).status).toBe(201);

      await within(5_000, async () =>
        logLines(server).some((l) => l.msg === "slow query" && l.traceId === t.traceId),
      );
      const slow = logLines(server).filter((l) => l.msg === "slow query" && l.traceId === t.traceId);
      for (const line of slow) {
        expect(line).toMatchObject({
          level: "warn",
          target: "primary",
          query: expect.stringMatching(/^[a-z_.]+$/),
        });
        expect(line.durationMs as number).toBeGreaterThanOrEqual(100);
        expect(JSON.stringify(line)).not.toContain(secret);
      }
      // The same statement is a span of the write's trace.
      const names = new Set(slow.map((l) => l.query));
      await within(10_000, async () => receiver.inTrace(t.traceId).some((s) => names.has(s.name)));
      const request = logLines(server).find((l) => l.msg === "request" && l.traceId === t.traceId);
      expect(request).toMatchObject({ level: "info", method: "POST", route: "/v1/structures", status: 201 });
    });

    it("loads the SDK and the OTLP exporter", async () => {
      expect(await server.stop()).toBe(0);
      const loaded = await loadedModules(server);
      expect(loaded.some((m) => m.includes("/@opentelemetry/exporter-trace-otlp-http/"))).toBe(true);
      expect(loaded.some((m) => sdkModules.test(m))).toBe(true);
    });
  });

  it("graceful shutdown flushes the spans still buffered", async () => {
    // A schedule far longer than the test: only the flush on SIGTERM can deliver the span.
    const server = track(
      await startServer({
        ...env,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_BSP_SCHEDULE_DELAY: "600000",
      }),
    );
    const t = newTrace();
    expect(
      (await call(server, "GET", "/v1/structures?limit=1", { traceparent: traceparent(t) })).status,
    ).toBe(200);
    expect(receiver.inTrace(t.traceId)).toEqual([]);
    expect(await server.stop()).toBe(0);
    expect(receiver.inTrace(t.traceId).map((s) => s.name)).toContain("GET /v1/structures");
  });

  it("without OTEL_EXPORTER_OTLP_ENDPOINT no SDK or exporter is loaded, yet an incoming traceparent names the request's log lines", async () => {
    const server = track(
      await startServer({
        ...env,
        LOG_LEVEL: "debug",
        SLOW_QUERY_MS: "1",
        NODE_OPTIONS: moduleProbe(probeDir),
      }),
    );
    const t = newTrace();
    const res = await call(server, "GET", "/v1/structures?limit=1", { traceparent: traceparent(t) });
    expect(res.status).toBe(200);
    const requestId = res.headers.get("x-request-id");
    await within(5_000, async () => logLines(server).some((l) => l.requestId === requestId));
    for (const line of logLines(server).filter((l) => l.requestId === requestId)) {
      expect(line.traceId).toBe(t.traceId);
    }
    // A warm check, answered without the middleware chain, names its caller's trace too.
    const json = async (res: Promise<Response>) => (await (await res).json()) as { id: string };
    const place = await json(call(server, "POST", "/v1/structures", {}, { name: "traced" }));
    const person = await json(
      call(server, "POST", "/v1/users", {}, { email: "traced@trace.test", name: "t", structureId: place.id }),
    );
    const checkPath = `/v1/check?userId=${person.id}&structureId=${place.id}&action=read`;
    expect((await call(server, "GET", checkPath, {})).status).toBe(200); // loads the caches
    const warmTrace = newTrace();
    const warm = await call(server, "GET", checkPath, { traceparent: traceparent(warmTrace) });
    expect(warm.status).toBe(200);
    const warmId = warm.headers.get("x-request-id");
    await within(5_000, async () => logLines(server).some((l) => l.requestId === warmId));
    expect(logLines(server).find((l) => l.requestId === warmId)).toMatchObject({
      msg: "request",
      route: "/v1/check",
      status: 200,
      traceId: warmTrace.traceId,
    });
    // A slow statement of a request names the request and its trace, with no SDK tracking spans.
    const blocker = new pg.Client({ connectionString: database.url });
    await blocker.connect();
    await blocker.query("BEGIN");
    await blocker.query("SELECT value FROM canopy_revision FOR UPDATE");
    const slowTrace = newTrace();
    const write = call(
      server,
      "POST",
      "/v1/structures",
      { traceparent: traceparent(slowTrace) },
      { name: "slow" },
    );
    await new Promise((r) => setTimeout(r, 300));
    await blocker.query("COMMIT");
    await blocker.end();
    const written = await write;
    expect(written.status).toBe(201);
    const writeId = written.headers.get("x-request-id");
    await within(5_000, async () =>
      logLines(server).some((l) => l.msg === "slow query" && l.requestId === writeId),
    );
    const slowLines = logLines(server).filter((l) => l.msg === "slow query" && l.requestId === writeId);
    expect(slowLines.map((l) => l.query)).toContain("revision.commit");
    for (const line of slowLines) expect(line.traceId).toBe(slowTrace.traceId);
    // A request without one has no trace id at all.
    const plain = await call(server, "GET", "/v1/structures?limit=1", {});
    await within(5_000, async () =>
      logLines(server).some((l) => l.requestId === plain.headers.get("x-request-id")),
    );
    const plainLine = logLines(server).find((l) => l.requestId === plain.headers.get("x-request-id"));
    expect(plainLine).not.toHaveProperty("traceId");

    expect(await server.stop()).toBe(0);
    const loaded = await loadedModules(server);
    expect(loaded.some((m) => m.includes("@opentelemetry/api/"))).toBe(true);
    expect(loaded.filter((m) => sdkModules.test(m))).toEqual([]);
    expect(receiver.inTrace(t.traceId)).toEqual([]);
  });
});
