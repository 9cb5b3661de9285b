import path from 'node:path';
import type express from 'express';
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { openApiFromCapability, type OperationLevels } from './openapi.js';
import { packageDir, pageHeaders, WEB_DIR } from './web-pages.js';

/**
 * API documentation, open like /metadata: /api-docs/openapi.json is generated from the live
 * CapabilityStatement at every request (a POSTed SearchParameter shows at once), and /api-docs is
 * Swagger UI (swagger-ui-dist) over it.
 */
export function mountApiDocs(app: express.Express, deps: { capability(): CapabilityStatement; levelsOf(operation: string): OperationLevels | undefined }): void {
  const page = path.join(WEB_DIR, 'api-docs');
  app.get('/api-docs/openapi.json', (req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.json(openApiFromCapability(onlyTypes(deps.capability(), new URL(req.originalUrl, 'http://local').searchParams.get('types')), deps.levelsOf));
  });
  app.use('/api-docs', pageHeaders({ styleInline: true }));
  app.get(['/api-docs', '/api-docs/'], (_req, res) => res.sendFile(path.join(page, 'index.html')));
  app.get('/api-docs/init.js', (_req, res) => res.sendFile(path.join(page, 'init.js')));
  const dist = packageDir('swagger-ui-dist');
  for (const file of SWAGGER_FILES) app.get(`/api-docs/${file}`, (_req, res) => res.sendFile(path.join(dist, file)));
}

/**
 * `?types=Patient,CareTeam`: the document for those types (and the system interactions). Swagger UI
 * stops rendering a document of all ~150 types part-way, so the page offers it in groups.
 */
function onlyTypes(statement: CapabilityStatement, types: string | null): CapabilityStatement {
  if (!types) return statement;
  const wanted = new Set(types.split(','));
  return { ...statement, rest: statement.rest?.map((r) => ({ ...r, resource: r.resource?.filter((x) => wanted.has(x.type)) })) };
}

// Only what the page loads: the package's own index.html and initializer point at the petstore.
const SWAGGER_FILES = ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js'];
