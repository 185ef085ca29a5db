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
//!     }),
//! };
//! let xml = ci::junit(&[failed.clone()]);
//! assert!(xml.contains(r#"<testcase name="payments::create_customer::rate_limited" classname="payments""#));
//! assert_eq!(
//!     ci::annotation(&failed).unwrap(),
//!     "::error file=integrations/payments/spec.yaml,line=14,title=payments%3A%3Acreate_customer%3A%3Arate_limited::expected 1 retry after Retry-After, found none"
//! );
//! ```

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::redact;
use crate::report::{Round, cell};
use crate::scenario::Case;
use crate::spec::Spec;
use crate::trial::TrialResult;

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
}

impl Record {
    /// The record of a case's trial.
    pub fn of(result: &TrialResult, spec: &Spec, seconds: f64) -> Record {
        let failure = (!result.outcome.passed).then(|| Failure {
            summary: redact::redact(result.outcome.problems.first().map(String::as_str).unwrap_or(&result.outcome.actual)),
            text: result.message.clone(),
            file: Some(spec.file.clone()),
            line: Some(spec.source_map.locate(&endpoint_path(&result.case)).line),
        });
        Record { name: result.case.name(), suite: result.case.service.clone(), seconds, failure }
    }
}

fn endpoint_path(case: &Case) -> String {
    format!("endpoints[{}]", case.endpoint)
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

/// JUnit XML for `records`: one `<testsuite>` per service, one `<testcase>` per trial,
/// a `<failure>` with the first problem as its message and the whole failure text.
pub fn junit(records: &[Record]) -> String {
    let mut suites: Vec<&str> = records.iter().map(|r| r.suite.as_str()).collect();
    suites.sort();
    suites.dedup();
    let failures = records.iter().filter(|r| r.failure.is_some()).count();
    let total: f64 = records.iter().map(|r| r.seconds).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ =
        writeln!(out, r#"<testsuites name="oc-integrate" tests="{}" failures="{failures}" errors="0" time="{total:.3}">"#, records.len());
    for suite in suites {
        let mine: Vec<&Record> = records.iter().filter(|r| r.suite == suite).collect();
        let failed = mine.iter().filter(|r| r.failure.is_some()).count();
        let time: f64 = mine.iter().map(|r| r.seconds).sum();
        let _ = writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{failed}" errors="0" skipped="0" time="{time:.3}">"#,
            xml(suite),
            mine.len()
        );
        for r in mine {
            let head = format!(r#"    <testcase name="{}" classname="{}" time="{:.3}""#, xml(&r.name), xml(suite), r.seconds);
            match &r.failure {
                None => {
                    let _ = writeln!(out, "{head}/>");
                }
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

/// The `::error` workflow command for a failed record (`None` when it passed). The file
/// is made relative to `GITHUB_WORKSPACE` when it lies inside it, as GitHub expects.
pub fn annotation(r: &Record) -> Option<String> {
    let f = r.failure.as_ref()?;
    let mut props = Vec::new();
    if let Some(file) = &f.file {
        props.push(format!("file={}", command_property(&workspace_relative(file).display().to_string())));
    }
    if let Some(line) = f.line {
        props.push(format!("line={line}"));
    }
    props.push(format!("title={}", command_property(&r.name)));
    Some(format!("::error {}::{}", props.join(","), command_data(&redact::redact(&f.summary))))
}

fn workspace_relative(file: &Path) -> PathBuf {
    let Some(ws) = std::env::var_os("GITHUB_WORKSPACE") else { return file.to_path_buf() };
    match (std::fs::canonicalize(file), std::fs::canonicalize(ws)) {
        (Ok(f), Ok(ws)) => f.strip_prefix(&ws).map(Path::to_path_buf).unwrap_or(f),
        _ => file.to_path_buf(),
    }
}

/// One service's part of a run, for the step summary.
#[derive(Debug, Clone)]
pub struct ServiceRun<'a> {
    /// The service.
    pub service: &'a str,
    /// The round written for it (`None` for a partial run, which writes none).
    pub round: Option<&'a Round>,
    /// Cases its spec plans (0 when the spec did not load).
    pub planned: usize,
}

/// The GitHub step summary of a run: per service its verdict, counts, round and failures.
pub fn step_summary(services: &[ServiceRun], records: &[Record]) -> String {
    let mut md = String::from("## oc-integrate\n\n| Service | Verdict | Passed | Round |\n|---|---|---|---|\n");
    for s in services {
        let mine: Vec<&Record> = records.iter().filter(|r| r.suite == s.service).collect();
        let failed = mine.iter().filter(|r| r.failure.is_some()).count();
        let verdict = if failed > 0 { "❌ FAIL" } else { "✅ PASS" };
        let round = match s.round {
            Some(r) if r.escalated() => format!("{} — **escalated** ({} failed in a row)", r.path.display(), r.failed_in_a_row),
            Some(r) => r.path.display().to_string(),
            None => format!("partial run ({} of {} cases): no round written", mine.len(), s.planned),
        };
        let _ = writeln!(md, "| {} | {verdict} | {}/{} | {} |", cell(s.service), mine.len() - failed, mine.len(), cell(&round));
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
