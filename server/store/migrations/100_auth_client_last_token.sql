-- When each client was last issued an access token: administrators see which clients are in use
-- (GET /oauth2/clients, the operator console). Written by the token endpoint on success.
ALTER TABLE auth_client ADD COLUMN last_token_at timestamptz;
