//! The generated `receiver.rs`, for a spec with `webhooks.receiver`: an axum route that
//! verifies the declared scheme over the raw body, refuses stale and future timestamps where
//! the scheme signs one, dedupes by event id for the declared TTL, acknowledges event types it
//! does not process, and answers before it processes; and `signing.rs`, the HMAC and the
//! constant-time comparison it shares with the sender.

use crate::spec::{Field, Spec, Webhooks};
use crate::webhook::Scheme;

use super::BuildError;
use super::names::literal;

/// The source of `signing.rs`, when the spec has a webhook sender or receiver.
pub(super) fn signing(spec: &Spec) -> Option<String> {
    (spec.webhooks.sender.is_some() || spec.webhooks.receiver.is_some()).then(|| {
        r#"//! What signing and verifying webhooks share: HMAC-SHA256, and comparison in constant time.

use hmac::{Hmac, KeyInit, Mac};

/// HMAC-SHA256 of `parts` under `key`.
pub fn hmac256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC takes keys of any length: new_from_slice cannot fail
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Whether `a` and `b` are equal, in time that does not depend on where they differ.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
"#
        .to_string()
    })
}

/// A field of a delivery as an `Option<String>` expression.
fn field(f: &Field) -> String {
    match f {
        Field::Header(h) => format!("header(&headers, {}).map(str::to_string)", literal(h)),
        Field::Body(p) => format!("event.pointer({}).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))", literal(p)),
    }
}

/// The body of `verify` for `scheme`.
fn verify_body(scheme: Scheme) -> Option<&'static str> {
    Some(match scheme {
        Scheme::Stripe => {
            r#"let value = header(headers, "Stripe-Signature").ok_or("no Stripe-Signature")?;
    let (mut ts, mut given) = (None, Vec::new());
    for part in value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => ts = t.parse::<i64>().ok(),
            Some(("v1", s)) => given.extend(hex::decode(s).ok()),
            _ => {}
        }
    }
    let ts = ts.ok_or("no t= in Stripe-Signature")?;
    let want = hmac256(secret.as_bytes(), &[ts.to_string().as_bytes(), b".", body]);
    if !given.iter().any(|g| same(&want, g)) {
        return Err("signature mismatch");
    }
    fresh(ts, now)"#
        }
        Scheme::Github | Scheme::Generic => {
            if scheme == Scheme::Github {
                r#"let value = header(headers, "X-Hub-Signature-256").ok_or("no X-Hub-Signature-256")?;
    let given = hex::decode(value.strip_prefix("sha256=").ok_or("expected sha256=<hex>")?).map_err(|_| "expected sha256=<hex>")?;
    if same(&hmac256(secret.as_bytes(), &[body]), &given) { Ok(()) } else { Err("signature mismatch") }"#
            } else {
                r#"let value = header(headers, "X-Signature-256").ok_or("no X-Signature-256")?;
    let given = hex::decode(value.strip_prefix("sha256=").ok_or("expected sha256=<hex>")?).map_err(|_| "expected sha256=<hex>")?;
    if same(&hmac256(secret.as_bytes(), &[body]), &given) { Ok(()) } else { Err("signature mismatch") }"#
            }
        }
        Scheme::Slack => {
            r#"let ts_text = header(headers, "X-Slack-Request-Timestamp").ok_or("no X-Slack-Request-Timestamp")?;
    let ts = ts_text.parse::<i64>().map_err(|_| "expected unix seconds")?;
    let value = header(headers, "X-Slack-Signature").ok_or("no X-Slack-Signature")?;
    let given = hex::decode(value.strip_prefix("v0=").ok_or("expected v0=<hex>")?).map_err(|_| "expected v0=<hex>")?;
    if !same(&hmac256(secret.as_bytes(), &[b"v0:", ts_text.as_bytes(), b":", body]), &given) {
        return Err("signature mismatch");
    }
    fresh(ts, now)"#
        }
        Scheme::StandardWebhooks | Scheme::Svix => {
            r#"let names = if header(headers, "svix-id").is_some() { ["svix-id", "svix-timestamp", "svix-signature"] } else { ["webhook-id", "webhook-timestamp", "webhook-signature"] };
    let id = header(headers, names[0]).ok_or("no message id")?;
    let ts_text = header(headers, names[1]).ok_or("no timestamp")?;
    let ts = ts_text.parse::<i64>().map_err(|_| "expected unix seconds")?;
    let value = header(headers, names[2]).ok_or("no signature")?;
    let given: Vec<Vec<u8>> = value.split_whitespace().filter_map(|s| s.strip_prefix("v1,")).filter_map(|s| BASE64.decode(s).ok()).collect();
    let key = BASE64.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).map_err(|_| "the secret is not whsec_ and base64")?;
    let want = hmac256(&key, &[id.as_bytes(), b".", ts_text.as_bytes(), b".", body]);
    if !given.iter().any(|g| same(&want, g)) {
        return Err("signature mismatch");
    }
    fresh(ts, now)"#
        }
        Scheme::Shopify => {
            r#"let value = header(headers, "X-Shopify-Hmac-Sha256").ok_or("no X-Shopify-Hmac-Sha256")?;
    let given = BASE64.decode(value).map_err(|_| "expected a base64 HMAC")?;
    if same(&hmac256(secret.as_bytes(), &[body]), &given) { Ok(()) } else { Err("signature mismatch") }"#
        }
        Scheme::Linear => {
            r#"let value = header(headers, "Linear-Signature").ok_or("no Linear-Signature")?;
    let given = hex::decode(value).map_err(|_| "expected a hex HMAC")?;
    if !same(&hmac256(secret.as_bytes(), &[body]), &given) {
        return Err("signature mismatch");
    }
    let sent = serde_json::from_slice::<Value>(body).ok().and_then(|v| v.get("webhookTimestamp").and_then(Value::as_i64));
    fresh(sent.ok_or("no webhookTimestamp")?.div_euclid(1000), now)"#
        }
        Scheme::Telegram => {
            r#"let value = header(headers, "X-Telegram-Bot-Api-Secret-Token").ok_or("no secret token")?;
    if same(value.as_bytes(), secret.as_bytes()) { Ok(()) } else { Err("secret token mismatch") }"#
        }
        Scheme::Twilio => return None,
    })
}

/// The source of `receiver.rs` for `spec`, if it declares a receiver.
pub(super) fn render(spec: &Spec) -> Result<Option<String>, BuildError> {
    let Webhooks { receiver: Some(r), .. } = &spec.webhooks else { return Ok(None) };
    let Some(verify) = verify_body(r.scheme) else {
        return Err(BuildError::Spec {
            at: spec.locate("webhooks.receiver.scheme"),
            message: "expected a receiver scheme the generator verifies (Twilio's signs the URL and form fields; not yet), found twilio: write the receiver by hand".into(),
        });
    };
    let (now, hmac) = match r.scheme {
        Scheme::Telegram => ("_now", false),
        Scheme::Stripe | Scheme::Slack | Scheme::StandardWebhooks | Scheme::Svix | Scheme::Linear => ("now", true),
        _ => ("_now", true),
    };
    let mut imports = String::new();
    if matches!(r.scheme, Scheme::StandardWebhooks | Scheme::Svix | Scheme::Shopify) {
        imports += "use base64::Engine as _;\nuse base64::engine::general_purpose::STANDARD as BASE64;\n";
    }
    let signing = if hmac { "use super::signing::{hmac256, same};" } else { "use super::signing::same;" };
    let fresh = match r.tolerance() {
        Some(t) => format!(
            r#"
/// How far a signed time may be from now, in seconds.
const TOLERANCE_S: i64 = {t};

/// Whether a signed time `ts` is fresh at `now` ({what}).
fn fresh(ts: i64, now: i64) -> Result<(), &'static str> {{
    let age = now - ts;
    if {late} {{ Err("stale timestamp") }} else {{ Ok(()) }}
}}
"#,
            what =
                if r.scheme.rejects_future() { "no older and no further ahead than the tolerance" } else { "no older than the tolerance" },
            late = if r.scheme.rejects_future() { "age.abs() > TOLERANCE_S" } else { "age > TOLERANCE_S" },
        ),
        None => String::new(),
    };
    let kinds: Vec<String> = r.events.iter().map(|e| literal(&e.kind)).collect();
    let type_check = match r.event_type() {
        Some(f) => format!(
            "    // an event type it does not process is acknowledged, or the provider retries it for days\n    if {}.is_some_and(|kind| !EVENTS.contains(&kind.as_str())) {{\n        return (StatusCode::OK, \"ignored: an event type this receiver does not process\");\n    }}\n",
            field(&f)
        ),
        None => String::new(),
    };
    let events_const = if type_check.is_empty() {
        String::new()
    } else {
        format!("\n/// The event types the receiver processes.\nconst EVENTS: &[&str] = &[{}];\n", kinds.join(", "))
    };
    Ok(Some(format!(
        r#"//! The {name} webhook receiver: an axum route at `{path}` that verifies the `{scheme}` signature
//! over the raw body, refuses a stale signed time, remembers each event id for {ttl} s so a
//! redelivery is acknowledged and not processed again, acknowledges event types it does not
//! process, and answers before processing (slow work never makes the provider time out).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{{Arc, Mutex}};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{{DefaultBodyLimit, State}};
use axum::http::{{HeaderMap, StatusCode}};
use axum::routing::post;
{imports}use serde_json::Value;

{signing}

/// Where the provider posts.
pub const PATH: &str = {path_lit};

/// How long an event id is remembered, in seconds.
const TTL_S: i64 = {ttl};

/// The largest body accepted.
const MAX_BODY_BYTES: usize = {max_body};
{events_const}{fresh}
/// What processing an event is: the project's work, run after the answer.
type Process = Box<dyn Fn(Value) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The receiver: its signing secret, the clock it reads now from, what it does with a new
/// event, and the event ids it remembers (id → until when, Unix seconds).
pub struct Receiver {{
    secret: String,
    now: Box<dyn Fn() -> i64 + Send + Sync>,
    process: Process,
    seen: Mutex<HashMap<String, i64>>,
}}

impl Receiver {{
    /// A receiver verifying with `secret`, reading now (Unix seconds) from `now`, handing each
    /// new event to `process`.
    pub fn new<F, Fut>(secret: impl Into<String>, now: impl Fn() -> i64 + Send + Sync + 'static, process: F) -> Receiver
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {{
        Receiver {{
            secret: secret.into(),
            now: Box::new(now),
            process: Box::new(move |event| Box::pin(process(event))),
            seen: Mutex::default(),
        }}
    }}

    /// The route, ready to serve (or to merge into the project's router).
    pub fn router(self) -> Router {{
        Router::new().route(PATH, post(handle)).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)).with_state(Arc::new(self))
    }}
}}

/// One delivery: verified over the raw bytes, parsed, its type and id read, its id claimed
/// (atomically, so concurrent duplicates process once), processed after the answer.
async fn handle(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {{
    let now = (r.now)();
    if let Err(why) = verify(&r.secret, &headers, &body, now) {{
        return (StatusCode::UNAUTHORIZED, why);
    }}
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {{
        return (StatusCode::BAD_REQUEST, "the body is not JSON");
    }};
{type_check}    let Some(id) = {id_expr} else {{
        return (StatusCode::BAD_REQUEST, "no event id");
    }};
    {{
        let mut seen = r.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, until| *until > now);
        if seen.contains_key(&id) {{
            return (StatusCode::OK, "already processed");
        }}
        seen.insert(id, now + TTL_S);
    }}
    tokio::spawn((r.process)(event));
    (StatusCode::OK, "processed")
}}

/// A header's value as text.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {{
    headers.get(name).and_then(|v| v.to_str().ok())
}}

/// Whether the delivery is signed by `secret` (the `{scheme}` scheme) and, where the scheme signs a time, fresh at `now`.
fn verify(secret: &str, headers: &HeaderMap, {body_arg}: &[u8], {now}: i64) -> Result<(), &'static str> {{
    {verify}
}}
"#,
        name = spec.name,
        path = r.path,
        path_lit = literal(&r.path),
        scheme = r.scheme,
        ttl = r.idempotency.ttl_s,
        max_body = r.max_body_bytes,
        id_expr = field(&r.key()),
        body_arg = if r.scheme == Scheme::Telegram { "_body" } else { "body" },
    )))
}
