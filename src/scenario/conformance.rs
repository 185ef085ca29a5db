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
                        // an authentication scheme (`Bearer `, `Basic `) is case-insensitive (RFC 7235)
                        let same = want.as_deref().is_some_and(|w| match w.split_once(' ') {
                            Some((scheme, rest)) if !scheme.is_empty() => {
                                v.split_once(' ').is_some_and(|(vs, vr)| vs.eq_ignore_ascii_case(scheme) && vr == rest)
                            }
                            _ => w == v,
                        });
                        if !same {
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
                    let media = e.request.content_type.to_ascii_lowercase();
                    if media.starts_with("application/x-www-form-urlencoded") {
                        let sent: Vec<(String, String)> = form_urlencoded::parse(&a.body).into_owned().collect();
                        let mut want = Vec::new();
                        flatten_form("", want_body, &mut want);
                        let missing: Vec<String> = want
                            .iter()
                            .filter(|w| !sent.contains(w))
                            .map(|(k, v)| match sent.iter().find(|(s, _)| s == k) {
                                Some((_, found)) => format!("{k}={v} (found {k}={found})"),
                                None => format!("{k}={v} (absent)"),
                            })
                            .collect();
                        if !missing.is_empty() {
                            p.push(redact::redact(&format!(
                                "expected the form body to carry the request example's fields, found differences: {}",
                                missing.join(", ")
                            )));
                        }
                    } else if !media.contains("json") {
                        // multipart, XML and other bodies: their type and presence are checked, not their fields
                        if a.body.is_empty() {
                            p.push(format!("expected a {} body, found none", e.request.content_type));
                        }
                    } else {
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

/// `v` as the fields of a form body, nested keys in brackets as Stripe and Rails write them
/// (`metadata[plan]=pro`, `items[0][price]=p_1`); strings as they are, other scalars as JSON.
///
fn flatten_form(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    let key = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}[{k}]") };
    match v {
        Value::Object(o) => o.iter().for_each(|(k, x)| flatten_form(&key(k), x, out)),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| flatten_form(&key(&i.to_string()), x, out)),
        Value::String(t) => out.push((prefix.to_string(), t.clone())),
        Value::Null => out.push((prefix.to_string(), String::new())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn form_fields_are_flattened_as_stripe_writes_them() {
        let mut out = Vec::new();
        super::flatten_form("", &json!({"amount": 2000, "metadata": {"plan": "pro"}, "items": [{"price": "p_1"}]}), &mut out);
        let out: Vec<String> = out.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(out, ["amount=2000", "metadata[plan]=pro", "items[0][price]=p_1"]);
    }
}
