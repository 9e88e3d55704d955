/**
 * The bench's EHR issuer for the authentication-on figures: an ES384 key, its JWK Set served on
 * 127.0.0.1, and CDS Hooks JWTs as an EHR sends them: a fresh one per request, each with its own
 * `jti`, for one audience (the service's URL of the endpoint called).
 *
 * Tokens are signed before a run, not while it is timed: signing is the EHR's work, and the
 * measuring client shares the machine with the targets.
 */
import { generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface BenchIssuer {
  readonly iss: string;
  readonly jwksUrl: string;
  /** `count` tokens for `aud`, each with its own jti, valid for the next five minutes. */
  tokens(aud: string, count: number): string[];
  close(): Promise<void>;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString("base64url");

export async function startBenchIssuer(): Promise<BenchIssuer> {
  const kid = `bench-es384-${randomUUID()}`;
  const { privateKey: key, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-384" });
  const jwks = JSON.stringify({
    keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "ES384", use: "sig" }],
  });
  const server: Server = createServer((req, res) => {
    if (req.url === "/jwks") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(jwks);
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  const iss = "https://bench-ehr.example.org";
  const header = b64url(JSON.stringify({ alg: "ES384", typ: "JWT", kid }));
  return {
    iss,
    jwksUrl: `${origin}/jwks`,
    tokens(aud, count) {
      const iat = Math.floor(Date.now() / 1000);
      const out: string[] = [];
      for (let i = 0; i < count; i++) {
        const payload = b64url(
          JSON.stringify({ iss, aud, iat, exp: iat + 300, jti: randomUUID() }),
        );
        const input = `${header}.${payload}`;
        // JWS ES384: the signature is r ‖ s (IEEE P1363), not DER.
        const signature = sign("sha384", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
        out.push(`${input}.${b64url(signature)}`);
      }
      return out;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
