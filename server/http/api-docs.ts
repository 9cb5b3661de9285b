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
  app.get('/api-docs/openapi.json', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.json(openApiFromCapability(deps.capability(), deps.levelsOf));
  });
  app.use('/api-docs', pageHeaders({ styleInline: true }));
  app.get(['/api-docs', '/api-docs/'], (_req, res) => res.sendFile(path.join(page, 'index.html')));
  app.get('/api-docs/init.js', (_req, res) => res.sendFile(path.join(page, 'init.js')));
  const dist = packageDir('swagger-ui-dist');
  for (const file of SWAGGER_FILES) app.get(`/api-docs/${file}`, (_req, res) => res.sendFile(path.join(dist, file)));
}

// Only what the page loads: the package's own index.html and initializer point at the petstore.
const SWAGGER_FILES = ['swagger-ui.css', 'swagger-ui-bundle.js'];
