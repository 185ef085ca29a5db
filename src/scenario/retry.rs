//! Retry discipline: 429 with Retry-After (seconds and HTTP-date), with a reset header only
//! or with nothing (the client's own backoff), 429 storms, 5xx that recover or persist, 503
//! maintenance with longer delays, 4xx that must not be retried, and the error matrix's own
//! rows (`status_409`: each status as its row says, headers included).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{
    Kind, Prepared, Setup, Verdict, attempts_summary, expect_attempts, expect_error, expect_gaps_at_least, expect_ok, expect_retries, gaps,
    list_secs, matrix,
};
use crate::binding::ErrorKind;
use crate::server::{Route, Step};
use crate::spec::{Action, ResetHeader, ResetUnit};
use crate::timeline::{Arrival, Target, secs};

pub(super) fn prepare(kind: Kind, s: &Setup) -> Prepared {
    let ra = s.policy.retry_after;
    match kind {
        Kind::RateLimitRetryAfter => limited(s, 429, Vec::new(), Signal::RetryAfter(ra)),
        Kind::RateLimitRetryAfterDate => limited(s, 429, Vec::new(), Signal::RetryAfterDate),
        Kind::RateLimitNoRetryAfter => limited(s, 429, Vec::new(), Signal::None),
        Kind::RateLimitReset => {
            let reset = s.spec.rule_for(429).and_then(|r| r.reset.clone());
            limited(s, 429, Vec::new(), reset.map(Signal::Reset).unwrap_or(Signal::None))
        }
        Kind::RateLimitStorm => storm(s),
        Kind::ClientErrorNotRetried => client_errors(s),
        Kind::Status { code, when, action } => {
            let row = matrix::row(s.spec, code, when);
            let headers = row.map(|r| r.when_headers(&ra.as_secs().to_string())).unwrap_or_default();
            match action {
                Action::Fail => fails(s, code, headers),
                Action::RespectRetryAfter => {
                    let given = |h: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(h));
                    let signal = match row.and_then(|r| r.reset.clone()) {
                        Some(reset) if !given(&reset.header) => Signal::Reset(reset),
                        _ if given("retry-after") => Signal::Given(ra),
                        _ => Signal::RetryAfter(ra),
                    };
                    limited(s, code, headers, signal)
                }
                _ => server_errors(kind, s, headers),
            }
        }
        _ => server_errors(kind, s, Vec::new()),
    }
}

/// How a rate-limited answer says when to come back.
enum Signal {
    /// `Retry-After: <seconds>`.
    RetryAfter(Duration),
    /// `Retry-After: <HTTP-date>`, at least the advertised wait ahead.
    RetryAfterDate,
    /// The row's own headers already carry `Retry-After: <seconds>`.
    Given(Duration),
    /// The row's reset header, and no Retry-After.
    Reset(ResetHeader),
    /// Nothing: the client's own backoff applies.
    None,
}

/// The instant a date or epoch signal points at: the whole second after `ra` from now (a date
/// or an epoch in seconds can name no other), and how far ahead of now that is: more than
/// `ra`, at most a second more.
fn ahead(ra: Duration) -> (SystemTime, Duration) {
    let now = SystemTime::now();
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let at = UNIX_EPOCH + Duration::from_secs(since.as_secs() + 1 + ra.as_secs());
    (at, at.duration_since(now).unwrap_or_default())
}

/// `status` (with `headers`) answered once with `signal`, then success: the retry must come
/// no sooner than the signal says (or the client's own backoff when there is none).
fn limited(s: &Setup, status: u16, headers: Vec<(String, String)>, signal: Signal) -> Prepared {
    let ra = s.policy.retry_after;
    let ok = s.ok();
    let answer = s.error_reply(status);
    // the instant a date or an epoch points at, fixed when the first answer is sent
    let until: Arc<Mutex<Option<SystemTime>>> = Arc::default();
    let (header, instant, wait) = match &signal {
        Signal::RetryAfter(d) => (Some(("Retry-After".to_string(), None)), false, Some(*d)),
        Signal::RetryAfterDate => (Some(("Retry-After".to_string(), Some(ResetUnit::EpochSeconds))), true, None),
        Signal::Given(d) => (None, false, Some(*d)),
        Signal::Reset(r) if r.unit == ResetUnit::DeltaSeconds => (Some((r.header.clone(), None)), false, Some(ra)),
        Signal::Reset(r) => (Some((r.header.clone(), Some(r.unit))), true, None),
        Signal::None => (None, false, None),
    };
    let date = matches!(signal, Signal::RetryAfterDate);
    let what = header.as_ref().map(|(h, _)| h.clone()).unwrap_or_else(|| "Retry-After".into());
    let route = {
        let until = until.clone();
        let headers = headers.clone();
        let timeline = s.timeline.clone();
        Route {
            target: Target::Api,
            path: None,
            behaviour: Arc::new(move |_: &Arrival, attempt| {
                if attempt > 0 {
                    return Step::Reply(ok.clone());
                }
                let mut reply = answer.clone().with_headers(&headers);
                if let Some((name, unit)) = &header {
                    let value = match unit {
                        None => ra.as_secs().to_string(),
                        Some(unit) => {
                            let (at, wait) = ahead(ra);
                            *until.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
                            // what a correct client must wait is what this answer says, not the nominal `ra`
                            timeline.mandate(wait);
                            let epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default();
                            match unit {
                                _ if date => httpdate::fmt_http_date(at),
                                ResetUnit::EpochMilliseconds => epoch.as_millis().to_string(),
                                _ => epoch.as_secs().to_string(),
                            }
                        }
                    };
                    reply = reply.header(name, value);
                }
                Step::Reply(reply)
            }),
            limit: s.policy.retry.max_attempts as usize,
            raw: false,
        }
    };
    let shown: String = headers.iter().map(|(k, v)| format!(", {k}: {v}")).collect();
    let expected = match &signal {
        Signal::RetryAfter(d) => {
            format!("{status} with Retry-After: {}{shown} → the retry comes no sooner than {}, then success", d.as_secs(), secs(*d))
        }
        Signal::Given(d) => {
            format!("{status} with {} → the retry comes no sooner than {}, then success", shown.trim_start_matches(", "), secs(*d))
        }
        Signal::RetryAfterDate => {
            format!("{status} with Retry-After as an HTTP-date → the retry comes no sooner than that date, then success")
        }
        Signal::Reset(r) if r.unit == ResetUnit::DeltaSeconds => format!(
            "{status} with only {}: {} (seconds){shown} → the retry comes no sooner than {}, then success",
            r.header,
            ra.as_secs(),
            secs(ra)
        ),
        Signal::Reset(r) => {
            format!(
                "{status} with only {} (the reset instant){shown} → the retry comes no sooner than that instant, then success",
                r.header
            )
        }
        Signal::None => format!(
            "{status} with no Retry-After{shown} → the client's own backoff (at least {}) before the retry, then success",
            secs(s.policy.retry.backoff(0))
        ),
    };
    let retry = s.policy.retry.clone();
    Prepared::new(
        s,
        vec![route],
        expected,
        Box::new(move |o| {
            let mut p = Vec::new();
            let a = o.attempts(0);
            expect_attempts(a.len(), 2, &format!("the {status}, then one retry"), &mut p);
            let mut actual = format!("{} attempt(s)", a.len());
            if a.len() >= 2 {
                let gap = a[1].at.saturating_sub(a[0].at);
                if instant {
                    let at = until.lock().unwrap_or_else(|p| p.into_inner()).unwrap_or(UNIX_EPOCH);
                    let early = at.duration_since(a[1].wall).unwrap_or_default();
                    actual = format!(
                        "retried after {}, the {what} instant was {} ahead",
                        secs(gap),
                        secs(at.duration_since(a[0].wall).unwrap_or_default())
                    );
                    if early > super::EARLY_SLACK {
                        p.push(format!("expected the retry no sooner than the {what} instant, found it {} early", secs(early)));
                    }
                } else if let Some(d) = wait {
                    actual = format!("retried after {}, {what} said {}", secs(gap), secs(d));
                    expect_gaps_at_least(&[gap], &[d], &what, &mut p);
                } else {
                    actual = attempts_summary(&a, &o.returned[0]);
                    expect_retries(
                        &a,
                        2,
                        true,
                        "the 429, then one retry",
                        (&[retry.backoff(0)], retry.jitter),
                        "the client's own backoff, as nothing said how long to wait",
                        &mut p,
                    );
                }
            }
            expect_ok(&o.returned[0], &mut p);
            Verdict { actual, problems: p, evidence: String::new() }
        }),
    )
}

/// `status` (with `headers`) on every attempt of a call the matrix says fails at once.
fn fails(s: &Setup, status: u16, headers: Vec<(String, String)>) -> Prepared {
    let reply = s.error_reply(status).with_headers(&headers);
    let shown: String = headers.iter().map(|(k, v)| format!(" with {k}: {v}")).collect();
    let kinds = match status {
        401 | 403 => vec![ErrorKind::Status, ErrorKind::Auth],
        429 => vec![ErrorKind::Status, ErrorKind::RateLimited],
        _ => vec![ErrorKind::Status],
    };
    Prepared::new(
        s,
        vec![s.script(vec![vec![Step::Reply(reply)]], 1)],
        format!("{status}{shown} → exactly one attempt; the error surfaces with its status (the matrix says fail)"),
        Box::new(move |o| {
            let mut p = Vec::new();
            let a = o.attempts(0);
            expect_attempts(a.len(), 1, "the matrix says fail, so no retry", &mut p);
            expect_error(&o.returned[0], &kinds, Some(status), &mut p);
            Verdict { actual: attempts_summary(&a, &o.returned[0]), problems: p, evidence: String::new() }
        }),
    )
}

fn storm(s: &Setup) -> Prepared {
    let ra = s.policy.retry_after;
    let n = s.policy.retry.max_attempts as usize;
    let reply = Step::Reply(s.error_reply(429).header("Retry-After", ra.as_secs().to_string()));
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

fn server_errors(kind: Kind, s: &Setup, headers: Vec<(String, String)>) -> Prepared {
    let n = s.policy.retry.max_attempts as usize;
    let idempotent = s.endpoint.is_idempotent();
    let retry = s.policy.retry.clone();
    let reply = |status: u16| Step::Reply(s.error_reply(status).with_headers(&headers));
    let recovers = |first: u16, second: u16| {
        let mut steps = vec![reply(first), reply(second)];
        steps.truncate(n.saturating_sub(1).max(1));
        steps.push(Step::Reply(s.ok()));
        steps
    };
    let (steps, final_status, factor, what): (Vec<Step>, Option<u16>, f64, String) = match kind {
        Kind::ServerErrorRecovers => {
            let second = if s.spec.action_for(502) == Some(Action::RetryWithBackoff) { 502 } else { 500 };
            (recovers(500, second), None, 1.0, "5xx then 200".into())
        }
        Kind::ServerErrorPersists => (vec![reply(500)], Some(500), 1.0, "500 on every attempt".into()),
        Kind::Status { code, when, action } => {
            let factor = match action {
                Action::RetryWithLongerDelays => matrix::row(s.spec, code, when).and_then(|r| r.delay_factor).unwrap_or(4.0),
                _ => 1.0,
            };
            let shown: String = headers.iter().map(|(k, v)| format!(" with {k}: {v}")).collect();
            (recovers(code, code), None, factor, format!("{code}{shown} then 200 (the matrix says {})", action.name()))
        }
        _ => (recovers(503, 503), None, retry.longer_delay_factor, "503 (maintenance) then 200".into()),
    };
    let first_status = match kind {
        Kind::ServerErrorMaintenance => 503,
        Kind::Status { code, .. } => code,
        _ => 500,
    };
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
            let why = if factor > 1.0 { "longer delays, as the matrix says" } else { "exponential backoff" };
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
    let statuses = matrix::client_error_statuses(s.spec);
    let calls = statuses.iter().map(|st| vec![Step::Reply(s.error_reply(*st))]).collect();
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
