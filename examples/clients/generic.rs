//! A generic client for any spec: the endpoint's method, path, query and body from the
//! spec, the example transport's retry policy and timeouts, and the answer checked against
//! the endpoint's response schema. It is how the generated suite of a *planned* spec (from a
//! provider's own OpenAPI document) runs against a correct client.

use std::sync::Arc;

use oc_integrate::spec::Auth;
use oc_integrate::{Binding, Call, ClientError, Context, ErrorKind};
use reqwest::Method;
use serde_json::Value;

use super::flaw::Flaw;
use super::transport::{Encoding, Request, Response, Transport};

struct Generic {
    transport: Transport,
    base: String,
    /// The trial's context, for its spec (shared, not copied: a provider's spec is large).
    ctx: Context,
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
            let mut transport = Transport::new(ctx, flaws);
            // a provider that says when its rate limit resets (GitHub: `x-ratelimit-reset`, and 403 for an exhausted limit)
            if let Some(reset) = ctx.spec().error_handling.iter().find_map(|r| r.reset.clone()) {
                transport = transport.with_rate_limit_reset(reset);
            }
            Generic { transport, base: ctx.base_url().to_string(), ctx: ctx.clone(), credential }
        },
        |client: Arc<Generic>, call: Call| async move {
            let Some(e) = client.ctx.spec().endpoints.iter().find(|e| e.id == call.endpoint()) else {
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
            let media = e.request.content_type.to_ascii_lowercase();
            let encoding = if media.starts_with("application/x-www-form-urlencoded") {
                Encoding::Form
            } else if media.starts_with("multipart/form-data") {
                Encoding::Multipart
            } else if media.contains("json") {
                Encoding::Json
            } else {
                // text/plain (GitHub's raw markdown), application/octet-stream (a release asset)
                Encoding::Raw(&e.request.content_type)
            };
            let method =
                Method::from_bytes(e.method.as_str().as_bytes()).map_err(|err| ClientError::new(ErrorKind::Other, err.to_string()))?;
            let req = Request {
                method,
                url,
                body,
                encoding,
                idempotency: e.idempotency_header.as_deref().map(|h| (h, uuid::Uuid::new_v4().to_string())),
                idempotent: e.is_idempotent(),
                auth: client.credential.clone().filter(|_| e.auth),
            };
            let invalid = |m: String| ClientError::new(ErrorKind::InvalidResponse, m);
            let schema = &e.response.schema;
            if let Some(s) = schema {
                s.check().map_err(invalid)?;
            }
            // the answer parsed and checked against the endpoint's schema (for a list, each page)
            let checked = |resp: Response| -> Result<Value, ClientError> {
                // a 204 has no body: nothing to read
                if e.response.status == 204 && resp.body.is_empty() {
                    return Ok(Value::Null);
                }
                // a response the spec does not declare strictly JSON (a PDF's, planned as `{}`) is read whatever its type
                if e.response.strict_content_type && !resp.content_type.starts_with("application/json") {
                    return Err(invalid(format!("expected application/json, got {:?}", resp.content_type)));
                }
                let v: Value = serde_json::from_slice(&resp.body).map_err(|err| invalid(format!("body is not valid JSON: {err}")))?;
                if let Some(err) = schema.as_ref().and_then(|s| s.violations(&v, 1).ok()?.into_iter().next()) {
                    return Err(invalid(format!("response off its schema at {}: {err}", err.at)));
                }
                Ok(v)
            };
            let Some(pagination) = &e.pagination else {
                return checked(client.transport.send(&req).await?);
            };
            // every page checked, then all the items in the last page's shape
            let last: std::sync::Mutex<Value> = Default::default();
            let (transport, checked, last_page, req) = (&client.transport, &checked, &last, &req);
            let fetch = move |url: String, idempotent| async move {
                let page = Request { url, idempotent, ..req.clone() };
                let resp = transport.send(&page).await?;
                let next_link = resp.next_link.clone();
                let v = checked(resp)?;
                let body = serde_json::to_vec(&v).unwrap_or_default();
                *last_page.lock().unwrap() = v;
                Ok(Response { content_type: "application/json".into(), body, next_link })
            };
            let items = client.transport.paginate(pagination, req.url.clone(), fetch).await?;
            let mut page = last.into_inner().unwrap();
            oc_integrate::spec::pagination::set(&mut page, pagination.items(), Value::Array(items));
            Ok(page)
        },
    )
}
