/**
 * One way for the security middleware to answer with a FHIR OperationOutcome (401, 403, 413,
 * 429, 503...). Error-path answers that must be written before any route runs (so they cannot
 * throw into the app's error middleware) all go through here.
 */
import type { Response } from "express";

export interface OutcomeIssue {
  /** FHIR IssueType, e.g. "login", "throttled", "timeout", "invalid". */
  readonly code: string;
  /** Human-readable; never a token, never patient data. Omit for a bare refusal. */
  readonly diagnostics?: string;
}

export function sendOutcome(
  res: Response,
  status: number,
  issue: OutcomeIssue,
  headers: Readonly<Record<string, string>> = {},
): void {
  res
    .status(status)
    .set(headers)
    .type("application/fhir+json")
    .send(
      JSON.stringify({
        resourceType: "OperationOutcome",
        issue: [{ severity: "error", ...issue }],
      }),
    );
}
