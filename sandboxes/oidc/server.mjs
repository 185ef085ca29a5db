// A real OAuth 2.0 / OpenID Connect authorization server (oidc-provider) for the tests.
//
//   node server.mjs PORT [ISSUER]          (or OIDC_PORT / OIDC_ISSUER)
//   env OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI: the one confidential client
//   env OIDC_CLIENT_AUTH: how it authenticates at the token endpoint (client_secret_basic,
//       the default, or client_secret_post)
//   env OIDC_SCOPES: extra scopes it may ask for, space-separated (e.g. "issues:read")
//
// The client may use client_credentials, authorization_code + refresh_token and the device
// flow (RFC 8628); every refresh rotates the refresh token (the used one is then rejected);
// /token/revocation and /token/introspection are on. Refresh tokens come from the provider's own
// authorization_code flow through its development login and consent pages (plain HTTP
// forms, any login), so nothing here mints tokens by hand. Listens on 127.0.0.1 only;
// state is in memory. The secret comes from the environment (never argv, never printed).

import { randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

function fail(message) {
  console.error(`server.mjs: ${message}`);
  process.exit(2);
}

const port = Number(process.argv[2] ?? process.env.OIDC_PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  fail(`expected a port (1-65535) as the first argument or OIDC_PORT, found ${JSON.stringify(process.argv[2] ?? process.env.OIDC_PORT ?? null)}`);
}
const issuer = process.argv[3] ?? process.env.OIDC_ISSUER ?? `http://127.0.0.1:${port}`;
const clientId = process.env.OIDC_CLIENT_ID ?? 'oc-integrate';
const clientSecret = process.env.OIDC_CLIENT_SECRET;
if (!clientSecret) fail('expected the client secret in OIDC_CLIENT_SECRET, found it unset or empty');
const redirectUri = process.env.OIDC_REDIRECT_URI ?? 'http://127.0.0.1/callback';
const clientAuth = process.env.OIDC_CLIENT_AUTH ?? 'client_secret_basic';
if (!['client_secret_basic', 'client_secret_post'].includes(clientAuth)) {
  fail(`expected OIDC_CLIENT_AUTH to be client_secret_basic or client_secret_post, found ${JSON.stringify(clientAuth)}`);
}
const extraScopes = (process.env.OIDC_SCOPES ?? '').split(' ').filter(Boolean);

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials', 'authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: clientAuth,
      // a native app: a loopback redirect URI matches on any port (RFC 8252 §7.3), so
      // `oc-integrate oauth login` may listen where it can
      application_type: 'native',
    },
  ],
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'offline_access', 'api:read', ...extraScopes],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
  },
  // rotate on every use, not only after 70% of the token's lifetime (the default)
  rotateRefreshToken: true,
  // any subject the development login names is an account
  findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider ready at ${issuer} (client ${clientId})`);
});
