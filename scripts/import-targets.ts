import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';

/** Where chunks go: a running server over HTTP, or the store in this process. */
export interface Target {
  /** POSTs a batch/transaction Bundle; network or server trouble rejects, FHIR answers resolve. */
  send(bundle: Bundle): Promise<{ status: number; body: Bundle | OperationOutcome | undefined; retryAfterMs?: number }>;
  close(): Promise<void>;
  describe: string;
}

export function httpTarget(baseUrl: string, token?: string): Target {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    describe: base,
    async send(bundle) {
      const res = await fetch(`${base}/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/fhir+json',
          accept: 'application/fhir+json',
          // The importer only needs each entry's status; the server skips serialising every resource back.
          prefer: 'return=minimal',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(bundle),
      });
      const text = await res.text();
      const retryAfter = Number(res.headers.get('retry-after'));
      return { status: res.status, body: text ? JSON.parse(text) : undefined, ...(retryAfter ? { retryAfterMs: retryAfter * 1000 } : {}) };
    },
    async close() {},
  };
}

/**
 * Straight into the store (DATABASE_URL, or PGlite in DATA_DIR): the same bundle processing as
 * POST /fhir, validation and history and change log included, without HTTP. Not for a PGlite
 * directory a running server has open: PGlite is single-process.
 */
export async function directTarget(): Promise<Target> {
  const { loadConfig } = await import('../server/config.js');
  const { openServices } = await import('../server/services.js');
  const { fhirRoutes } = await import('../server/rest/routes.js');
  const { FhirError } = await import('../server/errors.js');
  const config = loadConfig();
  const services = await openServices(config);
  const routes = fhirRoutes(config);
  return {
    describe: config.databaseUrl ? 'PostgreSQL (DATABASE_URL), directly' : `PGlite in ${config.dataDir}, directly`,
    async send(bundle) {
      try {
        const res = await routes.route(
          { method: 'POST', path: '', query: new URLSearchParams(), headers: { preferReturn: 'minimal' }, body: bundle },
          { store: services.store, hub: services.store, search: services.search, baseUrl: config.baseUrl },
        );
        return { status: res.status, body: res.body as Bundle };
      } catch (err) {
        if (err instanceof FhirError) return { status: err.status, body: err.outcome, ...(err.headers['Retry-After'] ? { retryAfterMs: 1000 } : {}) };
        throw err;
      }
    },
    close: () => services.close(),
  };
}
