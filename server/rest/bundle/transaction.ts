import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { badRequest } from '../../errors.js';
import { PolicyRefusal } from '../../access/access-store.js';
import type { Store } from '../../store/store.js';
import { requestStore } from '../../store-stack.js';
import type { FhirContext, FhirResponse, Route } from '../request.js';
import { entryPath, parseEntry, responseEntry, type EntryRequest, type PreferReturn } from './entry.js';
import { atEntry, retryableConflict } from './errors.js';
import { rewriteLinks, type LinkOptions } from './links.js';
import { PHASES, planIdentities, type PlannedEntry } from './plan.js';

/**
 * A transaction Bundle: every entry or none, in ONE database transaction, so the resources, their
 * history rows, index rows and change-log rows commit together (https://hl7.org/fhir/R4/http.html#transaction).
 * Concurrency: the resources a transaction updates, patches or deletes are row-locked up front in
 * a fixed order, so a second transaction touching any of them waits for the first to commit; if
 * PostgreSQL still aborts one (deadlock, serialization), it is a 409 the client may retry.
 */
export async function runTransaction(bundle: Bundle, ctx: FhirContext, route: Route, prefer: PreferReturn, links: LinkOptions = {}): Promise<Bundle> {
  const entries = (bundle.entry ?? []).map((e, i) => parseEntry(e, i, ctx.baseUrl));
  checkFullUrls(entries);
  let written: BundleEntry[] = [];
  try {
    const responses = await ctx.store.transaction(async (store) => {
      const tctx: FhirContext = { ...ctx, store };
      const planned = await planIdentities(entries, tctx);
      await rewriteLinks(planned, tctx, links);
      await lockTargets(store, planned);
      const out: BundleEntry[] = (written = new Array(planned.length));
      for (const phase of PHASES) {
        for (const e of planned) {
          if (e.phase === phase) out[e.index] = responseEntry(await execute(e, tctx, route), prefer, ctx.baseUrl, e.request.method === 'HEAD');
        }
      }
      return out;
    });
    return { resourceType: 'Bundle', type: 'transaction-response', entry: responses };
  } catch (err) {
    throw retryableConflict(err) ?? refusedEntry(err, written, entries) ?? err;
  }
}

/** A write the access policy refused when the transaction ended (access-store.ts), pointed at the entry that made it. */
function refusedEntry(err: unknown, written: BundleEntry[], entries: EntryRequest[]): unknown {
  if (!(err instanceof PolicyRefusal)) return undefined;
  const index = written.findIndex((e) => e?.response?.location?.includes(`${err.reference}/_history/`));
  return index < 0 ? undefined : atEntry(err, entries[index], err.reference.split('/')[0]);
}

async function execute(e: PlannedEntry, ctx: FhirContext, route: Route): Promise<FhirResponse> {
  try {
    if (!e.assignedId) return await route(e.request, ctx);
    const res = await route(e.request, { ...ctx, store: requestStore(ctx.store, { assignedId: e.assignedId }) });
    // If-None-Exist matched a resource an earlier entry of this transaction created.
    if (res.status !== 201) throw badRequest(`If-None-Exist ${e.request.headers.ifNoneExist} matches a resource another entry of this transaction creates`, `${entryPath(e.index)}.request.ifNoneExist`);
    return res;
  } catch (err) {
    throw atEntry(err, e, e.type);
  }
}

/** Two entries with one fullUrl would make references to it ambiguous (https://hl7.org/fhir/R4/bundle.html#bundle-unique). */
function checkFullUrls(entries: EntryRequest[]): void {
  const seen = new Map<string, number>();
  for (const e of entries) {
    if (!e.fullUrl) continue;
    const first = seen.get(e.fullUrl);
    if (first !== undefined) {
      throw badRequest(`${entryPath(e.index)}.fullUrl ${e.fullUrl} is also the fullUrl of ${entryPath(first)}; fullUrls in a transaction must be unique`, `${entryPath(e.index)}.fullUrl`);
    }
    seen.set(e.fullUrl, e.index);
  }
}

/**
 * Locks the existing rows this transaction will change, sorted, in one statement: two
 * transactions over overlapping resources then queue on the first shared row instead of
 * deadlocking half-way. (ORDER BY before FOR UPDATE locks rows in the sorted order.)
 */
async function lockTargets(store: Store, planned: PlannedEntry[]): Promise<void> {
  const targets = planned.filter((e) => e.target && !e.assignedId && e.phase !== 'GET').map((e) => e.target!);
  if (!targets.length) return;
  await store.sql.query(
    `SELECT 1 FROM resources WHERE (resource_type, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
     ORDER BY resource_type, id FOR UPDATE`,
    [targets.map((t) => t.type), targets.map((t) => t.id)],
  );
}
