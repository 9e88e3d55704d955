/**
 * The express app, built from its dependencies: nothing global, so tests build as many apps as
 * they need, each with its own config, store, services and clock.
 *
 * Order: security headers → access log (so CORS preflights are logged too) → CORS (so preflight
 * never needs a token) → request time limit → health → rate limit per client address (before any
 * authentication) → CDS routes (each runs `cdsAuth` before the body is read) → operator API →
 * pages → 404 → errors.
 */
import express, { type RequestHandler } from "express";
import type { Config } from "./config.js";
import type { Logger } from "./log.js";
import type { CdsService } from "../cds-services/types.js";
import type { AlertSink } from "./alerts/types.js";
import type { ReaderFactory } from "./hooks/prefetch.js";
import { HookRuntime, type SaveFeedback } from "./hooks/runtime.js";
import { accessLog } from "./http/access-log.js";
import { cdsRoutes } from "./http/cds-routes.js";
import { cors } from "./http/cors.js";
import { errorMiddleware, notFound } from "./http/errors.js";
import { healthRoutes, type Pingable } from "./http/health.js";
import { createAddressRateLimit } from "./http/rate-limit.js";
import { requestTimeLimit } from "./http/request-timeout.js";
import { securityHeaders } from "./http/security-headers.js";

export interface AppDeps {
  readonly config: Config;
  readonly logger: Logger;
  /** The database (E's Store satisfies this); `/readyz` pings it. */
  readonly store: Pingable;
  /** Stores feedback idempotently on (card uuid, outcome, outcomeTimestamp). */
  readonly saveFeedback: SaveFeedback;
  readonly services: readonly CdsService[];
  readonly clock: () => Date;
  /**
   * Records the safety-team alerts services raise, before each answer leaves; the CLI passes the
   * running sink. Without one (most tests) alerts are not recorded.
   */
  readonly alertSink?: AlertSink;
  /**
   * CDS Hooks JWT check for discovery, invocation and feedback.
   * Required when CDS_AUTH=on: createApp refuses to build an app that would serve unauthenticated.
   * With CDS_AUTH=off it is not used.
   */
  readonly cdsAuth?: RequestHandler | readonly RequestHandler[];
  /** For tests: how prefetch reads a FHIR server (default fhir-kit-client). */
  readonly readerFactory?: ReaderFactory;
  /** Operator API (`GET /alerts`, `POST /alerts/:id/retry`), guarded by its own operator token. */
  readonly operatorRoutes?: express.Router;
  /** The pages (course app, inbox, and in the demo the EHR page): src/pages/router.ts. */
  readonly pages?: express.Router;
  /**
   * The demo on loopback: browser pages of any origin may call (docs/cds-contract.md#real-clients).
   * Otherwise only the origins of CORS_ORIGINS.
   */
  readonly corsAnyOrigin?: boolean;
}

export class AppWiringError extends Error {
  override name = "AppWiringError";
}

export function createApp(deps: AppDeps): express.Express {
  const { config, logger } = deps;
  let auth: readonly RequestHandler[] = [];
  if (config.CDS_AUTH === "on") {
    if (deps.cdsAuth === undefined) {
      throw new AppWiringError("CDS_AUTH=on but no cdsAuth middleware was given to createApp");
    }
    const given = deps.cdsAuth;
    auth = typeof given === "function" ? [given] : given;
  }

  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  // The client address (rate limit) is the socket's, unless the operator says how many proxies
  // stand in front: then the address that many hops back in X-Forwarded-For, never further.
  app.set("trust proxy", config.TRUST_PROXY_HOPS > 0 ? config.TRUST_PROXY_HOPS : false);
  app.use(securityHeaders());
  app.use(accessLog(logger));
  app.use(cors(deps.corsAnyOrigin === true ? "any" : config.CORS_ORIGINS));
  app.use(requestTimeLimit(config.REQUEST_TIMEOUT_MS));
  // Entered only for its own two paths, so a hook call does not walk a router for nothing.
  app.get(["/healthz", "/readyz"], healthRoutes(deps.store, logger));
  app.use(
    createAddressRateLimit({
      perMinute: config.RATE_LIMIT_PER_MINUTE,
      trustProxyHops: config.TRUST_PROXY_HOPS,
      logger,
    }),
  );
  const runtime = new HookRuntime({
    config,
    logger,
    services: deps.services,
    clock: deps.clock,
    saveFeedback: deps.saveFeedback,
    ...(deps.alertSink !== undefined ? { alertSink: deps.alertSink } : {}),
    ...(deps.readerFactory !== undefined ? { readerFactory: deps.readerFactory } : {}),
  });
  app.use(cdsRoutes({ runtime, bodyLimitBytes: config.BODY_LIMIT_BYTES, auth }));
  // After the CDS routes, whose paths (/cds-services…) none of theirs shares, so a hook call
  // never walks them. The pages' last layer (express.static) passes every other request on, and a
  // router whose last layer passes a request on hands it to the next in a later turn of the event
  // loop (`setImmediate` in express's router): with the pages built, each hook call waited a turn.
  if (deps.operatorRoutes) app.use(deps.operatorRoutes);
  if (deps.pages) app.use(deps.pages);
  app.use((req, _res, next) => {
    next(notFound(`no such endpoint (${req.method})`));
  });
  app.use(errorMiddleware(logger));
  return app;
}
