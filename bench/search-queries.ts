import type { Queryable } from '../server/store/db.js';
import type { SearchEngine } from '../server/search/search.js';
import type { Neighbourhood } from './search-data.js';

/** The typical searches of issue 3, on values taken from the generated data. `kind` groups the targets. */
export function typicalSearches(probes: Neighbourhood['probes']): { kind: 'token' | 'reference' | 'string' | 'date' | 'chain'; type: string; query: string }[] {
  return [
    { kind: 'token', type: 'Patient', query: `identifier=https://fhir.nhs.uk/Id/nhs-number|${probes.nhsNumber}` },
    { kind: 'string', type: 'Patient', query: `family=${encodeURIComponent(probes.family)}&_count=20` },
    { kind: 'date', type: 'Patient', query: 'birthdate=ge1980-03-01&birthdate=le1980-03-31' },
    { kind: 'reference', type: 'CareTeam', query: `participant=Practitioner/${probes.practitionerId}&_include=CareTeam:subject` },
    { kind: 'reference', type: 'CareTeam', query: `patient=Patient/${probes.patientId}&status=active&participant-role=http://snomed.info/sct|768820003` },
    { kind: 'reference', type: 'MedicationRequest', query: `requester=Practitioner/${probes.pharmacistId}&status=active&_sort=-authoredon` },
    { kind: 'reference', type: 'MedicationRequest', query: `intended-performer=Organization/${probes.pharmacyId}&status=active&_sort=-authoredon&_total=none` },
    { kind: 'chain', type: 'MedicationRequest', query: `subject:Patient.identifier=https://fhir.nhs.uk/Id/nhs-number|${probes.nhsNumber}` },
    { kind: 'chain', type: 'Patient', query: `_has:MedicationRequest:subject:requester=Practitioner/${probes.pharmacistId}&_count=10` },
  ];
}

type Plan = { 'Node Type': string; 'Relation Name'?: string; Plans?: Plan[] };

function seqScans(plan: Plan, out: string[] = []): string[] {
  if (plan['Node Type'] === 'Seq Scan') out.push(plan['Relation Name'] ?? '?');
  for (const child of plan.Plans ?? []) seqScans(child, out);
  return out;
}

/** Runs one search in process, capturing its SQL, and returns the match count and the tables any statement's plan scans sequentially. */
export async function explainSearch(db: Queryable, engine: SearchEngine, type: string, query: string): Promise<{ matches: number; seqScans: string[] }> {
  const captured: { sql: string; params: unknown[] }[] = [];
  const spy: Queryable = {
    query: <T>(sql: string, params?: unknown[]) => {
      captured.push({ sql, params: params ?? [] });
      return db.query<T>(sql, params);
    },
  };
  const bundle = await engine.search({ sql: spy, baseUrl: 'http://bench/fhir', strict: true }, type, new URLSearchParams(query));
  const scans: string[] = [];
  for (const { sql, params } of captured) {
    if (!/^\s*(SELECT|WITH)/i.test(sql) || /txid_status/.test(sql)) continue;
    const [row] = await db.query<{ 'QUERY PLAN': { Plan: Plan }[] }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
    scans.push(...seqScans(row['QUERY PLAN'][0].Plan));
  }
  const matches = bundle.total ?? bundle.entry?.filter((e) => e.search?.mode === 'match').length ?? 0;
  return { matches, seqScans: scans };
}
