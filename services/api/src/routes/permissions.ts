import { OpenAPIHono, z } from "@hono/zod-openapi";
import { getGrant, listGrants } from "../db/queries/permissions.ts";
import { createGrant, deleteGrant, updateGrant } from "../db/writes/permissions.ts";
import { parseId } from "../domain/ids.ts";
import type { AppEnv } from "../services.ts";
import {
  conflictResponse,
  jsonBody,
  jsonResponse,
  minRevisionOf,
  pageRequest,
  readerFor,
  sendDeleted,
  sendOne,
  sendPage,
  sendWritten,
  unprocessableResponse,
  v1Route,
} from "./respond.ts";
import {
  Grant,
  GrantPatch,
  IdParam,
  NewGrant,
  PageQuery,
  pageOf,
  ReadHeaders,
  ReadQuery,
  withRevision,
} from "./schemas.ts";

const tags = ["permissions"];
const route = "/v1/permissions/{id}";
const optionalId = (id: string | undefined) => (id === undefined ? undefined : parseId(id));

export const permissionRoutes = new OpenAPIHono<AppEnv>()
  .openapi(
    v1Route({
      method: "post",
      path: "/v1/permissions",
      tags,
      summary: "Grant a user a role on a structure and everything below it",
      request: { body: jsonBody(NewGrant) },
      responses: {
        201: jsonResponse("The new grant", withRevision(Grant)),
        409: conflictResponse,
        422: unprocessableResponse,
      },
    }),
    async (c) => sendWritten(c, 201, await createGrant(c.get("services").db, c.req.valid("json"))),
  )
  .openapi(
    v1Route({
      method: "get",
      path: "/v1/permissions",
      tags,
      summary: "List grants, optionally of one user and/or on one structure",
      request: {
        query: PageQuery.extend({ userId: z.string().optional(), structureId: z.string().optional() }),
        headers: ReadHeaders,
      },
      responses: { 200: jsonResponse("A page of grants", pageOf(Grant)) },
    }),
    async (c) => {
      const input = { query: c.req.valid("query"), header: c.req.valid("header") };
      const { userId, structureId } = input.query;
      const binding = { route: "/v1/permissions", params: { userId, structureId } };
      const page = await listGrants(
        readerFor(c, input),
        { userId: optionalId(userId), structureId: optionalId(structureId) },
        pageRequest(c, binding, input),
      );
      return sendPage(c, binding, page);
    },
  )
  .openapi(
    v1Route({
      method: "get",
      path: route,
      tags,
      summary: "Read a grant",
      request: { params: IdParam, query: ReadQuery, headers: ReadHeaders },
      responses: { 200: jsonResponse("The grant", Grant) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const input = { query: c.req.valid("query"), header: c.req.valid("header") };
      const answer = await getGrant(readerFor(c, input), parseId(id), {
        minRevision: minRevisionOf(input),
      });
      return sendOne(c, answer, ["grant", id]);
    },
  )
  .openapi(
    v1Route({
      method: "patch",
      path: route,
      tags,
      summary: "Change a grant's role",
      request: { params: IdParam, body: jsonBody(GrantPatch) },
      responses: { 200: jsonResponse("The grant", withRevision(Grant)) },
    }),
    async (c) =>
      sendWritten(
        c,
        200,
        await updateGrant(c.get("services").db, c.req.valid("param").id, c.req.valid("json").role),
      ),
  )
  .openapi(
    v1Route({
      method: "delete",
      path: route,
      tags,
      summary: "Revoke a grant",
      request: { params: IdParam },
      responses: { 204: { description: "Revoked" } },
    }),
    async (c) => sendDeleted(c, await deleteGrant(c.get("services").db, c.req.valid("param").id)),
  );
