"""Signs and verifies webhook deliveries with the providers' official Python SDKs (Slack's
slack_sdk, Twilio's twilio), for tests/webhook_sdks.rs. Same line protocol as sdk.mjs."""
import base64
import json
import sys
from urllib.parse import parse_qs, parse_qsl, urlparse

from slack_sdk.signature import SignatureVerifier
from twilio.request_validator import RequestValidator


def json_delivery(url):
    return "bodySHA256" in parse_qs(urlparse(url).query)


def sign(r, body):
    if r["scheme"] == "slack":
        ts = str(r["timestamp"])
        sig = SignatureVerifier(r["secret"]).generate_signature(timestamp=ts, body=body)
        return [["X-Slack-Request-Timestamp", ts], ["X-Slack-Signature", sig]]
    if r["scheme"] == "twilio":
        # a JSON delivery (the URL carries bodySHA256) signs the URL alone
        params = {} if json_delivery(r["url"]) else dict(parse_qsl(body, keep_blank_values=True))
        return [["X-Twilio-Signature", RequestValidator(r["secret"]).compute_signature(r["url"], params)]]
    raise ValueError("no Python SDK signs " + r["scheme"])


def verify(r, body):
    h = {k.lower(): v for k, v in r["headers"]}
    if r["scheme"] == "slack":
        return SignatureVerifier(r["secret"]).is_valid(
            body=body, timestamp=h.get("x-slack-request-timestamp", ""), signature=h.get("x-slack-signature", ""))
    if r["scheme"] == "twilio":
        # the SDK checks a JSON delivery's body against bodySHA256 when given the body as text
        params = body if json_delivery(r["url"]) else dict(parse_qsl(body, keep_blank_values=True))
        return RequestValidator(r["secret"]).validate(r["url"], params, h.get("x-twilio-signature", ""))
    raise ValueError("no Python SDK verifies " + r["scheme"])


for line in sys.stdin:
    r = json.loads(line)
    body = base64.b64decode(r["body"]).decode("utf-8")
    try:
        answer = {"headers": sign(r, body)} if r["op"] == "sign" else {"ok": bool(verify(r, body))}
    except Exception as e:  # an SDK's rejection is an answer, not a crash
        answer = {"error": str(e)} if r["op"] == "sign" else {"ok": False, "error": str(e)}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
