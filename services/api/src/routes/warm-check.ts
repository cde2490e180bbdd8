import { type Context, Hono } from "hono";
import { bearerToken, scopeNeeded } from "../auth/middleware.ts";
import { type Caller, hasScope } from "../auth/tokens.ts";
import { recordRequest } from "../http/observe.ts";
import { requestIdOf } from "../http/request-id.ts";
import { tracingStarted } from "../observability/tracing.ts";
import type { AppEnv, Services } from "../services.ts";
import { check, checkFromMemory } from "./checks.ts";

/**
 * Fronts the app with a warm path for GET /v1/check: a check whose caller's token was verified
 * before and whose user and structure are in L1 is answered synchronously, without the
 * middleware chain. Hono then hands the answer to Node at once, with none of the chain's
 * promises, which cost such a check more than everything else it does (README: speed).
 *
 * The warm path answers only what the full app would answer with 200 or 304 in the same way:
 * it builds the answer with the route's own functions (sendRead carries the request id) and
 * frames it with the middleware's (metrics, log line). Anything else (a token not seen yet, a missing scope, a bad
 * query, an unknown id, a cache miss, a revision not seen yet, an SDK recording spans) goes to
 * the full app, which gives every error and loads what is missing; the next check is warm.
 */
export function withWarmChecks(full: Hono<AppEnv>, services: Services, slowMs: number) {
  const fallback = (c: Context<AppEnv>) => full.fetch(c.req.raw, c.env);
  return new Hono<AppEnv>()
    .get(check.path, (c) => warmCheck(c, services, slowMs) ?? fallback(c))
    .notFound(fallback);
}

function warmCheck(c: Context<AppEnv>, services: Services, slowMs: number): Response | undefined {
  if (tracingStarted()) return;
  const started = performance.now();
  let caller: Caller | undefined;
  if (services.verifyToken) {
    const token = bearerToken(c);
    caller = token === undefined ? undefined : services.verifyToken.known(token);
    if (!caller || !hasScope(caller, scopeNeeded("GET", check.path))) return;
  }
  c.set("services", services);
  c.set("caller", caller);
  c.set("requestId", requestIdOf(c));
  let res: Response | undefined;
  try {
    res = checkFromMemory(c);
  } catch {
    return; // the full app answers with the problem
  }
  if (!res) return;
  recordRequest(c, check.path, res, started, slowMs);
  return res;
}
