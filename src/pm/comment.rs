//! What write-back writes: the seed's idempotency marker
//! (`<!-- opchain:<skill>:<event>:<correlation-id> -->`) and the texts it heads — a round's
//! comment (service, round, verdict, score, each failure with its reproduce command, the
//! report) and an escalated service's bug ticket. Everything quoted from a run goes through
//! the redactor.

use std::fmt::{self, Write as _};
use std::path::Path;

use crate::redact::redact;
use crate::results::{MAX_FAILED_ROUNDS, Round, ServiceRun};
use crate::text::clip;

/// The skill every marker this harness writes names.
pub const SKILL: &str = "oc-integrations-engineer";

/// Failures listed one by one in a comment; the rest are counted.
const LISTED: usize = 20;

/// The seed's idempotency marker: the same event of the same correlation id is written once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// The event (`test-round`, `escalation`).
    pub event: String,
    /// What makes it one event (`payments-round-3`).
    pub correlation: String,
}

impl fmt::Display for Marker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<!-- opchain:{SKILL}:{}:{} -->", self.event, self.correlation)
    }
}

impl Marker {
    /// The marker of a service's round: correlation id `<service>-round-<n>`.
    ///
    /// ```
    /// use oc_integrate::pm::comment::Marker;
    /// assert_eq!(Marker::round("payments", 3).to_string(), "<!-- opchain:oc-integrations-engineer:test-round:payments-round-3 -->");
    /// ```
    pub fn round(service: &str, number: u32) -> Marker {
        Marker { event: "test-round".into(), correlation: format!("{service}-round-{number}") }
    }

    /// The marker of a service's escalation, one per streak of failed rounds: the correlation
    /// id names the streak's first round, so rounds 3, 4 and 5 of one streak share a ticket.
    pub fn escalation(service: &str, round: &Round) -> Marker {
        let first = round.number + 1 - round.failed_in_a_row.max(1);
        Marker { event: "escalation".into(), correlation: format!("{service}-failing-since-round-{first}") }
    }
}

/// The round's verdict as the comment and the checkpoint say it.
pub fn verdict(round: &Round) -> &'static str {
    if round.passed { "PASS" } else { "FAIL" }
}

/// `path` relative to the working directory when it is under it.
fn shown(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).unwrap_or(path).display().to_string()
}

/// The comment for `round` of `run`, marker first.
pub fn round_comment(run: &ServiceRun, round: &Round) -> String {
    let service = &run.spec.id;
    let mut md = format!("{}\n", Marker::round(service, round.number));
    let _ = writeln!(md, "**oc-integrate: {} ({service}), round {}: {}**\n", run.spec.name, round.number, verdict(round));
    let ok = run.cases.iter().filter(|r| r.outcome.passed).count();
    let _ = write!(md, "Score: {ok}/{} cases pass", run.cases.len());
    let live: Vec<_> = run.live().filter(|r| r.ran()).collect();
    if !live.is_empty() {
        let _ = write!(md, "; sandbox {}/{}", live.iter().filter(|r| r.passed).count(), live.len());
    }
    md.push_str(".\n");
    if !round.passed {
        let _ = writeln!(md, "Failed rounds in a row: {} of {MAX_FAILED_ROUNDS} before escalation.", round.failed_in_a_row);
    }
    let _ = writeln!(md, "Report: `{}`", shown(&round.path));
    let mut failures: Vec<(String, String, String)> = run
        .cases
        .iter()
        .filter(|r| !r.outcome.passed)
        .map(|r| (r.case.name(), r.outcome.problems.first().cloned().unwrap_or_else(|| r.outcome.actual.clone()), r.reproduce()))
        .collect();
    failures.sort();
    failures.extend(
        live.iter()
            .filter(|r| !r.passed)
            .map(|r| (r.case.name(), r.problems.first().cloned().unwrap_or_else(|| r.actual.clone()), r.reproduce())),
    );
    if !failures.is_empty() {
        md.push_str("\nFailures:\n");
        for (name, problem, reproduce) in failures.iter().take(LISTED) {
            let _ = writeln!(md, "- `{name}`: {}\n  reproduce: `{reproduce}`", clip(problem).replace('\n', " "));
        }
        if failures.len() > LISTED {
            let _ = writeln!(md, "- and {} more (see the report)", failures.len() - LISTED);
        }
    }
    redact(&md)
}

/// The title and description of the bug ticket an escalated service gets, marker first in
/// the description; `from` is the ticket the work comes from, when there is one.
pub fn escalation_ticket(run: &ServiceRun, round: &Round, from: Option<&str>) -> (String, String) {
    let service = &run.spec.id;
    let title = format!("oc-integrate: {} ({service}) failed {} test rounds in a row", run.spec.name, round.failed_in_a_row);
    let mut body = format!("{}\n", Marker::escalation(service, round));
    let _ = writeln!(
        body,
        "The integration's client failed {} rounds in a row (the seed escalates after {MAX_FAILED_ROUNDS}): a person should look.",
        round.failed_in_a_row
    );
    if let Some(t) = from {
        let _ = writeln!(body, "Work ticket: {t}");
    }
    body.push('\n');
    body += round_comment(run, round).split_once('\n').map(|(_, rest)| rest).unwrap_or_default();
    (redact(&title), redact(&body))
}
