import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import { hasControlCharacter } from '../fhir/url-text.js';

/** Client assertion algorithms SMART Backend Services requires servers to support; no others are accepted. */
export const ASSERTION_ALGS = ['RS384', 'ES384'];
/** Longest an assertion may still be valid when it arrives (SMART: exp at most five minutes ahead). */
const MAX_LIFETIME_SECONDS = 300;
/** Allowed difference between the client's clock and ours. */
export const CLOCK_SKEW_SECONDS = 30;

/** The client id an assertion claims to come from (its unverified iss), to find the keys to check it with. */
export function assertionIssuer(assertion: string): string {
  const iss = decodeJwt(assertion).iss;
  if (!iss) throw new Error('the client assertion has no iss');
  return iss;
}

/**
 * Checks a private_key_jwt client assertion (RFC 7523, SMART Backend Services): signature by a key
 * of the client's JWKS (chosen by kid, which SMART requires in the header) with RS384 or ES384, iss = sub = client id, aud = the token
 * endpoint, exp present and at most five minutes ahead, jti present. Returns jti and exp for the
 * replay check; throws with the reason otherwise.
 */
export async function verifyClientAssertion(assertion: string, clientId: string, jwks: JSONWebKeySet, tokenEndpoint: string): Promise<{ jti: string; exp: number }> {
  const { payload, protectedHeader } = await jwtVerify(assertion, createLocalJWKSet(jwks), {
    algorithms: ASSERTION_ALGS,
    issuer: clientId,
    subject: clientId,
    audience: tokenEndpoint,
    requiredClaims: ['exp', 'jti'],
    clockTolerance: CLOCK_SKEW_SECONDS,
  });
  // Without a kid, jose tries whichever registered key fits the alg; SMART requires the header to name it.
  if (typeof protectedHeader.kid !== 'string' || !protectedHeader.kid) throw new Error('the client assertion header has no kid naming the key that signed it');
  const exp = payload.exp!;
  if (exp > Date.now() / 1000 + MAX_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) throw new Error('the client assertion expires more than five minutes ahead');
  // RFC 7519 §4.1.7: a string; PostgreSQL's text, where used ones are kept, takes no NUL.
  const jti: unknown = payload.jti;
  if (typeof jti !== 'string' || !jti || hasControlCharacter(jti)) throw new Error('the jti claim must be a non-empty string');
  return { jti, exp };
}
