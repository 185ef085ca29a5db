//! The generated `sender.rs`, for a spec with `webhooks.sender`: the project's outbound
//! webhook delivery, signed with the declared scheme over the exact bytes sent, one event id
//! per event kept across its retries, retried by the sender's own policy through the
//! transport.

use crate::spec::{Spec, Webhooks};
use crate::webhook::Scheme;

use super::BuildError;
use super::names::literal;

/// The source of `sender.rs` for `spec`, if it declares a sender.
pub(super) fn render(spec: &Spec) -> Result<Option<String>, BuildError> {
    let Webhooks { sender: Some(sender), .. } = &spec.webhooks else { return Ok(None) };
    let hex = |parts: &str| format!("hex::encode(hmac256(secret.as_bytes(), &[{parts}]))");
    let b64 = |key: &str, parts: &str| format!("BASE64.encode(hmac256({key}, &[{parts}]))");
    // (uses the id, uses the timestamp, the body of `sign`)
    let (id, ts, body) = match sender.scheme {
        Scheme::Generic => (false, false, format!("Ok(vec![(\"X-Signature-256\".into(), format!(\"sha256={{}}\", {}))])", hex("body"))),
        Scheme::Github => (false, false, format!("Ok(vec![(\"X-Hub-Signature-256\".into(), format!(\"sha256={{}}\", {}))])", hex("body"))),
        Scheme::Linear => (false, false, format!("Ok(vec![(\"Linear-Signature\".into(), {})])", hex("body"))),
        Scheme::Shopify => (false, false, format!("Ok(vec![(\"X-Shopify-Hmac-Sha256\".into(), {})])", b64("secret.as_bytes()", "body"))),
        Scheme::Stripe => (
            false,
            true,
            format!(
                "let t = timestamp.to_string();\n    Ok(vec![(\"Stripe-Signature\".into(), format!(\"t={{t}},v1={{}}\", {}))])",
                hex("t.as_bytes(), b\".\", body")
            ),
        ),
        Scheme::Slack => (
            false,
            true,
            format!(
                "let t = timestamp.to_string();\n    let signature = format!(\"v0={{}}\", {});\n    Ok(vec![(\"X-Slack-Request-Timestamp\".into(), t), (\"X-Slack-Signature\".into(), signature)])",
                hex("b\"v0:\", t.as_bytes(), b\":\", body")
            ),
        ),
        Scheme::StandardWebhooks | Scheme::Svix => {
            let prefix = if sender.scheme == Scheme::Svix { "svix" } else { "webhook" };
            (
                true,
                true,
                format!(
                    r#"let key = BASE64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| Error::new(ErrorKind::Request, "the signing secret is not whsec_ followed by base64"))?;
    let t = timestamp.to_string();
    let signature = format!("v1,{{}}", {});
    Ok(vec![("{prefix}-id".into(), id.to_string()), ("{prefix}-timestamp".into(), t), ("{prefix}-signature".into(), signature)])"#,
                    b64("&key", "id.as_bytes(), b\".\", t.as_bytes(), b\".\", body")
                ),
            )
        }
        Scheme::Telegram => (false, false, "Ok(vec![(\"X-Telegram-Bot-Api-Secret-Token\".into(), secret.to_string())])".into()),
        Scheme::Twilio => {
            return Err(BuildError::Spec {
                at: spec.locate("webhooks.sender.scheme"),
                message: "expected a sender scheme the generator signs (Twilio's signs the subscriber's URL and form fields; not yet), found twilio: write the sender by hand".into(),
            });
        }
    };
    let hmac = !matches!(sender.scheme, Scheme::Telegram);
    let base64 = matches!(sender.scheme, Scheme::Shopify | Scheme::StandardWebhooks | Scheme::Svix);
    let mut imports = String::new();
    if base64 {
        imports += "use base64::Engine as _;\nuse base64::engine::general_purpose::STANDARD as BASE64;\n";
    }

    let signing = if hmac { "use super::signing::hmac256;\n" } else { "" };
    let arg = |used: bool, name: &str| if used { name.to_string() } else { format!("_{name}") };
    Ok(Some(format!(
        r#"//! The {name} webhook sender: delivers an event to a subscriber, signed with the
//! `{scheme}` scheme over the exact bytes sent, its event id in `{id_header}` (one per event,
//! kept across its retries), retried by the sender's policy.

use std::time::{{Duration, SystemTime}};

{imports}use reqwest::Method;
use serde_json::Value;

use super::error::{{Error, ErrorKind}};
{signing}use super::transport::{{AuthScheme, Body, Config, Credentials, Request, RetryPolicy, Transport}};

/// The header that carries the event id.
pub const EVENT_ID_HEADER: &str = {id_header_lit};

impl Config {{
    /// The sender's settings for a subscriber at `url`: the spec's timeout ({timeout} ms) and the sender's retry policy.
    pub fn subscriber(url: &str) -> Config {{
        {config}
    }}
}}

/// Delivers events to one subscriber.
pub struct Sender {{
    transport: Transport,
    secret: String,
}}

impl Sender {{
    /// A sender to the subscriber `config` names (see [`Config::subscriber`]), signing with `secret`.
    pub fn new(config: Config, secret: impl Into<String>) -> Result<Sender, Error> {{
        Ok(Sender {{ transport: Transport::new(config, AuthScheme::None, super::client::MATRIX)?, secret: secret.into() }})
    }}

    /// Deliver `event`, signed, with a fresh event id that its retries keep.
    pub async fn send(&self, event: &Value) -> Result<(), Error> {{
        let body = serde_json::to_vec(event).map_err(|e| Error::new(ErrorKind::Request, format!("the event does not serialise: {{e}}")))?;
        let id = uuid::Uuid::new_v4().to_string();
        let timestamp = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        let mut headers = sign(&self.secret, &id, timestamp, &body)?;
        if !headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(EVENT_ID_HEADER)) {{
            headers.push((EVENT_ID_HEADER.to_string(), id));
        }}
        let request = Request {{
            method: Method::POST,
            url: self.transport.url(&[])?,
            body: Some(Body::Raw(body)),
            headers,
            idempotency_header: None,
            idempotent: true,
            auth: false,
            strict_content_type: false,
        }};
        self.transport.call_empty(request).await
    }}
}}

/// The signature headers of one delivery (the `{scheme}` scheme).
fn sign(secret: &str, {id_arg}: &str, {ts_arg}: u64, {body_arg}: &[u8]) -> Result<Vec<(String, String)>, Error> {{
    {body}
}}
"#,
        name = spec.name,
        scheme = sender.scheme,
        id_header = sender.event_id_header(),
        id_header_lit = literal(&sender.event_id_header()),
        timeout = spec.timeouts.request_ms,
        config = super::client::config(spec, "url.to_string()", "Credentials::None", sender.retry.as_ref().unwrap_or(&spec.retry)),
        id_arg = arg(id, "id"),
        ts_arg = arg(ts, "timestamp"),
        body_arg = arg(hmac, "body"),
    )))
}
