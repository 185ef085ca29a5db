//! The spec's `webhooks` section: the project's inbound handler (the provider calls it)
//! and its outbound sender (it calls its subscribers). The harness generates receiver
//! cases against the handler and sender cases against the sender from it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Endpoint, Method, RequestSpec, ResponseSpec, RetryPolicy};
use crate::webhook::Scheme;

/// The project's webhooks.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Webhooks {
    /// The inbound handler: the provider posts signed events to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<Receiver>,
    /// The outbound sender: the project posts signed events to its subscribers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<Sender>,
}

impl Webhooks {
    /// Whether the spec declares neither a receiver nor a sender.
    pub fn is_empty(&self) -> bool {
        self.receiver.is_none() && self.sender.is_none()
    }
}

/// Where a delivery carries a value: a header, or a JSON pointer into the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Field {
    /// A request header, e.g. `X-GitHub-Delivery`.
    Header(String),
    /// A JSON pointer into the body, e.g. `/id`.
    Body(String),
}

impl Field {
    /// `header X-Event-ID` / `body /id`, for messages.
    pub fn describe(&self) -> String {
        match self {
            Field::Header(h) => format!("header {h}"),
            Field::Body(p) => format!("body {p}"),
        }
    }
}

/// One event type the project handles, with a payload as the provider sends it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The event type, e.g. `payment_intent.succeeded`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A payload of this type. The harness sets the event id and type in it (where the
    /// scheme carries them in the body) and sends it with unusual but valid spacing, so
    /// a handler that verifies a re-serialised body instead of the raw one is caught.
    pub example: Value,
}

/// Idempotency of the handler: which value identifies an event, and how long the handler
/// remembers it (the seed: `X-Event-ID`, 7 days).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiverIdempotency {
    /// Where the event id is; defaults to the scheme's (Stripe `body /id`, GitHub `header X-GitHub-Delivery`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Field>,
    /// How long a processed event id is remembered, in seconds.
    #[serde(default = "seven_days")]
    pub ttl_s: u64,
}

impl Default for ReceiverIdempotency {
    fn default() -> Self {
        ReceiverIdempotency { key: None, ttl_s: seven_days() }
    }
}

fn seven_days() -> u64 {
    604_800
}

/// The project's inbound webhook handler.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    /// The provider's signature scheme.
    pub scheme: Scheme,
    /// The handler's path, e.g. `/webhooks/stripe`.
    pub path: String,
    /// The name of the signing secret in `secrets`.
    pub secret: String,
    /// How far a signed timestamp may be from now, in seconds; defaults to the scheme's (Stripe 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance_s: Option<i64>,
    /// Which value identifies an event, and how long it is remembered.
    #[serde(default)]
    pub idempotency: ReceiverIdempotency,
    /// Where the event type is; defaults to the scheme's (Stripe `body /type`, GitHub `header X-GitHub-Event`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<Field>,
    /// The largest body the handler accepts; a larger one must get a 4xx.
    #[serde(default = "one_mebibyte")]
    pub max_body_bytes: u64,
    /// How long the provider waits for an answer before it counts the delivery as
    /// failed (Stripe and GitHub: 10 s); scaled by the test profile.
    #[serde(default = "ten_seconds")]
    pub response_timeout_ms: u64,
    /// The event types the handler processes.
    pub events: Vec<Event>,
}

fn one_mebibyte() -> u64 {
    1 << 20
}

fn ten_seconds() -> u64 {
    10_000
}

impl Receiver {
    /// Where the event id is.
    pub fn key(&self) -> Field {
        self.idempotency.key.clone().unwrap_or_else(|| default_key(self.scheme))
    }

    /// Where the event type is, when the scheme carries one.
    pub fn event_type(&self) -> Option<Field> {
        self.event_type.clone().or_else(|| default_type(self.scheme))
    }

    /// The signed-timestamp tolerance, when the scheme signs a time.
    pub fn tolerance(&self) -> Option<i64> {
        self.scheme.tolerance().map(|t| self.tolerance_s.unwrap_or(t))
    }
}

/// The project's outbound webhook sender.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sender {
    /// The signature scheme the sender uses (the seed's is `generic`).
    pub scheme: Scheme,
    /// The path the harness's subscriber listens on, e.g. `/hooks/orders`.
    pub path: String,
    /// The name of the signing secret in `secrets`.
    pub secret: String,
    /// The header that carries the event id; defaults to the scheme's (`X-Event-ID`, `webhook-id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id_header: Option<String>,
    /// The sender's retry policy, when it differs from the spec's `retry`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
    /// The event the harness asks the sender to send.
    pub event: Event,
}

impl Sender {
    /// The header that carries the event id.
    pub fn event_id_header(&self) -> String {
        self.event_id_header.clone().unwrap_or_else(|| match default_key(self.scheme) {
            Field::Header(h) => h,
            Field::Body(_) => "X-Event-ID".into(),
        })
    }

    /// The delivery as an endpoint the sender calls: a POST of the event to the
    /// subscriber, made idempotent by its event id. Sender cases reuse the endpoint
    /// scenarios on it (retries, timeouts, connection failures, keys across retries).
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            id: SENDER.into(),
            method: Method::POST,
            path: self.path.clone(),
            purpose: format!("Deliver {} events to subscribers", self.event.kind),
            auth: false,
            rate_limit: None,
            idempotent: Some(true),
            idempotency_header: Some(self.event_id_header()),
            request: RequestSpec {
                example: Some(serde_json::json!({ "body": self.event.example })),
                content_type: "application/json".into(),
                schema: None,
                schema_file: None,
                example_file: None,
            },
            response: ResponseSpec {
                status: 200,
                example: serde_json::json!({ "status": "processed" }),
                example_file: None,
                schema: None,
                schema_file: None,
                strict_content_type: false,
            },
            pagination: None,
        }
    }
}

/// The id the receiver's cases carry in trial names.
pub const RECEIVER: &str = "webhook_receiver";
/// The id the sender's cases carry in trial names (and the endpoint id its binding maps).
pub const SENDER: &str = "webhook_sender";

/// Where a scheme's provider puts the event id.
pub fn default_key(scheme: Scheme) -> Field {
    let h = |s: &str| Field::Header(s.into());
    let b = |s: &str| Field::Body(s.into());
    match scheme {
        Scheme::Stripe => b("/id"),
        Scheme::Github => h("X-GitHub-Delivery"),
        Scheme::Slack => b("/event_id"),
        Scheme::StandardWebhooks => h("webhook-id"),
        Scheme::Svix => h("svix-id"),
        Scheme::Shopify => h("X-Shopify-Webhook-Id"),
        Scheme::Twilio => h("I-Twilio-Idempotency-Token"),
        Scheme::Linear => h("Linear-Delivery"),
        Scheme::Telegram => b("/update_id"),
        Scheme::Generic => h("X-Event-ID"),
    }
}

/// Where a scheme's provider puts the event type, when it sends one.
pub fn default_type(scheme: Scheme) -> Option<Field> {
    let h = |s: &str| Some(Field::Header(s.into()));
    let b = |s: &str| Some(Field::Body(s.into()));
    match scheme {
        Scheme::Stripe | Scheme::StandardWebhooks | Scheme::Svix | Scheme::Linear | Scheme::Generic => b("/type"),
        Scheme::Github => h("X-GitHub-Event"),
        Scheme::Slack => b("/event/type"),
        Scheme::Shopify => h("X-Shopify-Topic"),
        Scheme::Twilio | Scheme::Telegram => None,
    }
}
