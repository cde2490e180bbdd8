import { sql } from "drizzle-orm";
import { bigint, check, pgTable, smallint, text, timestamp } from "drizzle-orm/pg-core";

/**
 * One row. Every write transaction increments it first: the row lock orders writers, so
 * revisions are handed out in commit order and "every write up to R is visible" holds.
 */
export const revisionCounter = pgTable(
  "canopy_revision",
  {
    id: smallint("id").primaryKey().default(1),
    value: bigint("value", { mode: "number" }).notNull().default(0),
  },
  (t) => [check("canopy_revision_single_row", sql`${t.id} = 1`)],
);

/**
 * What each revision changed, written in the same transaction: caches on other instances
 * learn of changes from here even when Redis is down.
 */
export const changeLog = pgTable("canopy_change_log", {
  revision: bigint("revision", { mode: "number" }).primaryKey(),
  kind: text("kind").notNull(),
  userIds: bigint("user_ids", { mode: "number" }).array().notNull().default(sql`'{}'`),
  structureIds: bigint("structure_ids", { mode: "number" }).array().notNull().default(sql`'{}'`),
  /** Paths of the structures the change touched, before and after: caches derive subtrees from them. */
  paths: text("paths").array().notNull().default(sql`'{}'`),
  committedAt: timestamp("committed_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
});
