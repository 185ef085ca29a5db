//! Conformance: the client sends the request the spec describes and parses a valid response.

use assert_json_diff::{CompareMode, Config, assert_json_matches_no_panic};
use serde_json::Value;

use super::{Prepared, Setup, Verdict, expect_attempts, expect_ok};
use crate::redact;
use crate::spec::Auth;

/// A unified diff of two JSON values, pretty-printed.
pub(super) fn json_diff(label_a: &str, a: &Value, label_b: &str, b: &Value) -> String {
    let pa = serde_json::to_string_pretty(a).unwrap_or_default() + "\n";
    let pb = serde_json::to_string_pretty(b).unwrap_or_default() + "\n";
    let diff = similar::TextDiff::from_lines(&pa, &pb);
    redact::redact(&diff.unified_diff().context_radius(3).header(label_a, label_b).to_string())
}

pub(super) fn prepare(s: &Setup) -> Prepared {
    let e = s.endpoint.clone();
    let want_path = format!("{}{}", s.base_path, e.concrete_path());
    let query = s.endpoint.request.example.as_ref().and_then(|x| x.get("query")).cloned();
    let auth = s.spec.overview.auth.clone();
    let header = s.auth_header().map(str::to_string);
    let served = e.response.example.clone();
    let delivery = s.delivery;
    let creds = s.credentials.clone();
    let expected = format!(
        "one {} {want_path} with {}{}; {}",
        e.method,
        header.as_deref().map(|h| format!("the credential in {h}")).unwrap_or("no credential".into()),
        if e.request_body().is_some() {
            format!(", a body of type {} matching the request", e.request.content_type)
        } else {
            String::new()
        },
        if delivery { "success returned" } else { "the parsed response returned" },
    );
    Prepared::new(
        s,
        vec![s.script(vec![vec![crate::server::Step::Reply(s.ok())]], 1)],
        expected,
        Box::new(move |o| {
            let mut p = Vec::new();
            let mut evidence = String::new();
            let attempts = o.attempts(0);
            expect_attempts(attempts.len(), 1, "a healthy provider needs no retry", &mut p);
            if let Some(a) = attempts.first() {
                if a.method != e.method.as_str() {
                    p.push(format!("expected method {}, found {}", e.method, a.method));
                }
                let (path, q) = a.path.split_once('?').unwrap_or((&a.path, ""));
                if path != want_path {
                    p.push(format!("expected path {want_path}, found {path}"));
                }
                if let Some(Value::Object(params)) = &query {
                    for (k, v) in params {
                        let v = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                        let found = q.split('&').filter_map(|kv| kv.split_once('=')).any(|(qk, qv)| qk == k && qv == v);
                        if !found {
                            p.push(format!("expected query parameter {k}={v}, found query {q:?}"));
                        }
                    }
                }
                match (&header, a.header(header.as_deref().unwrap_or(""))) {
                    (Some(h), None) => p.push(format!("expected a credential in header {h}, found none")),
                    (Some(h), Some(v)) => {
                        let want = match &auth {
                            Auth::ApiKey { prefix, .. } => creds.api_key.as_ref().map(|k| format!("{prefix}{k}")),
                            Auth::Oauth2 { .. } => creds.access_token.as_ref().map(|t| format!("Bearer {t}")),
                            Auth::None => None,
                        };
                        if want.as_deref() != Some(v) {
                            p.push(format!("expected {h} to carry the issued credential, found {}", redact::header_value(h, v)));
                        }
                    }
                    (None, _) => {}
                }
                if let Some(want_body) = e.request_body() {
                    let ct = a.header("content-type").unwrap_or("");
                    if !ct.starts_with(&e.request.content_type) {
                        p.push(format!("expected Content-Type {}, found {ct:?}", e.request.content_type));
                    }
                    match a.json() {
                        None => p.push(format!("expected a JSON body, found {:?}", redact::redact(&String::from_utf8_lossy(&a.body)))),
                        Some(sent) => {
                            if let Some(schema) = &e.request.schema
                                && let Ok(v) = jsonschema::validator_for(schema)
                            {
                                for err in v.iter_errors(&sent).take(3) {
                                    p.push(format!(
                                        "expected the body to satisfy the request schema, found at {}: {err}",
                                        err.instance_path()
                                    ));
                                }
                            }
                            if let Err(d) = assert_json_matches_no_panic(&sent, want_body, Config::new(CompareMode::Inclusive)) {
                                p.push(format!(
                                    "expected the body to carry the request example's fields, found differences:\n{}",
                                    redact::redact(&d)
                                ));
                                evidence = json_diff("expected body", want_body, "sent body", &sent);
                            }
                        }
                    }
                }
            }
            let r = &o.returned[0];
            expect_ok(r, &mut p);
            if let Some(v) = r.value().filter(|_| !delivery) {
                let empty = v.is_null()
                    || v.as_object().is_some_and(|m| m.is_empty())
                    || v.as_array().is_some_and(|a| a.is_empty() && served.as_array().is_some_and(|s| !s.is_empty()));
                if empty {
                    p.push(format!("expected the parsed response, found an empty value {v}"));
                } else if let Err(d) = assert_json_matches_no_panic(&served, v, Config::new(CompareMode::Inclusive)) {
                    p.push(format!(
                        "expected every returned field to equal the served response, found differences:\n{}",
                        redact::redact(&d)
                    ));
                    evidence = json_diff("served", &served, "returned", v);
                }
            }
            let actual = match attempts.first() {
                Some(a) => format!(
                    "{} {} sent; returned {}",
                    a.method,
                    a.path,
                    match r.value() {
                        Some(_) if delivery => "success".into(),
                        Some(_) => "the parsed response".into(),
                        None => r.describe(),
                    }
                ),
                None => format!("no request arrived; returned {}", r.describe()),
            };
            Verdict { actual, problems: p, evidence }
        }),
    )
}
