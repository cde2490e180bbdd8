import { parseArgs } from "node:util";
import pg from "pg";
import { z } from "zod";
import { embeddedSecret, signToken } from "./auth/dev-token.ts";
import { openPglite, openPostgres } from "./db/database.ts";
import { migrationsFolder } from "./db/migrations.ts";
import { seedSynthetic } from "./db/seed-synthetic.ts";

const usage = `usage: canopy <command> [options]

  migrate                 apply pending migrations to DATABASE_URL (or the embedded DATA_DIR)
  seed --users N --structures M --depth D --grants G --seed S
                          load a deterministic synthetic organisation into an empty DATABASE_URL
  token [--scope S] [--subject X] [--ttl SECONDS]
                          print an HS256 token signed with AUTH_JWT_SECRET (or the embedded secret)
`;

/** The CLI's own slice of the environment, parsed once. */
const env = z
  .object({
    DATABASE_URL: z.string().optional(),
    DATA_DIR: z.string().default("./.canopy"),
    AUTH_JWT_SECRET: z.string().min(32, "must be at least 32 bytes").optional(),
    AUTH_ISSUER: z.string().optional(),
    AUTH_AUDIENCE: z.string().optional(),
  })
  .parse(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== "")));

const count = (name: string, value: string | undefined, fallback: number) => {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isSafeInteger(n) || n < 0) fail(`--${name} must be a whole number, got ${value}`);
  return n;
};

function fail(message: string): never {
  console.error(`canopy: ${message}`);
  process.exit(2);
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    users: { type: "string" },
    structures: { type: "string" },
    depth: { type: "string" },
    grants: { type: "string" },
    seed: { type: "string" },
    scope: { type: "string" },
    subject: { type: "string" },
    ttl: { type: "string" },
  },
});

const noop = () => {};
switch (positionals[0]) {
  case "migrate": {
    const db = env.DATABASE_URL
      ? openPostgres({ url: env.DATABASE_URL, poolMax: 2 }, noop)
      : await openPglite(env.DATA_DIR, noop);
    await db.migrate(migrationsFolder);
    await db.close();
    console.log(`canopy: migrations applied to ${env.DATABASE_URL ? "DATABASE_URL" : env.DATA_DIR}`);
    break;
  }
  case "seed": {
    if (!env.DATABASE_URL) fail("seed loads into DATABASE_URL; set it to a migrated, empty database");
    const options = {
      users: count("users", values.users, 1_000_000),
      structures: count("structures", values.structures, 100_000),
      depth: count("depth", values.depth, 8),
      grants: count("grants", values.grants, 1_500_000),
      seed: count("seed", values.seed, 1),
    };
    const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
    const result = await seedSynthetic(pool, options, (msg, fields) => console.error(msg, fields ?? ""));
    await pool.end();
    console.log(JSON.stringify(result));
    break;
  }
  case "token": {
    const secret = env.AUTH_JWT_SECRET ?? (env.DATABASE_URL ? undefined : await embeddedSecret(env.DATA_DIR));
    if (!secret) fail("token needs AUTH_JWT_SECRET");
    const token = await signToken(secret, {
      scope: values.scope ?? "canopy:admin",
      subject: values.subject ?? "cli",
      ttlSeconds: count("ttl", values.ttl, 3600),
      issuer: env.AUTH_ISSUER,
      audience: env.AUTH_AUDIENCE,
    });
    console.log(token);
    break;
  }
  default:
    console.error(usage);
    process.exit(positionals[0] === undefined || positionals[0] === "help" ? 0 : 2);
}
