// A headless browser for `oc-integrate oauth login`'s authorization code flow: it opens the
// authorize URL the command printed, logs in and consents on server.mjs's development
// pages (flow.mjs), and delivers the redirect (code and state) to the command's loopback
// listener, as a person's browser would. Prints the listener's status and page.
//
//   node browser.mjs AUTHORIZE_URL

import { follow } from './flow.mjs';

function fail(message) {
  console.error(`browser.mjs: ${message}`);
  process.exit(2);
}

const start = process.argv[2];
if (!start || !/^https?:\/\//.test(start)) fail(`expected the authorize URL as the first argument, found ${JSON.stringify(start ?? null)}`);
const redirectUri = new URL(start).searchParams.get('redirect_uri');
if (!redirectUri) fail(`expected a redirect_uri in the authorize URL, found none in ${start}`);
const reached = await follow(start, redirectUri, fail);
const response = await fetch(reached);
process.stdout.write(`${response.status} ${await response.text()}\n`);
