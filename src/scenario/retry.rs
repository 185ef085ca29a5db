//! Retry discipline: 429 with Retry-After (seconds and HTTP-date), 429 storms, 5xx that
//! recover or persist, 503 maintenance with longer delays, and 4xx that must not be retried.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::{
    Kind, Prepared, Setup, Verdict, attempts_summary, expect_attempts, expect_error, expect_gaps_at_least, expect_ok, expect_retries, gaps,
    list_secs,
};
use crate::binding::ErrorKind;
use crate::server::{Reply, Route, Step};
use crate::spec::{Action, Spec};
use crate::timeline::{Arrival, Target, secs};

/// The 4xx statuses the matrix says fail without retry.
pub(super) fn client_error_statuses(spec: &Spec) -> Vec<u16> {
    [400, 403, 404, 422].into_iter().filter(|s| spec.action_for(*s) == Some(Action::Fail)).collect()
}

fn error_body(status: u16) -> serde_json::Value {
    json!({"error": {"type": "oc_injected", "status": status, "message": format!("injected {status} by oc-integrate")}})
}

fn status_reply(status: u16) -> Step {
    Step::Reply(Reply::json(status, &error_body(status)))
}

pub(super) fn prepare(kind: Kind, s: &Setup) -> Prepared {
    match kind {
        Kind::RateLimitRetryAfter | Kind::RateLimitRetryAfterDate => retry_after(kind == Kind::RateLimitRetryAfterDate, s),
        Kind::RateLimitStorm => storm(s),
        Kind::ClientErrorNotRetried => client_errors(s),
        _ => server_errors(kind, s),
    }
}

fn retry_after(date: bool, s: &Setup) -> Prepared {
    let ra = s.policy.retry_after;
    let ok = s.ok();
    // the instant an HTTP-date Retry-After points at, fixed when the 429 is sent
    let until: Arc<Mutex<Option<SystemTime>>> = Arc::default();
    let route = {
        let until = until.clone();
        Route {
            target: Target::Api,
            path: None,
            behaviour: Arc::new(move |_: &Arrival, attempt| {
                if attempt > 0 {
                    return Step::Reply(ok.clone());
                }
                let value = if date {
                    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
                    // whole seconds, at least `ra` from now
                    let at = UNIX_EPOCH + Duration::from_secs(now.as_secs() + 1 + ra.as_secs());
                    *until.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
                    httpdate::fmt_http_date(at)
                } else {
                    ra.as_secs().to_string()
                };
                Step::Reply(Reply::json(429, &json!({"error": "rate_limited"})).header("Retry-After", value))
            }),
            limit: s.policy.retry.max_attempts as usize,
            raw: false,
        }
    };
    let expected = if date {
        "429 with Retry-After as an HTTP-date → the retry comes no sooner than that date, then success".to_string()
    } else {
        format!("429 with Retry-After: {} → the retry comes no sooner than {}, then success", ra.as_secs(), secs(ra))
    };
    Prepared::new(
        s,
        vec![route],
        expected,
        Box::new(move |o| {
            let mut p = Vec::new();
            let a = o.attempts(0);
            expect_attempts(a.len(), 2, "the 429, then one retry", &mut p);
            let mut actual = format!("{} attempt(s)", a.len());
            if a.len() >= 2 {
                let gap = a[1].at.saturating_sub(a[0].at);
                if date {
                    let at = until.lock().unwrap_or_else(|p| p.into_inner()).unwrap_or(UNIX_EPOCH);
                    let early = at.duration_since(a[1].wall).unwrap_or_default();
                    actual = format!(
                        "retried after {}, Retry-After date was {} ahead",
                        secs(gap),
                        secs(at.duration_since(a[0].wall).unwrap_or_default())
                    );
                    if early > super::EARLY_SLACK {
                        p.push(format!("expected the retry no sooner than the Retry-After date, found it {} early", secs(early)));
                    }
                } else {
                    actual = format!("retried after {}, Retry-After was {}", secs(gap), secs(ra));
                    expect_gaps_at_least(&[gap], &[ra], "Retry-After", &mut p);
                }
            }
            expect_ok(&o.returned[0], &mut p);
            Verdict { actual, problems: p, evidence: String::new() }
        }),
    )
}

fn storm(s: &Setup) -> Prepared {
    let ra = s.policy.retry_after;
    let n = s.policy.retry.max_attempts as usize;
    let reply = Step::Reply(Reply::json(429, &json!({"error": "rate_limited"})).header("Retry-After", ra.as_secs().to_string()));
    Prepared::new(
        s,
        vec![s.script(vec![vec![reply]], n)],
        format!("429 on every attempt → stops after {n} attempts with a RateLimited error; no two attempts closer than {}", secs(ra)),
        Box::new(move |o| {
            let mut p = Vec::new();
            let a = o.attempts(0);
            let g = gaps(&a);
            expect_attempts(a.len(), n, "the declared maximum", &mut p);
            expect_gaps_at_least(&g, &vec![ra; g.len()], "Retry-After", &mut p);
            expect_error(&o.returned[0], &[ErrorKind::RateLimited], None, &mut p);
            let actual = format!("{} attempts, gaps {}; returned {}", a.len(), list_secs(&g), o.returned[0].describe());
            Verdict { actual, problems: p, evidence: String::new() }
        }),
    )
}

fn server_errors(kind: Kind, s: &Setup) -> Prepared {
    let n = s.policy.retry.max_attempts as usize;
    let idempotent = s.endpoint.is_idempotent();
    let retry = s.policy.retry.clone();
    let (steps, final_status, factor, what): (Vec<Step>, Option<u16>, f64, &str) = match kind {
        Kind::ServerErrorRecovers => {
            let second = if s.spec.action_for(502) == Some(Action::RetryWithBackoff) { 502 } else { 500 };
            let mut steps = vec![status_reply(500), status_reply(second)];
            steps.truncate(n.saturating_sub(1).max(1));
            steps.push(Step::Reply(s.ok()));
            (steps, None, 1.0, "5xx then 200")
        }
        Kind::ServerErrorPersists => (vec![status_reply(500)], Some(500), 1.0, "500 on every attempt"),
        _ => {
            let mut steps = vec![status_reply(503), status_reply(503)];
            steps.truncate(n.saturating_sub(1).max(1));
            steps.push(Step::Reply(s.ok()));
            (steps, None, retry.longer_delay_factor, "503 (maintenance) then 200")
        }
    };
    let first_status = if kind == Kind::ServerErrorMaintenance { 503 } else { 500 };
    let recovering = final_status.is_none();
    let want_attempts = if !idempotent {
        1
    } else if recovering {
        (steps.len()).min(n)
    } else {
        n
    };
    let mins: Vec<Duration> = (0..n as u32).map(|k| retry.backoff(k).mul_f64(factor)).collect();
    let expected = if !idempotent {
        format!("{what} → not idempotent, so exactly one attempt and a Status error ({first_status}); a retry could duplicate the write")
    } else if recovering {
        format!("{what} → {} attempts with backoff of at least {} → success", want_attempts, list_secs(&mins[..want_attempts - 1]))
    } else {
        format!("{what} → {n} attempts with backoff of at least {}, then a Status error (500)", list_secs(&mins[..n - 1]))
    };
    Prepared::new(
        s,
        vec![s.script(vec![steps], n)],
        expected,
        Box::new(move |o| {
            let mut p = Vec::new();
            let a = o.attempts(0);
            let r = &o.returned[0];
            let why = if factor > 1.0 { "longer delays for maintenance" } else { "exponential backoff" };
            expect_retries(&a, want_attempts, idempotent, "the declared retry policy", (&mins, retry.jitter), why, &mut p);
            if !idempotent {
                expect_error(r, &[ErrorKind::Status], Some(first_status), &mut p);
            } else if recovering {
                expect_ok(r, &mut p);
            } else {
                expect_error(r, &[ErrorKind::Status], Some(500), &mut p);
            }
            Verdict { actual: attempts_summary(&a, r), problems: p, evidence: String::new() }
        }),
    )
}

fn client_errors(s: &Setup) -> Prepared {
    let statuses = client_error_statuses(s.spec);
    let calls = statuses.iter().map(|st| vec![status_reply(*st)]).collect();
    let list = statuses.iter().map(u16::to_string).collect::<Vec<_>>().join("/");
    let n = statuses.len();
    Prepared::new(
        s,
        vec![s.script(calls, 1)],
        format!("{list} → exactly one attempt each; the error surfaces with its status"),
        Box::new(move |o| {
            let mut p = Vec::new();
            let mut actual = Vec::new();
            for (i, st) in statuses.iter().enumerate() {
                let a = o.attempts(i);
                let mut q = Vec::new();
                expect_attempts(a.len(), 1, "a client error is not retried", &mut q);
                expect_error(&o.returned[i], &[ErrorKind::Status, ErrorKind::Auth], Some(*st), &mut q);
                p.extend(q.into_iter().map(|m| format!("{st}: {m}")));
                actual.push(format!("{st}: {} attempt(s), {}", a.len(), o.returned[i].describe()));
            }
            Verdict { actual: actual.join("; "), problems: p, evidence: String::new() }
        }),
    )
    .calls(n)
}
