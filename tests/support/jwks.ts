import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

export type SigningAlg = "RS256" | "ES256" | "RS512";
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

/** A key pair as an identity provider holds it: the private half signs, the public half is published. */
export type SigningKey = { kid: string; alg: SigningAlg; privateKey: PrivateKey; jwk: JWK };

export async function signingKey(alg: SigningAlg, kid: string): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  // No `alg` in the published key, as many providers do: the server must pin algorithms itself.
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, use: "sig" };
  return { kid, alg, privateKey, jwk };
}

/** Signs a token with the key, under its kid, unless the header says otherwise. */
export function signWith(
  key: SigningKey,
  claims: JWTPayload,
  header: { alg?: string; kid?: string; [name: string]: unknown } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iat: now, exp: now + 3600, ...claims })
    .setProtectedHeader({ typ: "JWT", alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

/**
 * A JWKS endpoint on a free loopback port, like an identity provider's or a sidecar's: it
 * serves the published keys, can rotate them, and counts how often it is fetched.
 */
export async function startJwksServer(keys: SigningKey[]) {
  let published = keys.map((k) => k.jwk);
  let fetches = 0;
  const server = createServer((req, res) => {
    if (req.method !== "GET" || req.url !== "/.well-known/jwks.json") {
      res.writeHead(404).end();
      return;
    }
    fetches += 1;
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    /** How many times the key set was fetched so far. */
    get fetches() {
      return fetches;
    },
    /** Replaces the published key set (a rotation). */
    publish(next: SigningKey[]) {
      published = next.map((k) => k.jwk);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type JwksServer = Awaited<ReturnType<typeof startJwksServer>>;
