/** What tests, the benchmark and other packages build on. Importing starts nothing. */
export { createApp, createFullApp, maxBodyBytes } from "./app.ts";
export { signToken } from "./auth/dev-token.ts";
export { redisNamespace, StartupError, startServices } from "./bootstrap.ts";
export { type Config, parseConfig } from "./config.ts";
export { type Database, openPglite, openPostgres, type QueryObserver } from "./db/database.ts";
export { migrationsFolder, schemaStatus } from "./db/migrations.ts";
export { databaseIdentity } from "./db/queries/identity.ts";
export { seedSynthetic } from "./db/seed-synthetic.ts";
export { createLogger } from "./observability/logger.ts";
export { withWarmChecks } from "./routes/warm-check.ts";
