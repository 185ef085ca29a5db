//! A payments client (Stripe-like): API-key auth, an idempotent POST with an
//! `Idempotency-Key`, a GET, and a capture POST that has no idempotency key.

use std::sync::Arc;

use oc_integrate::{Binding, Call, ClientError, Context, ErrorKind, outcome};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::flaw::Flaw;
use super::transport::{Request, Transport};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Customer {
    pub id: String,
    pub object: String,
    pub email: String,
    pub name: String,
    pub created: i64,
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
        Request { method, url: format!("{}{path}", self.base), body, idempotency: None, idempotent, auth: self.auth() }
    }

    pub async fn create_customer(&self, input: &Value) -> Result<Customer, ClientError> {
        let mut req = self.request(Method::POST, "/customers", Some(input), true);
        // one key per logical call, reused by every retry of it
        req.idempotency = Some(("Idempotency-Key", uuid::Uuid::new_v4().to_string()));
        self.transport.decode(self.transport.send(&req).await?)
    }

    pub async fn get_customer(&self, id: &str) -> Result<Customer, ClientError> {
        let req = self.request(Method::GET, &format!("/customers/{id}"), None, true);
        self.transport.decode(self.transport.send(&req).await?)
    }

    pub async fn capture_payment(&self, id: &str, input: &Value) -> Result<PaymentIntent, ClientError> {
        let req = self.request(Method::POST, &format!("/payment_intents/{id}/capture"), Some(input), false);
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
                other => Err(ClientError::unbound(other)),
            }
        },
    )
}
