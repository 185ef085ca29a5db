//! Duplicate POSTs: an idempotent POST is retried after a 500 and after a dropped response,
//! and succeeds (its keys — one per call, kept across its retries — are judged by the
//! invariants of every case, `invariant`); a POST without one is never retried after an
//! ambiguous failure.

use super::{Prepared, Setup, Verdict, expect_attempts, expect_error, expect_ok};
use crate::binding::ErrorKind;
use crate::redact;
use crate::server::{Reply, Step};

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
