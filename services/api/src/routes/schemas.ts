import { z } from "@hono/zod-openapi";
import { actions, roles } from "../domain/roles.ts";

/** Ids are opaque: any string is accepted and looked up. */
export const Id = z.string().openapi({ description: "An opaque id chosen by the server", example: "42" });
export const IdParam = z.object({ id: Id.openapi({ param: { name: "id", in: "path" } }) });

const Revision = z.string().regex(/^(0|[1-9][0-9]{0,18})$/, "must be a revision: a decimal string");

/** Every read accepts a revision to reflect, in the query or in a header (the larger one wins). */
export const ReadQuery = z.object({
  minRevision: Revision.optional().openapi({ description: "Reflect every write up to this revision" }),
});
export const ReadHeaders = z.object({
  "canopy-min-revision": Revision.optional().openapi({
    description: "Same as the minRevision query parameter",
  }),
});

export const PageQuery = ReadQuery.extend({
  limit: z.coerce.number().int().min(1).max(1000).default(50).openapi({ example: 50 }),
  cursor: z.string().optional().openapi({ description: "nextCursor of the previous page" }),
});

export const ActionQuery = z.enum(actions).default("read");
export const RoleSchema = z.enum(roles);

const Timestamp = z.string().openapi({ description: "RFC 3339", example: "2026-12-04T18:00:00.000Z" });
/**
 * Text is stored verbatim, so refuse what Postgres cannot store as given: U+0000, and lone
 * surrogates (which would become U+FFFD).
 */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const storable = (s: string) => !s.includes("\u0000") && !loneSurrogate.test(s);
const Text = z.string().refine(storable, "must not contain U+0000 or unpaired surrogates");
const Name = Text.min(1).max(200);
const ExternalId = Text.min(1).max(200).nullable();

export const Structure = z
  .object({
    id: Id,
    name: z.string(),
    parentId: Id.nullable(),
    externalId: z.string().nullable(),
    depth: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Structure");

export const User = z
  .object({
    id: Id,
    email: z.string(),
    name: z.string(),
    structureId: Id,
    externalId: z.string().nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("User");

export const Grant = z
  .object({
    id: Id,
    userId: Id,
    structureId: Id,
    role: RoleSchema,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Grant");

export const Principal = z.object({ user: User, role: RoleSchema, grantedAt: Id }).openapi("Principal");

export const NewStructure = z
  .strictObject({ name: Name, parentId: Id.nullable().optional(), externalId: ExternalId.optional() })
  .openapi("NewStructure");
export const StructurePatch = z
  .strictObject({
    name: Name.optional(),
    parentId: Id.nullable().optional(),
    externalId: ExternalId.optional(),
  })
  .openapi("StructurePatch");

const Email = z.email().max(320).refine(storable, "must not contain U+0000 or unpaired surrogates");
export const NewUser = z
  .strictObject({ email: Email, name: Name, structureId: Id, externalId: ExternalId.optional() })
  .openapi("NewUser");
export const UserPatch = z
  .strictObject({
    email: Email.optional(),
    name: Name.optional(),
    structureId: Id.optional(),
    externalId: ExternalId.optional(),
  })
  .openapi("UserPatch");

export const NewGrant = z.strictObject({ userId: Id, structureId: Id, role: RoleSchema }).openapi("NewGrant");
export const GrantPatch = z.strictObject({ role: RoleSchema }).openapi("GrantPatch");

export const CheckQuery = ReadQuery.extend({ userId: Id, structureId: Id, action: z.enum(actions) });
export const CheckResult = z
  .object({ allowed: z.boolean(), role: RoleSchema.nullable(), grantedAt: Id.nullable() })
  .openapi("CheckResult");
export const BatchCheckBody = z
  .strictObject({
    checks: z
      .array(z.strictObject({ userId: Id, structureId: Id, action: z.enum(actions) }))
      .min(1)
      .max(100),
  })
  .openapi("BatchCheck");

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

/** The revision a write committed, added to the object it returns. */
export const withRevision = <T extends z.ZodRawShape>(schema: z.ZodObject<T>) =>
  schema.extend({ revision: Revision });

export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });
