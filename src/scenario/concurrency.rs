//! Concurrency through one client: real services call one client instance from many tasks
//! at once. The calls' requests are held until all of them are in (a [`Gathering`]), so the
//! provider's answer reaches every call at the same moment and the race is always run:
//! - an expired access token: the calls share one refresh (single flight) and all succeed,
//!   none presenting a refresh token an earlier refresh already spent;
//! - a 429 with Retry-After to each: none of the calls comes back before the window ends.
//!
//! The provider cannot tell concurrent calls apart, so these judges count requests over
//! the whole case rather than per call (the invariants do likewise, see `invariant`).

use std::sync::Arc;

use super::auth::{TokenServer, expired};
use super::{EARLY_SLACK, Prepared, Setup, Verdict};
use crate::server::{Gathering, Route, Step};
use crate::timeline::{Arrival, Target, secs};

/// How many calls a concurrency case makes at once.
pub const CALLS: usize = 4;

/// The gathering for `CALLS` requests: held at most half the attempt budget, so a client
/// that times out whole responses is not pushed past its own timeout.
fn gathering(s: &Setup) -> Arc<Gathering> {
    Gathering::new(CALLS, s.policy.budget / 2)
}

/// The problem when the calls did not all reach the provider within the gathering's wait.
fn not_together(g: &Gathering, what: &str) -> Option<String> {
    (g.joined() < g.want()).then(|| {
        format!(
            "expected the {} calls to reach the provider together, found {} of them within {}: calls made one after another cannot show whether {what}",
            g.want(),
            g.joined().min(g.want()),
            secs(g.within())
        )
    })
}

/// `3× 401, 1× 200` — the statuses of `arrivals`, counted in order of first appearance.
fn statuses(arrivals: &[Arrival]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for a in arrivals {
        let status = a.reply.split(' ').next().unwrap_or("").to_string();
        match counts.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => counts.push((status, 1)),
        }
    }
    if counts.is_empty() {
        return "none".into();
    }
    counts.iter().map(|(s, n)| format!("{n}× {s}")).collect::<Vec<_>>().join(", ")
}

/// What the calls returned: `4 Ok` or `2 Ok, 2 errors (call 3: …)`.
fn returned(o: &super::Observed, p: &mut Vec<String>) -> String {
    let ok = o.returned.iter().filter(|r| r.value().is_some()).count();
    for (i, r) in o.returned.iter().enumerate().filter(|(_, r)| r.value().is_none()) {
        p.push(format!("call {}: expected it to succeed, found {}", i + 1, r.describe()));
    }
    match o.returned.len() - ok {
        0 => format!("{ok} Ok"),
        n => format!("{ok} Ok, {n} failed"),
    }
}

/// `CALLS` calls at once with an expired access token: their 401s are answered together;
/// one refresh must serve them all, and every call must then succeed with the new token.
pub(super) fn refresh(s: &Setup) -> Prepared {
    let server = TokenServer::new(s);
    let (rotate, client_auth) = (server.rotate, server.client_auth);
    let g = gathering(s);
    let ok = s.ok();
    let api = {
        let (server, g) = (server.clone(), g.clone());
        Route {
            target: Target::Api,
            path: None,
            behaviour: Arc::new(
                move |a: &Arrival, _| {
                    if server.accepts(a) { Step::Reply(ok.clone()) } else { Step::Together(expired(), g.clone()) }
                },
            ),
            limit: 3 * CALLS,
            raw: true,
        }
    };
    let token = server.route(s, false, CALLS + 1);
    let before: Box<dyn Fn(usize) + Send + Sync> = Box::new(move |_| server.expire());
    let expected = format!(
        "{CALLS} calls at once, each answered 401 (expired token) at the same moment → one refresh shared by all (single flight){} → each call retried once with the new token → all succeed",
        if rotate { ", never presenting the refresh token it rotated away" } else { "" }
    );
    Prepared::new(
        s,
        vec![token, api],
        expected,
        Box::new(move |o| {
            let mut p = Vec::new();
            let api = o.attempts(0);
            let refreshes = o.timeline.attempts(0, Target::Token);
            p.extend(not_together(&g, "they share one refresh"));
            if refreshes.len() != 1 {
                p.push(format!("expected one refresh shared by the {CALLS} concurrent calls (single flight), found {}", refreshes.len()));
            }
            let spent = refreshes.iter().filter(|a| a.reply.starts_with("400")).count();
            if spent > 0 {
                p.push(format!(
                    "expected every refresh to present the current refresh token, found {spent} rejected (invalid_grant): {}",
                    if rotate {
                        "a call refreshed with the token an earlier refresh had rotated away"
                    } else {
                        "a refresh token the provider did not issue"
                    }
                ));
            }
            if let (Some(m), Some(first)) = (client_auth, refreshes.first()) {
                p.extend(m.problem(first.header("authorization"), &first.body));
            }
            if api.len() != 2 * CALLS {
                p.push(format!(
                    "expected {} API attempts (each call's 401, then one retry with the new token), found {}",
                    2 * CALLS,
                    api.len()
                ));
            }
            let back = returned(o, &mut p);
            let actual = format!(
                "{CALLS} calls at once: {} API attempt(s) [{}], {} refresh(es) [{}]; returned {back}",
                api.len(),
                statuses(&api),
                refreshes.len(),
                statuses(&refreshes)
            );
            Verdict { actual, problems: p, evidence: String::new() }
        }),
    )
    .concurrent_calls(CALLS)
    .before_each_call(before)
    .headers(vec!["authorization".into()])
}

/// `CALLS` calls at once, each answered 429 with Retry-After at the same moment, then
/// success: no call may come back before the window it was given has passed.
pub(super) fn rate_limited(s: &Setup) -> Prepared {
    let ra = s.policy.retry_after;
    let g = gathering(s);
    let ok = s.ok();
    let limited = s.error_reply(429).header("Retry-After", ra.as_secs().to_string());
    let route = {
        let g = g.clone();
        Route {
            target: Target::Api,
            path: None,
            behaviour: Arc::new(
                move |_: &Arrival, attempt| {
                    if attempt < CALLS { Step::Together(limited.clone(), g.clone()) } else { Step::Reply(ok.clone()) }
                },
            ),
            limit: CALLS * s.policy.retry.max_attempts as usize,
            raw: true,
        }
    };
    let expected = format!(
        "{CALLS} calls at once, each answered 429 Retry-After: {} at the same moment → each call waits out its window (none comes back early, whatever the others do) → one retry each → all succeed",
        ra.as_secs()
    );
    Prepared::new(
        s,
        vec![route],
        expected,
        Box::new(move |o| {
            let mut p = Vec::new();
            let api = o.attempts(0);
            p.extend(not_together(&g, "each waits out its own window"));
            let (first, retries) = api.split_at(api.len().min(CALLS));
            // every call saw its 429 no earlier than the first was answered
            let answered = first.iter().map(Arrival::outcome_at).min().unwrap_or_default();
            let waits: Vec<_> = retries.iter().map(|a| a.at.saturating_sub(answered)).collect();
            let early: Vec<_> = waits.iter().filter(|w| **w + EARLY_SLACK < ra).map(|w| secs(*w)).collect();
            if !early.is_empty() {
                p.push(format!(
                    "expected no call back before its Retry-After ({}) had passed, found {} retr{} after {}",
                    secs(ra),
                    early.len(),
                    if early.len() == 1 { "y" } else { "ies" },
                    early.join(", ")
                ));
            }
            if retries.len() != CALLS {
                p.push(format!("expected {CALLS} retries (one per call, after its window), found {}", retries.len()));
            }
            let back = returned(o, &mut p);
            let actual = format!(
                "{CALLS} calls at once: {} API attempt(s) [{}], retries {} after the first 429; returned {back}",
                api.len(),
                statuses(&api),
                super::list_secs(&waits)
            );
            Verdict { actual, problems: p, evidence: String::new() }
        }),
    )
    .concurrent_calls(CALLS)
}
