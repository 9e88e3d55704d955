import { describe, expect, it } from "vitest";
import { checkCdsClaims, MAX_JTI_LENGTH } from "./claims.js";

const AUD = "https://cds.example.org/cds-services/iguratimod-safety";
const NOW = 1_800_000_000;
const base = { iss: "https://ehr.example.org", aud: AUD, iat: NOW, exp: NOW + 300, jti: "a-jti" };
const expect60 = { audience: AUD, nowSeconds: NOW, skewSeconds: 60 };

describe("checkCdsClaims", () => {
  it("accepts a token issued now that expires in five minutes", () => {
    expect(checkCdsClaims(base, expect60)).toBeUndefined();
  });

  it("refuses an audience that differs by a trailing slash or is only a prefix", () => {
    expect(checkCdsClaims({ ...base, aud: AUD + "/" }, expect60)).toBe("aud-mismatch");
    expect(checkCdsClaims({ ...base, aud: "https://cds.example.org/cds-services" }, expect60)).toBe(
      "aud-mismatch",
    );
    expect(checkCdsClaims({ ...base, aud: undefined }, expect60)).toBe("aud-mismatch");
  });

  // RFC 7519, https://www.rfc-editor.org/rfc/rfc7519#section-4.1.3
  it("accepts an audience array that contains the endpoint exactly", () => {
    expect(checkCdsClaims({ ...base, aud: ["other", AUD] }, expect60)).toBeUndefined();
  });

  it("allows 60 s of skew on exp, iat and nbf but not 61", () => {
    expect(checkCdsClaims({ ...base, exp: NOW - 59 }, expect60)).toBeUndefined();
    expect(checkCdsClaims({ ...base, exp: NOW - 60 }, expect60)).toBe("expired");
    expect(checkCdsClaims({ ...base, iat: NOW + 60 }, expect60)).toBeUndefined();
    expect(checkCdsClaims({ ...base, iat: NOW + 61 }, expect60)).toBe("iat-in-future");
    expect(checkCdsClaims({ ...base, nbf: NOW + 60 }, expect60)).toBeUndefined();
    expect(checkCdsClaims({ ...base, nbf: NOW + 61 }, expect60)).toBe("nbf-in-future");
  });

  it("requires exp, iat and jti", () => {
    expect(checkCdsClaims({ ...base, exp: undefined }, expect60)).toBe("exp-missing");
    expect(checkCdsClaims({ ...base, iat: undefined }, expect60)).toBe("iat-missing");
    expect(checkCdsClaims({ ...base, jti: undefined }, expect60)).toBe("jti-missing");
    expect(checkCdsClaims({ ...base, jti: "" }, expect60)).toBe("jti-missing");
  });

  it("refuses claims of the wrong type instead of coercing them", () => {
    expect(checkCdsClaims({ ...base, exp: "9999999999" as unknown as number }, expect60)).toBe(
      "claim-type-invalid",
    );
    expect(checkCdsClaims({ ...base, iat: Number.NaN }, expect60)).toBe("claim-type-invalid");
    expect(checkCdsClaims({ ...base, jti: 42 as unknown as string }, expect60)).toBe(
      "claim-type-invalid",
    );
    expect(checkCdsClaims({ ...base, jti: "x".repeat(MAX_JTI_LENGTH + 1) }, expect60)).toBe(
      "claim-type-invalid",
    );
    expect(checkCdsClaims({ ...base, sub: 7 as unknown as string }, expect60)).toBe(
      "claim-type-invalid",
    );
  });

  it("checks the tenant only when one is configured", () => {
    expect(
      checkCdsClaims({ ...base, tenant: "t1" }, { ...expect60, tenant: "t1" }),
    ).toBeUndefined();
    expect(checkCdsClaims({ ...base, tenant: "t2" }, { ...expect60, tenant: "t1" })).toBe(
      "tenant-mismatch",
    );
    expect(checkCdsClaims(base, { ...expect60, tenant: "t1" })).toBe("tenant-mismatch");
    expect(checkCdsClaims({ ...base, tenant: "anything" }, expect60)).toBeUndefined();
  });

  it("accepts sub when present and does not require it", () => {
    expect(checkCdsClaims({ ...base, sub: "Practitioner/1" }, expect60)).toBeUndefined();
  });
});
