-- SMART Backend Services (server/auth/): registered clients, the server's token signing keys and
-- the client assertion ids already used. All in the database, so every API process behind a load
-- balancer issues and accepts the same tokens and rejects an assertion another process has seen.

-- A registered client: the member organisation (ODS code) it acts for, its kind (server/auth/principal.ts),
-- the scopes it may be granted, and how it authenticates: a JWKS (private_key_jwt) or a scrypt secret hash.
CREATE TABLE auth_client (
  id text PRIMARY KEY,
  org text NOT NULL,
  kind text NOT NULL,
  scopes text[] NOT NULL,
  jwks jsonb,
  secret_hash text,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  CHECK (jwks IS NOT NULL OR secret_hash IS NOT NULL)
);
CREATE INDEX auth_client_kind ON auth_client (kind) WHERE revoked_at IS NULL;

-- Access token signing keys. The newest unretired key signs; a retired key still verifies (and stays
-- in the JWKS) until the tokens it signed have expired.
CREATE TABLE auth_signing_key (
  kid text PRIMARY KEY,
  alg text NOT NULL,
  private_jwk jsonb NOT NULL,
  public_jwk jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz
);

-- jti of every accepted client assertion until it expires: the primary key makes a replay fail in any process.
CREATE TABLE auth_assertion_jti (
  client_id text NOT NULL,
  jti text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (client_id, jti)
);
CREATE INDEX auth_assertion_jti_expires ON auth_assertion_jti (expires_at);
