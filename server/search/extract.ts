import { evalFhirPathTyped, toTypedValue } from '@medplum/core';
import type { TypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { ParamType, SearchParamDef, SearchRegistry } from './registry.js';
import { dateRange, normalizeString } from './values.js';

interface RowBase {
  param: string;
  /** Which element of a composite the row came from; null outside composites. */
  grp: number | null;
}
export type StringRow = RowBase & { norm: string; exact: string };
export type TokenRow = RowBase & { system: string | null; code: string | null };
export type DateRow = RowBase & { low: number; high: number };
export type NumberRow = RowBase & { low: number; high: number };
export type QuantityRow = RowBase & { low: number; high: number; system: string | null; code: string | null; unit: string | null };
export type ReferenceRow = RowBase & { targetType: string | null; targetId: string | null; url: string };
export type UriRow = RowBase & { value: string };

/** The index rows of one resource, per table. The SQL index and the in-memory matcher both read these. */
export interface IndexRows {
  string: StringRow[];
  token: TokenRow[];
  date: DateRow[];
  number: NumberRow[];
  quantity: QuantityRow[];
  reference: ReferenceRow[];
  uri: UriRow[];
}

export function emptyRows(): IndexRows {
  return { string: [], token: [], date: [], number: [], quantity: [], reference: [], uri: [] };
}

/** Evaluates every search parameter of the resource's type and converts the values to index rows. */
export function extractRows(registry: SearchRegistry, resource: Resource, only?: Set<string>): IndexRows {
  const rows = emptyRows();
  const root = toTypedValue(resource);
  const variables = { '%resource': root, '%context': root };
  for (const def of registry.params(resource.resourceType)) {
    if (!def.expression || def.column || (only && !only.has(def.code))) continue;
    const values = evaluate(def.expression, [root], variables);
    if (def.type === 'composite') {
      values.forEach((element, grp) => {
        def.components!.forEach((component, i) => {
          addRows(rows, component.def.type, `${def.code}#${i}`, grp, evaluate(component.expression, [element], variables));
        });
      });
    } else {
      addRows(rows, def.type, def.code, null, values);
    }
  }
  return rows;
}

function evaluate(expression: SearchParamDef['expression'] & object, input: TypedValue[], variables: Record<string, TypedValue>): TypedValue[] {
  try {
    return evalFhirPathTyped(expression, input, variables);
  } catch {
    // An expression the FHIRPath engine cannot evaluate on this resource indexes nothing rather than failing the write.
    return [];
  }
}

function addRows(rows: IndexRows, type: ParamType, param: string, grp: number | null, values: TypedValue[]): void {
  for (const { type: valueType, value } of values) {
    if (value === undefined || value === null) continue;
    switch (type) {
      case 'string':
        for (const s of stringParts(valueType, value)) rows.string.push({ param, grp, norm: normalizeString(s), exact: s });
        break;
      case 'token':
        addTokens(rows, param, grp, valueType, value);
        break;
      case 'date':
        for (const range of dateRanges(valueType, value)) rows.date.push({ param, grp, ...range });
        break;
      case 'number':
      case 'quantity':
        addQuantity(rows, type, param, grp, valueType, value);
        break;
      case 'reference':
        addReference(rows, param, grp, value);
        break;
      case 'uri':
        if (typeof value === 'string') rows.uri.push({ param, grp, value });
        break;
      default:
        break;
    }
  }
}

/** A name or address matches on any of its parts (https://hl7.org/fhir/R4/search.html#string). */
function stringParts(type: string, value: any): string[] {
  if (typeof value === 'string') return [value];
  if (type === 'HumanName') return [value.text, value.family, ...(value.given ?? []), ...(value.prefix ?? []), ...(value.suffix ?? [])].filter(isText);
  if (type === 'Address') return [value.text, ...(value.line ?? []), value.city, value.district, value.state, value.postalCode, value.country].filter(isText);
  return [];
}

function isText(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

/** Token rows (https://hl7.org/fhir/R4/search.html#token) plus `:text` rows and, for identifiers, `:of-type` rows. */
function addTokens(rows: IndexRows, param: string, grp: number | null, type: string, value: any): void {
  const token = (system: unknown, code: unknown): void => {
    if (system || code) rows.token.push({ param, grp, system: isText(system) ? system : null, code: isText(code) ? code : null });
  };
  const text = (t: unknown): void => {
    if (isText(t)) rows.string.push({ param: `${param}:text`, grp, norm: normalizeString(t), exact: t });
  };
  const coding = (c: any): void => {
    token(c?.system, c?.code);
    text(c?.display);
  };
  switch (type) {
    case 'Identifier':
      token(value.system, value.value);
      text(value.type?.text);
      for (const c of value.type?.coding ?? []) {
        if (isText(c.code) && isText(value.value)) rows.token.push({ param: `${param}:of-type`, grp, system: c.system ?? null, code: `${c.code}|${value.value}` });
      }
      break;
    case 'CodeableConcept':
      text(value.text);
      for (const c of value.coding ?? []) coding(c);
      break;
    case 'Coding':
      coding(value);
      break;
    case 'ContactPoint':
      token(value.system, value.value);
      break;
    default:
      if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') token(undefined, String(value));
  }
}

function dateRanges(type: string, value: any): { low: number; high: number }[] {
  if (typeof value === 'string') {
    const r = dateRange(value);
    return r ? [r] : [];
  }
  if (type === 'Period') {
    const low = value.start ? dateRange(value.start)?.low : -Infinity;
    const high = value.end ? dateRange(value.end)?.high : Infinity;
    return low !== undefined && high !== undefined ? [{ low, high }] : [];
  }
  if (type === 'Timing') {
    // A Timing covers its events and its bounds: one range from the earliest start to the latest end.
    const ranges = [...(value.event ?? []).map((e: string) => dateRange(e)), ...dateRanges('Period', value.repeat?.boundsPeriod ?? {}).filter(() => value.repeat?.boundsPeriod)].filter(
      (r): r is { low: number; high: number } => !!r,
    );
    if (!ranges.length) return [];
    return [{ low: Math.min(...ranges.map((r) => r.low)), high: Math.max(...ranges.map((r) => r.high)) }];
  }
  return [];
}

function addQuantity(rows: IndexRows, type: 'number' | 'quantity', param: string, grp: number | null, valueType: string, value: any): void {
  let low: number | undefined;
  let high: number | undefined;
  let unitSource: any = value;
  if (typeof value === 'number') {
    low = high = value;
  } else if (valueType === 'Range') {
    low = value.low?.value ?? -Infinity;
    high = value.high?.value ?? Infinity;
    unitSource = value.low ?? value.high ?? {};
    if (value.low?.value === undefined && value.high?.value === undefined) return;
  } else if (typeof value?.value === 'number') {
    low = high = value.value;
  }
  if (low === undefined || high === undefined) return;
  if (type === 'number') {
    rows.number.push({ param, grp, low, high });
    return;
  }
  // Money carries its currency where a Quantity carries a UCUM code.
  const money = valueType === 'Money';
  rows.quantity.push({
    param,
    grp,
    low,
    high,
    system: money ? 'urn:iso:std:iso:4217' : (unitSource.system ?? null),
    code: money ? (unitSource.currency ?? null) : (unitSource.code ?? null),
    unit: unitSource.unit ?? null,
  });
}

const RELATIVE_REF = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/** References by Type/id, absolute URL or canonical; logical references (identifier only) feed `:identifier`. */
function addReference(rows: IndexRows, param: string, grp: number | null, value: any): void {
  if (typeof value === 'string') {
    rows.reference.push({ param, grp, targetType: null, targetId: null, url: value });
    return;
  }
  if (isText(value.reference)) {
    const m = RELATIVE_REF.exec(value.reference);
    rows.reference.push({ param, grp, targetType: m ? m[1] : null, targetId: m ? m[2] : null, url: value.reference });
  }
  if (value.identifier && (value.identifier.system || value.identifier.value)) {
    rows.token.push({ param: `${param}:identifier`, grp, system: value.identifier.system ?? null, code: value.identifier.value ?? null });
  }
}
