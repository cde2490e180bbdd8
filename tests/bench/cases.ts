import type { Call } from "./load.ts";
import type { Subjects } from "./subjects.ts";

export type Case = {
  name: string;
  target: "hello" | "api" | "api-pair";
  what: string;
  calls: Call[];
  /** An open-loop case: requests at this share of another case's measured rate, instead of flat out. */
  rate?: { of: string; share: number };
};

/** A deterministic stream of (user, structure) pairs drawn uniformly: nearly every one is new to the cache. */
function coldPairs(counts: { users: number; structures: number }, n: number): Call[] {
  let state = 12345;
  const random = (max: number) => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return 1 + (state % max);
  };
  return Array.from({ length: n }, () => ({
    method: "GET" as const,
    path: `/v1/check?userId=${random(counts.users)}&structureId=${random(counts.structures)}&action=read`,
  }));
}

const json = { "content-type": "application/json" };

/** The request lists each case rotates over; built once, so the load generator only picks. */
export function buildCases(
  subjects: Subjects,
  batchSize: number,
  counts: { users: number; structures: number },
): Case[] {
  const { pairs, viewers } = subjects;
  const checkPath = (p: { userId: string; structureId: string }) =>
    `/v1/check?userId=${p.userId}&structureId=${p.structureId}&action=read`;
  const batches: Call[] = [];
  for (let i = 0; i < pairs.length; i += batchSize) {
    const checks = Array.from({ length: batchSize }, (_, k) => {
      const p = pairs[(i + k) % pairs.length] as { userId: string; structureId: string };
      return { userId: p.userId, structureId: p.structureId, action: "read" };
    });
    batches.push({
      method: "POST",
      path: "/v1/check/batch",
      body: JSON.stringify({ checks }),
      headers: json,
    });
  }
  return [
    {
      name: "hello",
      target: "hello",
      what: "bare Hono c.json({ok:true})",
      calls: [{ method: "GET", path: "/" }],
    },
    {
      name: "check",
      target: "api",
      what: `GET /v1/check over ${pairs.length} pairs, cached after their first pass`,
      calls: pairs.map((p) => ({ method: "GET", path: checkPath(p) })),
    },
    // Below saturation, at a fixed rate: half of what the check case reached. The hello-world at
    // the same rate and connections is the control for what the load generator adds.
    {
      name: "hello-half-rate",
      target: "hello",
      what: "bare Hono at the rate of check-half-rate, as its control",
      calls: [{ method: "GET", path: "/" }],
      rate: { of: "check", share: 0.5 },
    },
    {
      name: "check-half-rate",
      target: "api",
      what: "the check case at half the rate it reached: latency below saturation",
      calls: pairs.map((p) => ({ method: "GET", path: checkPath(p) })),
      rate: { of: "check", share: 0.5 },
    },
    {
      name: "check-uncached",
      target: "api",
      what: "GET /v1/check on uniformly random pairs: almost every user is a cache miss",
      calls: coldPairs(counts, 400_000),
    },
    {
      name: "check-2x",
      target: "api-pair",
      what: `GET /v1/check over ${pairs.length} pairs, load split over two API instances`,
      calls: pairs.map((p) => ({ method: "GET", path: checkPath(p) })),
    },
    {
      name: "batch",
      target: "api",
      what: `POST /v1/check/batch, ${batchSize} items, ${batches.length} bodies`,
      calls: batches,
    },
    {
      name: "visible-users",
      target: "api",
      what: `GET /v1/users/{id}/visible-users?limit=50 over ${viewers.length} users`,
      calls: viewers.map((id) => ({ method: "GET", path: `/v1/users/${id}/visible-users?limit=50` })),
    },
  ];
}

type Answer = { status: number; body: unknown };

async function call(base: string, token: string, c: Call): Promise<Answer> {
  const res = await fetch(`${base}${c.path}`, {
    method: c.method,
    headers: { authorization: `Bearer ${token}`, ...c.headers },
    body: c.body ?? null,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body };
}

/**
 * Before measuring: every case answers 200 and checks answer what the sample expects, so the
 * benchmark never measures a stream of errors. Returns facts for the report.
 */
export async function verify(base: string, token: string, subjects: Subjects, cases: Case[]) {
  const fail = (what: string, a: Answer) => {
    throw new Error(`${what} answered ${a.status}: ${JSON.stringify(a.body).slice(0, 500)}`);
  };
  const mismatches: string[] = [];
  const probes = subjects.pairs.slice(0, 40);
  for (const p of probes) {
    const c: Call = {
      method: "GET",
      path: `/v1/check?userId=${p.userId}&structureId=${p.structureId}&action=read`,
    };
    const a = await call(base, token, c);
    if (a.status !== 200) fail(`GET ${c.path}`, a);
    const allowed = (a.body as { allowed?: boolean }).allowed;
    if (allowed !== p.allowed)
      mismatches.push(`${c.path}: expected allowed=${p.allowed}, got ${JSON.stringify(a.body)}`);
  }
  const batch = cases.find((c) => c.name === "batch")?.calls[0];
  if (batch) {
    const a = await call(base, token, batch);
    if (a.status !== 200) fail("POST /v1/check/batch", a);
  }
  const counts: number[] = [];
  for (const c of cases.find((x) => x.name === "visible-users")?.calls.slice(0, 5) ?? []) {
    const a = await call(base, token, c);
    if (a.status !== 200) fail(`GET ${c.path}`, a);
    counts.push((a.body as { items?: unknown[] }).items?.length ?? 0);
  }
  const meanItems = counts.length ? counts.reduce((x, y) => x + y, 0) / counts.length : null;
  return {
    checksProbed: probes.length,
    checkMismatches: mismatches,
    visibleUsersMeanItems: meanItems === null ? null : Math.round(meanItems * 10) / 10,
  };
}
