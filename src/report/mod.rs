//! Round reports: a complete run of a service's cases is a test round in the seed's sense,
//! written to `integrations/<service>/test-round-M.md` in the seed's layout, each row a short
//! phrase across endpoints (naming only those that differ), each failing case's evidence
//! folded below its table with a picture of its timeline, per-endpoint coverage beside the
//! verdict, and an escalation after three failed rounds in a row. `html` is the same run as
//! one page; `picture` draws a failing case's timeline.

pub mod html;
mod picture;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::case::{Check, Kind, Subject};
use crate::redact;
use crate::results::{CaseResult, MAX_FAILED_ROUNDS, Round, SandboxResult, ServiceRun};
use crate::spec::{RECEIVER, SENDER, Spec};
use crate::text::{brief, cell};

/// Why a round report could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot write the round report: {source}")]
pub struct ReportError {
    /// The file or directory involved.
    pub path: PathBuf,
    /// The I/O error.
    pub source: std::io::Error,
}

/// The round report of `run` (one complete run of a service's cases, with the sandbox
/// trials of the same run when they ran), as markdown. `failed_before` is the number of
/// failed rounds in a row before this one.
pub fn render(run: &ServiceRun, number: u32, failed_before: u32) -> String {
    let spec = run.spec.as_ref();
    // plan order, whatever order the trials finished in
    let mut sorted: Vec<&CaseResult> = run.cases.iter().collect();
    sorted.sort_by_key(|r| (r.case.subject, r.case.kind));
    let results = sorted.as_slice();
    let sandbox: Vec<&SandboxResult> = run.live().collect();
    let sandbox = sandbox.as_slice();
    let passed = run.passed();
    let mut md = format!("## Integration Test — {} — Round {number}\n\n", spec.name);
    md.push_str("### Sandbox Connectivity\n");
    connectivity(&mut md, spec, sandbox);

    md.push_str("### Endpoint Tests\n| Endpoint | Status | Response Shape | Notes |\n|---|---|---|---|\n");
    for (i, e) in spec.endpoints.iter().enumerate() {
        let mine: Vec<&&CaseResult> = results.iter().filter(|r| r.case.subject == Subject::Endpoint(i)).collect();
        let ok = mine.iter().filter(|r| r.outcome.passed).count();
        let shape: Vec<&&&CaseResult> = mine.iter().filter(|r| r.case.kind == Kind::Conformance || r.case.kind.is_drift()).collect();
        let bad_shape: Vec<String> = shape.iter().filter(|r| !r.outcome.passed).map(|r| r.case.kind.name().into_owned()).collect();
        let shape_text = if bad_shape.is_empty() {
            format!("Parsed; drift handled ({}/{})", shape.len(), shape.len())
        } else {
            format!("Fails: {}{}", bad_shape[..bad_shape.len().min(3)].join(", "), more(bad_shape.len(), 3))
        };
        let live = sandbox.iter().find(|r| r.case.check == Check::Endpoint(i) && r.ignored.is_none());
        let (shape_text, live_ok, note) = match live {
            Some(r) => (
                format!("Sandbox: {}; mock: {shape_text}", r.shape.as_deref().unwrap_or("no response")),
                r.passed,
                format!("; sandbox {}", r.latencies.last().map(|l| format!("{:.0}ms", l.as_secs_f64() * 1000.0)).unwrap_or("FAIL".into())),
            ),
            None => (shape_text, true, String::new()),
        };
        let status = if ok == mine.len() && live_ok { "PASS" } else { "FAIL" };
        let _ = writeln!(md, "| {} | {status} | {} | {ok}/{} cases pass{note} |", cell(&e.label()), cell(&shape_text), mine.len());
    }

    md.push_str("\n### Error Handling\n| Scenario | Expected | Actual | Status |\n|---|---|---|---|\n");
    // the kinds in plan order (the matrix's own rows among them), each once
    let mut kinds: Vec<Kind> = run.plan.iter().map(|c| c.kind).filter(|k| *k != Kind::Conformance && !k.is_receiver()).collect();
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        let rows: Vec<&&CaseResult> =
            results.iter().filter(|r| r.case.kind == kind && matches!(r.case.subject, Subject::Endpoint(_))).collect();
        if rows.is_empty() {
            continue;
        }
        let failed = rows.iter().filter(|r| !r.outcome.passed).count();
        let status = if failed == 0 { "PASS".to_string() } else { format!("FAIL ({failed}/{})", rows.len()) };
        let (expected, actual) = row_phrases(&kind.title(), &status, &rows);
        let _ = writeln!(md, "| {} | {} | {} | {status} |", cell(&kind.title()), cell(&expected), cell(&actual));
    }
    let failing: Vec<&CaseResult> =
        results.iter().copied().filter(|r| !r.outcome.passed && matches!(r.case.subject, Subject::Endpoint(_))).collect();
    evidence(&mut md, spec, &failing);

    let webhooks: Vec<&&CaseResult> = results.iter().filter(|r| !matches!(r.case.subject, Subject::Endpoint(_))).collect();
    if !webhooks.is_empty() {
        md.push_str("\n### Webhooks\n| Webhook | Scenario | Expected | Actual | Status |\n|---|---|---|---|---|\n");
        let mut previous = None;
        for r in &webhooks {
            let status = if r.outcome.passed { "PASS" } else { "FAIL" };
            // the webhook is named on the first of its rows only
            let label = if previous != Some(r.case.subject) { r.case.subject.label(spec) } else { String::new() };
            previous = Some(r.case.subject);
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {status} |",
                cell(&label),
                cell(&if r.case.subject == Subject::Sender && r.case.kind == Kind::Conformance {
                    "Signed delivery".into()
                } else {
                    r.case.kind.title()
                }),
                cell(&brief(&r.outcome.expected, 60)),
                cell(&brief(&r.outcome.actual, 60))
            );
        }
        let failing: Vec<&CaseResult> = webhooks.iter().map(|r| **r).filter(|r| !r.outcome.passed).collect();
        evidence(&mut md, spec, &failing);
    }

    let _ = writeln!(md, "\n### Verdict: {}\n", if passed { "PASS" } else { "FAIL" });
    let ok = results.iter().filter(|r| r.outcome.passed).count();
    let _ = writeln!(md, "Score: {ok}/{} cases pass. Coverage (scenario kinds run of those the spec makes applicable):", results.len());
    let planned = |subject: Subject| run.plan.iter().filter(|c| c.subject == subject).count();
    for (i, e) in spec.endpoints.iter().enumerate() {
        let applicable = planned(Subject::Endpoint(i));
        let ran = results.iter().filter(|r| r.case.subject == Subject::Endpoint(i)).count();
        let catalogue = Kind::ALL.iter().filter(|k| !k.is_receiver()).count();
        let _ = writeln!(md, "- {}: {ran}/{applicable} ({catalogue} kinds in the catalogue)", e.id);
    }
    for (subject, id) in [(Subject::Receiver, RECEIVER), (Subject::Sender, SENDER)] {
        let applicable = planned(subject);
        if applicable > 0 {
            let ran = results.iter().filter(|r| r.case.subject == subject).count();
            let _ = writeln!(md, "- {id}: {ran}/{applicable}");
        }
    }
    let live = sandbox.iter().filter(|r| r.ignored.is_none()).count();
    if live > 0 {
        let ok = sandbox.iter().filter(|r| r.passed).count();
        let _ = writeln!(md, "- sandbox: {ok}/{live} sandbox trials pass");
    }
    let flaky: Vec<&&CaseResult> = results.iter().filter(|r| r.outcome.passed && r.flaky.is_some()).collect();
    if !flaky.is_empty() {
        md.push_str("\nFlaky (failed at first, passed when re-run alone; not counted against the round):\n");
        for r in flaky {
            let first = r.flaky.as_ref().map(|f| f.problem.as_str()).unwrap_or_default();
            let _ = writeln!(md, "- `{}`: {}", r.case.name(), redact::redact(first).replace('\n', " "));
        }
    }
    if !passed {
        md.push_str("\nFailures for the Builder to fix:\n");
        for r in results.iter().filter(|r| !r.outcome.passed) {
            let first = r.outcome.problems.first().map(String::as_str).unwrap_or("failed");
            let _ = writeln!(
                md,
                "- `{}` ({}): {} — reproduce with `{}`",
                r.case.name(),
                spec.locate(&r.case.subject.path()),
                brief(first, FAILURE_WIDTH),
                r.reproduce()
            );
        }
        for r in sandbox.iter().filter(|r| !r.passed && r.ignored.is_none()) {
            let first = r.problems.first().map(String::as_str).unwrap_or("failed");
            let _ = writeln!(
                md,
                "- `{}` ({}): {} — reproduce with `{}`",
                r.case.name(),
                spec.locate(&r.case.path()),
                brief(first, FAILURE_WIDTH),
                r.reproduce()
            );
        }
        let in_a_row = failed_before + 1;
        if in_a_row >= MAX_FAILED_ROUNDS {
            let _ = writeln!(
                md,
                "\n**Escalated:** {in_a_row} failed rounds in a row (max iterations: {MAX_FAILED_ROUNDS}). A person must look at this integration; a PASS resets the count."
            );
        } else {
            let _ = writeln!(md, "\nFailed rounds in a row: {in_a_row} of {MAX_FAILED_ROUNDS} before escalation.");
        }
    }
    md
}

/// How wide a row of the Error Handling table may be: one screen line.
pub const ROW_WIDTH: usize = 160;

/// How much of a failure's first problem the list for the Builder shows (the rest is folded
/// under its table).
const FAILURE_WIDTH: usize = 120;

/// `, +N more` when `total` items were cut to `shown`.
fn more(total: usize, shown: usize) -> String {
    if total > shown { format!(", +{} more", total - shown) } else { String::new() }
}

/// The Expected and Actual cells of an Error Handling row: each a short phrase across the
/// endpoints, so the whole row fits [`ROW_WIDTH`]. Actual says what the failing endpoints
/// did (all of them when none failed), with how many share it; Expected says what is
/// demanded (what follows the stimulus's `→`). Either names only the endpoints that differ.
fn row_phrases(title: &str, status: &str, rows: &[&&CaseResult]) -> (String, String) {
    let fixed = "|  |  |  |  |".len() + title.chars().count() + status.chars().count();
    let room = ROW_WIDTH.saturating_sub(fixed);
    let failing: Vec<(&str, &str)> =
        rows.iter().filter(|r| !r.outcome.passed).map(|r| (r.case.subject_id.as_str(), r.outcome.actual.as_str())).collect();
    let actual = if failing.is_empty() {
        terse(rows.first().map(|r| r.outcome.actual.as_str()).unwrap_or_default(), room * 11 / 20)
    } else {
        across(&failing, Some(rows.len()), room * 11 / 20)
    };
    let wanted: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            let e = r.outcome.expected.as_str();
            (r.case.subject_id.as_str(), e.split_once(" → ").map_or(e, |(_, then)| then))
        })
        .collect();
    let expected = across(&wanted, None, room.saturating_sub(actual.chars().count()));
    (expected, actual)
}

/// `text` as a short phrase of at most `width` characters, in the report's own shorthand.
fn terse(text: &str, width: usize) -> String {
    let text = brief(text, usize::MAX)
        .replace("1 attempt(s)", "1 attempt")
        .replace("attempt(s)", "attempts")
        .replace(", gaps none", "")
        .replace("; returned ", " → ")
        .replace("at least ", "≥ ")
        .replace("exactly one attempt", "1 attempt");
    brief(&text, width)
}

/// What `items` (endpoint id, text) say, in at most `width` characters: the most common
/// text (numbers aside) as a short phrase, with how many of `total` endpoints share it when
/// counted, then the endpoints that differ by name.
fn across(items: &[(&str, &str)], total: Option<usize>, width: usize) -> String {
    // texts alike but for their numbers are one finding
    let shape = |t: &str| brief(t, usize::MAX).chars().map(|c| if c.is_ascii_digit() { '#' } else { c }).collect::<String>();
    let mut groups: Vec<(String, Vec<(&str, &str)>)> = Vec::new();
    for &(id, text) in items {
        let key = shape(text);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push((id, text)),
            None => groups.push((key, vec![(id, text)])),
        }
    }
    groups.sort_by_key(|(_, members)| std::cmp::Reverse(members.len()));
    let Some(((_, major), minor)) = groups.split_first() else { return String::new() };
    let tally = total.map(|n| format!(" — {}/{n}", major.len())).unwrap_or_default();
    // the common phrase gets at least three fifths, the endpoints that differ what it leaves
    let ids: Vec<String> = minor.iter().map(|(_, m)| m.iter().map(|(id, _)| *id).collect::<Vec<_>>().join(", ")).collect();
    let main = terse(major[0].1, width.saturating_sub(tally.chars().count()));
    let keep = (width * 3 / 5).min(main.chars().count());
    let mut left = width.saturating_sub(keep + tally.chars().count());
    let mut others = String::new();
    for ((_, m), id) in minor.iter().zip(&ids) {
        let phrase = terse(m[0].1, left.saturating_sub(id.chars().count() + 4));
        let part = if phrase.chars().count() >= 12 { format!("; {id}: {phrase}") } else { format!("; {id} differ") };
        if part.chars().count() > left {
            break;
        }
        left -= part.chars().count();
        others.push_str(&part);
    }
    let main = terse(major[0].1, width.saturating_sub(tally.chars().count() + others.chars().count()));
    format!("{main}{tally}{others}")
}

/// Each failing case of `failing` folded (`<details>`, GitHub shows it closed): its
/// expectation, findings and what the client returned on lines of their own, the request
/// timeline and the diff as fenced blocks, the timeline as a Mermaid picture, where the spec
/// says it and how to run it alone.
fn evidence(md: &mut String, spec: &Spec, failing: &[&CaseResult]) {
    for r in failing {
        let first = r.outcome.problems.first().map(String::as_str).unwrap_or("failed");
        let _ = writeln!(
            md,
            "\n<details><summary><code>{}</code> · {} — {}</summary>\n",
            picture::escape(&r.case.subject_id),
            picture::escape(&r.case.kind.title()),
            picture::escape(&brief(first, 100))
        );
        let _ = writeln!(md, "Expected: {}\n", inline(&r.outcome.expected));
        let _ = writeln!(md, "Found: {}\n", inline(&r.outcome.actual));
        md.push_str("Problems:\n");
        for p in &r.outcome.problems {
            let _ = writeln!(md, "- {}", inline(p).replace('\n', "\n  "));
        }
        if !r.trace.returned.is_empty() {
            md.push_str("\nThe client returned:\n");
            for (i, v) in r.trace.returned.iter().enumerate() {
                let _ = writeln!(md, "- call {}: {}", i + 1, inline(v));
            }
        }
        if !r.trace.text.is_empty() {
            md.push_str("\nRequest timeline (as the mock provider saw it):\n");
            fenced(md, "text", &r.trace.text);
        }
        if let Some(m) = picture::mermaid(&r.trace, &format!("{} · {}", r.case.subject_id, r.case.kind.name())) {
            fenced(md, "mermaid", &m);
        }
        if !r.outcome.evidence.is_empty() {
            md.push_str("\nEvidence:\n");
            fenced(md, "text", &r.outcome.evidence);
        }
        let _ = writeln!(md, "\nSpec: `{}` · reproduce: `{}`\n\n</details>", spec.locate(&r.case.subject.path()), r.reproduce());
    }
}

/// Text for a markdown line inside the folded evidence: secrets masked, `<` escaped so
/// nothing in it reads as an HTML tag.
fn inline(text: &str) -> String {
    redact::redact(text).replace('&', "&amp;").replace('<', "&lt;")
}

/// `body` as a fenced code block tagged `lang`, its fence longer than any run of backticks
/// in it, secrets masked.
fn fenced(md: &mut String, lang: &str, body: &str) {
    let body = redact::redact(body);
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(md, "\n{fence}{lang}\n{}\n{fence}", body.trim_end());
}

/// The Sandbox Connectivity lines in the seed's format, from the sandbox trials when they
/// ran, else why they did not; then what the sandbox showed about idempotency and rate limits.
fn connectivity(md: &mut String, spec: &Spec, sandbox: &[&SandboxResult]) {
    let find = |check: Check| sandbox.iter().copied().find(|r| r.case.check == check);
    let not_run = match (&spec.sandbox, find(Check::Connectivity)) {
        (None, _) => Some("not run — the spec declares no sandbox".to_string()),
        (Some(_), None) => {
            Some("not run — this round ran the generated mock suite only; the provider's sandbox was not contacted".to_string())
        }
        (Some(_), Some(r)) => r.ignored.as_ref().map(|why| format!("not run — {why}")),
    };
    if let Some(why) = not_run {
        let _ = writeln!(md, "- Endpoint reachable: {why}");
        let _ = writeln!(md, "- Auth succeeds: not run");
        let _ = writeln!(md, "- Latency: not measured\n");
        return;
    }
    let yes_no = |r: Option<&SandboxResult>| match r {
        Some(r) if r.ignored.is_some() => format!("not run — {}", r.ignored.clone().unwrap_or_default()),
        Some(r) => format!("{} ({})", if r.passed { "Yes" } else { "No" }, r.actual),
        None => "not run".into(),
    };
    let _ = writeln!(md, "- Endpoint reachable: {}", cell(&yes_no(find(Check::Connectivity))));
    let _ = writeln!(md, "- Auth succeeds: {}", cell(&yes_no(find(Check::Auth))));
    let mut all: Vec<f64> = sandbox.iter().flat_map(|r| r.latencies.iter().map(|l| l.as_secs_f64() * 1000.0)).collect();
    all.sort_by(f64::total_cmp);
    match all.get(all.len() / 2) {
        Some(p50) => {
            let _ = writeln!(md, "- Latency: {p50:.0}ms (median of {} sandbox requests)", all.len());
        }
        None => {
            let _ = writeln!(md, "- Latency: not measured");
        }
    }
    let extra = |c: &Check| matches!(c, Check::TokenRefresh | Check::Idempotency(_) | Check::RateLimit);
    for r in sandbox.iter().filter(|r| extra(&r.case.check) && r.ignored.is_none()) {
        let what = match r.case.check {
            Check::RateLimit => "Rate limit".to_string(),
            Check::TokenRefresh => "Token refresh".to_string(),
            _ => format!("Idempotency ({})", r.case.subject_id),
        };
        let _ = writeln!(md, "- {what}: {} — {}", if r.passed { "PASS" } else { "FAIL" }, cell(&r.actual));
    }
    md.push('\n');
}

/// The rounds already written in `dir` (a service's directory), oldest first.
pub fn history(dir: &Path) -> Vec<Round> {
    let mut found: Vec<(u32, bool, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = name.strip_prefix("test-round-")?.strip_suffix(".md")?.parse::<u32>().ok()?;
            let text = std::fs::read_to_string(e.path()).ok()?;
            Some((n, text.lines().any(|l| l.trim() == "### Verdict: PASS"), e.path()))
        })
        .collect();
    found.sort();
    let mut in_a_row = 0;
    found
        .into_iter()
        .map(|(number, passed, path)| {
            in_a_row = if passed { 0 } else { in_a_row + 1 };
            Round { path, number, passed, failed_in_a_row: in_a_row }
        })
        .collect()
}

/// Write the next round of `run` beside its spec file. The number is claimed atomically (a
/// complete temp file hard-linked to a name that must not exist yet), so concurrent runs
/// never share or tear a round.
pub fn write(run: &ServiceRun) -> Result<Round, ReportError> {
    let dir = run.spec.file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let err = |path: &Path, source| ReportError { path: path.to_path_buf(), source };
    let passed = run.passed();
    // never below a number found taken, even if that file cannot be read back
    let mut floor = 1;
    loop {
        let last = history(&dir).pop();
        let number = last.as_ref().map(|r| r.number + 1).unwrap_or(1).max(floor);
        let failed_before = last.map(|r| r.failed_in_a_row).unwrap_or(0);
        let text = render(run, number, failed_before);
        let tmp = dir.join(format!(".test-round-{number}.{}.tmp", uuid::Uuid::new_v4().simple()));
        std::fs::write(&tmp, &text).map_err(|e| err(&tmp, e))?;
        let path = dir.join(format!("test-round-{number}.md"));
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                let failed_in_a_row = if passed { 0 } else { failed_before + 1 };
                return Ok(Round { path, number, passed, failed_in_a_row });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => floor = number + 1,
            Err(e) => return Err(err(&path, e)),
        }
    }
}
