//! The error matrix as cases: which case covers each row of `error_handling`, the statuses
//! a class row (`4xx`, `5xx`) stands for, and the rows no case can test, with the reason
//! (the contract lint reports those, so a row is never silently ignored).

use crate::case::Kind;
use crate::spec::{Action, Auth, ErrorRule, Spec, StatusMatch};

/// The statuses a `4xx` row stands for (those without a row of their own).
pub const CLIENT_SPREAD: [u16; 6] = [400, 403, 404, 409, 410, 422];

/// The statuses a `5xx` row stands for besides 500 (those without a row of their own).
pub const SERVER_SPREAD: [u16; 3] = [502, 503, 504];

/// What one row of the matrix becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// These cases of the matrix's own (one per status it stands for).
    Cases(Vec<Kind>),
    /// A family of named kinds covers it (`401` → the auth cases, `429` → the rate-limit cases).
    Family,
    /// No case can test it, for this reason.
    Untested(String),
}

/// Whether a plain row of its own (no `when`) covers `code`.
fn own_row(spec: &Spec, code: u16) -> bool {
    spec.error_handling.iter().any(|r| r.when.is_empty() && r.status == StatusMatch::Code(code))
}

/// Whether a named family of kinds covers a plain row for `code` with `action`.
fn family(spec: &Spec, code: u16, action: Action) -> bool {
    match (code, action) {
        (401, Action::RefreshAndRetryOnce) => true,
        (401, Action::Fail) => spec.overview.auth != Auth::None,
        (429, Action::RespectRetryAfter) | (500, Action::RetryWithBackoff) | (503, Action::RetryWithLongerDelays) => true,
        _ => false,
    }
}

/// A case of the matrix's own for `code`, or why there cannot be one.
fn status_case(code: u16, when: u8, action: Action) -> Result<Kind, String> {
    match action {
        Action::RefreshAndRetryOnce => Err(format!(
            "a refresh on {code}{} cannot be simulated: only a plain 401 row's expired token is",
            if when > 0 { " with headers" } else { "" }
        )),
        _ => Ok(Kind::Status { code, when, action }),
    }
}

/// What each row of the matrix becomes, in row order.
pub fn coverage(spec: &Spec) -> Vec<Coverage> {
    let rows = &spec.error_handling;
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let earlier = &rows[..i];
            let same = |o: &&ErrorRule| o.status == r.status && o.when == r.when;
            if let Some(j) = earlier.iter().position(|o| same(&o)) {
                return Coverage::Untested(format!("error_handling[{j}] already says what {} means", r.status));
            }
            match r.status {
                StatusMatch::Code(c) | StatusMatch::Class(c) if c < 4 || (100..400).contains(&c) => {
                    Coverage::Untested(format!("{} is not an error status: the mock provider only injects 4xx and 5xx", r.status))
                }
                StatusMatch::Code(c) if !r.when.is_empty() => {
                    let when = earlier.iter().filter(|o| o.status == r.status && !o.when.is_empty()).count() + 1;
                    match status_case(c, when.min(u8::MAX as usize) as u8, r.action) {
                        Ok(k) => Coverage::Cases(vec![k]),
                        Err(why) => Coverage::Untested(why),
                    }
                }
                StatusMatch::Code(c) if family(spec, c, r.action) => Coverage::Family,
                StatusMatch::Code(c) => match status_case(c, 0, r.action) {
                    Ok(k) => Coverage::Cases(vec![k]),
                    Err(why) => Coverage::Untested(why),
                },
                StatusMatch::Class(class) => {
                    if !r.when.is_empty() {
                        return Coverage::Untested(format!("`when` needs one status, found the class {}", r.status));
                    }
                    let spread: Vec<u16> = match class {
                        4 => CLIENT_SPREAD.to_vec(),
                        _ => std::iter::once(500).chain(SERVER_SPREAD).collect(),
                    };
                    let mine: Vec<u16> = spread.into_iter().filter(|c| !own_row(spec, *c)).collect();
                    if mine.is_empty() {
                        return Coverage::Untested(format!("every status it stands for has a row of its own ({})", r.status));
                    }
                    if class == 4 && r.action == Action::Fail {
                        return Coverage::Family;
                    }
                    let mut kinds = Vec::new();
                    for c in mine {
                        if family(spec, c, r.action) {
                            continue;
                        }
                        match status_case(c, 0, r.action) {
                            Ok(k) => kinds.push(k),
                            Err(why) => return Coverage::Untested(why),
                        }
                    }
                    if kinds.is_empty() { Coverage::Family } else { Coverage::Cases(kinds) }
                }
            }
        })
        .collect()
}

/// The matrix's own cases, in row order.
pub fn status_kinds(spec: &Spec) -> Vec<Kind> {
    coverage(spec)
        .into_iter()
        .flat_map(|c| match c {
            Coverage::Cases(k) => k,
            _ => Vec::new(),
        })
        .collect()
}

/// The statuses the `client_error_not_retried` case sends: those a `4xx` row that fails stands for.
pub fn client_error_statuses(spec: &Spec) -> Vec<u16> {
    CLIENT_SPREAD
        .into_iter()
        .filter(|c| !own_row(spec, *c) && spec.rule_for(*c).is_some_and(|r| r.status == StatusMatch::Class(4) && r.action == Action::Fail))
        .collect()
}

/// The row a [`Kind::Status`] case was made from.
pub fn row(spec: &Spec, code: u16, when: u8) -> Option<&ErrorRule> {
    if when == 0 {
        return spec.rule_for(code);
    }
    spec.error_handling.iter().filter(|r| r.status == StatusMatch::Code(code) && !r.when.is_empty()).nth(when as usize - 1)
}
