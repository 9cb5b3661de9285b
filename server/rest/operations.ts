import type { FhirContext, FhirRequest, FhirResponse } from './request.js';

/** A FHIR operation ($name) at system, type or instance level, listed in the route table: https://hl7.org/fhir/R4/operations.html */
export interface Operation {
  name: string;
  /** Levels it is invoked at, and the resource types it applies to (none = all). */
  system?: boolean;
  type?: boolean;
  instance?: boolean;
  resourceTypes?: string[];
  /** GET allowed (operations that change nothing). */
  idempotent?: boolean;
  /** The canonical OperationDefinition, listed in the CapabilityStatement. */
  definition: string;
  handler(req: FhirRequest, ctx: FhirContext, params: { type?: string; id?: string }): Promise<FhirResponse>;
}
