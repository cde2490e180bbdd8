import autocannon from "autocannon";

export type Call = { method: "GET" | "POST"; path: string; body?: string; headers?: Record<string, string> };

export type Measurement = {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** CPU seconds the server processes used during the measured run (not the warm-up). */
  cpuSeconds: number;
};

export type LoadOptions = {
  connections: number;
  duration: number;
  headers: Record<string, string>;
  /** Requests per second over all connections; flat out when absent. */
  overallRate?: number | undefined;
};

/**
 * One autocannon run against `url`. Every request asks `next()` for its method, path and body,
 * so the connections share one rotation over the sample instead of replaying it in lockstep.
 */
function run(url: string, next: () => Call, opts: LoadOptions): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const instance = autocannon(
      {
        url,
        connections: opts.connections,
        duration: opts.duration,
        headers: opts.headers,
        timeout: 10,
        ...(opts.overallRate ? { overallRate: Math.max(1, Math.round(opts.overallRate)) } : {}),
        requests: [
          {
            setupRequest: (req) => {
              const c = next();
              return { ...req, ...c, headers: c.headers ? { ...req.headers, ...c.headers } : req.headers };
            },
          },
        ],
      },
      (err, result) => {
        settled = true;
        clearTimeout(watchdog);
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve(result);
      },
    );
    // autocannon ends on its own after `duration`; this only guards against a wedged run.
    const watchdog = setTimeout(
      () => {
        if (!settled) {
          instance.stop();
          reject(new Error(`autocannon against ${url} did not finish within ${opts.duration + 30} s`));
        }
      },
      (opts.duration + 30) * 1000,
    );
  });
}

/** A warm-up run (discarded), then the measured one, reading the server's CPU time around it. */
export async function measure(
  url: string,
  next: () => Call,
  opts: LoadOptions & { warmup: number; cpuSeconds: () => number },
) {
  if (opts.warmup > 0) await run(url, next, { ...opts, duration: opts.warmup });
  const cpuBefore = opts.cpuSeconds();
  const r = await run(url, next, opts);
  const cpuSeconds = opts.cpuSeconds() - cpuBefore;
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = stat.count ?? 0;
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
    cpuSeconds,
  } satisfies Measurement;
}
