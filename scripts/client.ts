// `npm run client -- COMMAND`: the SMART Backend Services client registry and the token signing
// keys, straight in the server's database (same settings as the server). Run with --help.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { JSONWebKeySet } from 'jose';
import { ClientRegistry } from '../server/auth/clients.js';
import { rotateSigningKey } from '../server/auth/signing-keys.js';
import { registerClient } from '../server/auth/registration.js';
import { registryOverHttp, serverIsUp, type RegistryApi } from './client-http.js';
import { loadConfig } from '../server/config.js';
import type { Db } from '../server/store/db.js';
import { migrate } from '../server/store/migrate.js';
import { dataDirOwner } from '../server/store/embedded-owner.js';
import { openDb } from '../server/store/open-db.js';

const HELP = `usage: npm run client -- COMMAND

  create --org ODS --kind KIND --scopes "SCOPE ..." (--jwks FILE | --secret)
                 register a client: KIND is admin, gp-practice, care-provider, pharmacy or voluntary; SCOPES the
                 most it may be granted, e.g. "system/MedicationRequest.rs system/Patient.rs";
                 --jwks its public keys (private_key_jwt), or --secret to generate a client secret
                 (client_secret_basic), printed once here and stored only as a hash
  list           every client: id, org, kind, active or revoked, scopes
  revoke ID      revoke a client: no new tokens; its tokens are refused within seconds
  rotate-key     a new access token signing key; servers sign with it after their next key reload
                 (within a minute); the old key verifies until its tokens have expired

Uses the server's settings: DATABASE_URL, else PGlite in DATA_DIR. When a server is running on
PGlite (one process's database), create, list and revoke go through its /oauth2/clients API with
the administrator credentials in ADMIN_CREDENTIALS_FILE.
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      org: { type: 'string' },
      kind: { type: 'string' },
      scopes: { type: 'string' },
      jwks: { type: 'string' },
      secret: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const config = loadConfig();
  // A server on embedded PGlite holds the data directory: go through it (at the address it wrote there).
  const owner = config.databaseUrl ? undefined : dataDirOwner(config.dataDir);
  if (owner) config.baseUrl = owner;
  if (!config.databaseUrl && (owner || (await serverIsUp(config.baseUrl)))) {
    if (command === 'rotate-key') throw new Error('rotate-key needs the database: stop the server (embedded PGlite is one process’s) or run on PostgreSQL');
    return run(command, rest, values, await registryOverHttp(config));
  }
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrate(db);
    return await run(command, rest, values, directRegistry(db, config.baseUrl), db);
  } finally {
    await db.close();
  }
}

/** The registry in the database, with the same calls as the server's registration API. */
function directRegistry(db: Db, baseUrl: string): RegistryApi {
  const clients = new ClientRegistry(db);
  return {
    create: (fields) => registerClient(clients, fields, baseUrl),
    list: () => clients.list(),
    revoke: (id) => clients.revoke(id),
  };
}

async function run(command: string, args: string[], values: { org?: string; kind?: string; scopes?: string; jwks?: string; secret: boolean }, registry: RegistryApi, db?: Db): Promise<number> {
  switch (command) {
    case 'create': {
      if (!values.org || !values.kind || !values.scopes) throw new Error('create needs --org, --kind and --scopes');
      const jwks = values.jwks ? (JSON.parse(readFileSync(values.jwks, 'utf8')) as JSONWebKeySet) : undefined;
      const shown = await registry.create({ org: values.org, kind: values.kind, scopes: values.scopes, jwks, secret: values.secret });
      console.log(JSON.stringify(shown, null, 2));
      if (values.secret) console.error('the client secret is shown only this once: hand it over securely');
      return 0;
    }
    case 'list':
      for (const c of await registry.list()) console.log([c.id, c.org, c.kind, c.revoked ? 'revoked' : 'active', c.scopes.join(' ')].join('\t'));
      return 0;
    case 'revoke': {
      if (args.length !== 1) throw new Error('revoke needs one client id');
      if (!(await registry.revoke(args[0]))) {
        console.error(`no active client ${args[0]}`);
        return 1;
      }
      console.log(`revoked ${args[0]}`);
      return 0;
    }
    case 'rotate-key':
      if (!db) throw new Error('rotate-key needs the database');
      console.log(`new signing key ${await rotateSigningKey(db)}`);
      return 0;
    default:
      throw new Error(`unknown command '${command}'; see --help`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.message);
    process.exit(2);
  },
);
