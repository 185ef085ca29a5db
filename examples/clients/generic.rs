//! A generic client for any spec: the endpoint's method, path, query and body from the
//! spec, the example transport's retry policy and timeouts, and the answer checked against
//! the endpoint's response schema. It is how the generated suite of a *planned* spec (from a
//! provider's own OpenAPI document) runs against a correct client.

use std::sync::Arc;

use oc_integrate::spec::{Auth, Spec};
use oc_integrate::{Binding, Call, ClientError, ErrorKind};
use reqwest::Method;
use serde_json::Value;

use super::flaw::Flaw;
use super::transport::{Request, Transport};

struct Generic {
    transport: Transport,
    base: String,
    spec: Spec,
    credential: Option<(String, String)>,
}

/// The binding: every endpoint of the spec, through one client (with `flaws` in its transport).
pub fn binding(flaws: &'static [Flaw]) -> Binding {
    Binding::new(
        move |ctx| {
            let c = ctx.credentials();
            let credential = match &ctx.spec().overview.auth {
                Auth::ApiKey { header, prefix } => c.api_key.as_ref().map(|k| (header.clone(), format!("{prefix}{k}"))),
                Auth::Oauth2 { .. } => c.access_token.as_ref().map(|t| ("Authorization".to_string(), format!("Bearer {t}"))),
                Auth::None => None,
            };
            Generic { transport: Transport::new(ctx, flaws), base: ctx.base_url().to_string(), spec: ctx.spec().clone(), credential }
        },
        |client: Arc<Generic>, call: Call| async move {
            let Some(e) = client.spec.endpoints.iter().find(|e| e.id == call.endpoint()) else {
                return Err(ClientError::unbound(call.endpoint()));
            };
            let mut path = e.path.clone();
            for (k, _) in call.input().get("params").and_then(Value::as_object).into_iter().flatten() {
                path = path.replace(&format!("{{{k}}}"), &client.transport.segment(&call.param(k).unwrap_or_default()));
            }
            let query: Vec<(&str, String)> = call
                .query()
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect();
            let url = if query.is_empty() {
                format!("{}{path}", client.base)
            } else {
                format!("{}{path}?{}", client.base, client.transport.query(&query))
            };
            let body = call.input().get("body");
            let method =
                Method::from_bytes(e.method.as_str().as_bytes()).map_err(|err| ClientError::new(ErrorKind::Other, err.to_string()))?;
            let req = Request {
                method,
                url,
                body,
                idempotency: e.idempotency_header.as_deref().map(|h| (h, uuid::Uuid::new_v4().to_string())),
                idempotent: e.is_idempotent(),
                auth: client.credential.clone().filter(|_| e.auth),
            };
            let resp = client.transport.send(&req).await?;
            let invalid = |m: String| ClientError::new(ErrorKind::InvalidResponse, m);
            if !resp.content_type.starts_with("application/json") {
                return Err(invalid(format!("expected application/json, got {:?}", resp.content_type)));
            }
            let v: Value = serde_json::from_slice(&resp.body).map_err(|err| invalid(format!("body is not valid JSON: {err}")))?;
            if let Some(schema) = &e.response.schema {
                let validator = jsonschema::validator_for(schema).map_err(|err| invalid(err.to_string()))?;
                if let Some(err) = validator.iter_errors(&v).next() {
                    return Err(invalid(format!("response off its schema at {}: {err}", err.instance_path())));
                }
            }
            Ok(v)
        },
    )
}
