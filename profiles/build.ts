// `npx tsx profiles/build.ts`: regenerates profiles/package from profiles/source.
// The package is checked in; test/profiles/package.test.ts fails when it is stale.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildPackageFiles, PACKAGE_DIR } from './package-build';

const files = buildPackageFiles();
mkdirSync(PACKAGE_DIR, { recursive: true });
for (const name of readdirSync(PACKAGE_DIR)) if (!files.has(name)) rmSync(path.join(PACKAGE_DIR, name));
for (const [name, text] of files) writeFileSync(path.join(PACKAGE_DIR, name), text);
console.log(`wrote ${files.size} files to ${path.relative(process.cwd(), PACKAGE_DIR)}`);
