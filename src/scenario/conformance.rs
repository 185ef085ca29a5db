//! Conformance: the client sends the request the spec describes and parses a valid response.

use assert_json_diff::{CompareMode, Config, assert_json_matches_no_panic};
use serde_json::Value;

use super::{Prepared, Setup, Verdict, expect_attempts, expect_ok};
use crate::redact;
use crate::spec::{Auth, Endpoint, Schema};
use crate::timeline::Arrival;

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
pub(super) fn resolved<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    let mut s = schema;
    for _ in 0..32 {
        match s.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')).and_then(|p| crate::spec::pointer(root, p)) {
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

/// Whether two JSON numbers are the same value: integers exactly (a float cannot stand for
/// an integer past 2^53), else by value (`2000` and `2000.0` are equal).
fn same_number(s: &serde_json::Number, r: &serde_json::Number) -> bool {
    let int = |n: &serde_json::Number| n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
    match (int(s), int(r)) {
        (Some(a), Some(b)) => a == b,
        (Some(a), None) | (None, Some(a)) => {
            let f = if int(s).is_some() { r.as_f64() } else { s.as_f64() };
            f.is_some_and(|f| f.fract() == 0.0 && f.abs() < 2f64.powi(53) && f as i128 == a)
        }
        (None, None) => s.as_f64() == r.as_f64(),
    }
}

/// What the client `returned` changed of the `served` response: every field it returns
/// must equal the served one (numbers by value: `2000` and `2000.0` are equal). It may
/// leave fields out (a typed client drops what it does not model), and may return `null`
/// for a field the response did not carry when `schema` does not require it (a typed
/// client's `Option` that was `None`).
pub(super) fn differences(served: &Value, returned: &Value, schema: Option<&Schema>) -> Vec<String> {
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
            (Value::Number(s), Value::Number(r)) if same_number(s, r) => {}
            (s, r) if s == r => {}
            (s, r) => out.push(format!("{here}: served {}, returned {}", shown(s), shown(r))),
        }
    }
    let mut out = Vec::new();
    walk(served, returned, schema.map(Schema::value), schema.map_or(&Value::Null, Schema::root), "", &mut out);
    out
}

pub(super) fn prepare(s: &Setup) -> Prepared {
    let e = s.endpoint.clone();
    let want_path = format!("{}{}", s.base_path, e.concrete_path());
    let base_path = s.base_path.clone();
    let input = e.request.example.clone().unwrap_or(Value::Null);
    let auth = s.spec.overview.auth.clone();
    let header = s.auth_header().map(str::to_string);
    let served = e.response.example.clone();
    // a 204 carries no body (RFC 9110 §15.3.5): what a client makes of nothing is not judged
    let no_content = e.response.status == 204;
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
                p.extend(request_problems(&e, &base_path, &input, a, &mut evidence));
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
            }
            let r = &o.returned[0];
            expect_ok(r, &mut p);
            if let Some(v) = r.value().filter(|_| !delivery && !no_content) {
                // empty where the provider served something (an empty object served is one returned: SendGrid's 202 `{}`)
                let empty = (v.is_null() && !served.is_null())
                    || v.as_object().is_some_and(|m| m.is_empty() && served.as_object().is_none_or(|s| !s.is_empty()))
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

/// A value that means something else unless it is encoded: reserved URL characters, a
/// percent sign, a plus, a space, non-ASCII text and an emoji.
const RESERVED: &str = "oc x/y?z#w%+&=é🎉";

/// Text a JSON encoder must escape: quotes, a backslash, control characters, non-ASCII.
const ESCAPED: &str = "oc \"quoted\" back\\slash\ttab\nline\u{1}é🎉";

/// Whether `schema` (its `$ref` followed) leaves a string free: no pattern, format, enum,
/// const or length cap, nor alternatives (`anyOf`, …), that another value would break.
pub(super) fn free_text(schema: &Value) -> bool {
    ["pattern", "format", "enum", "const", "maxLength", "anyOf", "oneOf", "allOf", "not"].iter().all(|c| schema.get(*c).is_none())
}

/// The request example with every free string value hostile: path parameters and query
/// values [`RESERVED`], body fields [`ESCAPED`] (those the request schema leaves free);
/// `None` when the endpoint has no such value.
pub(super) fn hostile_input(e: &Endpoint) -> Option<Value> {
    let mut input = e.request.example.clone()?;
    let mut changed = false;
    for part in ["params", "query"] {
        if let Some(Value::Object(m)) = input.get_mut(part) {
            for (k, v) in m.iter_mut() {
                let in_path = part == "query" || e.path.contains(&format!("{{{k}}}"));
                if v.is_string() && in_path {
                    *v = Value::String(RESERVED.into());
                    changed = true;
                }
            }
        }
    }
    let root = e.request.schema.as_ref().map_or(&Value::Null, |s| s.root());
    let props = e.request.schema.as_ref().and_then(|s| resolved(s.value(), root).get("properties"));
    if let Some(Value::Object(m)) = input.get_mut("body") {
        for (k, v) in m.iter_mut() {
            // a field's own schema, `$ref` followed (GitHub's enums are components of their own)
            let schema = props.and_then(|p| p.get(k)).map(|s| resolved(s, root));
            // with a request schema, only a field it names and leaves free (under a top-level
            // `oneOf` its fields are a branch's, not known here)
            let free = if e.request.schema.is_some() { schema.is_some_and(free_text) } else { true };
            if v.is_string() && free {
                *v = Value::String(ESCAPED.into());
                changed = true;
            }
        }
    }
    changed.then_some(input)
}

/// The request example with hostile values: each must reach the provider meaning what it
/// meant (percent-encoded in the path and the query, escaped in the JSON body).
pub(super) fn hostile(s: &Setup) -> Prepared {
    let e = s.endpoint.clone();
    let input = hostile_input(&e).unwrap_or(Value::Null);
    let base_path = s.base_path.clone();
    let original = e.request.example.clone().unwrap_or(Value::Null);
    let hostile_input = input.clone();
    Prepared::new(
        s,
        vec![s.script(vec![vec![crate::server::Step::Reply(s.ok())]], 1)],
        format!(
            "the call's path and query values set to {RESERVED:?}, its free body text to {ESCAPED:?} → one request that carries each value whole (percent-encoded in the URL, escaped in JSON); the call succeeds"
        ),
        Box::new(move |o| {
            let mut p = Vec::new();
            let mut evidence = String::new();
            let attempts = o.attempts(0);
            expect_attempts(attempts.len(), 1, "a healthy provider needs no retry", &mut p);
            if let Some(a) = attempts.first() {
                let want = constants_kept(&hostile_input, &original, a);
                p.extend(request_problems(&e, &base_path, &want, a, &mut evidence));
            }
            expect_ok(&o.returned[0], &mut p);
            let actual = match attempts.first() {
                Some(a) => format!("{} {} sent; returned {}", a.method, a.path, o.returned[0].describe()),
                None => format!("no request arrived; returned {}", o.returned[0].describe()),
            };
            Verdict { actual, problems: p, evidence }
        }),
    )
    .input(input)
}

/// The hostile input with the values the client sent as the spec's example had them put
/// back: a typed client's constant (`{"state": "closed"}` for a "close issue" call) is not
/// taken from the call, so it is not judged; any other value must arrive whole.
fn constants_kept(hostile: &Value, original: &Value, a: &Arrival) -> Value {
    let mut want = hostile.clone();
    let sent_body = a.json();
    let (_, q) = a.path.split_once('?').unwrap_or((&a.path, ""));
    let sent_query: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes()).into_owned().collect();
    for part in ["query", "body"] {
        let Some(Value::Object(fields)) = want.get_mut(part) else { continue };
        for (k, v) in fields.iter_mut() {
            let Some(example) = original.get(part).and_then(|o| o.get(k)) else { continue };
            let kept = match part {
                "query" => sent_query.iter().any(|(sk, sv)| sk == k && *sv == url_text(example)),
                _ => sent_body.as_ref().and_then(|b| b.get(k)) == Some(example),
            };
            if kept {
                *v = example.clone();
            }
        }
    }
    want
}

/// `text` with its `%XX` escapes decoded (a `+` stays a `+`: in a path it is one).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JSON value as it goes into a URL: a string as it is, anything else as JSON.
fn url_text(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
}

/// The path segments a request for `input` must name, each decoded: the base path's, then
/// the endpoint's with each `{param}` the input's value whole (a `/` in it is part of it),
/// also where one segment holds several (GitHub's `/compare/{base}...{head}`).
fn want_segments(base_path: &str, e: &Endpoint, input: &Value) -> Vec<String> {
    let params = input.get("params").and_then(Value::as_object);
    let template = format!("{base_path}{}", e.path);
    template
        .split('/')
        .skip(1)
        .map(|seg| {
            // each `{name}` in turn, so a value that itself reads `{other}` stays as it is
            let (mut out, mut rest) = (String::new(), seg);
            while let Some((before, after)) = rest.split_once('{') {
                out.push_str(before);
                match after.split_once('}') {
                    Some((name, tail)) => {
                        match params.and_then(|p| p.get(name)) {
                            Some(v) => out.push_str(&url_text(v)),
                            None => out.push_str(&format!("{{{name}}}")),
                        }
                        rest = tail;
                    }
                    None => {
                        out.push('{');
                        rest = after;
                    }
                }
            }
            out.push_str(rest);
            out
        })
        .collect()
}

/// What the request `a` got wrong of the call for `input` (its `params`, `query` and `body`):
/// the method, the path (segment by segment, percent-decoded, so a value must reach the
/// provider encoded to mean what it means), each query value (form-decoded: `+` is a
/// space), the content type and the body.
pub(super) fn request_problems(e: &Endpoint, base_path: &str, input: &Value, a: &Arrival, evidence: &mut String) -> Vec<String> {
    let mut p = Vec::new();
    if a.method != e.method.as_str() {
        p.push(format!("expected method {}, found {}", e.method, a.method));
    }
    let (path, q) = a.path.split_once('?').unwrap_or((&a.path, ""));
    let want = want_segments(base_path, e, input);
    let found: Vec<String> = path.split('/').skip(1).map(percent_decode).collect();
    if found != want {
        let shown = |segs: &[String]| segs.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(" / ");
        p.push(redact::redact(&format!(
            "expected path {base_path}{} (segments {}), found {path} (segments {}): a value must be percent-encoded to reach the provider whole",
            e.path,
            shown(&want),
            shown(&found),
        )));
    }
    if let Some(Value::Object(params)) = input.get("query") {
        let sent: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes()).into_owned().collect();
        for (k, v) in params {
            let v = url_text(v);
            if !sent.iter().any(|(sk, sv)| *sk == *k && *sv == v) {
                let got = sent.iter().find(|(sk, _)| sk == k).map(|(_, sv)| format!("{k}={sv:?} decoded")).unwrap_or("none".into());
                p.push(redact::redact(&format!("expected query parameter {k}={v:?} (decoded), found {got} in query {q:?}")));
            }
        }
    }
    let Some(want_body) = input.get("body").filter(|_| e.request_body().is_some()) else { return p };
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
                    && let Ok(errors) = schema.violations(&sent, 3)
                {
                    for err in errors {
                        p.push(format!("expected the body to satisfy the request schema, found at {}: {err}", err.at));
                    }
                }
                if let Err(d) = assert_json_matches_no_panic(&sent, want_body, Config::new(CompareMode::Inclusive)) {
                    p.push(format!("expected the body to carry the request example's fields, found differences:\n{}", redact::redact(&d)));
                    *evidence = json_diff("expected body", want_body, "sent body", &sent);
                }
            }
        }
    }
    p
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

    use super::{constants_kept, differences};

    #[test]
    fn a_typed_client_may_return_null_for_optional_fields_and_drop_unknown_ones() {
        let schema = crate::spec::Schema::inline(
            json!({"$defs": {"user": {"type": "object", "required": ["login"], "properties": {"login": {}, "name": {}}}},
            "type": "object", "required": ["id", "user"],
            "properties": {"id": {}, "user": {"$ref": "#/$defs/user"}, "labels": {"type": "array", "items": {"allOf": [{"required": ["name"]}]}}}}),
        );
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

    /// A typed client's constant (sent as the example has it) is not judged in the hostile
    /// case; any other value must arrive whole.
    #[test]
    fn hostile_values_spare_a_clients_constants() {
        let arrival = |path: &str, body: serde_json::Value| crate::timeline::Arrival {
            at: std::time::Duration::ZERO,
            wall: std::time::SystemTime::now(),
            call: 0,
            target: crate::timeline::Target::Api,
            method: "PATCH".into(),
            path: path.into(),
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
            reply: String::new(),
            refused: false,
            hung_up_after: None,
            answered: None,
        };
        let original = json!({"query": {"state": "open"}, "body": {"state": "closed", "title": "t"}});
        let hostile = json!({"query": {"state": "x y"}, "body": {"state": "x\n", "title": "x\n"}});
        let kept = constants_kept(&hostile, &original, &arrival("/i?state=open", json!({"state": "closed", "title": "x\n"})));
        assert_eq!(kept, json!({"query": {"state": "open"}, "body": {"state": "closed", "title": "x\n"}}));
        // a mangled value is judged against the hostile one
        let judged = constants_kept(&hostile, &original, &arrival("/i?state=x", json!({"state": "x", "title": "x"})));
        assert_eq!(judged, hostile);
    }

    /// Only free text turns hostile: a field whose schema is a `$ref` to an enum (GitHub's
    /// alert `state`), a choice of schemas, or none the request schema names keeps its example value.
    #[test]
    fn hostile_body_values_go_only_into_free_text() {
        let mut e: crate::spec::Endpoint = serde_json::from_value(json!({
            "id": "update", "method": "PATCH", "path": "/alerts/1", "purpose": "p",
            "request": {"example": {"body": {"state": "open", "reason": "won't fix", "comment": "c", "note": "n"}}},
            "response": {"example": {}}
        }))
        .unwrap();
        e.request.schema = Some(crate::spec::Schema::inline(json!({
            "type": "object",
            "properties": {
                "state": {"$ref": "#/$defs/state"},
                "reason": {"anyOf": [{"type": "string", "enum": ["won't fix"]}, {"type": "null"}]},
                "comment": {"type": "string"}
            },
            "$defs": {"state": {"type": "string", "enum": ["open", "dismissed"]}}
        })));
        let body = &super::hostile_input(&e).expect("the comment is free text")["body"];
        assert_eq!((&body["state"], &body["reason"]), (&json!("open"), &json!("won't fix")));
        assert_eq!(body["note"], json!("n"), "a field the schema does not name is not known to be free");
        assert_eq!(body["comment"], json!(super::ESCAPED));
    }

    /// Two parameters in one segment (GitHub's `/compare/{base}...{head}`) are both filled in
    /// place, each value whole; a value that reads like a parameter stays as it is.
    #[test]
    fn every_parameter_of_a_segment_is_filled() {
        let e: crate::spec::Endpoint = serde_json::from_value(json!({
            "id": "compare", "method": "GET", "path": "/repos/{owner}/compare/{base}...{head}", "purpose": "p", "response": {"example": {}}
        }))
        .unwrap();
        let input = json!({"params": {"owner": "o", "base": "{head}", "head": "feature/x"}});
        assert_eq!(super::want_segments("/api", &e, &input), ["api", "repos", "o", "compare", "{head}...feature/x"]);
        // a parameter the input does not give stays as written
        assert_eq!(super::want_segments("", &e, &json!({"params": {"owner": "o"}}))[3], "{base}...{head}");
    }
}
