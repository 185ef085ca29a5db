//! Conformance: the client sends the request the spec describes and parses a valid response.

use assert_json_diff::{CompareMode, Config, assert_json_matches_no_panic};
use serde_json::Value;

use super::{Prepared, Setup, Verdict, expect_attempts, expect_ok};
use crate::redact;
use crate::spec::Auth;

/// `v` with every object's keys in order, so a diff shows what changed, not what moved.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&m[k]))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// A unified diff of two JSON values, pretty-printed with keys in order.
pub(super) fn json_diff(label_a: &str, a: &Value, label_b: &str, b: &Value) -> String {
    let pa = serde_json::to_string_pretty(&sorted(a)).unwrap_or_default() + "\n";
    let pb = serde_json::to_string_pretty(&sorted(b)).unwrap_or_default() + "\n";
    let diff = similar::TextDiff::from_lines(&pa, &pb);
    redact::redact(&diff.unified_diff().context_radius(3).header(label_a, label_b).to_string())
}

/// `schema` with a local `$ref` (`#/$defs/…`, `#/definitions/…`) followed, against `root`.
fn resolved<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    let mut s = schema;
    for _ in 0..32 {
        match s.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')).and_then(|p| root.pointer(p)) {
            Some(next) => s = next,
            None => break,
        }
    }
    s
}

/// `schema` and the `allOf` members it is made of (references followed).
fn parts<'a>(schema: &'a Value, root: &'a Value) -> Vec<&'a Value> {
    let s = resolved(schema, root);
    let mut out = vec![s];
    for m in s.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        out.extend(parts(m, root));
    }
    out
}

/// Whether `schema` requires the object field `key`.
fn requires(schema: Option<&Value>, root: &Value, key: &str) -> bool {
    schema.is_some_and(|s| {
        parts(s, root).iter().any(|p| p.get("required").and_then(Value::as_array).is_some_and(|r| r.iter().any(|k| k == key)))
    })
}

/// The schema of `key` inside `schema` (an object field, or `items` for an array element).
fn child<'a>(schema: Option<&'a Value>, root: &'a Value, key: Option<&str>) -> Option<&'a Value> {
    parts(schema?, root).into_iter().find_map(|p| match key {
        Some(k) => p.get("properties").and_then(|ps| ps.get(k)),
        None => p.get("items").filter(|i| i.is_object()),
    })
}

/// A value as a difference names it: JSON, cut short.
fn shown(v: &Value) -> String {
    crate::text::clip(&v.to_string())
}

/// What the client `returned` changed of the `served` response: every field it returns
/// must equal the served one (numbers by value: `2000` and `2000.0` are equal). It may
/// leave fields out (a typed client drops what it does not model), and may return `null`
/// for a field the response did not carry when `schema` does not require it (a typed
/// client's `Option` that was `None`).
pub(super) fn differences(served: &Value, returned: &Value, schema: Option<&Value>) -> Vec<String> {
    fn walk(served: &Value, returned: &Value, schema: Option<&Value>, root: &Value, at: &str, out: &mut Vec<String>) {
        let here = if at.is_empty() { "the response".to_string() } else { format!("`{at}`") };
        match (served, returned) {
            (Value::Object(s), Value::Object(r)) => {
                for (k, rv) in r {
                    let path = format!("{at}.{k}");
                    match s.get(k) {
                        Some(sv) => walk(sv, rv, child(schema, root, Some(k)), root, &path, out),
                        None if rv.is_null() && !requires(schema, root, k) => {}
                        None if rv.is_null() => {
                            out.push(format!("`{path}`: returned null for a field the schema requires and the response did not carry"))
                        }
                        None => out.push(format!("`{path}`: returned {}, a field the response did not carry", shown(rv))),
                    }
                }
            }
            (Value::Array(s), Value::Array(r)) => {
                for (i, rv) in r.iter().enumerate() {
                    let path = format!("{at}[{i}]");
                    match s.get(i) {
                        Some(sv) => walk(sv, rv, child(schema, root, None), root, &path, out),
                        None => out.push(format!("`{path}`: returned {}, an element the response did not carry", shown(rv))),
                    }
                }
            }
            (Value::Number(s), Value::Number(r)) if s.as_f64() == r.as_f64() => {}
            (s, r) if s == r => {}
            (s, r) => out.push(format!("{here}: served {}, returned {}", shown(s), shown(r))),
        }
    }
    let mut out = Vec::new();
    walk(served, returned, schema, schema.unwrap_or(&Value::Null), "", &mut out);
    out
}

pub(super) fn prepare(s: &Setup) -> Prepared {
    let e = s.endpoint.clone();
    let want_path = format!("{}{}", s.base_path, e.concrete_path());
    let query = s.endpoint.request.example.as_ref().and_then(|x| x.get("query")).cloned();
    let auth = s.spec.overview.auth.clone();
    let header = s.auth_header().map(str::to_string);
    let served = e.response.example.clone();
    let schema = e.response.schema.clone();
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
                } else {
                    let changed = differences(&served, v, schema.as_ref());
                    if !changed.is_empty() {
                        p.push(format!(
                            "expected every returned field to equal the served response, found differences:\n{}",
                            redact::redact(&changed.join("\n"))
                        ));
                        evidence = json_diff("served", &served, "returned", v);
                    }
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

    use super::differences;

    #[test]
    fn a_typed_client_may_return_null_for_optional_fields_and_drop_unknown_ones() {
        let schema = json!({"$defs": {"user": {"type": "object", "required": ["login"], "properties": {"login": {}, "name": {}}}},
            "type": "object", "required": ["id", "user"],
            "properties": {"id": {}, "user": {"$ref": "#/$defs/user"}, "labels": {"type": "array", "items": {"allOf": [{"required": ["name"]}]}}}});
        let served = json!({"id": 1, "user": {"login": "octocat", "site_admin": false}, "labels": [{"name": "bug"}], "amount": 2000});
        // `Option` fields the response did not carry, unknown fields dropped, a float for an integer
        let typed = json!({"id": 1, "user": {"login": "octocat", "name": null}, "labels": [{"name": "bug", "color": null}], "amount": 2000.0, "note": null});
        assert_eq!(differences(&served, &typed, Some(&schema)), Vec::<String>::new());
        // a changed value, a required field made null, a field the response never had
        let wrong = json!({"id": 2, "user": {"login": "octocat"}, "labels": [{"name": null}], "extra": "x"});
        assert_eq!(
            differences(&served, &wrong, Some(&schema)),
            [
                "`.id`: served 1, returned 2",
                "`.labels[0].name`: served \"bug\", returned null",
                "`.extra`: returned \"x\", a field the response did not carry"
            ]
        );
        let required_null = json!({"id": 1, "user": null});
        assert_eq!(
            differences(&json!({"id": 1}), &required_null, Some(&schema)),
            ["`.user`: returned null for a field the schema requires and the response did not carry"]
        );
        assert_eq!(
            differences(&json!([1, 2]), &json!([1, 3, 4]), None),
            ["`[1]`: served 2, returned 3", "`[2]`: returned 4, an element the response did not carry"]
        );
        assert_eq!(differences(&json!("a"), &json!("b"), None), ["the response: served \"a\", returned \"b\""]);
    }

    #[test]
    fn diffs_show_what_changed_not_what_moved() {
        let diff = super::json_diff("served", &json!({"a": 1, "b": 2}), "returned", &json!({"b": 2, "a": 3}));
        assert_eq!(
            diff.lines().filter(|l| l.starts_with(['-', '+']) && !l.starts_with("---") && !l.starts_with("+++")).count(),
            2,
            "{diff}"
        );
    }

    #[test]
    fn form_fields_are_flattened_as_stripe_writes_them() {
        let mut out = Vec::new();
        super::flatten_form("", &json!({"amount": 2000, "metadata": {"plan": "pro"}, "items": [{"price": "p_1"}]}), &mut out);
        let out: Vec<String> = out.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(out, ["amount=2000", "metadata[plan]=pro", "items[0][price]=p_1"]);
    }
}
