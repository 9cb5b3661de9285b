/** The auth endpoints of a FHIR base URL; read per request, since the base URL can change after start (tests). */
export function authUrls(baseUrl: string): { issuer: string; audience: string; tokenEndpoint: string; jwksUri: string } {
  const origin = new URL(baseUrl).origin;
  return { issuer: origin, audience: baseUrl, tokenEndpoint: `${origin}/oauth2/token`, jwksUri: `${origin}/.well-known/jwks.json` };
}
