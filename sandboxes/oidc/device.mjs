// The person's side of the device flow (RFC 8628) for `oc-integrate oauth login --grant
// device`: open the verification URI the command printed (with the user code), confirm the
// code, log in and consent on server.mjs's development pages (flow.mjs). Prints the
// provider's success page.
//
//   node device.mjs VERIFICATION_URI_COMPLETE

import { device } from './flow.mjs';

function fail(message) {
  console.error(`device.mjs: ${message}`);
  process.exit(2);
}

const start = process.argv[2];
if (!start || !/^https?:\/\//.test(start)) fail(`expected the verification URI as the first argument, found ${JSON.stringify(start ?? null)}`);
process.stdout.write(`${await device(start, fail)}\n`);
