//! The example webhook handler (axum), written the way the seed's inbound pattern does it:
//! verify the signature over the raw body, check the event id against a store with a TTL,
//! acknowledge, process — plus the switches that give it exactly one flaw.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use oc_integrate::spec::Field;
use oc_integrate::webhook::{self, Verify};
use oc_integrate::{Handler, ReceiverContext};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::flaw::Flaw;

struct Inbound {
    ctx: ReceiverContext,
    flaws: &'static [Flaw],
    /// Event id → when the handler may forget it (Unix seconds, by the handler's clock).
    seen: Mutex<HashMap<String, i64>>,
    processed: Arc<AtomicUsize>,
}

type Reply = (StatusCode, axum::Json<Value>);

fn reply(status: StatusCode, body: Value) -> Reply {
    (status, axum::Json(body))
}

impl Inbound {
    fn has(&self, f: Flaw) -> bool {
        self.flaws.contains(&f)
    }

    fn field(&self, field: &Field, headers: &HeaderMap, event: &Value) -> Option<String> {
        match field {
            Field::Header(h) => headers.get(h.as_str()).and_then(|v| v.to_str().ok()).map(str::to_string),
            Field::Body(p) => event.pointer(p).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())),
        }
    }

    fn verified(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        let r = self.ctx.receiver();
        let present = headers.contains_key(r.scheme.signature_header());
        if (present && self.has(Flaw::AcceptsAnySignature)) || (!present && self.has(Flaw::AcceptsMissingSignature)) {
            return true;
        }
        let mut pairs: Vec<(String, String)> =
            headers.iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string())).collect();
        if self.has(Flaw::ChecksFirstSignatureOnly) {
            // the mistake: only the first signature of the header is looked at
            for (_, v) in pairs.iter_mut().filter(|(k, _)| k.eq_ignore_ascii_case(r.scheme.signature_header())) {
                *v = match r.scheme {
                    webhook::Scheme::Stripe => v
                        .split(',')
                        .filter(|p| !p.starts_with("v1="))
                        .chain(v.split(',').find(|p| p.starts_with("v1=")))
                        .collect::<Vec<_>>()
                        .join(","),
                    _ => v.split(' ').next().unwrap_or_default().to_string(),
                };
            }
        }
        let reserialised;
        let signed = if self.has(Flaw::VerifiesReserialisedBody) {
            reserialised = serde_json::from_slice::<Value>(body).map(|v| v.to_string().into_bytes()).unwrap_or_default();
            &reserialised[..]
        } else {
            body
        };
        let tolerance = if self.has(Flaw::IgnoresTimestamps) { Some(i64::MAX / 4) } else { r.tolerance() };
        let url = format!("http://localhost{}", r.path);
        webhook::verify(r.scheme, self.ctx.secret(), &pairs, signed, &Verify { now: self.ctx.clock().unix(), tolerance, url: Some(url) })
            .is_ok()
    }

    async fn handle(self: Arc<Self>, headers: HeaderMap, body: Bytes) -> Reply {
        let r = self.ctx.receiver();
        let mut claimed = false;
        if self.has(Flaw::MarksBeforeVerifying)
            && let Ok(event) = serde_json::from_slice::<Value>(&body)
            && let Some(id) = self.field(&r.key(), &headers, &event)
        {
            // the mistake: the id is claimed before the signature is checked, so a forged
            // delivery claims the genuine event's id
            let now = self.ctx.clock().unix();
            let mut seen = self.seen.lock().await;
            seen.retain(|_, until| *until > now);
            if seen.contains_key(&id) {
                return reply(StatusCode::OK, json!({"status": "already_processed"}));
            }
            seen.insert(id, now + r.idempotency.ttl_s as i64);
            claimed = true;
        }
        // 1. verify the signature over the raw body
        if !self.verified(&headers, &body) {
            return reply(StatusCode::UNAUTHORIZED, json!({"error": "invalid signature"}));
        }
        let event: Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) if self.has(Flaw::FailsOnMalformedJson) => {
                return reply(StatusCode::INTERNAL_SERVER_ERROR, json!({"error": "internal"}));
            }
            Err(e) => return reply(StatusCode::BAD_REQUEST, json!({"error": format!("not JSON: {e}")})),
        };
        // unknown event types are acknowledged, so the provider stops retrying them
        let known = r.event_type().and_then(|f| self.field(&f, &headers, &event)).is_none_or(|t| r.events.iter().any(|e| e.kind == t));
        if !known {
            return if self.has(Flaw::RejectsUnknownEvents) {
                reply(StatusCode::BAD_REQUEST, json!({"error": "unknown event type"}))
            } else {
                reply(StatusCode::OK, json!({"status": "ignored"}))
            };
        }
        let key = match r.event_type() {
            Some(t) if self.has(Flaw::KeysOnEventType) => t,
            _ => r.key(),
        };
        let Some(id) = self.field(&key, &headers, &event) else {
            return reply(StatusCode::BAD_REQUEST, json!({"error": "no event id"}));
        };
        // 2. idempotency: claim the id atomically, remembered for the TTL
        let now = self.ctx.clock().unix();
        let ttl = if self.has(Flaw::ShortIdempotencyTtl) { 3600 } else { r.idempotency.ttl_s as i64 };
        if !self.has(Flaw::ProcessesDuplicates) && !claimed {
            let mut seen = self.seen.lock().await;
            seen.retain(|_, until| *until > now);
            if seen.contains_key(&id) {
                return reply(StatusCode::OK, json!({"status": "already_processed"}));
            }
            if self.has(Flaw::ChecksThenMarks) {
                // the mistake: the check and the mark are not one step
                drop(seen);
                tokio::time::sleep(Duration::from_millis(600)).await;
                self.seen.lock().await.insert(id, now + ttl);
            } else {
                seen.insert(id, now + ttl);
            }
        }
        // 3. process: after answering, so slow work never makes the provider time out
        let delay = self.ctx.processing_delay();
        let processed = self.processed.clone();
        let work = async move {
            tokio::time::sleep(delay).await;
            processed.fetch_add(1, Ordering::SeqCst);
        };
        if self.has(Flaw::ProcessesBeforeAnswering) {
            work.await;
        } else {
            tokio::spawn(work);
        }
        reply(StatusCode::OK, json!({"status": "processed"}))
    }
}

/// Start the handler for one receiver case, on a loopback port.
pub async fn start(ctx: ReceiverContext, flaws: &'static [Flaw]) -> Result<Handler, String> {
    let processed = Arc::new(AtomicUsize::new(0));
    let limit = if flaws.contains(&Flaw::NoBodyLimit) {
        DefaultBodyLimit::disable()
    } else {
        DefaultBodyLimit::max(ctx.receiver().max_body_bytes as usize)
    };
    let path = ctx.receiver().path.clone();
    let inbound = Arc::new(Inbound { ctx, flaws, seen: Mutex::default(), processed: processed.clone() });
    let app = Router::new()
        .route(&path, post(|State(s): State<Arc<Inbound>>, headers: HeaderMap, body: Bytes| s.handle(headers, body)))
        .layer(limit)
        .with_state(inbound);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(Handler::new(url, move || processed.load(Ordering::SeqCst)).keep(stop))
}
