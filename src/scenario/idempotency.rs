//! Duplicate POSTs: an idempotent POST is retried after a 500 and after a dropped response,
//! and succeeds (its keys — one per call, kept across its retries — are judged by the
//! invariants of every case, `invariant`); a POST without one is never retried after an
//! ambiguous failure. And the consequence, played by a provider that keeps state: a key
//! store that dedupes creates as Stripe documents, so a retry with the call's key is
//! replayed and a retry with another key creates the resource twice.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::{Prepared, Setup, Verdict, expect_attempts, expect_error, expect_ok};
use crate::binding::ErrorKind;
use crate::redact;
use crate::server::{Reply, Route, Step};
use crate::timeline::{Arrival, Target};

/// `k1, k1` — the keys of a call's attempts, `none` where an attempt had none.
fn show(keys: &[Option<String>]) -> String {
    redact::redact(&keys.iter().map(|k| k.as_deref().unwrap_or("none")).collect::<Vec<_>>().join(", "))
}

pub(super) fn prepare(s: &Setup) -> Prepared {
    let ok = Step::Reply(s.ok());
    match s.endpoint.idempotency_header.clone().filter(|_| s.endpoint.is_idempotent()) {
        Some(header) => {
            let err500 = Step::Reply(Reply::json(500, &serde_json::json!({"error": "injected 500"})));
            let calls = vec![vec![err500, ok.clone()], vec![Step::Reset, ok]];
            let key = header.to_ascii_lowercase();
            Prepared::new(s, vec![s.script(calls, 2)], format!(
                    "call 1: 500 then 200, call 2: dropped response then 200 → every attempt carries {header}, the same key within a call and a new key per call"
                ), Box::new(move |o| {
                    let mut p = Vec::new();
                    let mut keys: Vec<Vec<Option<String>>> = Vec::new();
                    for call in 0..2 {
                        let a = o.attempts(call);
                        let mut q = Vec::new();
                        expect_attempts(a.len(), 2, "one failure, then one retry", &mut q);
                        expect_ok(&o.returned[call], &mut q);
                        p.extend(q.into_iter().map(|m| format!("call {}: {m}", call + 1)));
                        keys.push(a.iter().map(|x| x.header(&key).map(str::to_string)).collect());
                    }
                    // the keys themselves are judged by the invariants of every case (`invariant`)
                    let actual = keys
                        .iter()
                        .enumerate()
                        .map(|(c, ks)| format!("call {}: {} attempt(s), keys {}", c + 1, ks.len(), show(ks)))
                        .collect::<Vec<_>>()
                        .join("; ");
                    Verdict { actual, problems: p, evidence: String::new() }
                })).calls(2)
        }
        None => Prepared::new(
            s,
            vec![s.script(vec![vec![Step::Reset, ok]], 1)],
            "dropped response after the POST was sent → not idempotent, so no retry: one attempt and a Connection error".into(),
            Box::new(move |o| {
                let mut p = Vec::new();
                let a = o.attempts(0);
                expect_attempts(a.len(), 1, "the write may have happened; a retry could duplicate it", &mut p);
                expect_error(&o.returned[0], &[ErrorKind::Connection], None, &mut p);
                Verdict {
                    actual: format!("{} attempt(s); returned {}", a.len(), o.returned[0].describe()),
                    problems: p,
                    evidence: String::new(),
                }
            }),
        ),
    }
}

/// One resource the provider created: its id and the key (if any) it was created under.
struct Created {
    id: String,
    key: Option<String>,
    reply: Reply,
}

/// The provider's side of a keyed create, as Stripe documents it: the first request with a
/// key is processed and its answer saved; a later request with the same key and the same
/// parameters (compared as the provider does, not byte for byte) gets the saved answer again
/// (`Idempotent-Replayed: true`), with other parameters a 400
/// `idempotency_error`; a request with a new key, or none, creates another resource.
#[derive(Default)]
struct KeyStore {
    created: Vec<Created>,
    /// The first request made with each key, to compare a repeat's parameters with.
    firsts: Vec<(String, Arrival)>,
}

impl KeyStore {
    /// The answer to `a`, with the key found in `header`; `template` is the success reply
    /// whose `id` each new resource replaces.
    fn answer(&mut self, a: &Arrival, header: &str, template: &Value, status: u16) -> Reply {
        let key = a.header(header).map(str::to_string);
        if let Some(k) = &key
            && let Some(c) = self.created.iter().find(|c| c.key.as_ref() == Some(k))
        {
            let same = self.firsts.iter().any(|(fk, first)| fk == k && super::invariant::same_parameters(first, a));
            if !same {
                return Reply::json(
                    400,
                    &serde_json::json!({"error": {"type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the same parameters they were first used with."}}),
                );
            }
            return c.reply.clone().header("Idempotent-Replayed", "true");
        }
        let n = self.created.len() + 1;
        let mut body = template.clone();
        let id = match body.get("id") {
            Some(Value::String(base)) => format!("{base}_{n}"),
            Some(Value::Number(base)) => (base.as_u64().unwrap_or(0) + n as u64).to_string(),
            _ => format!("resource {n}"),
        };
        if let Some(Value::String(_)) = body.get("id") {
            body["id"] = Value::String(id.clone());
        } else if let Some(Value::Number(_)) = body.get("id") {
            body["id"] = serde_json::json!(id.parse::<u64>().unwrap_or(0));
        }
        let reply = Reply::json(status, &body);
        if let Some(k) = &key {
            self.firsts.push((k.clone(), a.clone()));
        }
        self.created.push(Created { id, key, reply: reply.clone() });
        reply
    }
}

/// Two keyed creates against the key store, each processed and its answer then lost (the
/// connection dropped): the retry with the call's key is replayed, so the provider holds
/// one resource per call, and each call returns its own.
pub(super) fn replayed(s: &Setup) -> Prepared {
    let header = s.endpoint.idempotency_header.clone().unwrap_or_default();
    let store: Arc<Mutex<KeyStore>> = Arc::default();
    let template = s.endpoint.response.example.clone();
    let status = s.endpoint.response.status;
    let route = {
        let (store, header) = (store.clone(), header.clone());
        Route {
            target: Target::Api,
            path: None,
            behaviour: Arc::new(move |a: &Arrival, attempt| {
                let reply = store.lock().unwrap_or_else(|p| p.into_inner()).answer(a, &header, &template, status);
                // the first attempt of each call is processed, then its answer is lost
                if attempt == 0 { Step::Reset } else { Step::Reply(reply) }
            }),
            limit: 2,
            raw: true,
        }
    };
    let expected = format!(
        "2 calls, each created by the provider and its answer then lost (connection dropped) → each retried with its {header}: the provider replays the saved answer (Idempotent-Replayed: true) → it holds exactly one resource per call, and each call returns its own"
    );
    Prepared::new(
        s,
        vec![route],
        expected,
        Box::new(move |o| {
            let mut p = Vec::new();
            let store = store.lock().unwrap_or_else(|e| e.into_inner());
            let held: Vec<String> = store.created.iter().map(|c| c.id.clone()).collect();
            if held.len() != 2 {
                p.push(format!(
                    "expected the provider to hold exactly 2 resources after 2 calls (one per call, retries replayed by key), found {}: {}",
                    held.len(),
                    held.join(", ")
                ));
            }
            for call in 0..2 {
                let a = o.attempts(call);
                let mut q = Vec::new();
                expect_attempts(a.len(), 2, "the lost answer, then one retry with the same key", &mut q);
                expect_ok(&o.returned[call], &mut q);
                let created = a.first().and_then(|first| {
                    let k = first.header(&header)?;
                    store.created.iter().find(|c| c.key.as_deref() == Some(k)).map(|c| c.id.clone())
                });
                let returned =
                    o.returned[call].value().and_then(|v| v.get("id")).map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string()));
                if let (Some(c), Some(r)) = (&created, &returned)
                    && c != r
                {
                    q.push(format!("expected it to return the resource its first attempt created ({c}), found {r}"));
                }
                p.extend(q.into_iter().map(|m| format!("call {}: {m}", call + 1)));
            }
            let actual = format!(
                "provider holds {} resource(s): {}",
                held.len(),
                store
                    .created
                    .iter()
                    .map(|c| format!("{} (key {})", c.id, redact::redact(c.key.as_deref().unwrap_or("none"))))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Verdict { actual, problems: p, evidence: String::new() }
        }),
    )
    .calls(2)
}
