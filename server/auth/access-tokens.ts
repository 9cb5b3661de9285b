import { randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { isClientKind, type Principal } from './principal.js';
import { TOKEN_ALG, type SigningKeys } from './signing-keys.js';

/** Who issues tokens (the server's origin) and who accepts them (the FHIR base URL). */
export interface TokenParties {
  issuer: string;
  audience: string;
}

// RFC 9068 token type: an access token cannot pass for an ID token or a client assertion.
const TYP = 'at+jwt';

/** A signed access token (JWT) for the principal, valid for ttlSeconds. */
export async function signAccessToken(keys: SigningKeys, principal: Principal, parties: TokenParties, ttlSeconds: number): Promise<string> {
  const { kid, key } = keys.signer();
  return new SignJWT({ scope: principal.scopes.join(' '), org: principal.org, kind: principal.kind })
    .setProtectedHeader({ alg: TOKEN_ALG, kid, typ: TYP })
    .setIssuer(parties.issuer)
    .setSubject(principal.clientId)
    .setAudience(parties.audience)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .setJti(randomUUID())
    .sign(key);
}

/**
 * The principal of a valid access token. The algorithm is pinned, so `alg: none` and an HS256
 * token keyed with the public key are rejected before any key is used. Throws jose's errors.
 */
export async function verifyAccessToken(keys: SigningKeys, token: string, parties: TokenParties): Promise<{ principal: Principal; expiresAt: number }> {
  const { payload } = await jwtVerify(token, (header) => keys.verificationKey(header.kid), {
    algorithms: [TOKEN_ALG],
    typ: TYP,
    issuer: parties.issuer,
    audience: parties.audience,
    requiredClaims: ['exp', 'sub', 'jti'],
  });
  const { sub, org, kind, scope } = payload;
  if (typeof org !== 'string' || typeof kind !== 'string' || !isClientKind(kind) || typeof scope !== 'string' || !sub) {
    throw new Error('the token lacks org, kind or scope');
  }
  return { principal: { clientId: sub, org, kind, scopes: scope.split(' ').filter(Boolean) }, expiresAt: payload.exp! * 1000 };
}
