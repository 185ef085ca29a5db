//! Our webhook signatures against the providers' own SDKs, installed from the registries by
//! this test (`npm ci` and `pip install --target` in `sandboxes/webhook-sdks/`, pinned by the
//! committed lockfile and requirements): for many random bodies, what we sign verifies in
//! their SDK and what their SDK signs verifies in ours; a wrong secret, an altered body, an
//! old timestamp and a malformed header are rejected on both sides.

#[allow(dead_code)] // each target uses part of the shared helpers
mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use oc_integrate::webhook::{Scheme, Sign, Verify, WebhookError, sign, verify};
use serde_json::{Value, json};

const DIR: &str = "sandboxes/webhook-sdks";

/// Install the SDKs once.
fn installed() -> &'static PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let dir = Path::new(DIR);
        support::npm_ci(dir);
        support::pip_target(dir, &[])
    })
}

/// A driver process speaking the line protocol of `sdk.mjs` / `sdk.py`.
struct Sdk {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Sdk {
    fn node() -> Sdk {
        installed();
        Sdk::spawn(Command::new("node").arg("sdk.mjs").current_dir(DIR))
    }

    fn python() -> Sdk {
        let py = installed();
        Sdk::spawn(Command::new("python3").arg("sdk.py").env("PYTHONPATH", py).current_dir(DIR))
    }

    fn spawn(cmd: &mut Command) -> Sdk {
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Sdk { _child: child, stdin, stdout }
    }

    fn ask(&mut self, request: Value) -> Value {
        writeln!(self.stdin, "{request}").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("the SDK driver answered {line:?}: {e}"))
    }

    fn sign(&mut self, scheme: Scheme, secret: &str, body: &[u8], with: &Sign) -> Vec<(String, String)> {
        let a = self.ask(json!({"op": "sign", "scheme": scheme.name(), "secret": secret, "body": BASE64.encode(body),
            "timestamp": with.timestamp, "id": with.id, "url": with.url}));
        let headers = a["headers"].as_array().unwrap_or_else(|| panic!("{scheme}: the SDK did not sign: {a}"));
        headers.iter().map(|h| (h[0].as_str().unwrap().to_string(), h[1].as_str().unwrap().to_string())).collect()
    }

    fn verifies(&mut self, scheme: Scheme, secret: &str, headers: &[(String, String)], body: &[u8], url: Option<&str>) -> bool {
        let a = self.ask(
            json!({"op": "verify", "scheme": scheme.name(), "secret": secret, "body": BASE64.encode(body), "headers": headers, "url": url}),
        );
        a["ok"].as_bool().unwrap_or_else(|| panic!("{scheme}: unexpected answer {a}"))
    }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A small deterministic generator (xorshift), so a failing body can be reproduced.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Text of `len` characters drawn from ASCII, Latin, CJK, emoji, quotes, escapes and newlines.
    fn text(&mut self, len: usize) -> String {
        const POOL: &[char] = &[
            'a', 'Z', '0', ' ', '"', '\\', '\n', '\t', '{', '}', '&', '=', '+', '%', 'é', 'ß', 'ø', '中', '文', '✓', '—', '😀', '🚀',
            '\u{2028}', '\u{feff}',
        ];
        (0..len).map(|_| POOL[(self.next() % POOL.len() as u64) as usize]).collect()
    }
}

/// Bodies for a scheme: raw text (empty, unicode, 256 KiB) where the SDK signs text; JSON
/// documents where the SDK parses the body (Standard Webhooks, Svix, Linear); form bodies
/// for Twilio.
fn bodies(scheme: Scheme, rng: &mut Rng) -> Vec<Vec<u8>> {
    let lengths =
        [0usize, 1, 7, 64, 500, 4096, 262_144].into_iter().chain((0..18).map(|_| 1 + (rng.next() % 2000) as usize)).collect::<Vec<_>>();
    lengths
        .into_iter()
        .map(|len| {
            let text = rng.text(len);
            match scheme {
                Scheme::StandardWebhooks | Scheme::Svix => json!({"type": "invoice.paid", "data": text}).to_string().into_bytes(),
                Scheme::Linear => {
                    json!({"action": "create", "data": {"title": text}, "webhookTimestamp": now() * 1000}).to_string().into_bytes()
                }
                Scheme::Twilio => {
                    let mut form = form_urlencoded::Serializer::new(String::new());
                    form.append_pair("Body", &text).append_pair("From", "+15005550006").append_pair("AccountSid", "AC123");
                    form.finish().into_bytes()
                }
                // Stripe's and Octokit's SDKs refuse an empty payload outright (the providers never send one)
                Scheme::Stripe | Scheme::Github if text.is_empty() => b"{}".to_vec(),
                _ => text.into_bytes(),
            }
        })
        .collect()
}

fn secret_for(scheme: Scheme, rng: &mut Rng) -> String {
    match scheme {
        Scheme::StandardWebhooks | Scheme::Svix => format!("whsec_{}", BASE64.encode(rng.next().to_le_bytes().repeat(4))),
        _ => format!("sec_{:x}{:x}", rng.next(), rng.next()),
    }
}

fn other_secret(scheme: Scheme) -> String {
    match scheme {
        Scheme::StandardWebhooks | Scheme::Svix => "whsec_d3Jvbmcgc2VjcmV0IGZvciB0aGlzIHRlc3Q=".into(),
        _ => "not_the_secret".into(),
    }
}

/// Both directions and the negative cases for one scheme, against the SDK in `sdk`.
/// `sdk_signs`: whether the SDK can sign (Linear's can only verify).
fn check(sdk: &mut Sdk, scheme: Scheme, sdk_signs: bool, seed: u64) -> usize {
    let mut rng = Rng(seed);
    let url = "https://example.com/hooks/twilio?tenant=a&x=1";
    let mut checked = 0;
    for (i, body) in bodies(scheme, &mut rng).into_iter().enumerate() {
        let secret = secret_for(scheme, &mut rng);
        let with = Sign { timestamp: now(), id: Some(format!("msg_{seed}_{i}")), url: Some(url.into()) };
        let at = Verify { now: now(), tolerance: None, url: Some(url.into()) };
        let what = format!("{scheme} body #{i} ({} bytes, seed {seed})", body.len());

        let ours = sign(scheme, &secret, &body, &with).unwrap();
        assert!(sdk.verifies(scheme, &secret, &ours, &body, Some(url)), "{what}: the SDK rejects our signature {ours:?}");
        assert!(!sdk.verifies(scheme, &other_secret(scheme), &ours, &body, Some(url)), "{what}: the SDK accepts ours under another secret");
        let mut altered = body.clone();
        altered.extend_from_slice(if scheme == Scheme::Twilio { b"&Extra=1" } else { b" " });
        if !matches!(scheme, Scheme::StandardWebhooks | Scheme::Svix | Scheme::Linear) || serde_json::from_slice::<Value>(&altered).is_ok()
        {
            assert!(!sdk.verifies(scheme, &secret, &ours, &altered, Some(url)), "{what}: the SDK accepts an altered body");
        }
        if sdk_signs {
            let theirs = sdk.sign(scheme, &secret, &body, &with);
            verify(scheme, &secret, &theirs, &body, &at)
                .unwrap_or_else(|e| panic!("{what}: we reject the SDK's signature {theirs:?}: {e}"));
            assert_eq!(verify(scheme, &other_secret(scheme), &theirs, &body, &at), Err(WebhookError::Mismatch { scheme }), "{what}");
            assert_eq!(verify(scheme, &secret, &theirs, &altered, &at), Err(WebhookError::Mismatch { scheme }), "{what}");
            if scheme.tolerance().is_some() {
                let old = Sign { timestamp: now() - 3600, ..with.clone() };
                let stale = sdk.sign(scheme, &secret, &body, &old);
                assert!(
                    matches!(verify(scheme, &secret, &stale, &body, &at), Err(WebhookError::Timestamp { .. })),
                    "{what}: we accept a stale SDK signature"
                );
                let ours_stale = sign(scheme, &secret, &body, &old).unwrap();
                assert!(!sdk.verifies(scheme, &secret, &ours_stale, &body, Some(url)), "{what}: the SDK accepts our stale signature");
            }
        }
        // a malformed header: the signature's value cut in half
        let mut broken = ours.clone();
        if let Some(h) =
            broken.iter_mut().find(|(k, _)| k.to_ascii_lowercase().contains("signature") || k.to_ascii_lowercase().contains("hmac"))
        {
            h.1.truncate(h.1.len() / 2);
            assert!(!sdk.verifies(scheme, &secret, &broken, &body, Some(url)), "{what}: the SDK accepts a malformed header");
            assert!(verify(scheme, &secret, &broken, &body, &at).is_err(), "{what}: we accept a malformed header");
        }
        checked += 1;
    }
    checked
}

#[test]
fn node_sdks_agree_stripe_github_standard_webhooks_svix_linear() {
    let mut node = Sdk::node();
    for (scheme, signs, seed) in [
        (Scheme::Stripe, true, 11),
        (Scheme::Github, true, 12),
        (Scheme::StandardWebhooks, true, 13),
        (Scheme::Svix, true, 14),
        (Scheme::Linear, false, 15),
    ] {
        assert_eq!(check(&mut node, scheme, signs, seed), 25, "{scheme}");
    }
}

#[test]
fn python_sdks_agree_slack_twilio() {
    let mut python = Sdk::python();
    for (scheme, seed) in [(Scheme::Slack, 21), (Scheme::Twilio, 22)] {
        assert_eq!(check(&mut python, scheme, true, seed), 25, "{scheme}");
    }
}

/// Twilio's SDK checks a signature over the URL with and without its port (Twilio signs either
/// way), and a JSON delivery's signature over the URL alone, which carries the body's SHA-256
/// as `bodySHA256`: we agree with it both ways, and refuse an altered JSON body.
#[test]
fn twilio_ports_and_json_deliveries_agree_with_the_sdk() {
    let mut python = Sdk::python();
    let scheme = Scheme::Twilio;
    let secret = "sec_twilio_auth_token";
    let form = b"Body=hello&From=%2B15005550006&AccountSid=AC123".to_vec();
    let signs = |url: &str| Sign { timestamp: now(), id: None, url: Some(url.into()) };
    let at = |url: &str| Verify { now: now(), tolerance: None, url: Some(url.into()) };
    for (signed, received) in [
        ("https://example.com/hooks/twilio?tenant=a", "https://example.com:443/hooks/twilio?tenant=a"),
        ("https://example.com:443/hooks/twilio?tenant=a", "https://example.com/hooks/twilio?tenant=a"),
        ("http://example.com/sms", "http://example.com:80/sms"),
        ("https://example.com/sms", "https://example.com:8443/sms"),
    ] {
        let ours = sign(scheme, secret, &form, &signs(signed)).unwrap();
        assert!(python.verifies(scheme, secret, &ours, &form, Some(received)), "the SDK rejects ours over {signed} received at {received}");
        let theirs = python.sign(scheme, secret, &form, &signs(signed));
        verify(scheme, secret, &theirs, &form, &at(received))
            .unwrap_or_else(|e| panic!("we reject the SDK's over {signed} received at {received}: {e}"));
    }
    // another host is another URL
    let ours = sign(scheme, secret, &form, &signs("https://example.com/sms")).unwrap();
    assert!(!python.verifies(scheme, secret, &ours, &form, Some("https://example.org/sms")));
    assert_eq!(verify(scheme, secret, &ours, &form, &at("https://example.org/sms")), Err(WebhookError::Mismatch { scheme }));

    let body = br#"{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030","Body":"h\u00e9llo"}"#.to_vec();
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&body));
    let url = format!("https://example.com/myapp?tenant=a&bodySHA256={hash}");
    let ours = sign(scheme, secret, &body, &signs(&url)).unwrap();
    assert!(python.verifies(scheme, secret, &ours, &body, Some(&url)), "the SDK rejects our JSON delivery");
    let theirs = python.sign(scheme, secret, &body, &signs(&url));
    assert_eq!(theirs, ours, "both sign the URL alone");
    verify(scheme, secret, &theirs, &body, &at(&url)).unwrap();
    let altered = br#"{"CallSid":"CA1234567890ABCDE","Caller":"+10000000000"}"#.to_vec();
    assert!(!python.verifies(scheme, secret, &theirs, &altered, Some(&url)), "the SDK accepts an altered JSON body");
    let refused = verify(scheme, secret, &theirs, &altered, &at(&url)).unwrap_err().to_string();
    assert!(refused.contains("body: expected the body whose SHA-256 the URL's bodySHA256 names"), "{refused}");
}
