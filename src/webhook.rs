//! Webhook signatures, signed and verified exactly as each provider does it: header names,
//! encodings, what is signed, timestamp rules and tolerances. "Signature verification is
//! not optional" (the seed): the harness signs the deliveries it sends a project's handler
//! with these, and checks the signatures of the deliveries a project's sender makes.
//!
//! The raw body is what is signed, never a re-serialised one; every comparison of a
//! signature is constant-time.
//!
//! ```
//! use oc_integrate::webhook::{Scheme, Sign, Verify, sign, verify};
//!
//! let body = br#"{"id":"evt_1","type":"customer.created"}"#;
//! let headers = sign(Scheme::Stripe, "whsec_test", body, &Sign { timestamp: 1_700_000_000, ..Sign::default() })?;
//! assert_eq!(headers[0].0, "Stripe-Signature");
//! assert!(headers[0].1.starts_with("t=1700000000,v1="));
//! verify(Scheme::Stripe, "whsec_test", &headers, body, &Verify { now: 1_700_000_100, ..Verify::default() })?;
//! let late = Verify { now: 1_700_000_301, ..Verify::default() };
//! assert!(verify(Scheme::Stripe, "whsec_test", &headers, body, &late).is_err());
//! # Ok::<(), oc_integrate::webhook::WebhookError>(())
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use subtle::ConstantTimeEq as _;

/// A provider's signature scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` (several `v1` allowed), 300 s tolerance.
    Stripe,
    /// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of body>`.
    Github,
    /// `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:ts:body">` with `X-Slack-Request-Timestamp`, 300 s tolerance.
    Slack,
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "id.ts.body">`
    /// (several, space-separated), keyed by the base64 after `whsec_`, 300 s tolerance either way.
    StandardWebhooks,
    /// Svix: Standard Webhooks under `svix-id`, `svix-timestamp`, `svix-signature` (either set is accepted).
    Svix,
    /// `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of body>`.
    Shopify,
    /// `X-Twilio-Signature: <base64 HMAC-SHA1 of URL + sorted form fields (name then value)>`, keyed by the auth token;
    /// a JSON delivery signs the URL alone, which carries `bodySHA256` (the body's hex SHA-256); the URL is checked
    /// with and without its port, as Twilio's SDKs do.
    Twilio,
    /// `Linear-Signature: <hex HMAC-SHA256 of body>`; the body's `webhookTimestamp` (ms) within 60 s.
    Linear,
    /// `X-Telegram-Bot-Api-Secret-Token: <the secret itself>`.
    Telegram,
    /// The seed's outbound scheme: `X-Signature-256: sha256=<hex HMAC-SHA256 of body>` and `X-Event-ID`.
    Generic,
}

impl Scheme {
    /// Every scheme.
    pub const ALL: [Scheme; 10] = [
        Scheme::Stripe,
        Scheme::Github,
        Scheme::Slack,
        Scheme::StandardWebhooks,
        Scheme::Svix,
        Scheme::Shopify,
        Scheme::Twilio,
        Scheme::Linear,
        Scheme::Telegram,
        Scheme::Generic,
    ];

    /// The name used in specs and on the command line (`standard_webhooks`).
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Stripe => "stripe",
            Scheme::Github => "github",
            Scheme::Slack => "slack",
            Scheme::StandardWebhooks => "standard_webhooks",
            Scheme::Svix => "svix",
            Scheme::Shopify => "shopify",
            Scheme::Twilio => "twilio",
            Scheme::Linear => "linear",
            Scheme::Telegram => "telegram",
            Scheme::Generic => "generic",
        }
    }

    /// The scheme called `name`.
    pub fn named(name: &str) -> Option<Scheme> {
        // `standard-webhooks` is how the scheme spells itself
        Scheme::ALL.into_iter().find(|s| s.name() == name.replace('-', "_"))
    }

    /// The header that carries the signature (for Telegram, the secret token itself).
    pub fn signature_header(self) -> &'static str {
        match self {
            Scheme::Stripe => "Stripe-Signature",
            Scheme::Github => "X-Hub-Signature-256",
            Scheme::Slack => "X-Slack-Signature",
            Scheme::StandardWebhooks => "webhook-signature",
            Scheme::Svix => "svix-signature",
            Scheme::Shopify => "X-Shopify-Hmac-Sha256",
            Scheme::Twilio => "X-Twilio-Signature",
            Scheme::Linear => "Linear-Signature",
            Scheme::Telegram => "X-Telegram-Bot-Api-Secret-Token",
            Scheme::Generic => "X-Signature-256",
        }
    }

    /// Whether a signed timestamp too far in the future is refused as well as one too old.
    /// Stripe's SDKs only refuse old ones; Slack, Standard Webhooks / Svix and Linear refuse both.
    pub fn rejects_future(self) -> bool {
        matches!(self, Scheme::Slack | Scheme::StandardWebhooks | Scheme::Svix | Scheme::Linear)
    }

    /// How far a signed timestamp may be from now, when the scheme signs one.
    pub fn tolerance(self) -> Option<i64> {
        match self {
            Scheme::Stripe | Scheme::Slack | Scheme::StandardWebhooks | Scheme::Svix => Some(300),
            Scheme::Linear => Some(60),
            _ => None,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What signing needs besides the secret and the body.
#[derive(Debug, Clone, Default)]
pub struct Sign {
    /// Unix seconds to sign (Stripe, Slack, Standard Webhooks / Svix).
    pub timestamp: i64,
    /// The message / event id (Standard Webhooks / Svix `webhook-id`, the seed's `X-Event-ID`).
    pub id: Option<String>,
    /// The full URL the provider posts to (Twilio signs it).
    pub url: Option<String>,
}

/// What verifying needs besides the secret, headers and body.
#[derive(Debug, Clone, Default)]
pub struct Verify {
    /// Unix seconds now.
    pub now: i64,
    /// Override the scheme's tolerance, in seconds.
    pub tolerance: Option<i64>,
    /// The full URL the request was posted to (Twilio).
    pub url: Option<String>,
}

/// Why a delivery's signature is not accepted (or cannot be made).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A header the scheme needs is absent.
    #[error("{scheme}: expected a {header} header, found none")]
    MissingHeader {
        /// The scheme.
        scheme: Scheme,
        /// The header.
        header: &'static str,
    },
    /// A header is there but not in the scheme's format.
    #[error("{scheme}: {header}: expected {expected}, found {found:?}")]
    Malformed {
        /// The scheme.
        scheme: Scheme,
        /// The header (or `body`, `secret`, `url`).
        header: &'static str,
        /// The format it must have.
        expected: &'static str,
        /// What it holds (cut short).
        found: String,
    },
    /// No signature matches the body with this secret.
    #[error("{scheme}: the signature does not match the body (wrong secret, or the body was altered or re-serialised)")]
    Mismatch {
        /// The scheme.
        scheme: Scheme,
    },
    /// The signed timestamp is outside the tolerance.
    #[error("{scheme}: expected a timestamp within {tolerance} s of now, found one {} s {}", age.unsigned_abs(), if *age > 0 { "old" } else { "in the future" })]
    Timestamp {
        /// The scheme.
        scheme: Scheme,
        /// Seconds between the timestamp and now (positive: in the past).
        age: i64,
        /// The tolerance, in seconds.
        tolerance: i64,
    },
}

type HmacSha256 = Hmac<sha2::Sha256>;
type HmacSha1 = Hmac<sha1::Sha1>;

fn hmac256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC takes keys of any length; new_from_slice cannot fail for it
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

fn hmac1(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = <HmacSha1 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Constant-time equality of two byte strings (length is not secret).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

fn clip(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The value of header `name` (case-insensitive).
fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim())
}

/// The Standard Webhooks key: the base64 after `whsec_` (or the whole secret).
fn standard_key(scheme: Scheme, secret: &str) -> Result<Vec<u8>, WebhookError> {
    BASE64.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).map_err(|_| WebhookError::Malformed {
        scheme,
        header: "secret",
        expected: "whsec_ followed by base64",
        found: "a secret that is not base64 (not shown)".into(),
    })
}

/// Twilio's signed string: the URL, then each form field's name and value, sorted by name;
/// a JSON delivery (its URL carries `bodySHA256`) signs the URL alone.
fn twilio_payload(url: &str, body: &[u8]) -> Vec<u8> {
    let form = if twilio_body_hash(url).is_some() { &[][..] } else { body };
    let mut fields: Vec<(String, String)> = form_urlencoded::parse(form).into_owned().collect();
    fields.sort();
    let mut out = url.as_bytes().to_vec();
    for (k, v) in fields {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

/// The `bodySHA256` query parameter of a Twilio URL: the hex SHA-256 of a JSON delivery's body.
fn twilio_body_hash(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1.split('#').next().unwrap_or_default();
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "bodySHA256").map(|(_, v)| v.into_owned())
}

/// The URLs a Twilio signature may cover, as its SDKs check them: without the port, and with
/// it (the scheme's default added when the URL has none): Twilio signs either way.
fn twilio_urls(url: &str) -> Vec<String> {
    let Some((scheme, rest)) = url.split_once("://") else { return vec![url.to_string()] };
    let (netloc, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let port = netloc.rsplit_once(':').filter(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let (without, with) = match port {
        Some((host, _)) => (format!("{scheme}://{host}{tail}"), url.to_string()),
        None => (url.to_string(), format!("{scheme}://{netloc}:{}{tail}", if scheme.eq_ignore_ascii_case("https") { 443 } else { 80 })),
    };
    vec![without, with]
}

/// The headers that sign `body` for `scheme` with `secret`.
pub fn sign(scheme: Scheme, secret: &str, body: &[u8], with: &Sign) -> Result<Vec<(String, String)>, WebhookError> {
    let h = |k: &str, v: String| (k.to_string(), v);
    let ts = with.timestamp.to_string();
    let id = with.id.clone().unwrap_or_else(|| format!("msg_{}", uuid::Uuid::new_v4().simple()));
    Ok(match scheme {
        Scheme::Stripe => {
            let sig = hex::encode(hmac256(secret.as_bytes(), &[ts.as_bytes(), b".", body]));
            vec![h("Stripe-Signature", format!("t={ts},v1={sig}"))]
        }
        Scheme::Github => vec![h("X-Hub-Signature-256", format!("sha256={}", hex::encode(hmac256(secret.as_bytes(), &[body]))))],
        Scheme::Slack => {
            let sig = hex::encode(hmac256(secret.as_bytes(), &[b"v0:", ts.as_bytes(), b":", body]));
            vec![h("X-Slack-Request-Timestamp", ts), h("X-Slack-Signature", format!("v0={sig}"))]
        }
        Scheme::StandardWebhooks | Scheme::Svix => {
            let key = standard_key(scheme, secret)?;
            let sig = BASE64.encode(hmac256(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]));
            let prefix = if scheme == Scheme::Svix { "svix" } else { "webhook" };
            vec![
                h(&format!("{prefix}-id"), id),
                h(&format!("{prefix}-timestamp"), ts),
                h(&format!("{prefix}-signature"), format!("v1,{sig}")),
            ]
        }
        Scheme::Shopify => vec![h("X-Shopify-Hmac-Sha256", BASE64.encode(hmac256(secret.as_bytes(), &[body])))],
        Scheme::Twilio => {
            let url = with.url.as_deref().ok_or(WebhookError::Malformed {
                scheme,
                header: "url",
                expected: "the URL Twilio posts to (Twilio signs it)",
                found: "none".into(),
            })?;
            vec![h("X-Twilio-Signature", BASE64.encode(hmac1(secret.as_bytes(), &[&twilio_payload(url, body)])))]
        }
        Scheme::Linear => vec![h("Linear-Signature", hex::encode(hmac256(secret.as_bytes(), &[body])))],
        Scheme::Telegram => vec![h("X-Telegram-Bot-Api-Secret-Token", secret.to_string())],
        Scheme::Generic => {
            vec![h("X-Signature-256", format!("sha256={}", hex::encode(hmac256(secret.as_bytes(), &[body])))), h("X-Event-ID", id)]
        }
    })
}

/// Check a delivery: `Ok` only when a signature matches `body` under `secret` and, for
/// schemes that sign a time, it is within the tolerance of `with.now`.
pub fn verify(scheme: Scheme, secret: &str, headers: &[(String, String)], body: &[u8], with: &Verify) -> Result<(), WebhookError> {
    let need = |name: &'static str| header(headers, name).ok_or(WebhookError::MissingHeader { scheme, header: name });
    let malformed = |name: &'static str, expected: &'static str, found: &str| WebhookError::Malformed {
        scheme,
        header: name,
        expected,
        found: clip(found),
    };
    let tolerance = with.tolerance.or(scheme.tolerance()).unwrap_or(0);
    let fresh = |ts: i64| {
        let age = with.now - ts;
        let late = if scheme.rejects_future() { age.abs() > tolerance } else { age > tolerance };
        if late { Err(WebhookError::Timestamp { scheme, age, tolerance }) } else { Ok(()) }
    };
    let hex_of = |name: &'static str, text: &str| hex::decode(text).map_err(|_| malformed(name, "a hex HMAC", text));
    let matches =
        |want: &[u8], given: &[Vec<u8>]| if given.iter().any(|g| same(want, g)) { Ok(()) } else { Err(WebhookError::Mismatch { scheme }) };
    match scheme {
        Scheme::Stripe => {
            const H: &str = "Stripe-Signature";
            let value = need(H)?;
            let mut ts = None;
            let mut sigs = Vec::new();
            for part in value.split(',') {
                match part.trim().split_once('=') {
                    Some(("t", t)) => ts = t.parse::<i64>().ok(),
                    Some(("v1", s)) => sigs.extend(hex::decode(s).ok()),
                    _ => {}
                }
            }
            let ts = ts.ok_or_else(|| malformed(H, "t=<unix seconds>,v1=<hex>", value))?;
            if sigs.is_empty() {
                return Err(malformed(H, "at least one v1=<hex> signature", value));
            }
            matches(&hmac256(secret.as_bytes(), &[ts.to_string().as_bytes(), b".", body]), &sigs)?;
            fresh(ts)
        }
        Scheme::Github | Scheme::Generic => {
            let h = if scheme == Scheme::Github { "X-Hub-Signature-256" } else { "X-Signature-256" };
            let value = need(h)?;
            let sig = value.strip_prefix("sha256=").ok_or_else(|| malformed(h, "sha256=<hex>", value))?;
            matches(&hmac256(secret.as_bytes(), &[body]), &[hex_of(h, sig)?])?;
            if scheme == Scheme::Generic {
                need("X-Event-ID")?;
            }
            Ok(())
        }
        Scheme::Slack => {
            const TS: &str = "X-Slack-Request-Timestamp";
            const SIG: &str = "X-Slack-Signature";
            let ts_text = need(TS)?;
            let ts = ts_text.parse::<i64>().map_err(|_| malformed(TS, "unix seconds", ts_text))?;
            let value = need(SIG)?;
            let sig = value.strip_prefix("v0=").ok_or_else(|| malformed(SIG, "v0=<hex>", value))?;
            matches(&hmac256(secret.as_bytes(), &[b"v0:", ts_text.as_bytes(), b":", body]), &[hex_of(SIG, sig)?])?;
            fresh(ts)
        }
        Scheme::StandardWebhooks | Scheme::Svix => {
            // Svix accepts its own header names and the standard ones
            let names: &[[&'static str; 3]] = if scheme == Scheme::Svix {
                &[["svix-id", "svix-timestamp", "svix-signature"], ["webhook-id", "webhook-timestamp", "webhook-signature"]]
            } else {
                &[["webhook-id", "webhook-timestamp", "webhook-signature"]]
            };
            let [id_h, ts_h, sig_h] = names.iter().find(|n| header(headers, n[0]).is_some()).copied().unwrap_or(names[0]);
            let id = need(id_h)?;
            let ts_text = need(ts_h)?;
            let ts = ts_text.parse::<i64>().map_err(|_| malformed(ts_h, "unix seconds", ts_text))?;
            let value = need(sig_h)?;
            let sigs: Vec<Vec<u8>> =
                value.split_whitespace().filter_map(|s| s.strip_prefix("v1,")).filter_map(|s| BASE64.decode(s).ok()).collect();
            if sigs.is_empty() {
                return Err(malformed(sig_h, "space-separated v1,<base64> signatures", value));
            }
            let key = standard_key(scheme, secret)?;
            matches(&hmac256(&key, &[id.as_bytes(), b".", ts_text.as_bytes(), b".", body]), &sigs)?;
            fresh(ts)
        }
        Scheme::Shopify => {
            const H: &str = "X-Shopify-Hmac-Sha256";
            let value = need(H)?;
            let sig = BASE64.decode(value).map_err(|_| malformed(H, "a base64 HMAC", value))?;
            matches(&hmac256(secret.as_bytes(), &[body]), &[sig])
        }
        Scheme::Twilio => {
            const H: &str = "X-Twilio-Signature";
            let value = need(H)?;
            let url = with.url.as_deref().ok_or_else(|| malformed("url", "the URL the request was posted to", "none"))?;
            let sig = BASE64.decode(value).map_err(|_| malformed(H, "a base64 HMAC-SHA1", value))?;
            if let Some(hash) = twilio_body_hash(url) {
                let actual = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body));
                if !same(actual.as_bytes(), hash.as_bytes()) {
                    return Err(malformed(
                        "body",
                        "the body whose SHA-256 the URL's bodySHA256 names",
                        &format!("one whose SHA-256 is {actual}"),
                    ));
                }
            }
            let signed: Vec<Vec<u8>> = twilio_urls(url).iter().map(|u| hmac1(secret.as_bytes(), &[&twilio_payload(u, body)])).collect();
            if signed.iter().any(|mine| same(mine, &sig)) { Ok(()) } else { Err(WebhookError::Mismatch { scheme }) }
        }
        Scheme::Linear => {
            const H: &str = "Linear-Signature";
            let value = need(H)?;
            matches(&hmac256(secret.as_bytes(), &[body]), &[hex_of(H, value)?])?;
            let stamp =
                serde_json::from_slice::<serde_json::Value>(body).ok().and_then(|v| v.get("webhookTimestamp").and_then(|t| t.as_i64()));
            let ms = stamp
                .ok_or_else(|| malformed("body", "a JSON body with a numeric webhookTimestamp (ms)", &String::from_utf8_lossy(body)))?;
            fresh(ms.div_euclid(1000))
        }
        Scheme::Telegram => {
            let value = need("X-Telegram-Bot-Api-Secret-Token")?;
            if same(value.as_bytes(), secret.as_bytes()) { Ok(()) } else { Err(WebhookError::Mismatch { scheme }) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(h: &[(&str, &str)]) -> Vec<(String, String)> {
        h.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// Published examples, so the schemes are pinned to the providers' own numbers.
    #[test]
    fn providers_published_examples_verify() {
        // GitHub's docs: secret "It's a Secret to Everybody", payload "Hello, World!"
        let gh = owned(&[("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")]);
        verify(Scheme::Github, "It's a Secret to Everybody", &gh, b"Hello, World!", &Verify::default()).unwrap();
        // Slack's docs: the signing-secret example
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let slack = owned(&[
            ("X-Slack-Request-Timestamp", "1531420618"),
            ("X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"),
        ]);
        verify(Scheme::Slack, "8f742231b10e8888abcd99yyyzzz85a5", &slack, body, &Verify { now: 1_531_420_618, ..Verify::default() })
            .unwrap();
    }

    #[test]
    fn every_scheme_round_trips_and_rejects_tampering() {
        let body = "{\"amount\":2000,\"note\":\"naïve café — ✓\"}".as_bytes();
        for scheme in Scheme::ALL {
            let secret =
                if matches!(scheme, Scheme::StandardWebhooks | Scheme::Svix) { "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" } else { "s3cr3t" };
            let body: Vec<u8> =
                if scheme == Scheme::Linear { br#"{"action":"create","webhookTimestamp":1700000000000}"#.to_vec() } else { body.to_vec() };
            let with = Sign { timestamp: 1_700_000_000, id: Some("msg_1".into()), url: Some("https://example.com/hooks?x=1".into()) };
            let at = Verify { now: 1_700_000_010, tolerance: None, url: with.url.clone() };
            let headers = sign(scheme, secret, &body, &with).unwrap();
            verify(scheme, secret, &headers, &body, &at).unwrap_or_else(|e| panic!("{scheme}: {e}"));
            let wrong = if secret.starts_with("whsec_") { "whsec_d3Jvbmcga2V5" } else { "other" };
            assert!(matches!(verify(scheme, wrong, &headers, &body, &at), Err(WebhookError::Mismatch { .. })), "{scheme}");
            if scheme != Scheme::Telegram {
                let mut altered = body.clone();
                altered.push(b' ');
                assert!(matches!(verify(scheme, secret, &headers, &altered, &at), Err(WebhookError::Mismatch { .. })), "{scheme}");
            }
            assert!(
                matches!(
                    verify(scheme, secret, &[], &body, &at),
                    Err(WebhookError::MissingHeader { .. }) | Err(WebhookError::Malformed { .. })
                ),
                "{scheme}"
            );
            if let Some(tolerance) = scheme.tolerance() {
                let late = Verify { now: 1_700_000_000 + tolerance + 1, ..at.clone() };
                assert!(matches!(verify(scheme, secret, &headers, &body, &late), Err(WebhookError::Timestamp { .. })), "{scheme}");
            }
        }
    }
}
