import path from 'node:path';

/** Settings of authentication, read with the rest of the server's config (server/config.ts). */
export interface AuthConfig {
  /** AUTH_DISABLED=true: every request runs as an unrestricted administrator (development only). */
  disabled: boolean;
  accessTokenTtlSeconds: number;
  /** ODS code of the organisation the first-start administrator client acts for. */
  adminOrg: string;
  /** Where the first start writes the administrator client's credentials (mode 0600). */
  adminCredentialsFile: string;
}

/** One auth setting as `npm start -- --help` lists it. */
export interface AuthSetting {
  env: string;
  default: string;
  help: string;
}

export const AUTH_SETTINGS: AuthSetting[] = [
  { env: 'AUTH_DISABLED', default: 'false', help: 'true turns authentication off: every request is an unrestricted administrator (development only)' },
  { env: 'ACCESS_TOKEN_TTL_SECONDS', default: '300', help: 'lifetime of access tokens from /oauth2/token' },
  { env: 'ADMIN_ORG', default: 'HUB', help: 'ODS code of the administrator client created at first start' },
  { env: 'ADMIN_CREDENTIALS_FILE', default: '$DATA_DIR/admin-client.json', help: "where the first start writes the administrator client's credentials (owner-only); ./data/admin-client.json when DATA_DIR is memory://" },
];

const DEFAULTS = Object.fromEntries(AUTH_SETTINGS.map((s) => [s.env, s.default]));

export function loadAuthConfig(all: Record<string, string | undefined>): AuthConfig {
  const get = (name: string): string => all[name] || DEFAULTS[name];
  const problems: string[] = [];
  const disabled = get('AUTH_DISABLED');
  if (disabled !== 'true' && disabled !== 'false') problems.push(`AUTH_DISABLED must be true or false; got '${disabled}'`);
  const ttl = get('ACCESS_TOKEN_TTL_SECONDS');
  if (!/^\d+$/.test(ttl) || Number(ttl) < 1) problems.push(`ACCESS_TOKEN_TTL_SECONDS must be a whole number of at least 1; got '${ttl}'`);
  const adminOrg = get('ADMIN_ORG');
  if (!/^[A-Za-z0-9]+$/.test(adminOrg)) problems.push(`ADMIN_ORG must be an ODS code (letters and digits); got '${adminOrg}'`);
  if (problems.length) throw new Error(problems.join('\n  '));
  const dataDir = all.DATA_DIR || './data';
  return {
    disabled: disabled === 'true',
    accessTokenTtlSeconds: Number(ttl),
    adminOrg,
    adminCredentialsFile: path.resolve(all.ADMIN_CREDENTIALS_FILE || path.join(dataDir === 'memory://' ? './data' : dataDir, 'admin-client.json')),
  };
}
