import type { Role } from "../domain/roles.ts";
import type { Database } from "./database.ts";
import { createGrant } from "./writes/permissions.ts";
import { createStructure } from "./writes/structures.ts";
import { createUser } from "./writes/users.ts";

type Unit = { name: string; externalId: string; children?: Unit[] };

const organisation: Unit = {
  name: "Acme",
  externalId: "acme",
  children: [
    {
      name: "Engineering",
      externalId: "eng",
      children: [
        { name: "Platform", externalId: "eng-platform" },
        { name: "Product", externalId: "eng-product" },
      ],
    },
    {
      name: "Sales",
      externalId: "sales",
      children: [
        { name: "EMEA", externalId: "sales-emea" },
        { name: "Americas", externalId: "sales-americas" },
      ],
    },
    { name: "People", externalId: "people" },
  ],
};

const people: { name: string; email: string; unit: string; grant?: [Role, string] }[] = [
  { name: "Alice Admin", email: "alice@acme.example", unit: "acme", grant: ["admin", "acme"] },
  { name: "Bob Builder", email: "bob@acme.example", unit: "eng", grant: ["editor", "eng"] },
  {
    name: "Carol Coder",
    email: "carol@acme.example",
    unit: "eng-platform",
    grant: ["viewer", "eng-platform"],
  },
  { name: "Dave Dealer", email: "dave@acme.example", unit: "sales-emea", grant: ["editor", "sales"] },
  { name: "Erin Explorer", email: "erin@acme.example", unit: "sales-americas" },
  { name: "Frank Friendly", email: "frank@acme.example", unit: "people", grant: ["viewer", "acme"] },
];

/** A small organisation for the embedded default, written through the same writes the API uses. */
export async function seedDemo(db: Database): Promise<void> {
  const ids = new Map<string, string>();
  const add = async (unit: Unit, parentId: string | null) => {
    const { value } = await createStructure(db, { name: unit.name, externalId: unit.externalId, parentId });
    ids.set(unit.externalId, value.id);
    for (const child of unit.children ?? []) await add(child, value.id);
  };
  await add(organisation, null);
  for (const person of people) {
    const structureId = ids.get(person.unit) ?? "";
    const { value: user } = await createUser(db, { name: person.name, email: person.email, structureId });
    if (person.grant) {
      const [role, unit] = person.grant;
      await createGrant(db, { userId: user.id, structureId: ids.get(unit) ?? "", role });
    }
  }
}
