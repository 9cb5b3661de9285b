import { getDataType } from '@medplum/core';
import type { Bundle, BundleEntry, BundleLink, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { outcome } from '../errors.js';
import type { Controls } from './controls.js';
import type { Found } from './include.js';

/** Marks a resource that is not the whole of what the server holds (https://hl7.org/fhir/R4/search.html#summary). */
const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED', display: 'subsetted' };

export interface BundleParts {
  matches: Found[];
  included: Found[];
  issues: OperationOutcomeIssue[];
  total?: number;
  links: BundleLink[];
  baseUrl: string;
  controls: Controls;
}

/** A searchset Bundle (https://hl7.org/fhir/R4/bundle.html#searchset). */
export function searchsetBundle(parts: BundleParts): Bundle {
  const { controls, baseUrl } = parts;
  const entry = (f: Found, mode: 'match' | 'include'): BundleEntry => ({
    fullUrl: `${baseUrl}/${f.resource_type}/${f.id}`,
    resource: subset(JSON.parse(f.content) as Resource, controls),
    search: { mode },
  });
  const entries: BundleEntry[] =
    controls.summary === 'count' ? [] : [...parts.matches.map((f) => entry(f, 'match')), ...parts.included.map((f) => entry(f, 'include'))];
  if (parts.issues.length) entries.push({ resource: outcome(...parts.issues), search: { mode: 'outcome' } });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(parts.total !== undefined ? { total: parts.total } : {}),
    link: parts.links,
    entry: entries,
  };
}

/** Applies _summary and _elements; mandatory elements, id and meta are always kept. */
export function subset(resource: Resource, controls: Pick<Controls, 'summary' | 'elements'>): Resource {
  const { summary, elements } = controls;
  if ((!summary || summary === 'false' || summary === 'count') && !elements) return resource;
  const schema = getDataType(resource.resourceType);
  const mandatory = schema.mandatoryProperties ?? new Set<string>();
  let keep: (name: string) => boolean;
  if (summary === 'true') keep = (n) => !!schema.summaryProperties?.has(n) || mandatory.has(n);
  else if (summary === 'text') keep = (n) => n === 'text' || mandatory.has(n);
  else if (summary === 'data') keep = (n) => n !== 'text';
  else keep = (n) => elements!.includes(n) || mandatory.has(n);
  const result: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(resource)) {
    // choice elements are stored as e.g. deceasedBoolean but listed as deceased
    const element = Object.keys(schema.elements).find((e) => e === name || (e.endsWith('[x]') && name.startsWith(e.slice(0, -3))))?.replace('[x]', '') ?? name;
    if (name === 'resourceType' || name === 'id' || name === 'meta' || keep(element) || keep(name)) result[name] = value;
  }
  const meta = (result.meta ?? {}) as { tag?: unknown[] };
  result.meta = { ...meta, tag: [...(meta.tag ?? []), SUBSETTED] };
  return result as unknown as Resource;
}
