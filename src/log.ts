/**
 * The one logger. Structured (pino), and built so that tokens and patient data cannot reach it:
 * callers log ids, codes, counts and durations only; the redact list is a second line of defence.
 */
import { pino, type Logger, type DestinationStream } from "pino";

export type { Logger };

const REDACT = [
  "authorization",
  "headers.authorization",
  "req.headers.authorization",
  "token",
  "access_token",
  "fhirAuthorization",
  "*.access_token",
  "*.fhirAuthorization",
  "secret",
  "*.secret",
  "prefetch",
  "body",
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: "ln-cds" },
    redact: { paths: REDACT, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
