import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { badRequest, issue } from '../errors.js';
import type { SearchParamDef, SearchRegistry } from './registry.js';
import { rowType } from './types/index.js';
import { splitPrefix } from './types/range.js';
import { splitEscaped, splitOr } from './values.js';

/** AuditEvents are rows of the audit trail, not resources among the others (server/audit/trail-row.ts). */
export const AUDIT_TRAIL_TYPE = 'AuditEvent';
export const AUDIT_TRAIL_APART = 'AuditEvents are kept in the audit trail, which is searched on its own (AuditEvent?patient=...): _has and _revinclude do not reach them';

/** One parsed criterion on one resource type; repeated parameters are separate filters (AND), values within one are OR. */
export type Filter =
  | { kind: 'param'; name: string; def: SearchParamDef; modifier?: string; values: string[]; upper?: string }
  | { kind: 'chain'; name: string; def: SearchParamDef; targets: { type: string; filter: Filter }[] }
  | { kind: 'has'; name: string; sourceType: string; def: SearchParamDef; filter: Filter };

/**
 * Raised while parsing one parameter. An unknown or unsupported parameter is a 400 (strict) or an
 * outcome entry (lenient); a malformed value of a parameter the server knows is a 400 either way
 * (https://hl7.org/fhir/R4/search.html#errors).
 */
export class ParamError extends Error {
  constructor(
    readonly param: string,
    message: string,
    readonly malformed = false,
  ) {
    super(message);
  }
}

/** A value a known parameter cannot take. */
export const malformedValue = (param: string, message: string): ParamError => new ParamError(param, message, true);

/** Parses `name[:modifier][.chain...]=value` on `resourceType` into a Filter, or throws ParamError. */
export function parseFilter(registry: SearchRegistry, resourceType: string, name: string, value: string): Filter {
  if (name.startsWith('_has:')) return parseHas(registry, resourceType, name, name, value);
  return parseNamed(registry, resourceType, name, name, value, 0);
}

const MAX_DEPTH = 8;

function parseNamed(registry: SearchRegistry, resourceType: string, fullName: string, name: string, value: string, depth: number): Filter {
  if (depth > MAX_DEPTH) throw new ParamError(fullName, `Chain is deeper than ${MAX_DEPTH} levels`);
  const dot = name.indexOf('.');
  const head = dot < 0 ? name : name.slice(0, dot);
  const [code, modifier] = splitModifier(head);
  const def = registry.get(resourceType, code);
  if (!def) throw new ParamError(fullName, `Unknown search parameter '${code}' for ${resourceType}`);
  if (dot >= 0) return parseChain(registry, fullName, def, modifier, name.slice(dot + 1), value, depth);
  if (def.type === 'special') throw new ParamError(fullName, `Search parameter '${code}' is not supported`);
  if (modifier !== undefined) checkModifier(registry, fullName, def, modifier);
  const values = modifier === 'missing' ? [value] : splitOr(value);
  for (const v of values) checkValue(fullName, def, modifier, v);
  return { kind: 'param', name: fullName, def, ...(modifier !== undefined ? { modifier } : {}), values };
}

function splitModifier(head: string): [string, string | undefined] {
  const colon = head.indexOf(':');
  return colon < 0 ? [head, undefined] : [head.slice(0, colon), head.slice(colon + 1)];
}

/** `subject:Patient.name=x`: the reference must point at a resource matching the rest (https://hl7.org/fhir/R4/search.html#chaining). */
function parseChain(registry: SearchRegistry, fullName: string, def: SearchParamDef, modifier: string | undefined, rest: string, value: string, depth: number): Filter {
  if (def.type !== 'reference') throw new ParamError(fullName, `'${def.code}' is not a reference parameter and cannot be chained`);
  const restCode = splitModifier(rest.split('.')[0])[0];
  let types = modifier ? [modifier] : def.targets;
  if (modifier && !def.targets.includes(modifier)) throw new ParamError(fullName, `'${def.code}' cannot refer to ${modifier}`);
  // Without a type modifier, chain through every target type that has the chained parameter.
  types = types.filter((t) => registry.get(t, restCode));
  if (!types.length) throw new ParamError(fullName, `No target type of '${def.code}' has a search parameter '${restCode}'`);
  return { kind: 'chain', name: fullName, def, targets: types.map((type) => ({ type, filter: parseNamed(registry, type, fullName, rest, value, depth + 1) })) };
}

/** `_has:Observation:patient:code=x`, nestable (https://hl7.org/fhir/R4/search.html#has). */
function parseHas(registry: SearchRegistry, resourceType: string, fullName: string, name: string, value: string, depth = 0): Filter {
  if (depth > MAX_DEPTH) throw new ParamError(fullName, `_has is nested deeper than ${MAX_DEPTH} levels`);
  const parts = name.split(':');
  if (parts.length < 4) throw new ParamError(fullName, '_has must be _has:Type:reference-parameter:parameter');
  const [, sourceType, refCode] = parts;
  const rest = parts.slice(3).join(':');
  if (!registry.isResourceType(sourceType)) throw new ParamError(fullName, `Unknown resource type '${sourceType}' in _has`);
  // Refused however lenient the search: ignored, the _has would widen the answer to everything.
  if (sourceType === AUDIT_TRAIL_TYPE) throw malformedValue(fullName, AUDIT_TRAIL_APART);
  const def = registry.get(sourceType, refCode);
  if (!def || def.type !== 'reference') throw new ParamError(fullName, `'${refCode}' is not a reference parameter of ${sourceType}`);
  if (!def.targets.includes(resourceType)) throw new ParamError(fullName, `${sourceType}.${refCode} cannot refer to ${resourceType}`);
  const filter = rest.startsWith('_has:') ? parseHas(registry, sourceType, fullName, rest, value, depth + 1) : parseNamed(registry, sourceType, fullName, rest, value, depth + 1);
  return { kind: 'has', name: fullName, sourceType, def, filter };
}

function checkModifier(registry: SearchRegistry, name: string, def: SearchParamDef, modifier: string): void {
  // A composite takes :missing only; every other type lists its modifiers in types/.
  if ((def.type === 'composite' ? ['missing'] : (rowType(def.type)?.modifiers ?? [])).includes(modifier)) return;
  if (def.column === 'id' && (modifier === 'missing' || modifier === 'not')) return;
  // :[type] on references restricts the target type (https://hl7.org/fhir/R4/search.html#reference).
  if (def.type === 'reference' && registry.isResourceType(modifier) && def.targets.includes(modifier)) return;
  throw new ParamError(name, `Modifier ':${modifier}' is not supported on ${def.type} parameter '${def.code}'`);
}

function checkValue(name: string, def: SearchParamDef, modifier: string | undefined, value: string): void {
  if (modifier === 'missing') {
    if (value !== 'true' && value !== 'false') throw malformedValue(name, `:missing takes true or false, not '${value}'`);
    return;
  }
  if (value === '') throw new ParamError(name, `Empty value for '${def.code}'`);
  if (def.type === 'composite') {
    // Each part is a value of its component (https://hl7.org/fhir/R4/search.html#composite).
    const parts = splitEscaped(value, '$');
    if (parts.length !== def.components!.length) throw malformedValue(name, `'${def.code}' needs ${def.components!.length} values separated by $`);
    parts.forEach((part, i) => checkValue(name, def.components![i].def, undefined, part));
    return;
  }
  const problem = rowType(def.type)?.check?.(def, modifier, value);
  if (problem) throw malformedValue(name, problem);
}

/** Turns a ParamError into a 400 (strict) or a warning issue (lenient). */
export function reportOrThrow(err: unknown, strict: boolean, issues: OperationOutcomeIssue[]): void {
  if (!(err instanceof ParamError)) throw err;
  if (strict || err.malformed) throw badRequest(err.message, err.param);
  issues.push(issue('not-supported', `${err.message}; the parameter was ignored`, err.param, 'warning'));
}

const LOWER = new Set(['gt', 'ge', 'sa']);
const UPPER = new Set(['lt', 'le', 'eb']);

/**
 * `date=ge2020-01-01&date=le2020-12-31` is read as one window that a single stored value must fall
 * in, as HAPI FHIR and most servers do, rather than two values that might each satisfy one bound.
 * For single-valued elements (birthDate, authoredOn) the two readings agree; the window lets the
 * SQL use one index range. Both engines pair the same way.
 */
export function pairRanges(filters: Filter[]): Filter[] {
  const result = [...filters];
  const single = (f: Filter): f is Filter & { kind: 'param' } =>
    f.kind === 'param' && f.def.type === 'date' && !f.def.column && f.modifier === undefined && f.values.length === 1 && f.upper === undefined;
  for (let i = 0; i < result.length; i++) {
    const a = result[i];
    if (!single(a) || !LOWER.has(splitPrefix(a.values[0]).prefix)) continue;
    const j = result.findIndex((b, k) => k !== i && single(b) && b.def.code === a.def.code && UPPER.has(splitPrefix(b.values[0]).prefix));
    if (j < 0) continue;
    result[i] = { ...a, upper: (result[j] as Filter & { kind: 'param' }).values[0] };
    result.splice(j, 1);
    if (j < i) i--;
  }
  return result;
}
