import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Decided } from "../cache/check-cache.ts";
import { notFound } from "../domain/errors.ts";
import { parseId } from "../domain/ids.ts";
import { allows } from "../domain/roles.ts";
import type { AppEnv } from "../services.ts";
import { jsonBody, jsonResponse, minRevisionOf, sendRead, v1Route } from "./respond.ts";
import { BatchCheckBody, CheckQuery, CheckResult, ReadHeaders, ReadQuery } from "./schemas.ts";
import { validHeaders, validQuery } from "./validation.ts";

const tags = ["checks"];

export const check = v1Route({
  method: "get",
  path: "/v1/check",
  tags,
  summary: "May the user do the action on the structure?",
  request: { query: CheckQuery, headers: ReadHeaders },
  responses: { 200: jsonResponse("The decision", CheckResult.extend({ revision: z.string() })) },
});

/** The check's query, the revision it must reflect and its subject; throws the route's 400s. */
function checkInput(c: Context<AppEnv>) {
  const query = validQuery(c, CheckQuery);
  const minRevision = minRevisionOf({ query, header: validHeaders(c, ReadHeaders) });
  const subjects = [{ userId: parseId(query.userId), structureId: parseId(query.structureId) }];
  return { query, minRevision, subjects };
}

function checkAnswer(c: Context<AppEnv>, query: z.output<typeof CheckQuery>, decided: Decided) {
  const [decision] = decided.decisions;
  if (!decision?.userFound) throw notFound("user", query.userId);
  if (!decision.structureFound) throw notFound("structure", query.structureId);
  const { role, grantedAt } = decision;
  const { revision } = decided;
  return sendRead(c, { allowed: allows(role, query.action), role, grantedAt, revision }, revision);
}

/**
 * GET /v1/check answered from memory alone, or undefined when it needs the database. Throws
 * what the route throws. The warm path (warm-check.ts) serves most checks with it.
 */
export function checkFromMemory(c: Context<AppEnv>): Response | undefined {
  const { query, minRevision, subjects } = checkInput(c);
  const decided = c.get("services").checks.fromMemory(subjects, minRevision);
  return decided && checkAnswer(c, query, decided);
}

export const checkRoutes = new OpenAPIHono<AppEnv>();
// Validated in the handler, with the same schemas and 400s as the validator middleware, which
// costs a check a large share of its time (see validation.ts).
checkRoutes.openAPIRegistry.registerPath(check);
checkRoutes.get(check.path, async (c) => {
  const { query, minRevision, subjects } = checkInput(c);
  return checkAnswer(c, query, await c.get("services").checks.decide(subjects, minRevision));
});

checkRoutes.openapi(
  v1Route({
    method: "post",
    path: "/v1/check/batch",
    tags,
    summary: "Up to 100 checks in one request, answered in request order",
    request: { query: ReadQuery, headers: ReadHeaders, body: jsonBody(BatchCheckBody) },
    responses: {
      200: jsonResponse(
        "The decisions, in request order",
        z.object({
          results: z.array(CheckResult.extend({ error: z.literal("not_found").optional() })),
          revision: z.string(),
        }),
      ),
    },
  }),
  async (c) => {
    const { checks } = c.req.valid("json");
    const minRevision = minRevisionOf({ query: c.req.valid("query"), header: c.req.valid("header") });
    const subjects = checks.map((x) => ({
      userId: parseId(x.userId),
      structureId: parseId(x.structureId),
    }));
    const { decisions, revision } = await c.get("services").checks.decide(subjects, minRevision);
    const results = decisions.map((d, i) =>
      d.userFound && d.structureFound
        ? { allowed: allows(d.role, checks[i]?.action ?? "manage"), role: d.role, grantedAt: d.grantedAt }
        : { allowed: false, role: null, grantedAt: null, error: "not_found" as const },
    );
    c.header("Canopy-Revision", revision);
    c.header("Cache-Control", "no-store");
    return c.json({ results, revision }, 200);
  },
);
