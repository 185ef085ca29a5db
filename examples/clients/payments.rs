//! A payments client (Stripe-like): API-key auth, an idempotent POST with an
//! `Idempotency-Key`, a GET, a capture POST that has no idempotency key, a webhook
//! sender, and the Stripe-signed webhook handler.

use std::sync::Arc;

use oc_integrate::{Binding, Call, ClientError, Context, ErrorKind, outcome};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use oc_integrate::webhook::{self, Scheme, Sign};

use super::flaw::Flaw;
use super::transport::{Encoding, Request, Transport};
use super::webhooks;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Customer {
    pub id: String,
    pub object: String,
    pub email: String,
    pub name: String,
    pub created: i64,
    /// Stripe's nullable description: a typed client returns `null` when it was not sent.
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PaymentIntent {
    pub id: String,
    pub object: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
}

pub struct PaymentsClient {
    transport: Transport,
    base: String,
    api_key: String,
}

impl PaymentsClient {
    pub fn new(ctx: &Context, flaws: &[Flaw]) -> PaymentsClient {
        PaymentsClient {
            transport: Transport::new(ctx, flaws),
            base: ctx.base_url().to_string(),
            api_key: ctx.credentials().api_key.clone().unwrap_or_default(),
        }
    }

    fn auth(&self) -> Option<(String, String)> {
        let value = if self.transport.has(Flaw::AuthWithoutPrefix) { self.api_key.clone() } else { format!("Bearer {}", self.api_key) };
        Some(("Authorization".into(), value))
    }

    fn request<'a>(&self, method: Method, path: &str, body: Option<&'a Value>, idempotent: bool) -> Request<'a> {
        Request {
            method,
            url: format!("{}{path}", self.base),
            body,
            encoding: Encoding::Json,
            idempotency: None,
            idempotent,
            auth: self.auth(),
        }
    }

    pub async fn create_customer(&self, input: &Value) -> Result<Customer, ClientError> {
        let mut req = self.request(Method::POST, "/customers", Some(input), true);
        // one key per logical call, reused by every retry of it
        req.idempotency = Some(("Idempotency-Key", uuid::Uuid::new_v4().to_string()));
        self.transport.decode(self.transport.send(&req).await?)
    }

    pub async fn get_customer(&self, id: &str) -> Result<Customer, ClientError> {
        let req = self.request(Method::GET, &format!("/customers/{}", self.transport.segment(id)), None, true);
        self.transport.decode(self.transport.send(&req).await?)
    }

    /// Deliver an event to a subscriber, signed with the seed's outbound scheme
    /// (`X-Signature-256: sha256=…` over the raw body) and one `X-Event-ID` for all its retries.
    pub async fn send_webhook(&self, url: &str, secret: &str, event: &Value) -> Result<Value, ClientError> {
        let signed = if self.transport.has(Flaw::SignsOtherBytes) { serde_json::to_vec_pretty(event) } else { serde_json::to_vec(event) }
            .map_err(|e| ClientError::new(ErrorKind::Other, e.to_string()))?;
        let headers = webhook::sign(Scheme::Generic, secret, &signed, &Sign::default())
            .map_err(|e| ClientError::new(ErrorKind::Other, e.to_string()))?;
        let signature = headers.into_iter().find(|(k, _)| k == Scheme::Generic.signature_header());
        let req = Request {
            method: Method::POST,
            url: url.to_string(),
            body: Some(event),
            encoding: Encoding::Json,
            idempotency: Some(("X-Event-ID", uuid::Uuid::new_v4().to_string())),
            idempotent: true,
            auth: signature,
        };
        let resp = self.transport.send(&req).await?;
        Ok(serde_json::json!({"delivered": true, "reply_bytes": resp.body.len()}))
    }

    pub async fn capture_payment(&self, id: &str, input: &Value) -> Result<PaymentIntent, ClientError> {
        let req = self.request(Method::POST, &format!("/payment_intents/{}/capture", self.transport.segment(id)), Some(input), false);
        self.transport.decode(self.transport.send(&req).await?)
    }
}

fn param(call: &Call, name: &str) -> Result<String, ClientError> {
    call.param(name).ok_or_else(|| ClientError::new(ErrorKind::Other, format!("missing path parameter {name}")))
}

/// The binding a project would write in `tests/integrations.rs`.
pub fn binding(flaws: &'static [Flaw]) -> Binding {
    Binding::new(
        move |ctx| PaymentsClient::new(ctx, flaws),
        |client: Arc<PaymentsClient>, call: Call| async move {
            let body = call.input().get("body").cloned().unwrap_or(Value::Null);
            match call.endpoint() {
                "create_customer" => outcome(client.create_customer(&body).await),
                "get_customer" => outcome(client.get_customer(&param(&call, "id")?).await),
                "capture_payment" => outcome(client.capture_payment(&param(&call, "id")?, &body).await),
                "webhook_sender" => {
                    let url = client.transport.ctx().webhook_url().unwrap_or_default().to_string();
                    let secret = client.transport.ctx().credentials().webhook_secret.clone().unwrap_or_default();
                    outcome(client.send_webhook(&url, &secret, &body).await)
                }
                other => Err(ClientError::unbound(other)),
            }
        },
    )
    .with_receiver(move |ctx| webhooks::start(ctx, flaws))
}
