import { sql } from "drizzle-orm";
import { conflict, notFound, unprocessable } from "../../domain/errors.ts";
import { parseId } from "../../domain/ids.ts";
import { childPath, wouldCycle } from "../../domain/tree.ts";
import type { Database, Executor } from "../database.ts";
import { inSubtree, P, p, S, s, structureColumns, U, u } from "../fragments.ts";
import type { Structure } from "../queries/structures.ts";
import { commitWrite, lockTree } from "./commit.ts";

type Located = { id: string; path: string; depth: number; parentId: string | null };

/** The structure's place in the tree, locked against concurrent deletion. */
async function locate(tx: Executor, id: string | null, lock: "share" | "update") {
  const [row] = await tx.rows<Located>(
    `structures.locate.${lock}`,
    sql`SELECT ${s.id}::text AS id, ${s.path} AS path, ${s.depth} AS depth, ${s.parentId}::text AS "parentId"
        FROM ${S} WHERE ${s.id} = ${id} ${lock === "share" ? sql`FOR KEY SHARE` : sql`FOR UPDATE`}`,
  );
  return row;
}

async function externalIdTaken(tx: Executor, externalId: string, except: string | null) {
  const rows = await tx.rows(
    "structures.external_id_taken",
    sql`SELECT 1 AS taken FROM ${S} WHERE ${s.externalId} = ${externalId} AND ${s.id} IS DISTINCT FROM ${except}::bigint`,
  );
  return rows.length > 0;
}

const selectStructure = (tx: Executor, id: string) =>
  tx
    .rows<Structure>("structures.reread", sql`SELECT ${structureColumns(s)} FROM ${S} WHERE ${s.id} = ${id}`)
    .then((rows) => rows[0] as Structure);

export type NewStructure = {
  name: string;
  parentId?: string | null | undefined;
  externalId?: string | null | undefined;
};

export function createStructure(db: Database, input: NewStructure) {
  return commitWrite(
    db,
    async (tx) => {
      await lockTree(tx, "shared");
      if (input.externalId != null && (await externalIdTaken(tx, input.externalId, null))) {
        throw conflict(`externalId ${JSON.stringify(input.externalId)} is already in use`);
      }
      const parent = input.parentId == null ? null : await locate(tx, parseId(input.parentId), "share");
      if (input.parentId != null && !parent) throw unprocessable("parentId", "structure", input.parentId);
      const [row] = await tx.rows<Structure & { path: string }>(
        "structures.insert",
        sql`INSERT INTO ${S} (id, parent_id, path, depth, name, external_id)
            SELECT n.id, ${parent?.id ?? null}::bigint, ${parent?.path ?? "/"} || n.id || '/',
                   ${parent ? parent.depth + 1 : 0}::int, ${input.name}, ${input.externalId ?? null}
            FROM (SELECT nextval(pg_get_serial_sequence('hierarchy_structures', 'id')) AS id) n
            RETURNING ${structureColumns(s)}, ${s.path} AS path`,
      );
      if (!row) throw new Error("insert returned nothing");
      const { path, ...structure } = row;
      return {
        value: structure as Structure,
        change: {
          kind: "structure.create",
          structureIds: [structure.id, parent?.id ?? null],
          paths: [path],
        },
      };
    },
    () => unprocessable("parentId", "structure", input.parentId ?? ""),
  );
}

export type StructurePatch = {
  name?: string | undefined;
  parentId?: string | null | undefined;
  externalId?: string | null | undefined;
};

/**
 * Renames, re-keys and moves. A move rewrites the path and depth of the whole subtree in
 * one statement, under the exclusive tree lock, after refusing cycles.
 */
export function updateStructure(db: Database, rawId: string, patch: StructurePatch) {
  const id = parseId(rawId);
  const moving = patch.parentId !== undefined;
  return commitWrite(
    db,
    async (tx) => {
      await lockTree(tx, moving ? "exclusive" : "shared");
      const current = await locate(tx, id, "update");
      if (!current) throw notFound("structure", rawId);
      if (patch.externalId != null && (await externalIdTaken(tx, patch.externalId, current.id))) {
        throw conflict(`externalId ${JSON.stringify(patch.externalId)} is already in use`);
      }
      const newParent =
        patch.parentId == null ? null : ((await locate(tx, parseId(patch.parentId), "share")) ?? undefined);
      if (moving && newParent !== undefined && wouldCycle(current.path, newParent?.path ?? null)) {
        throw conflict("a structure cannot move under itself or one of its descendants");
      }
      if (moving && newParent === undefined)
        throw unprocessable("parentId", "structure", patch.parentId ?? "");

      await tx.rows(
        "structures.update",
        sql`UPDATE ${S} SET
              name = coalesce(${patch.name ?? null}, ${s.name}),
              external_id = CASE WHEN ${patch.externalId !== undefined} THEN ${patch.externalId ?? null} ELSE ${s.externalId} END,
              updated_at = now()
            WHERE ${s.id} = ${current.id}`,
      );
      if (moving && newParent !== undefined) {
        const newPath = childPath(newParent?.path ?? null, current.id);
        const delta = (newParent ? newParent.depth + 1 : 0) - current.depth;
        await tx.rows(
          "structures.move_subtree",
          sql`UPDATE ${S} SET
                path = ${newPath} || substr(${s.path}, ${current.path.length + 1}::int),
                depth = ${s.depth} + ${delta}::int,
                parent_id = CASE WHEN ${s.id} = ${current.id} THEN ${newParent?.id ?? null}::bigint ELSE ${s.parentId} END,
                updated_at = now()
              WHERE ${inSubtree(s.path, sql`${current.path}::text`)}`,
        );
      }
      return {
        value: await selectStructure(tx, current.id),
        change: {
          kind: moving ? "structure.move" : "structure.update",
          structureIds: [current.id, current.parentId, ...(moving ? [newParent?.id ?? null] : [])],
          paths: [current.path, ...(moving ? [childPath(newParent?.path ?? null, current.id)] : [])],
        },
      };
    },
    () => unprocessable("parentId", "structure", patch.parentId ?? ""),
  );
}

/** Deletes a structure that has no children, members or grants left. */
export function deleteStructure(db: Database, rawId: string) {
  const id = parseId(rawId);
  return commitWrite(
    db,
    async (tx) => {
      await lockTree(tx, "shared");
      const current = await locate(tx, id, "update");
      if (!current) throw notFound("structure", rawId);
      const [usage] = await tx.rows<{ children: boolean; members: boolean; grants: boolean }>(
        "structures.usage",
        sql`SELECT EXISTS (SELECT 1 FROM ${S} WHERE ${s.parentId} = ${current.id}) AS children,
                   EXISTS (SELECT 1 FROM ${U} WHERE ${u.structureId} = ${current.id}) AS members,
                   EXISTS (SELECT 1 FROM ${P} WHERE ${p.structureId} = ${current.id}) AS grants`,
      );
      const blockers = Object.entries(usage ?? {})
        .filter(([, has]) => has)
        .map(([what]) => what);
      if (blockers.length > 0) {
        throw conflict(`the structure still has ${blockers.join(", ")}; remove them first`);
      }
      await tx.rows("structures.delete", sql`DELETE FROM ${S} WHERE ${s.id} = ${current.id}`);
      return {
        value: null,
        change: {
          kind: "structure.delete",
          structureIds: [current.id, current.parentId],
          paths: [current.path],
        },
      };
    },
    () => conflict("the structure gained children, members or grants while being deleted"),
  );
}
