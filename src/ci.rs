//! What a CI system reads from a run besides the test output: JUnit XML (one testcase
//! per trial), a GitHub Actions step summary (per service: verdict, counts, failures) and
//! `::error` workflow commands that annotate the spec line of each failing endpoint.
//!
//! ```
//! use oc_integrate::ci::{self, Failure, Record};
//!
//! let failed = Record {
//!     name: "payments::create_customer::rate_limited".into(),
//!     suite: "payments".into(),
//!     seconds: 1.5,
//!     failure: Some(Failure {
//!         summary: "expected 1 retry after Retry-After, found none".into(),
//!         text: "expected: …".into(),
//!         file: Some("integrations/payments/spec.yaml".into()),
//!         line: Some(14),
//!         column: Some(5),
//!     }),
//!     skipped: None,
//!     flaky: None,
//! };
//! let xml = ci::junit(&[failed.clone()], std::time::SystemTime::now(), 1.5);
//! assert!(xml.contains(r#"<testcase name="payments::create_customer::rate_limited" classname="payments""#));
//! assert_eq!(
//!     ci::annotations(&[failed], &[]),
//!     ["::error file=integrations/payments/spec.yaml,line=14,col=5,title=payments%3A%3Acreate_customer%3A 1 failing case(s)::rate_limited: expected 1 retry after Retry-After, found none"]
//! );
//! ```

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::redact;
use crate::results::{CaseResult, MAX_FAILED_ROUNDS, Run, SandboxResult, SetupFailure};
use crate::spec::Spec;
use crate::text::{cell, rfc3339};

/// One trial as a CI system sees it.
#[derive(Debug, Clone)]
pub struct Record {
    /// The trial's name (`service::endpoint::kind`, or `service::spec` for a broken spec).
    pub name: String,
    /// The service it belongs to.
    pub suite: String,
    /// How long it ran.
    pub seconds: f64,
    /// Why it failed, when it did.
    pub failure: Option<Failure>,
    /// Why it did not run, when it was ignored (a sandbox trial without credentials).
    pub skipped: Option<String>,
    /// The failure a quiet re-run overturned, when it passed only alone (flaky).
    pub flaky: Option<Failure>,
}

/// A failed trial.
#[derive(Debug, Clone)]
pub struct Failure {
    /// One line: the first thing that was wrong.
    pub summary: String,
    /// The whole failure text.
    pub text: String,
    /// The spec file to point at.
    pub file: Option<PathBuf>,
    /// The line in it (the failing endpoint's, or the broken value's).
    pub line: Option<usize>,
    /// The column on that line.
    pub column: Option<usize>,
}

impl Record {
    /// The record of a case's trial.
    pub fn of(result: &CaseResult, spec: &Spec) -> Record {
        let at = spec.source_map.locate(&result.case.subject.path());
        let failure = |summary: &str, text: &str| Failure {
            summary: redact::redact(summary),
            text: text.to_string(),
            file: Some(spec.file.clone()),
            line: Some(at.line),
            column: Some(at.col),
        };
        let first = result.outcome.problems.first().map(String::as_str).unwrap_or(&result.outcome.actual);
        Record {
            name: result.case.name(),
            suite: result.case.service.clone(),
            seconds: result.seconds,
            failure: (!result.outcome.passed).then(|| failure(first, &result.message)),
            skipped: None,
            flaky: result.flaky.as_ref().filter(|_| result.outcome.passed).map(|f| failure(&f.problem, &f.message)),
        }
    }

    /// The record of a sandbox trial (ignored ones carry their reason).
    pub fn of_sandbox(result: &SandboxResult, spec: &Spec) -> Record {
        let failure = (!result.passed && result.ran()).then(|| {
            let at = spec.source_map.locate(&result.case.path());
            Failure {
                summary: redact::redact(result.problems.first().map(String::as_str).unwrap_or(&result.actual)),
                text: result.message.clone(),
                file: Some(spec.file.clone()),
                line: Some(at.line),
                column: Some(at.col),
            }
        });
        Record {
            name: result.case.name(),
            suite: result.case.service.clone(),
            seconds: result.seconds,
            failure,
            skipped: result.ignored.clone(),
            flaky: None,
        }
    }

    /// The record of a trial that failed before it could run.
    pub fn of_setup(setup: &SetupFailure) -> Record {
        let failure = Failure {
            summary: setup.text.clone(),
            text: setup.text.clone(),
            file: setup.file.clone(),
            line: setup.at.map(|a| a.line),
            column: setup.at.map(|a| a.col),
        };
        Record { name: setup.name.clone(), suite: setup.service.clone(), seconds: 0.0, failure: Some(failure), skipped: None, flaky: None }
    }
}

/// Every trial of `run` as a CI system sees it: by service, then the trials that could not
/// start, the mock cases and the sandbox trials, each in plan order.
pub fn records(run: &Run) -> Vec<Record> {
    let mut out: Vec<Record> = run.setup.iter().map(Record::of_setup).collect();
    for s in &run.services {
        out.extend(s.cases.iter().map(|r| Record::of(r, &s.spec)));
        out.extend(s.sandbox.iter().map(|r| Record::of_sandbox(r, &s.spec)));
    }
    // stable: within a service, setup failures (by name), then cases and sandbox trials as above
    out.sort_by(|a, b| a.suite.cmp(&b.suite));
    out
}

/// Text safe inside XML 1.0: markup escaped, characters XML cannot carry dropped (a
/// hostile response may put control characters into a failure message).
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in redact::redact(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML for `records` of a run that started at `started` and took `seconds` (trials
/// run concurrently, so that is less than the sum of their times): one `<testsuite>` per
/// service (its `time` is the sum of its trials'), one `<testcase>` per trial, a
/// `<failure>` with the first problem as its message and the whole failure text.
pub fn junit(records: &[Record], started: SystemTime, seconds: f64) -> String {
    let mut suites: Vec<&str> = records.iter().map(|r| r.suite.as_str()).collect();
    suites.sort();
    suites.dedup();
    let failures = records.iter().filter(|r| r.failure.is_some()).count();
    let stamp = rfc3339(started);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        r#"<testsuites name="oc-integrate" tests="{}" failures="{failures}" errors="0" time="{seconds:.3}" timestamp="{stamp}">"#,
        records.len()
    );
    for suite in suites {
        let mine: Vec<&Record> = records.iter().filter(|r| r.suite == suite).collect();
        let failed = mine.iter().filter(|r| r.failure.is_some()).count();
        let skipped = mine.iter().filter(|r| r.skipped.is_some()).count();
        let time = mine.iter().fold(0.0, |sum, r| sum + r.seconds);
        let _ = writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{failed}" errors="0" skipped="{skipped}" time="{time:.3}" timestamp="{stamp}">"#,
            xml(suite),
            mine.len()
        );
        for r in mine {
            let head = format!(r#"    <testcase name="{}" classname="{}" time="{:.3}""#, xml(&r.name), xml(suite), r.seconds);
            match &r.failure {
                None => match (&r.skipped, &r.flaky) {
                    (None, None) => {
                        let _ = writeln!(out, "{head}/>");
                    }
                    (Some(why), _) => {
                        let _ = writeln!(out, "{head}>\n      <skipped message=\"{}\"/>\n    </testcase>", xml(why));
                    }
                    // passed when re-run alone: the first failure, as nextest and surefire write it
                    (None, Some(f)) => {
                        let _ = writeln!(out, "{head}>");
                        let _ = writeln!(
                            out,
                            r#"      <flakyFailure message="{}" type="oc-integrate">{}</flakyFailure>"#,
                            xml(&f.summary),
                            xml(&f.text)
                        );
                        let _ = writeln!(out, "    </testcase>");
                    }
                },
                Some(f) => {
                    let at = match (&f.file, f.line) {
                        (Some(file), Some(line)) => format!(r#" file="{}" line="{line}""#, xml(&file.display().to_string())),
                        (Some(file), None) => format!(r#" file="{}""#, xml(&file.display().to_string())),
                        _ => String::new(),
                    };
                    let _ = writeln!(out, "{head}{at}>");
                    let _ = writeln!(out, r#"      <failure message="{}" type="oc-integrate">{}</failure>"#, xml(&f.summary), xml(&f.text));
                    let _ = writeln!(out, "    </testcase>");
                }
            }
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Escape workflow-command data (`%`, CR, LF).
fn command_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escape a workflow-command property (data escapes plus `:` and `,`).
fn command_property(text: &str) -> String {
    command_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub shows at most this many error annotations per step; the rest are summed up in
/// the last one rather than dropped silently.
pub const MAX_ANNOTATIONS: usize = 10;

/// The services of `run` whose round escalated them, for their annotations.
pub fn escalations(run: &Run) -> Vec<Escalation> {
    run.services
        .iter()
        .filter_map(|s| {
            let r = s.round.as_ref().filter(|r| r.escalated())?;
            Some(Escalation { service: s.spec.id.clone(), file: s.spec.file.clone(), failed_in_a_row: r.failed_in_a_row })
        })
        .collect()
}

/// A service that escalated in this run, for its annotation.
#[derive(Debug, Clone)]
pub struct Escalation {
    /// The service.
    pub service: String,
    /// Its spec file.
    pub file: PathBuf,
    /// Failed rounds in a row.
    pub failed_in_a_row: u32,
}

/// `::error` workflow commands for a run: one per escalated service, then one per failing
/// endpoint (its failing cases and their first problems, at the endpoint's spec line),
/// at most [`MAX_ANNOTATIONS`]. Files are made relative to `GITHUB_WORKSPACE` when inside it.
pub fn annotations(records: &[Record], escalations: &[Escalation]) -> Vec<String> {
    let command = |file: Option<&Path>, line: Option<usize>, column: Option<usize>, title: &str, message: &str| {
        let mut props = Vec::new();
        if let Some(file) = file {
            props.push(format!("file={}", command_property(&workspace_relative(file).display().to_string())));
        }
        props.extend(line.map(|l| format!("line={l}")));
        props.extend(column.map(|c| format!("col={c}")));
        props.push(format!("title={}", command_property(title)));
        format!("::error {}::{}", props.join(","), command_data(&redact::redact(message)))
    };
    let mut out: Vec<String> = escalations
        .iter()
        .map(|e| {
            let message = format!(
                "{} failed rounds in a row (max iterations: {}): a person must look at this integration",
                e.failed_in_a_row, MAX_FAILED_ROUNDS
            );
            command(Some(&e.file), Some(1), None, &format!("{} escalated", e.service), &message)
        })
        .collect();
    // one annotation per failing endpoint (`svc::endpoint`), or per setup failure (`svc::spec`)
    let mut groups: Vec<(String, Vec<&Record>)> = Vec::new();
    for r in records.iter().filter(|r| r.failure.is_some()) {
        let key = match r.name.matches("::").count() {
            2 => r.name.rsplit_once("::").map(|(k, _)| k.to_string()).unwrap_or_default(),
            _ => r.name.clone(),
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, rs)) => rs.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    let room = MAX_ANNOTATIONS.saturating_sub(out.len());
    let shown = if groups.len() > room { room.saturating_sub(1) } else { groups.len() };
    for (key, rs) in &groups[..shown] {
        let Some(f) = rs[0].failure.as_ref() else { continue };
        let title = if rs.len() == 1 && rs[0].name == *key { key.clone() } else { format!("{key}: {} failing case(s)", rs.len()) };
        let lines: Vec<String> = rs
            .iter()
            .filter_map(|r| r.failure.as_ref().map(|f| (r, f)))
            .map(|(r, f)| match r.name.strip_prefix(&format!("{key}::")) {
                Some(kind) => format!("{kind}: {}", f.summary),
                None => f.summary.clone(),
            })
            .collect();
        out.push(command(f.file.as_deref(), f.line, f.column, &title, &lines.join("\n")));
    }
    if shown < groups.len() {
        let rest: usize = groups[shown..].iter().map(|(_, rs)| rs.len()).sum();
        out.push(command(
            None,
            None,
            None,
            "more failures",
            &format!("{rest} more failing case(s) on {} more endpoint(s): see the step summary or the JUnit report", groups.len() - shown),
        ));
    }
    out
}

fn workspace_relative(file: &Path) -> PathBuf {
    let Some(ws) = std::env::var_os("GITHUB_WORKSPACE") else { return file.to_path_buf() };
    match (std::fs::canonicalize(file), std::fs::canonicalize(ws)) {
        (Ok(f), Ok(ws)) => f.strip_prefix(&ws).map(Path::to_path_buf).unwrap_or(f),
        _ => file.to_path_buf(),
    }
}

/// The GitHub step summary of a run (its `records`): per service its verdict, counts,
/// round and failures.
pub fn step_summary(run: &Run, records: &[Record]) -> String {
    let mut md = String::from("## oc-integrate\n\n| Service | Verdict | Passed | Round |\n|---|---|---|---|\n");
    let mut names: Vec<&str> = records.iter().map(|r| r.suite.as_str()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let service = run.services.iter().find(|s| s.spec.id == name);
        let mine: Vec<&Record> = records.iter().filter(|r| r.suite == name).collect();
        let failed = mine.iter().filter(|r| r.failure.is_some()).count();
        let verdict = if failed > 0 { "❌ FAIL" } else { "✅ PASS" };
        let round = match service.and_then(|s| s.round.as_ref()) {
            Some(r) if r.escalated() => format!("{} — **escalated** ({} failed in a row)", r.path.display(), r.failed_in_a_row),
            Some(r) => r.path.display().to_string(),
            None => match service.map(|s| s.plan.len() + s.sandbox_plan.len()) {
                Some(planned) => format!("partial run ({} of {planned} cases): no round written", mine.len()),
                None => "cannot run (see the failure below): no round written".to_string(),
            },
        };
        let skipped = mine.iter().filter(|r| r.skipped.is_some()).count();
        let ignored = if skipped > 0 { format!(" ({skipped} ignored)") } else { String::new() };
        let passed = mine.len() - failed - skipped;
        let _ = writeln!(md, "| {} | {verdict} | {passed}/{}{ignored} | {} |", cell(name), mine.len() - skipped, cell(&round));
    }
    let flaky: Vec<&Record> = records.iter().filter(|r| r.flaky.is_some()).collect();
    if !flaky.is_empty() {
        md.push_str("\n### Flaky (failed at first, passed when re-run alone)\n\n| Case | First failure |\n|---|---|\n");
        for r in flaky {
            let Some(f) = &r.flaky else { continue };
            let _ = writeln!(md, "| `{}` | {} |", cell(&r.name), cell(&f.summary));
        }
    }
    let failed: Vec<&Record> = records.iter().filter(|r| r.failure.is_some()).collect();
    if !failed.is_empty() {
        md.push_str("\n### Failures\n\n| Case | Spec | Problem |\n|---|---|---|\n");
        for r in failed {
            let Some(f) = &r.failure else { continue };
            let at = match (&f.file, f.line) {
                (Some(file), Some(line)) => format!("{}:{line}", file.display()),
                (Some(file), None) => file.display().to_string(),
                _ => String::new(),
            };
            let _ = writeln!(md, "| `{}` | {} | {} |", cell(&r.name), cell(&at), cell(&f.summary));
        }
    }
    md.push('\n');
    md
}

/// Append `text` to the file at `path` in one write (GitHub's step summary is shared by
/// every step of a job).
pub fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(name: &str, line: usize) -> Record {
        let failure = Failure {
            summary: format!("{name} broke"),
            text: String::new(),
            file: Some("spec.yaml".into()),
            line: Some(line),
            column: Some(7),
        };
        Record { name: name.into(), suite: "svc".into(), seconds: 0.1, failure: Some(failure), skipped: None, flaky: None }
    }

    #[test]
    fn annotations_are_one_per_failing_endpoint_capped_with_escalations_first() {
        let mut records: Vec<Record> = (0..12).map(|i| failed(&format!("svc::ep{i}::timeout"), 10 + i)).collect();
        records.push(failed("svc::ep0::drift_null_value", 10));
        let escalated = Escalation { service: "svc".into(), file: "spec.yaml".into(), failed_in_a_row: 3 };
        let lines = annotations(&records, &[escalated]);
        assert_eq!(lines.len(), MAX_ANNOTATIONS);
        assert!(lines[0].starts_with("::error file=spec.yaml,line=1,title=svc escalated::3 failed rounds in a row"), "{}", lines[0]);
        assert_eq!(
            lines[1],
            "::error file=spec.yaml,line=10,col=7,title=svc%3A%3Aep0%3A 2 failing case(s)::timeout: svc::ep0::timeout broke%0Adrift_null_value: svc::ep0::drift_null_value broke"
        );
        assert_eq!(
            lines[9],
            "::error title=more failures::4 more failing case(s) on 4 more endpoint(s): see the step summary or the JUnit report"
        );
        let spec = failed("svc::spec", 3);
        assert_eq!(annotations(&[spec], &[]), ["::error file=spec.yaml,line=3,col=7,title=svc%3A%3Aspec::svc::spec broke"]);
    }

    #[test]
    fn junit_text_is_escaped_and_control_characters_dropped() {
        let mut r = failed("svc::ep::kind", 1);
        if let Some(f) = r.failure.as_mut() {
            f.text = "<body>\u{1b}[31m & \"quoted\"\u{0}".into();
        }
        let xml = junit(&[r], SystemTime::UNIX_EPOCH, 0.0);
        assert!(xml.contains("&lt;body&gt;\u{FFFD}[31m &amp; &quot;quoted&quot;\u{FFFD}</failure>"), "{xml}");
        assert!(xml.contains(r#"time="0.000" timestamp="1970-01-01T00:00:00Z""#));
        assert!(junit(&[], SystemTime::UNIX_EPOCH, 0.0).contains(r#"tests="0" failures="0" errors="0" time="0.000""#));
    }
}
