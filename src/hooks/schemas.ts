/**
 * CDS Hooks 2.0 messages as zod schemas: the wire format is declared once, checked at run time,
 * and the TypeScript types come from it (z.infer).
 *
 * Requests are checked for what ln-cds reads and no more (docs/cds-contract.md#real-clients): unknown
 * fields pass through, `fhirAuthorization` may be absent, and draft orders that are not quite valid
 * R4 (e.g. `MedicationRequest.category` as one object) are accepted as long as the fields the
 * order check reads are usable.
 */
import type { Bundle, MedicationRequest } from "fhir/r4.js";
import { z } from "zod";

/** The hooks ln-cds serves. */
export const HOOK_NAMES = ["patient-view", "order-select", "order-sign"] as const;
export type HookName = (typeof HOOK_NAMES)[number];

export function isHookName(value: string): value is HookName {
  return (HOOK_NAMES as readonly string[]).includes(value);
}

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
/**
 * CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/#http-request): `hookInstance` is a UUID. Clients
 * vary in case and format, so accept UUID-like tokens.
 */
const HOOK_INSTANCE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

const nonEmpty = z.string().min(1, "must not be empty");
/** "." and ".." are FHIR-id characters, but as a URL path segment they climb the path. */
const DOT_SEGMENT = /^\.{1,2}$/;
const fhirId = z
  .string()
  .regex(FHIR_ID, "must be a FHIR id ([A-Za-z0-9-.], 1 to 64 characters)")
  .refine((id) => !DOT_SEGMENT.test(id), {
    error: 'must not be "." or ".." (it would change the path of a FHIR URL)',
  });
const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

/** `userId` is a FHIR reference to the user: Practitioner, PractitionerRole, Patient or RelatedPerson. */
const userReference = z
  .string()
  .regex(
    /^(Practitioner|PractitionerRole|Patient|RelatedPerson)\/(?!\.{1,2}$)[A-Za-z0-9\-.]{1,64}$/,
    "must be a reference like Practitioner/123 (Practitioner, PractitionerRole, Patient or RelatedPerson)",
  );

// ---------------------------------------------------------------- request

/**
 * The token goes into an `Authorization: Bearer` header: visible ASCII only (the b64token of
 * RFC 6750, https://www.rfc-editor.org/rfc/rfc6750#section-2.1, is a subset), so no newline,
 * CR, DEL, other control character, space or character above U+007E can reach the header
 * (docs/cds-contract.md#requests-and-errors).
 */
const accessToken = z
  .string()
  .regex(
    /^[\x21-\x7e]+$/,
    "must be a bearer token of visible ASCII characters (no spaces, control characters, DEL or non-ASCII)",
  );

export const fhirAuthorizationSchema = z.looseObject({
  access_token: accessToken,
  token_type: z.literal("Bearer", { error: 'must be "Bearer"' }),
  expires_in: z.number().int().nonnegative(),
  scope: nonEmpty,
  subject: nonEmpty,
  patient: fhirId.optional(),
});
export type FhirAuthorization = z.infer<typeof fhirAuthorizationSchema>;

/**
 * Any JSON object, checked as one and passed on as it is: a z.record would copy every key of it
 * (a request's prefetch, a card's extension) only to give the same values back.
 */
const jsonObject = z.custom<Record<string, unknown>>(
  (v) => typeof v === "object" && v !== null && !Array.isArray(v),
  { error: "must be a JSON object" },
);

export const cdsRequestSchema = z
  .looseObject({
    hook: nonEmpty,
    hookInstance: z.string().regex(HOOK_INSTANCE, "must be a UUID"),
    fhirServer: httpUrl.optional(),
    fhirAuthorization: fhirAuthorizationSchema.optional(),
    context: jsonObject,
    prefetch: jsonObject.optional(),
    extension: jsonObject.optional(),
  })
  // CDS Hooks 2.0: fhirAuthorization is only meaningful with a fhirServer to use it on.
  // `.refine`, not `.superRefine`: superRefine sets a new closure over the parse payload on every
  // call, and V8 (Node 20) then keeps each parsed request body alive through minor GCs until a
  // major GC (reproduced in plain JS without zod). With a 120 KB prefetch, JSON.parse plus this
  // schema went from 0.43 to 1.1 ms per request, nearly all GC, and a replica's first seconds
  // under load had 15–20 ms scavenges.
  .refine((req) => req.fhirAuthorization === undefined || req.fhirServer !== undefined, {
    message: "fhirAuthorization is given without fhirServer",
    path: ["fhirServer"],
  });
export type CdsRequest = z.infer<typeof cdsRequestSchema>;

// ---------------------------------------------------------------- draft orders

/** A single object where R4 wants an array: tolerated and wrapped (real clients send this). */
const arrayOrOne = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) => (v !== null && typeof v === "object" && !Array.isArray(v) ? [v] : v),
    z.array(item),
  );

/** What the order check reads of a draft MedicationRequest; everything else passes through untouched. */
const draftMedicationRequestSchema = z.looseObject({
  resourceType: z.literal("MedicationRequest"),
  id: fhirId.optional(),
  status: z.string().optional(),
  intent: z.string().optional(),
  medicationCodeableConcept: jsonObject.optional(),
  medicationReference: jsonObject.optional(),
  dosageInstruction: arrayOrOne(jsonObject).optional(),
});

const draftResourceSchema = z
  .looseObject({ resourceType: nonEmpty, id: z.string().optional() })
  .transform((resource, ctx) => {
    if (resource.resourceType !== "MedicationRequest") return resource;
    const parsed = draftMedicationRequestSchema.safeParse(resource);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
    }
    return z.NEVER;
  });

/**
 * The one place a checked shape takes its FHIR type: R4's interfaces have no index signature, so
 * no zod output type is assignable to them, and fields ln-cds does not read are not checked.
 */
const asFhirBundle = (checked: unknown): Bundle => checked as Bundle;

/**
 * `draftOrders`: checked for what ln-cds reads (the Bundle, its MedicationRequests' fields above)
 * and typed as the R4 Bundle services read; everything else passes through unchecked.
 */
export const draftOrdersSchema = z
  .looseObject({
    resourceType: z.literal("Bundle", { error: 'must be a Bundle (resourceType "Bundle")' }),
    entry: z.array(z.looseObject({ resource: draftResourceSchema.optional() })).optional(),
  })
  .transform(asFhirBundle);

// ---------------------------------------------------------------- contexts

export const patientViewContextSchema = z.looseObject({
  userId: userReference,
  patientId: fhirId,
  encounterId: fhirId.optional(),
});

/**
 * A patient-view context that names no patient, as in the spec's own example of a request
 * extension (CDS Hooks 2.0 "Extensions"): everything else is checked as usual.
 */
export const patientViewContextWithoutPatientSchema = patientViewContextSchema.omit({
  patientId: true,
});

export const orderSignContextSchema = z.looseObject({
  userId: userReference,
  patientId: fhirId,
  encounterId: fhirId.optional(),
  draftOrders: draftOrdersSchema,
});

export const orderSelectContextSchema = orderSignContextSchema.extend({
  selections: z.array(nonEmpty),
});

export const contextSchemas = {
  "patient-view": patientViewContextSchema,
  "order-select": orderSelectContextSchema,
  "order-sign": orderSignContextSchema,
} as const satisfies Record<HookName, z.ZodType>;

/** Each hook's context as services see it: what its schema gives (draftOrders as an R4 Bundle). */
export type PatientViewContext = z.infer<typeof patientViewContextSchema>;
export type OrderSignContext = z.infer<typeof orderSignContextSchema>;
export type OrderSelectContext = z.infer<typeof orderSelectContextSchema>;
export type HookContexts = { [H in HookName]: z.infer<(typeof contextSchemas)[H]> };

/** A hook and its context, discriminated on `hook`. */
export type HookRequest = {
  [H in HookName]: { readonly hook: H; readonly context: HookContexts[H] };
}[HookName];

export type HookRequestResult =
  | { readonly success: true; readonly data: HookRequest }
  | { readonly success: false; readonly error: z.ZodError };

/**
 * The context of a request on `hook`, checked by that hook's schema: the hook and its typed
 * context together, so the dispatch that follows needs no cast.
 */
export function parseHookContext(hook: HookName, context: unknown): HookRequestResult {
  switch (hook) {
    case "patient-view": {
      const parsed = patientViewContextSchema.safeParse(context);
      return parsed.success ? { success: true, data: { hook, context: parsed.data } } : parsed;
    }
    case "order-select": {
      const parsed = orderSelectContextSchema.safeParse(context);
      return parsed.success ? { success: true, data: { hook, context: parsed.data } } : parsed;
    }
    case "order-sign": {
      const parsed = orderSignContextSchema.safeParse(context);
      return parsed.success ? { success: true, data: { hook, context: parsed.data } } : parsed;
    }
  }
}

/** Draft MedicationRequests of an order hook, for services. */
export function draftMedicationRequests(context: OrderSignContext): MedicationRequest[] {
  return (context.draftOrders.entry ?? [])
    .map((e) => e.resource)
    .filter((r): r is MedicationRequest => r?.resourceType === "MedicationRequest");
}

// ---------------------------------------------------------------- response

export const codingSchema = z.object({
  code: nonEmpty,
  system: nonEmpty.optional(),
  display: nonEmpty.optional(),
});
export type Coding = z.infer<typeof codingSchema>;

export const sourceSchema = z.object({
  label: nonEmpty,
  url: httpUrl.optional(),
  icon: httpUrl.optional(),
  topic: codingSchema.optional(),
});
export type Source = z.infer<typeof sourceSchema>;

export const actionSchema = z.object({
  type: z.enum(["create", "update", "delete"]),
  description: nonEmpty,
  resource: jsonObject.optional(),
  resourceId: nonEmpty.optional(),
});
export type Action = z.infer<typeof actionSchema>;

export const suggestionSchema = z.object({
  label: nonEmpty,
  /** Optional in CDS Hooks 2.0, always sent by ln-cds (docs/cds-contract.md#cards). */
  uuid: z.uuid(),
  isRecommended: z.boolean().optional(),
  actions: z.array(actionSchema).optional(),
});
export type Suggestion = z.infer<typeof suggestionSchema>;

export const linkSchema = z.object({
  label: nonEmpty,
  url: httpUrl,
  type: z.enum(["absolute", "smart"]),
  appContext: nonEmpty.optional(),
});
export type Link = z.infer<typeof linkSchema>;

/** An override reason is a Coding whose display is required (CDS Hooks 2.0 req. 100, 136). */
export const overrideReasonSchema = codingSchema.extend({ display: nonEmpty });
export type OverrideReason = z.infer<typeof overrideReasonSchema>;

const SUMMARY_MAX_CHARACTERS = 139;

/** Characters as a reader counts them (code points, so an emoji or a CJK character is one). */
export function characterCount(text: string): number {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

export const cardSchema = z.object({
  /** Optional in CDS Hooks 2.0, always sent by ln-cds so feedback can name the card. */
  uuid: z.uuid(),
  /** CDS Hooks 2.0: "< 140 characters", counted as a reader counts them (code points). */
  summary: z
    .string()
    .min(1, "summary is required")
    .refine((summary) => characterCount(summary) <= SUMMARY_MAX_CHARACTERS, {
      error: (issue) =>
        `summary must be under 140 characters (has ${String(characterCount(String(issue.input)))})`,
    }),
  detail: nonEmpty.optional(),
  indicator: z.enum(["info", "warning", "critical"]),
  source: sourceSchema,
  suggestions: z.array(suggestionSchema).optional(),
  selectionBehavior: z.enum(["at-most-one", "any"]).optional(),
  overrideReasons: z.array(overrideReasonSchema).optional(),
  links: z.array(linkSchema).optional(),
  extension: jsonObject.optional(),
});
export type Card = z.infer<typeof cardSchema>;

export const cdsResponseSchema = z.object({
  cards: z.array(cardSchema),
  systemActions: z.array(actionSchema).optional(),
});
export type CdsResponse = z.infer<typeof cdsResponseSchema>;

// ---------------------------------------------------------------- discovery

/**
 * One entry of `GET /cds-services` (CDS Hooks 2.0 "Discovery"): one per (service, hook). ln-cds
 * always gives a title; prefetch and usageRequirements are left out when empty (no empty values).
 */
export const discoveryEntrySchema = z.object({
  hook: z.enum(HOOK_NAMES),
  id: nonEmpty,
  title: nonEmpty,
  description: nonEmpty,
  prefetch: z
    .record(nonEmpty, nonEmpty)
    .refine((p) => Object.keys(p).length > 0, "must not be empty")
    .optional(),
  usageRequirements: nonEmpty.optional(),
});
export type DiscoveryEntry = z.infer<typeof discoveryEntrySchema>;

export const discoveryResponseSchema = z.object({ services: z.array(discoveryEntrySchema) });
export type DiscoveryResponse = z.infer<typeof discoveryResponseSchema>;

// ---------------------------------------------------------------- feedback

const instant = z.iso.datetime({
  offset: true,
  error: "must be an ISO 8601 date-time with a time zone",
});

export const feedbackItemSchema = z
  .looseObject({
    card: nonEmpty,
    outcome: z.enum(["accepted", "overridden"]),
    acceptedSuggestions: z.array(z.looseObject({ id: nonEmpty })).optional(),
    overrideReason: z
      .looseObject({ reason: codingSchema.loose().optional(), userComment: z.string().optional() })
      .optional(),
    outcomeTimestamp: instant,
  })
  // Three refines rather than one superRefine, for the reason given at cdsRequestSchema.
  // fb-1: an accepted outcome says which suggestion(s) were accepted.
  .refine((fb) => fb.outcome !== "accepted" || (fb.acceptedSuggestions ?? []).length > 0, {
    message: "an accepted outcome needs acceptedSuggestions",
    path: ["acceptedSuggestions"],
  })
  // fb-2: acceptedSuggestions only with the accepted outcome.
  .refine((fb) => fb.outcome === "accepted" || fb.acceptedSuggestions === undefined, {
    message: "acceptedSuggestions is only allowed with outcome accepted",
    path: ["acceptedSuggestions"],
  })
  // fb-3: overrideReason only with the overridden outcome.
  .refine((fb) => fb.outcome === "overridden" || fb.overrideReason === undefined, {
    message: "overrideReason is only allowed with outcome overridden",
    path: ["overrideReason"],
  });
export type FeedbackItem = z.infer<typeof feedbackItemSchema>;

export const feedbackRequestSchema = z.object({
  feedback: z.array(feedbackItemSchema).min(1, "must hold at least one feedback item"),
});
export type FeedbackRequest = z.infer<typeof feedbackRequestSchema>;

// ---------------------------------------------------------------- errors

/** zod issues as `{message, expression}` pairs: expression is the dotted path, e.g. "context.patientId". */
export function describeIssues(
  error: z.ZodError,
  prefix: readonly (string | number)[] = [],
): { message: string; expression?: string }[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))];
    const expression = path
      .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`))
      .join("");
    const message = expression === "" ? issue.message : `${expression}: ${issue.message}`;
    return expression === "" ? { message } : { message, expression };
  });
}
