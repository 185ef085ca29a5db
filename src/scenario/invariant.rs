//! What must hold on every attempt of every case, whatever the case is about: a scenario
//! judges its own demand, and these are judged beside it, stated once here. A retry after a
//! timeout must keep the idempotency key as surely as one after a 500.
//!
//! - **one key per call**: a keyed call carries the same idempotency key on every attempt,
//!   whatever made it retry, and separate calls carry different keys;
//! - **credential on every attempt**: an authenticated endpoint's header is on the retries too;
//! - **same request on every attempt**: the method, path, query and body do not change;
//! - **at most the declared attempts** (one more only where the matrix adds a refresh retry);
//! - **no repeat after an ambiguous failure** for a call that is not idempotent: it is
//!   repeated only after an outright refusal (a complete 4xx), which was not processed.
//!
//! A kind opts out of an invariant only where it cannot hold (`exempt`). Calls made all at
//! once cannot be told apart by the provider: there the invariants are judged over all of
//! them together (`concurrent`).

use super::{Observed, Setup};
use crate::case::Kind;
use crate::redact;
use crate::timeline::Arrival;

/// An invariant of every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Invariant {
    /// The same idempotency key on every attempt of a call, a new one per call.
    OneKeyPerCall,
    /// The credential header on every attempt.
    CredentialOnEveryAttempt,
    /// The same method, path, query and body on every attempt of a call.
    SameRequest,
    /// No more attempts than the policy declares.
    DeclaredAttempts,
    /// A call that is not idempotent is repeated only after an outright refusal.
    NoRepeatAfterAmbiguousFailure,
}

/// Whether `kind` opts out of `invariant`, because it cannot hold there.
fn exempt(kind: Kind, invariant: Invariant) -> bool {
    match invariant {
        // the refused-credential cases judge the credential themselves, and a refresh
        // changes it on purpose (`auth` checks the new one is sent)
        Invariant::CredentialOnEveryAttempt => refreshes(kind),
        // every first attempt of a concurrency case is refused outright (401, 429), and the
        // attempts of its calls cannot be told apart
        Invariant::NoRepeatAfterAmbiguousFailure => kind.is_concurrent(),
        // a paginated call makes a request per page, each with its own query
        Invariant::SameRequest | Invariant::DeclaredAttempts => kind.is_pagination(),
        _ => false,
    }
}

/// Whether the matrix adds a refresh retry to the calls of `kind` (and the credential changes on purpose).
fn refreshes(kind: Kind) -> bool {
    matches!(kind, Kind::AuthExpired | Kind::AuthRefreshFails | Kind::AuthExpiredConcurrent)
}

/// The problems `o` shows against the invariants that apply to `kind` on the endpoint in `s`.
pub fn check(kind: Kind, s: &Setup, o: &Observed) -> Vec<String> {
    if kind.is_concurrent() {
        return concurrent(kind, s, o);
    }
    let e = s.endpoint;
    let applies = |i: Invariant| !exempt(kind, i);
    let calls: Vec<Vec<Arrival>> = (0..o.returned.len()).map(|c| o.attempts(c)).collect();
    let mut p = Vec::new();
    let mut say = |call: usize, what: String| p.push(format!("invariant: call {}: {what}", call + 1));
    let max = s.policy.retry.max_attempts as usize + usize::from(refreshes(kind));
    for (c, a) in calls.iter().enumerate() {
        if applies(Invariant::DeclaredAttempts) && a.len() > max {
            say(c, format!("expected at most {max} attempts (retry.max_attempts), found {}", a.len()));
        }
        if let (Some(h), true) = (e.idempotency_header.as_ref().filter(|_| e.is_idempotent()), applies(Invariant::OneKeyPerCall)) {
            let keys: Vec<Option<&str>> = a.iter().map(|x| x.header(h)).collect();
            if let Some(i) = keys.iter().position(Option::is_none) {
                say(c, format!("expected {h} on every attempt of a keyed call, found attempt {} without it", i + 1));
            } else if let Some(i) = keys.windows(2).position(|w| w[0] != w[1]) {
                say(
                    c,
                    format!(
                        "expected the same {h} on every attempt, found a new key on attempt {} after {} (a retry must reuse the key, whatever caused it)",
                        i + 2,
                        a[i].reply
                    ),
                );
            }
        }
        if let (Some(h), true) = (s.auth_header(), applies(Invariant::CredentialOnEveryAttempt))
            && a.first().is_some_and(|x| x.header(h).is_some())
            && let Some(i) = a.iter().position(|x| x.header(h).is_none_or(|v| v.trim().is_empty()))
        {
            say(c, format!("expected the credential ({h}) on every attempt, found attempt {} without it", i + 1));
        }
        if applies(Invariant::SameRequest)
            && let Some(first) = a.first()
            && let Some((i, what)) = a.iter().enumerate().skip(1).find_map(|(i, x)| differs(first, x).map(|w| (i, w)))
        {
            say(c, format!("expected every attempt to repeat the same request, found attempt {} with another {what}", i + 1));
        }
        if applies(Invariant::NoRepeatAfterAmbiguousFailure)
            && !e.is_idempotent()
            && let Some(i) = a.windows(2).position(|w| !w[0].refused)
        {
            say(
                c,
                format!(
                    "expected a call that is not idempotent never to be repeated after a failure the provider may have processed, found attempt {} after {}",
                    i + 2,
                    a[i].reply
                ),
            );
        }
    }
    if applies(Invariant::OneKeyPerCall)
        && let Some(h) = e.idempotency_header.as_ref().filter(|_| e.is_idempotent())
    {
        let firsts: Vec<&str> = calls.iter().filter_map(|a| a.first().and_then(|x| x.header(h))).collect();
        if let Some(i) = (1..firsts.len()).find(|i| firsts[..*i].contains(&firsts[*i])) {
            p.push(format!("invariant: expected a new {h} per call, found call {} reusing {}", i + 1, redact::redact(firsts[i])));
        }
    }
    p
}

/// The invariants over calls made all at once, whose attempts the provider sees as one
/// stream: all of them at most the declared attempts per call, one idempotency key per call
/// (as many keys as calls), the credential on every attempt, and one request repeated
/// (every call is handed the same input).
fn concurrent(kind: Kind, s: &Setup, o: &Observed) -> Vec<String> {
    let e = s.endpoint;
    let applies = |i: Invariant| !exempt(kind, i);
    let n = o.returned.len();
    let all = o.attempts(0);
    let mut p = Vec::new();
    let mut say = |what: String| p.push(format!("invariant: {n} calls at once: {what}"));
    let max = n * (s.policy.retry.max_attempts as usize + usize::from(refreshes(kind)));
    if applies(Invariant::DeclaredAttempts) && all.len() > max {
        say(format!("expected at most {max} attempts in all (retry.max_attempts per call), found {}", all.len()));
    }
    if let (Some(h), true) = (e.idempotency_header.as_ref().filter(|_| e.is_idempotent()), applies(Invariant::OneKeyPerCall)) {
        let mut keys: Vec<&str> = Vec::new();
        for (i, a) in all.iter().enumerate() {
            match a.header(h) {
                None => {
                    say(format!("expected {h} on every attempt of a keyed call, found attempt {} without it", i + 1));
                    break;
                }
                Some(k) if !keys.contains(&k) => keys.push(k),
                Some(_) => {}
            }
        }
        if keys.len() > n {
            say(format!("expected one {h} per call ({n} keys), found {}: a retry carried a key of its own", keys.len()));
        } else if !keys.is_empty() && keys.len() < n {
            say(format!("expected one {h} per call ({n} keys), found {}: separate calls shared a key", keys.len()));
        }
    }
    if let (Some(h), true) = (s.auth_header(), applies(Invariant::CredentialOnEveryAttempt))
        && all.first().is_some_and(|x| x.header(h).is_some())
        && let Some(i) = all.iter().position(|x| x.header(h).is_none_or(|v| v.trim().is_empty()))
    {
        say(format!("expected the credential ({h}) on every attempt, found attempt {} without it", i + 1));
    }
    if applies(Invariant::SameRequest)
        && let Some(first) = all.first()
        && let Some((i, what)) = all.iter().enumerate().skip(1).find_map(|(i, x)| differs(first, x).map(|w| (i, w)))
    {
        say(format!(
            "expected every attempt to repeat the same request (each call is handed the same input), found attempt {} with another {what}",
            i + 1
        ));
    }
    p
}

/// What differs between two attempts of one call: `method`, `path or query`, `body`.
fn differs(first: &Arrival, other: &Arrival) -> Option<&'static str> {
    if first.method != other.method {
        return Some("method");
    }
    if first.path != other.path {
        return Some("path or query");
    }
    (!same_parameters(first, other)).then_some("body")
}

/// Whether two requests carry the same parameters, as a provider compares them: the same
/// JSON value (fields in any order, any spacing), the same form fields (in any order), or
/// else the same bytes. A multipart body's boundary is new on every attempt: its parts are
/// not compared.
pub(super) fn same_parameters(first: &Arrival, other: &Arrival) -> bool {
    let form = |a: &Arrival| {
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(&a.body).into_owned().collect();
        pairs.sort();
        pairs
    };
    let content_type = first.header("content-type").unwrap_or_default();
    match (first.json(), other.json()) {
        (Some(a), Some(b)) => a == b,
        _ if content_type.starts_with("multipart/") => true,
        _ if content_type.starts_with("application/x-www-form-urlencoded") => form(first) == form(other),
        _ => first.body == other.body,
    }
}
