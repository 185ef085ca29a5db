//! Timeouts, in each way a real server is slow: headers late, a body that stalls, a body
//! that trickles (defeats per-read timeouts), headers late and then a stalled body (defeats
//! a budget per phase), a socket never answered. The client must
//! hang up within its budget; a slow answer inside the budget must still succeed.
//!
//! The backoff between timed-out attempts is not judged here: the server sees a hang-up
//! only when its watcher runs, so the pause after it cannot be bounded from below
//! soundly. Backoff is judged where arrivals alone measure it (5xx, resets).

use super::{NOT_RETRIED, Prepared, Setup, Verdict, expect_attempts, expect_error, expect_ok, gaps, list_secs};
use crate::binding::ErrorKind;
use crate::case::Kind;
use crate::server::Step;
use crate::timeline::secs;

pub(super) fn prepare(kind: Kind, s: &Setup) -> Prepared {
    let budget = s.policy.budget;
    let ok = s.ok();
    let slow = budget * 3;
    let body_len = ok.body.len().max(1);
    let (step, what) = match kind {
        Kind::TimeoutHeadersLate => (Step::Reply(ok.delayed(slow)), format!("headers sent only after {}", secs(slow))),
        Kind::TimeoutBodyStalls => {
            (Step::StallBody(ok, body_len / 2, slow), format!("headers on time, body stalls {} halfway", secs(slow)))
        }
        Kind::TimeoutBodyTrickles => {
            let interval = slow / body_len as u32;
            (Step::Trickle(ok, interval), format!("headers on time, body trickles over {} (1 byte per {})", secs(slow), secs(interval)))
        }
        Kind::TimeoutLateHeadersThenStall => {
            let late = budget.mul_f64(0.8);
            (
                Step::StallBody(ok.delayed(late), body_len / 2, slow),
                format!("headers after {} (inside the budget), then the body stalls {} halfway", secs(late), secs(slow)),
            )
        }
        Kind::TimeoutNoAnswer => (Step::Silent, "connection accepted, never answered".to_string()),
        _ => {
            let d = budget.mul_f64(0.4);
            (Step::Reply(ok.delayed(d)), format!("answered after {} (within the {} budget)", secs(d), secs(budget)))
        }
    };
    let n = s.policy.retry.max_attempts as usize;
    let idempotent = s.endpoint.is_idempotent();
    let within = kind == Kind::TimeoutSlowWithinBudget;
    let want = if within || !idempotent { 1 } else { n };
    let tolerance = s.policy.budget_tolerance();
    // only the raw server sees when the client hangs up, even for a plain late reply
    let mut route = s.script(vec![vec![step]], want);
    route.raw = true;
    let expected = if within {
        format!("{what} → success on the first attempt")
    } else if idempotent {
        format!("{what} → each of {n} attempts abandoned within {} (+{} tolerance), then a Timeout error", secs(budget), secs(tolerance))
    } else {
        format!(
            "{what} → abandoned within {} (+{} tolerance), not retried (not idempotent), a Timeout error",
            secs(budget),
            secs(tolerance)
        )
    };
    Prepared::new(
        s,
        vec![route],
        expected,
        Box::new(move |o| {
            let mut p = Vec::new();
            let a = o.attempts(0);
            let r = &o.returned[0];
            expect_attempts(
                a.len(),
                want,
                if within {
                    "a slow answer inside the budget is not abandoned"
                } else if idempotent {
                    "retry per policy"
                } else {
                    NOT_RETRIED
                },
                &mut p,
            );
            let held: Vec<_> = a.iter().map(|x| x.hung_up_after).collect();
            if within {
                expect_ok(r, &mut p);
            } else {
                for (i, h) in held.iter().enumerate() {
                    match h {
                        Some(d) if *d > budget + tolerance => p.push(format!(
                            "expected attempt {} abandoned within {} (+{}), found the client waited {}",
                            i + 1,
                            secs(budget),
                            secs(tolerance),
                            secs(*d)
                        )),
                        Some(_) => {}
                        None => {
                            p.push(format!("expected attempt {} abandoned within {}, found the client never hung up", i + 1, secs(budget)))
                        }
                    }
                }
                expect_error(r, &[ErrorKind::Timeout], None, &mut p);
            }
            let held_s: Vec<String> = held.iter().map(|h| h.map(secs).unwrap_or("never".into())).collect();
            let actual = format!(
                "{} attempt(s), hung up after [{}], gaps {}; returned {}",
                a.len(),
                held_s.join(", "),
                list_secs(&gaps(&a)),
                if r.value().is_some() { "Ok".into() } else { r.describe() }
            );
            Verdict { actual, problems: p, evidence: String::new() }
        }),
    )
}
