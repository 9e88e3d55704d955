/**
 * Start-up rule (docs/cds-contract.md#authentication): `serve` refuses to start with CDS_AUTH=on and no issuer, because
 * such a service would refuse every EHR (or, worse, tempt someone to switch auth off in
 * production). CDS_AUTH=off is for loopback demos and is warned about at every start.
 */
import { ConfigError, type Config } from "../../config.js";
import type { Logger } from "../../log.js";

/** Throws ConfigError when auth is on without issuers; logs a warning every start when it is off. */
export function checkAuthAtStartup(
  config: Pick<Config, "CDS_AUTH" | "CDS_ISSUERS" | "HOST">,
  logger: Logger,
): void {
  if (config.CDS_AUTH === "on") {
    if (Object.keys(config.CDS_ISSUERS).length === 0) {
      throw new ConfigError(
        "CDS_ISSUERS",
        "CDS_AUTH is on but no issuer is configured, so every EHR would be refused; configure CDS_ISSUERS (or CDS_AUTH=off for a loopback demo)",
      );
    }
    return;
  }
  const loopback =
    config.HOST === "127.0.0.1" || config.HOST === "::1" || config.HOST === "localhost";
  logger.warn(
    { event: "cds-auth-off", host: config.HOST, loopback },
    loopback
      ? "CDS_AUTH=off: CDS Hooks JWTs are NOT checked; any local caller can invoke the services (demo only)"
      : "CDS_AUTH=off on a non-loopback interface: CDS Hooks JWTs are NOT checked and the service is reachable from the network; never run like this with patient data",
  );
}
