//! Connection faults: refused, reset before or during the response, a body cut short.
//! Idempotent calls are retried per policy; a non-idempotent call whose request may have
//! been processed is not. A refused connection carried no request, so it may always be
//! retried, but the server cannot see those attempts: only the returned error is judged.

use super::{Prepared, Setup, Verdict, attempts_summary, expect_error, expect_ok, expect_retries};
use crate::binding::ErrorKind;
use crate::case::Kind;
use crate::server::Step;

pub(super) fn prepare(kind: Kind, s: &Setup) -> Prepared {
    let ok = s.ok();
    let half = ok.body.len() / 2;
    let idempotent = s.endpoint.is_idempotent();
    if kind == Kind::ConnectionRefused {
        return Prepared::new(
            s,
            Vec::new(),
            "nothing listens at the base URL → a Connection error within the retry policy's time; no hang, no panic".into(),
            Box::new(|o| {
                let mut p = Vec::new();
                expect_error(&o.returned[0], &[ErrorKind::Connection], None, &mut p);
                Verdict { actual: format!("returned {}", o.returned[0].describe()), problems: p, evidence: String::new() }
            }),
        );
    }
    let (first, what, kinds): (Step, &str, &[ErrorKind]) = match kind {
        Kind::ConnectionResetBeforeResponse => {
            (Step::Reset, "connection reset after the request, before any response", &[ErrorKind::Connection])
        }
        Kind::ConnectionResetDuringResponse => (
            Step::ResetMidBody(ok.clone(), half),
            "connection reset halfway through the body",
            &[ErrorKind::Connection, ErrorKind::InvalidResponse],
        ),
        _ => (
            Step::Truncate(ok.clone(), half),
            "body closed short of its Content-Length",
            &[ErrorKind::Connection, ErrorKind::InvalidResponse],
        ),
    };
    let want = if idempotent { 2 } else { 1 };
    let min_gap = s.policy.retry.backoff(0);
    let jitter = s.policy.retry.jitter;
    let expected = if idempotent {
        format!("{what} → retried after at least {} (idempotent), then success", crate::timeline::secs(min_gap))
    } else {
        format!(
            "{what} → not retried (the write may have happened): one attempt and a {} error",
            kinds.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(" or ")
        )
    };
    Prepared::new(
        s,
        vec![s.script(vec![vec![first, Step::Reply(ok)]], want)],
        expected,
        Box::new(move |o| {
            let mut p = Vec::new();
            let a = o.attempts(0);
            let r = &o.returned[0];
            expect_retries(&a, want, idempotent, "one failure, then one retry", (&[min_gap], jitter), "backoff", &mut p);
            if idempotent {
                expect_ok(r, &mut p);
            } else {
                expect_error(r, kinds, None, &mut p);
            }
            Verdict { actual: attempts_summary(&a, r), problems: p, evidence: String::new() }
        }),
    )
}
