import { SignJWT } from "jose";

/** A signed HS256 token for local use and tests: the README's curl examples use one. */
export function signToken(
  secret: string,
  claims: { scope: string; subject?: string; ttlSeconds?: number; issuer?: string; audience?: string },
): Promise<string> {
  let jwt = new SignJWT({ scope: claims.scope })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.subject ?? "dev-admin")
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (claims.ttlSeconds ?? 30 * 24 * 3600));
  if (claims.issuer) jwt = jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt = jwt.setAudience(claims.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

/**
 * The embedded default's signing secret: generated on first start and kept in DATA_DIR, so
 * tokens printed once keep working across restarts.
 */
export async function embeddedSecret(dataDir: string): Promise<string> {
  const { mkdir, readFile, writeFile } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const { randomBytes } = await import("node:crypto");
  const file = join(dataDir, "dev-secret");
  try {
    return (await readFile(file, "utf8")).trim();
  } catch (err) {
    if ((err as { code?: string }).code !== "ENOENT") throw err;
  }
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(32).toString("hex");
  await writeFile(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
  return secret;
}
