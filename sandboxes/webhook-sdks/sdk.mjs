// Signs and verifies webhook deliveries with the providers' official Node SDKs, for
// tests/webhook_sdks.rs. One JSON request per stdin line, one JSON answer per stdout line:
//   {"op":"sign","scheme":"stripe","secret":"…","body":"<base64>","timestamp":1700000000,"id":"msg_1"}
//     → {"headers":[["Stripe-Signature","t=…,v1=…"]]}
//   {"op":"verify","scheme":"stripe","secret":"…","body":"<base64>","headers":[[name,value],…]}
//     → {"ok":true} or {"ok":false,"error":"…"}
import readline from "node:readline";
import Stripe from "stripe";
import { sign as githubSign, verify as githubVerify } from "@octokit/webhooks-methods";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { LinearWebhooks } from "@linear/sdk";

const stripe = new Stripe("sk_test_not_used_offline");
const lower = (headers) => Object.fromEntries(headers.map(([k, v]) => [k.toLowerCase(), v]));

async function sign(r, body) {
  switch (r.scheme) {
    case "stripe":
      return [["Stripe-Signature", stripe.webhooks.generateTestHeaderString({ payload: body, secret: r.secret, timestamp: r.timestamp })]];
    case "github":
      return [["X-Hub-Signature-256", await githubSign(r.secret, body)]];
    case "standard_webhooks":
    case "svix": {
      const wh = r.scheme === "svix" ? new SvixWebhook(r.secret) : new StandardWebhook(r.secret);
      const p = r.scheme === "svix" ? "svix" : "webhook";
      const sig = wh.sign(r.id, new Date(r.timestamp * 1000), body);
      return [[`${p}-id`, r.id], [`${p}-timestamp`, String(r.timestamp)], [`${p}-signature`, sig]];
    }
    default:
      throw new Error(`no Node SDK signs ${r.scheme}`);
  }
}

async function verify(r, body, raw) {
  const h = lower(r.headers);
  switch (r.scheme) {
    case "stripe":
      stripe.webhooks.signature.verifyHeader(body, h["stripe-signature"] ?? "", r.secret, 300);
      return;
    case "github":
      if (!(await githubVerify(r.secret, body, h["x-hub-signature-256"] ?? ""))) throw new Error("signature does not match");
      return;
    case "standard_webhooks":
      new StandardWebhook(r.secret).verify(body, h);
      return;
    case "svix":
      new SvixWebhook(r.secret).verify(body, h);
      return;
    case "linear":
      new LinearWebhooks(r.secret).verify(raw, h["linear-signature"] ?? "");
      return;
    default:
      throw new Error(`no Node SDK verifies ${r.scheme}`);
  }
}

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  const r = JSON.parse(line);
  const raw = Buffer.from(r.body, "base64");
  const body = raw.toString("utf8");
  let answer;
  try {
    answer = r.op === "sign" ? { headers: await sign(r, body) } : (await verify(r, body, raw), { ok: true });
  } catch (e) {
    answer = r.op === "sign" ? { error: String(e) } : { ok: false, error: String(e && e.message || e) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
