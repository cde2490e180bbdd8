import { OpenAPIHono, z } from "@hono/zod-openapi";
import { getUser, listUserStructures, listUsers, listVisibleUsers } from "../db/queries/users.ts";
import { createUser, deleteUser, updateUser } from "../db/writes/users.ts";
import { parseId } from "../domain/ids.ts";
import type { AppEnv } from "../services.ts";
import {
  conflictResponse,
  jsonBody,
  jsonResponse,
  minRevisionOf,
  pageKey,
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
  ActionQuery,
  IdParam,
  NewUser,
  PageQuery,
  pageOf,
  ReadHeaders,
  ReadQuery,
  Structure,
  User,
  UserPatch,
  withRevision,
} from "./schemas.ts";

const tags = ["users"];
const route = "/v1/users/{id}";

export const userRoutes = new OpenAPIHono<AppEnv>()
  .openapi(
    v1Route({
      method: "post",
      path: "/v1/users",
      tags,
      summary: "Create a user in a structure",
      request: { body: jsonBody(NewUser) },
      responses: {
        201: jsonResponse("The new user", withRevision(User)),
        409: conflictResponse,
        422: unprocessableResponse,
      },
    }),
    async (c) => sendWritten(c, 201, await createUser(c.get("services").db, c.req.valid("json"))),
  )
  .openapi(
    v1Route({
      method: "get",
      path: "/v1/users",
      tags,
      summary: "List users, optionally those of one structure",
      request: { query: PageQuery.extend({ structureId: z.string().optional() }), headers: ReadHeaders },
      responses: { 200: jsonResponse("A page of users", pageOf(User)) },
    }),
    async (c) => {
      const input = { query: c.req.valid("query"), header: c.req.valid("header") };
      const { structureId } = input.query;
      const binding = { route: "/v1/users", params: { structureId } };
      const page = await listUsers(
        readerFor(c, input),
        structureId === undefined ? undefined : parseId(structureId),
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
      summary: "Read a user",
      request: { params: IdParam, query: ReadQuery, headers: ReadHeaders },
      responses: { 200: jsonResponse("The user", User) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const input = { query: c.req.valid("query"), header: c.req.valid("header") };
      const answer = await getUser(readerFor(c, input), parseId(id), {
        minRevision: minRevisionOf(input),
      });
      return sendOne(c, answer, ["user", id]);
    },
  )
  .openapi(
    v1Route({
      method: "patch",
      path: route,
      tags,
      summary: "Change a user's email, name, structure or externalId",
      request: { params: IdParam, body: jsonBody(UserPatch) },
      responses: {
        200: jsonResponse("The user", withRevision(User)),
        409: conflictResponse,
        422: unprocessableResponse,
      },
    }),
    async (c) =>
      sendWritten(
        c,
        200,
        await updateUser(c.get("services").db, c.req.valid("param").id, c.req.valid("json")),
      ),
  )
  .openapi(
    v1Route({
      method: "delete",
      path: route,
      tags,
      summary: "Delete a user and their grants",
      request: { params: IdParam },
      responses: { 204: { description: "Deleted" } },
    }),
    async (c) => sendDeleted(c, await deleteUser(c.get("services").db, c.req.valid("param").id)),
  )
  .openapi(
    v1Route({
      method: "get",
      path: `${route}/structures`,
      tags,
      summary: "Structures on which the user's effective role meets the action",
      request: { params: IdParam, query: PageQuery.extend({ action: ActionQuery }), headers: ReadHeaders },
      responses: { 200: jsonResponse("A page of structures", pageOf(Structure)) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const input = { query: c.req.valid("query"), header: c.req.valid("header") };
      const binding = { route: `${route}/structures`, params: { id, action: input.query.action } };
      const request = pageRequest(c, binding, input);
      const { db, pages } = c.get("services");
      const page = await pages.read(pageKey(binding, request), request.minRevision, (min) =>
        listUserStructures(db.reader(min), parseId(id), input.query.action, request),
      );
      return sendPage(c, binding, page, ["user", id]);
    },
  )
  .openapi(
    v1Route({
      method: "get",
      path: `${route}/visible-users`,
      tags,
      summary: "Users whose structure the given user may act on",
      request: { params: IdParam, query: PageQuery.extend({ action: ActionQuery }), headers: ReadHeaders },
      responses: { 200: jsonResponse("A page of users", pageOf(User)) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const input = { query: c.req.valid("query"), header: c.req.valid("header") };
      const binding = { route: `${route}/visible-users`, params: { id, action: input.query.action } };
      const request = pageRequest(c, binding, input);
      const { db, pages } = c.get("services");
      const page = await pages.read(pageKey(binding, request), request.minRevision, (min) =>
        listVisibleUsers(db.reader(min), parseId(id), input.query.action, request),
      );
      return sendPage(c, binding, page, ["user", id]);
    },
  );
