import { bigint, index, integer, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

/**
 * A node of the organisation tree. `path` is the chain of ancestor ids from the root down to
 * and including this node, as `/1/7/42/`: descendants are found by prefix on a btree index
 * whose `text_pattern_ops` operator class serves `LIKE 'prefix%'` and byte-wise ranges.
 */
export const structures = pgTable(
  "hierarchy_structures",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    parentId: bigint("parent_id", { mode: "number" }).references(
      (): import("drizzle-orm/pg-core").AnyPgColumn => structures.id,
    ),
    path: text("path").notNull(),
    depth: integer("depth").notNull(),
    name: text("name").notNull(),
    externalId: text("external_id"),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    index("hierarchy_structures_path_idx").using("btree", t.path.op("text_pattern_ops")),
    index("hierarchy_structures_parent_id_idx").on(t.parentId, t.id),
    uniqueIndex("hierarchy_structures_external_id_key").on(t.externalId),
  ],
);
