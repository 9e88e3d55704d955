import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

describe("loadConfig", () => {
  it("applies documented defaults when the environment is empty", () => {
    const cfg = loadConfig({});
    expect(cfg.PORT).toBe(8080);
    expect(cfg.HOST).toBe("127.0.0.1");
    expect(cfg.CDS_AUTH).toBe("on");
    expect(cfg.PREFETCH_BUDGET_MS).toBe(3000);
    expect(cfg.publicBaseUrl).toBe("http://127.0.0.1:8080");
  });

  it("names PORT when the port is not a number", () => {
    expect(() => loadConfig({ PORT: "eighty" })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: "eighty" })).toThrow(/^config: PORT: /);
    expect(() => loadConfig({ PORT: "70000" })).toThrow(/^config: PORT: /);
  });

  it("names MONITOR_FHIR_TOKEN when it holds a character no HTTP header can carry", () => {
    expect(() => loadConfig({ MONITOR_FHIR_TOKEN: "token\n" })).toThrow(
      /^config: MONITOR_FHIR_TOKEN: /,
    );
    expect(loadConfig({ MONITOR_FHIR_TOKEN: "abc.def-1" }).MONITOR_FHIR_TOKEN).toBe("abc.def-1");
  });

  it("names FHIR_SERVER_ALLOWLIST when an entry is not an origin", () => {
    expect(() => loadConfig({ FHIR_SERVER_ALLOWLIST: "not a url" })).toThrow(
      /^config: FHIR_SERVER_ALLOWLIST: "not a url" is not a URL/,
    );
    expect(() => loadConfig({ FHIR_SERVER_ALLOWLIST: "http://a.example/fhir" })).toThrow(
      /^config: FHIR_SERVER_ALLOWLIST: .*origin only/,
    );
    expect(() => loadConfig({ FHIR_SERVER_ALLOWLIST: "ftp://a.example" })).toThrow(
      /FHIR_SERVER_ALLOWLIST: .*http or https/,
    );
  });

  it("normalises allow-listed origins", () => {
    const cfg = loadConfig({
      FHIR_SERVER_ALLOWLIST: " http://127.0.0.1:8090/ , https://Fhir.Example.org ",
    });
    expect(cfg.FHIR_SERVER_ALLOWLIST).toEqual([
      "http://127.0.0.1:8090",
      "https://fhir.example.org",
    ]);
  });

  it("parses JSON settings and names the variable when they are wrong", () => {
    const cfg = loadConfig({
      SAFETY_WEBHOOKS: JSON.stringify([
        { url: "http://127.0.0.1:9999/hook", secret: "0123456789abcdef" },
      ]),
    });
    expect(cfg.SAFETY_WEBHOOKS).toHaveLength(1);
    expect(() => loadConfig({ SAFETY_WEBHOOKS: "[" })).toThrow(
      /^config: SAFETY_WEBHOOKS: is not valid JSON/,
    );
    expect(() =>
      loadConfig({ CDS_ISSUERS: JSON.stringify({ "https://ehr.example": {} }) }),
    ).toThrow(/^config: CDS_ISSUERS: .*jwks_url/);
  });

  it("reads site thresholds and refuses names the rules do not have", () => {
    const cfg = loadConfig({ CLINICAL_THRESHOLDS: '{"anemiaGrade3Below": 85}' });
    expect(cfg.CLINICAL_THRESHOLDS).toEqual({ anemiaGrade3Below: 85 });
    expect(loadConfig({}).CLINICAL_THRESHOLDS).toEqual({});
    expect(() => loadConfig({ CLINICAL_THRESHOLDS: '{"anemiaGrade9Below": 85}' })).toThrow(
      /^config: CLINICAL_THRESHOLDS: /,
    );
    expect(() => loadConfig({ CLINICAL_THRESHOLDS: '{"altStopAtLeast": -1}' })).toThrow(
      /^config: CLINICAL_THRESHOLDS: /,
    );
  });
});
