import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ConfigError, testConfig } from "../../config.js";
import { createLogger } from "../../log.js";
import { checkAuthAtStartup } from "./startup.js";

function capture() {
  const lines: string[] = [];
  const logger = createLogger(
    "info",
    new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(chunk.toString());
        cb();
      },
    }),
  );
  return { lines, logger };
}

describe("checkAuthAtStartup", () => {
  it("refuses to start with auth on and no issuer, naming CDS_ISSUERS", () => {
    const { logger } = capture();
    expect(() => {
      checkAuthAtStartup(testConfig({ CDS_AUTH: "on" }), logger);
    }).toThrow(ConfigError);
    expect(() => {
      checkAuthAtStartup(testConfig({ CDS_AUTH: "on" }), logger);
    }).toThrow(/CDS_ISSUERS/);
  });

  it("starts quietly with auth on and an issuer", () => {
    const { lines, logger } = capture();
    const issuers = JSON.stringify({
      "https://ehr.example": { jwks_url: "https://ehr.example/jwks" },
    });
    checkAuthAtStartup(testConfig({ CDS_AUTH: "on", CDS_ISSUERS: issuers }), logger);
    expect(lines).toEqual([]);
  });

  it("warns at start when auth is off, louder off loopback", () => {
    const local = capture();
    checkAuthAtStartup(testConfig({ CDS_AUTH: "off" }), local.logger);
    expect(local.lines.join("")).toContain('"event":"cds-auth-off"');
    expect(local.lines.join("")).toContain('"level":40');
    const exposed = capture();
    checkAuthAtStartup(testConfig({ CDS_AUTH: "off", HOST: "0.0.0.0" }), exposed.logger);
    expect(exposed.lines.join("")).toContain("non-loopback");
  });
});
