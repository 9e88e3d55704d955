/**
 * The registry of CDS services. Discovery is generated from it (never a JSON file beside it):
 * one discovery entry per (service, hook) of every listed service. Real clients key services by
 * id, so each listed service serves one hook (docs/cds-contract.md#services); an unlisted alias
 * may answer several.
 *
 * To add a service: write `cds-services/<id>/service.ts` exporting a `CdsService`, and add it to
 * `defaultServices` below. `registryProblems` (tested) catches duplicate ids, unknown template
 * tokens and required keys without a template.
 */
import type { Config } from "../src/config.js";
import { unknownTokens } from "../src/hooks/prefetch.js";
import type { DiscoveryEntry, DiscoveryResponse } from "../src/hooks/schemas.js";
import type { CdsService } from "./types.js";
import { withOverrides } from "../src/clinical/thresholds.js";
import { iguratimodSafetyService } from "./iguratimod-safety/service.js";
import { iguratimodResponseService } from "./iguratimod-response/service.js";
import { refractoryLnEligibilityService } from "./refractory-ln-eligibility/service.js";
import {
  iguratimodOrderCheckService,
  ORDER_CHECK_ALIAS,
  ORDER_SELECT_ID,
  ORDER_SIGN_ID,
} from "./iguratimod-order-check/service.js";

import { withCourseAppLink } from "./shared/cards.js";

export type { CdsService, Evaluation, ResolvedPrefetch, ServiceInput } from "./types.js";

/**
 * The clinical services of ln-cds (docs/cds-contract.md#services), in discovery order: three on
 * patient-view, the order check under one id per order hook, and its old id as an unlisted alias.
 */
export function defaultServices(config: Config): CdsService[] {
  const thresholds = withOverrides(config.CLINICAL_THRESHOLDS);
  // Every patient-view card links to the course app (src/web/app), served by this service.
  const appUrl = `${config.publicBaseUrl}/app/`;
  return [
    withCourseAppLink(
      refractoryLnEligibilityService({ showAll: config.ELIGIBILITY_SHOW_ALL, thresholds }),
      appUrl,
    ),
    withCourseAppLink(iguratimodResponseService({ thresholds }), appUrl),
    withCourseAppLink(iguratimodSafetyService({ thresholds }), appUrl),
    iguratimodOrderCheckService({ thresholds, id: ORDER_SELECT_ID, hooks: ["order-select"] }),
    iguratimodOrderCheckService({ thresholds, id: ORDER_SIGN_ID, hooks: ["order-sign"] }),
    iguratimodOrderCheckService({
      thresholds,
      id: ORDER_CHECK_ALIAS,
      hooks: ["order-select", "order-sign"],
      listed: false,
    }),
  ];
}

/**
 * `GET /cds-services` body, of the shape `discoveryResponseSchema` declares. Empty fields are left
 * out (CDS Hooks 2.0: no empty values).
 */
export function discoveryOf(services: readonly CdsService[]): DiscoveryResponse {
  const entries: DiscoveryEntry[] = [];
  for (const service of services) {
    if (service.listed === false) continue;
    for (const hook of service.hooks) {
      entries.push({
        hook,
        id: service.id,
        title: service.title,
        description: service.description,
        ...(Object.keys(service.prefetch).length > 0 ? { prefetch: { ...service.prefetch } } : {}),
        ...(service.usageRequirements ? { usageRequirements: service.usageRequirements } : {}),
      });
    }
  }
  return { services: entries };
}

export function findService(services: readonly CdsService[], id: string): CdsService | undefined {
  return services.find((s) => s.id === id);
}

/** Programming errors in a registry, one line each; empty when the registry is sound. */
export function registryProblems(services: readonly CdsService[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const s of services) {
    if (seen.has(s.id)) problems.push(`${s.id}: the id is used twice`);
    seen.add(s.id);
    if (!/^[a-z0-9][a-z0-9-]*$/.test(s.id))
      problems.push(`${s.id}: an id is lower-case letters, digits and dashes`);
    if (s.hooks.length === 0) problems.push(`${s.id}: serves no hook`);
    if (new Set(s.hooks).size !== s.hooks.length) problems.push(`${s.id}: a hook is listed twice`);
    for (const [key, template] of Object.entries(s.prefetch)) {
      for (const token of unknownTokens(template)) {
        problems.push(
          `${s.id}: prefetch "${key}" uses {{${token}}}, which is not a CDS Hooks 2.0 token`,
        );
      }
    }
    for (const key of s.requiredPrefetch) {
      if (!Object.hasOwn(s.prefetch, key))
        problems.push(`${s.id}: required prefetch "${key}" has no template`);
    }
  }
  return problems;
}
