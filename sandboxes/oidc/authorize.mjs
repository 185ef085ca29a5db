// The authorization code flow against server.mjs, as a browser would drive it (flow.mjs:
// the provider's development login and consent forms, any login), then the code exchanged
// with PKCE (S256). Prints the token response (with a refresh token) as JSON on stdout; that
// is how a sandbox user's refresh token is obtained once, as a person would by logging in to
// a provider's sandbox.
//
//   node authorize.mjs ISSUER
//   env OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI, OIDC_CLIENT_AUTH (as server.mjs)
//   env OIDC_SCOPE: the scope asked for (default "openid offline_access")

import { createHash, randomBytes } from 'node:crypto';

import { follow } from './flow.mjs';

function fail(message) {
  console.error(`authorize.mjs: ${message}`);
  process.exit(2);
}

const issuer = process.argv[2];
if (!issuer || !/^https?:\/\//.test(issuer)) fail(`expected the issuer URL as the first argument, found ${JSON.stringify(issuer ?? null)}`);
const clientId = process.env.OIDC_CLIENT_ID ?? 'oc-integrate';
const secret = process.env.OIDC_CLIENT_SECRET;
if (!secret) fail('expected the client secret in OIDC_CLIENT_SECRET, found it unset or empty');
const redirectUri = process.env.OIDC_REDIRECT_URI ?? 'http://127.0.0.1/callback';
const clientAuth = process.env.OIDC_CLIENT_AUTH ?? 'client_secret_basic';
const scope = process.env.OIDC_SCOPE ?? 'openid offline_access';

const verifier = randomBytes(32).toString('base64url');
const challenge = createHash('sha256').update(verifier).digest('base64url');
const url = new URL('/auth', issuer);
for (const [k, v] of Object.entries({
  client_id: clientId,
  response_type: 'code',
  scope,
  prompt: 'consent',
  redirect_uri: redirectUri,
  code_challenge: challenge,
  code_challenge_method: 'S256',
  state: 'oc-integrate',
})) url.searchParams.set(k, v);

const reached = await follow(url, redirectUri, fail);
if (reached.searchParams.get('state') !== 'oc-integrate') fail(`expected state=oc-integrate at the redirect URI, found ${reached.href}`);
const code = reached.searchParams.get('code');
if (!code) fail(`expected a code at the redirect URI, found ${reached.href}`);
const form = new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri });
const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
if (clientAuth === 'client_secret_post') {
  form.set('client_id', clientId);
  form.set('client_secret', secret);
} else {
  const enc = (v) => encodeURIComponent(v).replace(/%20/g, '+');
  headers.authorization = `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`;
}
const response = await fetch(new URL('/token', issuer), { method: 'POST', headers, body: form });
const text = await response.text();
if (response.status !== 200) fail(`expected 200 from the code exchange, found ${response.status}: ${text}`);
process.stdout.write(`${text}\n`);
