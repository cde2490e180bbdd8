import { OpenAPIHono, z } from "@hono/zod-openapi";
import {
  getStructure,
  listAncestors,
  listDescendants,
  listMembers,
  listPrincipals,
  listStructures,
} from "../db/queries/structures.ts";
import { createStructure, deleteStructure, updateStructure } from "../db/writes/structures.ts";
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
  NewStructure,
  PageQuery,
  Principal,
  pageOf,
  ReadHeaders,
  ReadQuery,
  Structure,
  StructurePatch,
  User,
  withRevision,
} from "./schemas.ts";

const tags = ["structures"];
const route = "/v1/structures/{id}";

export const structureRoutes = new OpenAPIHono<AppEnv>()
  .openapi(
    v1Route({
      method: "post",
      path: "/v1/structures",
      tags,
      summary: "Create a structure, as a root or under a parent",
      request: { body: jsonBody(NewStructure) },
      responses: {
        201: jsonResponse("The new structure", withRevision(Structure)),
        409: conflictResponse,
        422: unprocessableResponse,
      },
    }),
    async (c) => sendWritten(c, 201, await createStructure(c.get("services").db, c.req.valid("json"))),
  )
  .openapi(
    v1Route({
      method: "get",
      path: "/v1/structures",
      tags,
      summary: "List structures: all, roots (parentId=root) or the children of one",
      request: {
        query: PageQuery.extend({
          parentId: z.string().optional().openapi({ description: "an id, or root" }),
        }),
        headers: ReadHeaders,
      },
      responses: { 200: jsonResponse("A page of structures", pageOf(Structure)) },
    }),
    async (c) => {
      const input = { query: c.req.valid("query"), header: c.req.valid("header") };
      const { parentId } = input.query;
      const binding = { route: "/v1/structures", params: { parentId } };
      const filter =
        parentId === undefined
          ? { filter: "all" as const }
          : parentId === "root"
            ? { filter: "roots" as const }
            : { filter: "children" as const, id: parseId(parentId) };
      const page = await listStructures(readerFor(c, input), filter, pageRequest(c, binding, input));
      return sendPage(c, binding, page);
    },
  )
  .openapi(
    v1Route({
      method: "get",
      path: route,
      tags,
      summary: "Read a structure",
      request: { params: IdParam, query: ReadQuery, headers: ReadHeaders },
      responses: { 200: jsonResponse("The structure", Structure) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const input = { query: c.req.valid("query"), header: c.req.valid("header") };
      const answer = await getStructure(readerFor(c, input), parseId(id), {
        minRevision: minRevisionOf(input),
      });
      return sendOne(c, answer, ["structure", id]);
    },
  )
  .openapi(
    v1Route({
      method: "patch",
      path: route,
      tags,
      summary: "Rename, re-key or move a structure; a new parentId moves its whole subtree atomically",
      request: { params: IdParam, body: jsonBody(StructurePatch) },
      responses: {
        200: jsonResponse("The structure", withRevision(Structure)),
        409: conflictResponse,
        422: unprocessableResponse,
      },
    }),
    async (c) =>
      sendWritten(
        c,
        200,
        await updateStructure(c.get("services").db, c.req.valid("param").id, c.req.valid("json")),
      ),
  )
  .openapi(
    v1Route({
      method: "delete",
      path: route,
      tags,
      summary: "Delete a structure with no children, members or grants",
      request: { params: IdParam },
      responses: { 204: { description: "Deleted" }, 409: conflictResponse },
    }),
    async (c) => sendDeleted(c, await deleteStructure(c.get("services").db, c.req.valid("param").id)),
  )
  .openapi(
    v1Route({
      method: "get",
      path: `${route}/ancestors`,
      tags,
      summary: "The ancestors of a structure, root first, itself excluded",
      request: { params: IdParam, query: ReadQuery, headers: ReadHeaders },
      responses: { 200: jsonResponse("Ancestors", z.object({ items: z.array(Structure) })) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const input = { query: c.req.valid("query"), header: c.req.valid("header") };
      const page = await listAncestors(readerFor(c, input), parseId(id), {
        minRevision: minRevisionOf(input),
      });
      return sendPage(c, { route: `${route}/ancestors` }, page, ["structure", id]);
    },
  )
  .openapi(
    v1Route({
      method: "get",
      path: `${route}/descendants`,
      tags,
      summary: "The descendants of a structure, down to maxDepth levels below it",
      request: {
        params: IdParam,
        query: PageQuery.extend({ maxDepth: z.coerce.number().int().min(1).max(1_000_000).optional() }),
        headers: ReadHeaders,
      },
      responses: { 200: jsonResponse("A page of structures", pageOf(Structure)) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const input = { query: c.req.valid("query"), header: c.req.valid("header") };
      const { maxDepth } = input.query;
      const binding = { route: `${route}/descendants`, params: { id, maxDepth: maxDepth?.toString() } };
      const page = await listDescendants(
        readerFor(c, input),
        parseId(id),
        maxDepth,
        pageRequest(c, binding, input),
      );
      return sendPage(c, binding, page, ["structure", id]);
    },
  )
  .openapi(
    v1Route({
      method: "get",
      path: `${route}/members`,
      tags,
      summary: "Users who belong to the structure (or to its subtree, when recursive)",
      request: {
        params: IdParam,
        query: PageQuery.extend({ recursive: z.enum(["true", "false"]).default("false") }),
        headers: ReadHeaders,
      },
      responses: { 200: jsonResponse("A page of users", pageOf(User)) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const input = { query: c.req.valid("query"), header: c.req.valid("header") };
      const { recursive } = input.query;
      const binding = { route: `${route}/members`, params: { id, recursive } };
      const page = await listMembers(
        readerFor(c, input),
        parseId(id),
        recursive === "true",
        pageRequest(c, binding, input),
      );
      return sendPage(c, binding, page, ["structure", id]);
    },
  )
  .openapi(
    v1Route({
      method: "get",
      path: `${route}/principals`,
      tags,
      summary: "Users whose effective role on the structure meets the action",
      request: { params: IdParam, query: PageQuery.extend({ action: ActionQuery }), headers: ReadHeaders },
      responses: { 200: jsonResponse("A page of principals", pageOf(Principal)) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const input = { query: c.req.valid("query"), header: c.req.valid("header") };
      const { action } = input.query;
      const binding = { route: `${route}/principals`, params: { id, action } };
      const request = pageRequest(c, binding, input);
      const { db, pages } = c.get("services");
      const page = await pages.read(pageKey(binding, request), request.minRevision, (min) =>
        listPrincipals(db.reader(min), parseId(id), action, request),
      );
      return sendPage(c, binding, page, ["structure", id]);
    },
  );
