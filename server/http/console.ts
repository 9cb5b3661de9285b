import { readFileSync } from 'node:fs';
import path from 'node:path';
import type express from 'express';
import { inlineScriptHashes, packageDir, pageHeaders, staticFiles, WEB_DIR } from './web-pages.js';

/**
 * The operator console: static files only (Preact + htm as ES modules, no build step). It signs in
 * at /oauth2/token like any client and uses the FHIR API and the admin endpoints with that token;
 * the server gives it no other way in.
 */
export function mountConsole(app: express.Express): void {
  const dir = path.join(WEB_DIR, 'console');
  const index = readFileSync(path.join(dir, 'index.html'), 'utf8');
  app.use('/console', pageHeaders({ scriptHashes: inlineScriptHashes(index) }));
  app.get(['/console', '/console/'], (_req, res) => {
    res.type('html').send(index);
  });
  for (const [prefix, pkg, sub] of VENDOR) app.use(`/console/vendor/${prefix}`, staticFiles(path.join(packageDir(pkg), sub)));
  app.use('/console', staticFiles(dir));
}

// The libraries' distribution folders, served as they are published.
const VENDOR: Array<[string, string, string]> = [
  ['preact', 'preact', 'dist'],
  ['preact-hooks', 'preact', 'hooks/dist'],
  ['htm', 'htm', 'dist'],
  ['uplot', 'uplot', 'dist'],
];
