import type { Bundle, MedicationRequest, Resource } from '@medplum/fhirtypes';
import { badRequest } from '../errors.js';
import { validateResource } from '../../profiles/validator.js';

/** The hooks the medicines service answers (https://cds-hooks.hl7.org/hooks/order-select, .../order-sign). */
export const MEDICINE_HOOKS = ['order-select', 'order-sign'] as const;
export type MedicineHook = (typeof MEDICINE_HOOKS)[number];

/** A checked CDS Hooks 2.0 request (https://cds-hooks.hl7.org/2.0/#http-request) for an order hook. */
export interface HookRequest {
  hook: MedicineHook;
  hookInstance: string;
  patientId: string;
  userId?: string;
  /** Every unsigned order of the session (context.draftOrders). */
  draftOrders: Bundle;
  /** The draft MedicationRequests to check: the newly selected ones for order-select, all for order-sign. */
  drafts: MedicationRequest[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** Checks the request body; a malformed request is a 400 naming the field (as a FHIRPath-like path into the JSON). */
export function parseHookRequest(body: unknown): HookRequest {
  if (!isObject(body)) throw badRequest('A CDS Hooks request is a JSON object with hook, hookInstance and context');
  const { hook, hookInstance, context, prefetch, fhirServer, fhirAuthorization } = body;
  if (typeof hook !== 'string' || !hook) throw badRequest('hook is required: the hook that triggered this call', 'hook');
  if (!(MEDICINE_HOOKS as readonly string[]).includes(hook)) throw badRequest(`This service answers the ${MEDICINE_HOOKS.join(' and ')} hooks, not '${hook}'`, 'hook');
  if (typeof hookInstance !== 'string' || !hookInstance) throw badRequest('hookInstance is required: a UUID for this hook call', 'hookInstance');
  if (fhirServer !== undefined && (typeof fhirServer !== 'string' || !URL.canParse(fhirServer))) throw badRequest('fhirServer must be a URL', 'fhirServer');
  if (fhirAuthorization !== undefined && fhirServer === undefined) throw badRequest('fhirAuthorization needs fhirServer (cds-r-1)', 'fhirServer');
  if (prefetch !== undefined && !isObject(prefetch)) throw badRequest('prefetch must be an object of prefetch key to FHIR resource', 'prefetch');
  if (!isObject(context)) throw badRequest('context is required: an object with patientId and draftOrders', 'context');
  const { patientId, userId, draftOrders, selections } = context;
  if (typeof patientId !== 'string' || !FHIR_ID.test(patientId)) throw badRequest('context.patientId is required: the FHIR id of the patient', 'context.patientId');
  if (userId !== undefined && typeof userId !== 'string') throw badRequest('context.userId must be a string such as PractitionerRole/123', 'context.userId');
  if (!isObject(draftOrders) || draftOrders.resourceType !== 'Bundle') throw badRequest('context.draftOrders is required: a FHIR Bundle of the draft orders', 'context.draftOrders');
  const entries = draftOrders.entry === undefined ? [] : draftOrders.entry;
  if (!Array.isArray(entries)) throw badRequest('context.draftOrders.entry must be an array', 'context.draftOrders.entry');
  const requests: MedicationRequest[] = [];
  entries.forEach((e: unknown, i: number) => {
    const at = `context.draftOrders.entry[${i}].resource`;
    const resource = isObject(e) ? e.resource : undefined;
    if (!isObject(resource) || typeof resource.resourceType !== 'string') throw badRequest('Each draft order entry holds a FHIR resource', at);
    if (resource.resourceType !== 'MedicationRequest') return;
    if (typeof resource.id !== 'string' || !FHIR_ID.test(resource.id)) throw badRequest('A draft MedicationRequest needs an id, so a card can suggest removing it', `${at}.id`);
    // A draft is still a MedicationRequest (CDS Hooks order-sign, draftOrders): shaped as FHIR says, before its medicine is read.
    validateResource(resource);
    const subject = (resource.subject as { reference?: unknown } | undefined)?.reference;
    if (subject !== undefined && typeof subject === 'string' && !subject.endsWith(`Patient/${patientId}`)) {
      throw badRequest(`The draft order is for ${subject}, not the patient in context (Patient/${patientId})`, `${at}.subject`);
    }
    requests.push(resource as unknown as MedicationRequest);
  });
  let drafts = requests;
  if (hook === 'order-select') {
    if (!Array.isArray(selections) || selections.some((s) => typeof s !== 'string')) {
      throw badRequest('context.selections is required for order-select: the ids of the newly selected orders, e.g. MedicationRequest/103', 'context.selections');
    }
    const selected = new Set(selections as string[]);
    drafts = requests.filter((r) => selected.has(`MedicationRequest/${r.id}`));
  }
  return { hook: hook as MedicineHook, hookInstance, patientId, ...(typeof userId === 'string' ? { userId } : {}), draftOrders: draftOrders as unknown as Bundle, drafts };
}

/** Resources the client sent along (the draft Bundle's entries), by `Type/id`: Medications the drafts name may be among them. */
export function draftResources(request: HookRequest): Map<string, Resource> {
  const found = new Map<string, Resource>();
  for (const e of request.draftOrders.entry ?? []) if (e.resource?.id) found.set(`${e.resource.resourceType}/${e.resource.id}`, e.resource);
  return found;
}
