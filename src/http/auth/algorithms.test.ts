import { describe, expect, it } from "vitest";
import { isAcceptedAlgorithm, keyFitsAlgorithm } from "./algorithms.js";

const ec384 = { kty: "EC", crv: "P-384", x: "x", y: "y", kid: "k" };
const rsa = { kty: "RSA", n: "n", e: "AQAB", kid: "k" };

describe("accepted algorithms (CDS Hooks 2.0 req. 201, 203, 205)", () => {
  it("accepts ES256/384/512 and RS256/384/512 only", () => {
    for (const alg of ["ES256", "ES384", "ES512", "RS256", "RS384", "RS512"])
      expect(isAcceptedAlgorithm(alg)).toBe(true);
    for (const alg of [
      "none",
      "None",
      "HS256",
      "HS384",
      "HS512",
      "PS256",
      "EdDSA",
      "",
      undefined,
      1,
    ]) {
      expect(isAcceptedAlgorithm(alg)).toBe(false);
    }
  });
});

describe("keyFitsAlgorithm pins the algorithm to the key", () => {
  it("lets a P-384 key verify ES384 only", () => {
    expect(keyFitsAlgorithm(ec384, "ES384")).toBe(true);
    expect(keyFitsAlgorithm(ec384, "ES256")).toBe(false);
    expect(keyFitsAlgorithm(ec384, "RS384")).toBe(false);
  });

  it("lets an RSA key verify RS* but not ES*, and only its own alg when it names one", () => {
    expect(keyFitsAlgorithm(rsa, "RS256")).toBe(true);
    expect(keyFitsAlgorithm(rsa, "ES384")).toBe(false);
    expect(keyFitsAlgorithm({ ...rsa, alg: "RS384" }, "RS384")).toBe(true);
    expect(keyFitsAlgorithm({ ...rsa, alg: "RS384" }, "RS256")).toBe(false);
  });

  it("refuses encryption keys, keys without verify, and published private keys", () => {
    expect(keyFitsAlgorithm({ ...ec384, use: "enc" }, "ES384")).toBe(false);
    expect(keyFitsAlgorithm({ ...ec384, key_ops: ["sign"] }, "ES384")).toBe(false);
    expect(keyFitsAlgorithm({ ...ec384, d: "secret" }, "ES384")).toBe(false);
  });
});
