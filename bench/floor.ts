/**
 * The benchmark's floor: a bare express app that parses the same JSON body (same size limit as
 * ln-cds) and answers `{"cards":[]}`. Run as its own process, like the service.
 *
 * With FLOOR_JWKS_URL and FLOOR_ISSUER it first verifies the request's CDS Hooks JWT with jose, as
 * the floor of the service with authentication on: signature by the issuer's JWK Set (fetched
 * once and cached by jose), `iss`, `aud` (this URL), `exp`; anything else answers 401.
 *
 *   PORT=… [FLOOR_JWKS_URL=… FLOOR_ISSUER=…] node dist/bench/floor.js
 */
import express, { type RequestHandler } from "express";
import { createRemoteJWKSet, jwtVerify } from "jose";

const port = Number(process.env.PORT);
const app = express();
app.disable("x-powered-by");

const jwksUrl = process.env.FLOOR_JWKS_URL;
const issuer = process.env.FLOOR_ISSUER;
if (jwksUrl !== undefined && issuer !== undefined) {
  const keys = createRemoteJWKSet(new URL(jwksUrl));
  const verify: RequestHandler = (req, res, next) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (token === undefined) {
      res.status(401).json({ resourceType: "OperationOutcome" });
      return;
    }
    jwtVerify(token, keys, {
      issuer,
      audience: `http://127.0.0.1:${String(port)}${req.originalUrl.split("?")[0] ?? ""}`,
      algorithms: ["ES384"],
    }).then(
      () => {
        next();
      },
      () => {
        res.status(401).json({ resourceType: "OperationOutcome" });
      },
    );
  };
  app.use("/cds-services", verify);
}

app.use(express.json({ limit: "1mb" }));
app.post("/cds-services/:id", (_req, res) => {
  res.json({ cards: [] });
});
app.get("/healthz", (_req, res) => {
  res.json({ status: "ok" });
});
app.listen(port, "127.0.0.1");
