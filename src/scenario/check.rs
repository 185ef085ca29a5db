//! Checks the scenario families share: attempts, waits, error kinds, summaries.

use std::time::Duration;

use super::Returned;
use crate::binding::ErrorKind;
use crate::timeline::{Arrival, secs};

/// How much earlier than a mandated wait a server may see the next request (timer granularity).
pub const EARLY_SLACK: Duration = Duration::from_millis(3);

/// The wait before each retry, as the server can prove it: from the moment it began
/// answering one attempt (the earliest the client could have seen the failure) to the
/// arrival of the next. A lower bound of the client's own pause, whatever the load.
pub fn gaps(arrivals: &[Arrival]) -> Vec<Duration> {
    arrivals.windows(2).map(|w| w[1].at.saturating_sub(w[0].outcome_at())).collect()
}

/// `3 attempt(s), gaps 0.100 s, 0.200 s; returned Ok` — the usual Actual column.
pub fn attempts_summary(a: &[Arrival], r: &Returned) -> String {
    let returned = if r.value().is_some() { "Ok".to_string() } else { r.describe() };
    format!("{} attempt(s), gaps {}; returned {returned}", a.len(), list_secs(&gaps(a)))
}

/// `0.051 s, 0.102 s`.
pub fn list_secs(ds: &[Duration]) -> String {
    if ds.is_empty() {
        return "none".into();
    }
    ds.iter().map(|d| secs(*d)).collect::<Vec<_>>().join(", ")
}

/// Check that the client returned an error of one of `kinds` (and `status`, when given).
pub fn expect_error(r: &Returned, kinds: &[ErrorKind], status: Option<u16>, problems: &mut Vec<String>) {
    let want = kinds.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(" or ");
    let want_status = status.map(|s| format!(" with status {s}")).unwrap_or_default();
    match r.error() {
        Some((k, st)) if kinds.contains(&k) && (status.is_none() || st == status) => {}
        Some((k, st)) if kinds.contains(&k) => problems.push(format!(
            "expected an error of kind {want}{want_status}, found a {k:?} error with status {}",
            st.map(|s| s.to_string()).unwrap_or("none".into())
        )),
        _ => problems.push(format!("expected an error of kind {want}{want_status}, found {}", r.describe())),
    }
}

/// Check that the client returned a value.
pub fn expect_ok(r: &Returned, problems: &mut Vec<String>) {
    if r.value().is_none() {
        problems.push(format!("expected the call to succeed, found {}", r.describe()));
    }
}

/// Check the number of attempts of a call.
pub fn expect_attempts(n: usize, want: usize, what: &str, problems: &mut Vec<String>) {
    if n != want {
        problems.push(format!("expected exactly {want} attempt{} ({what}), found {n}", if want == 1 { "" } else { "s" }));
    }
}

/// The reason a non-idempotent call gets exactly one attempt.
pub const NOT_RETRIED: &str = "a non-idempotent call is not retried";

/// Slack above a mandated wait before a wait counts as too long: generous, since load
/// can only lengthen what the server sees.
pub fn late_slack(wait: Duration) -> Duration {
    wait.max(Duration::from_millis(500))
}

/// Check a call's attempts against its retry policy: `want` attempts (for `policy`, or
/// one because the call is not idempotent) and, when it may repeat, each wait at least
/// its minimum (`why` names the rule) and at most that plus `jitter` plus [`late_slack`].
pub fn expect_retries(
    a: &[Arrival],
    want: usize,
    idempotent: bool,
    policy: &str,
    (mins, jitter): (&[Duration], Duration),
    why: &str,
    p: &mut Vec<String>,
) {
    expect_attempts(a.len(), want, if idempotent { policy } else { NOT_RETRIED }, p);
    if idempotent {
        let g = gaps(a);
        expect_gaps_at_least(&g, mins, why, p);
        for (i, (g, m)) in g.iter().zip(mins).enumerate() {
            let most = *m + jitter + late_slack(*m);
            if *g > most {
                p.push(format!("expected retry {} within {} ({why}, bounded by the policy), found {}", i + 1, secs(most), secs(*g)));
            }
        }
    }
}

/// Check each gap against its lower bound.
pub fn expect_gaps_at_least(gaps: &[Duration], mins: &[Duration], why: &str, problems: &mut Vec<String>) {
    for (i, (g, m)) in gaps.iter().zip(mins).enumerate() {
        if *g + EARLY_SLACK < *m {
            problems.push(format!("expected retry {} to wait at least {} ({why}), found {}", i + 1, secs(*m), secs(*g)));
        }
    }
}
