//! The HTML report of a run: one self-contained page (inline style, script and SVG, nothing
//! fetched) with each service's verdict and score, every case in a table filterable by status
//! and kind, and each failing case with its timeline picture, problems, diff and the command
//! that runs it alone. Secrets are masked in everything it shows; it is replaced atomically.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::picture::{escape, svg};
use crate::case::Subject;
use crate::redact;
use crate::results::{CaseResult, Run, SandboxResult, ServiceRun};
use crate::text::{brief, rfc3339};

/// Why the HTML report could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot write the HTML report: {source}")]
pub struct HtmlError {
    /// The file.
    pub path: PathBuf,
    /// The I/O error.
    pub source: std::io::Error,
}

/// Write the HTML report of `run` to `path`, replacing it atomically.
pub fn write(path: &Path, run: &Run) -> Result<(), HtmlError> {
    crate::file::write_atomic(path, &render(run)).map_err(|source| HtmlError { path: path.to_path_buf(), source })
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d1d1d;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 6px}h3{font-size:14px;margin:18px 0 4px}
.meta{color:#555;margin:0 0 14px}.bar{position:sticky;top:0;background:#f4f4f4;padding:8px 10px;border:1px solid #ddd;border-radius:4px}
.bar label{margin-right:16px}table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}th{background:#fafafa}
.PASS,.pass{color:#1e7b34;font-weight:600}.FAIL,.fail{color:#b3261e;font-weight:600}.ignored{color:#777}
.case{border:1px solid #e0b4b0;border-left:4px solid #b3261e;border-radius:4px;padding:6px 12px;margin:12px 0}
pre{background:#f7f7f7;border:1px solid #e5e5e5;padding:8px;overflow-x:auto;font-size:12px;white-space:pre-wrap}
code{font-size:12px}.empty{color:#777}";

const SCRIPT: &str = "function filter(){var s=document.getElementById('status').value,k=document.getElementById('kind').value,n=0;
document.querySelectorAll('[data-status]').forEach(function(e){var show=(s==='all'||e.dataset.status===s)&&(k==='all'||e.dataset.kind===k);
e.hidden=!show;if(show&&e.tagName==='TR')n++;});document.getElementById('shown').textContent=String(n);}
document.addEventListener('DOMContentLoaded',function(){document.getElementById('status').addEventListener('change',filter);
document.getElementById('kind').addEventListener('change',filter);filter();});";

/// Text for the page: secrets masked, then escaped.
fn esc(text: &str) -> String {
    escape(&redact::redact(text))
}

/// The report of `run` as one HTML page.
pub fn render(run: &Run) -> String {
    let cases: usize = run.services.iter().map(|s| s.cases.len()).sum();
    let failed: usize = run.services.iter().map(|s| s.cases.iter().filter(|r| !r.outcome.passed).count()).sum();
    let mut kinds: Vec<(String, String)> = run
        .services
        .iter()
        .flat_map(|s| s.cases.iter().map(|r| (r.case.kind.name().into_owned(), r.case.kind.title().into_owned())))
        .chain(run.services.iter().any(|s| !s.sandbox.is_empty()).then(|| ("sandbox".to_string(), "Sandbox trial".to_string())))
        .collect();
    kinds.sort();
    kinds.dedup();
    let mut h = String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>oc-integrate report</title>\n");
    let _ = writeln!(h, "<style>\n{STYLE}\n</style>\n<script>\n{SCRIPT}\n</script>\n</head>\n<body>");
    h.push_str("<h1>oc-integrate report</h1>\n");
    let _ = writeln!(
        h,
        "<p class=\"meta\">Run of {} · {} service(s) · {cases} cases, {failed} failing · {:.1} s</p>",
        rfc3339(run.started),
        run.services.len(),
        run.elapsed.as_secs_f64()
    );
    h.push_str("<div class=\"bar\"><label>Status <select id=\"status\"><option value=\"all\">all</option><option value=\"fail\">failing</option><option value=\"pass\">passing</option><option value=\"flaky\">flaky</option><option value=\"ignored\">ignored</option></select></label>");
    h.push_str("<label>Kind <select id=\"kind\"><option value=\"all\">all</option>");
    for (name, title) in &kinds {
        let _ = write!(h, "<option value=\"{}\">{}</option>", esc(name), esc(title));
    }
    h.push_str("</select></label><span><span id=\"shown\">0</span> cases shown</span></div>\n");
    for s in &run.setup {
        let _ = writeln!(h, "<p class=\"fail\">{}: {}</p>", esc(&s.name), esc(&brief(&s.text, 200)));
    }
    for s in &run.services {
        service(&mut h, s);
    }
    h.push_str("</body>\n</html>\n");
    h
}

/// A case's status as the filter knows it.
fn status(r: &CaseResult) -> &'static str {
    match (r.outcome.passed, r.flaky.is_some()) {
        (false, _) => "fail",
        (true, true) => "flaky",
        (true, false) => "pass",
    }
}

/// Where a case ran: the endpoint's id, or the webhook side.
fn subject(r: &CaseResult, s: &ServiceRun) -> String {
    match r.case.subject {
        Subject::Endpoint(_) => r.case.subject_id.clone(),
        other => other.label(&s.spec),
    }
}

fn service(h: &mut String, s: &ServiceRun) {
    let mut cases: Vec<&CaseResult> = s.cases.iter().collect();
    cases.sort_by_key(|r| (r.case.subject, r.case.kind));
    let ok = cases.iter().filter(|r| r.outcome.passed).count();
    let verdict = if s.passed() { "PASS" } else { "FAIL" };
    let round = s.round.as_ref().map(|r| format!(" — Round {}", r.number)).unwrap_or_default();
    let _ = writeln!(h, "<section class=\"service\" id=\"{}\">", esc(&s.spec.id));
    let _ =
        writeln!(h, "<h2>{}{round} · <span class=\"{verdict}\">{verdict}</span> · {ok}/{} cases pass</h2>", esc(&s.spec.name), cases.len());
    if !s.is_complete() {
        let _ = writeln!(h, "<p class=\"meta\">A partial run: {} of {} planned cases ran.</p>", s.cases.len(), s.plan.len());
    }
    h.push_str("<table class=\"cases\">\n<thead><tr><th>Subject</th><th>Scenario</th><th>Expected</th><th>Actual</th><th>Status</th></tr></thead>\n<tbody>\n");
    for r in &cases {
        let st = status(r);
        let _ = writeln!(
            h,
            "<tr data-status=\"{st}\" data-kind=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{st}\">{}</td></tr>",
            esc(&r.case.kind.name()),
            esc(&subject(r, s)),
            esc(&r.case.kind.title()),
            esc(&brief(&r.outcome.expected, 90)),
            esc(&brief(&r.outcome.actual, 90)),
            st.to_uppercase()
        );
    }
    for r in &s.sandbox {
        sandbox_row(h, r);
    }
    h.push_str("</tbody>\n</table>\n");
    let failing: Vec<&&CaseResult> = cases.iter().filter(|r| !r.outcome.passed).collect();
    if failing.is_empty() {
        h.push_str("<p class=\"empty\">No failing case.</p>\n");
    }
    for r in failing {
        failure(h, r, s);
    }
    for r in s.sandbox.iter().filter(|r| r.ran() && !r.passed) {
        let _ = writeln!(
            h,
            "<article class=\"case\" data-status=\"fail\" data-kind=\"sandbox\">\n<h3><code>{}</code></h3>",
            esc(&r.case.name())
        );
        problems(h, &r.problems);
        let _ = writeln!(h, "<p>Reproduce: <code>{}</code></p>\n</article>", esc(&r.reproduce()));
    }
    h.push_str("</section>\n");
}

fn sandbox_row(h: &mut String, r: &SandboxResult) {
    let (st, actual) = match &r.ignored {
        Some(why) => ("ignored", why.as_str()),
        None if r.passed => ("pass", r.actual.as_str()),
        None => ("fail", r.actual.as_str()),
    };
    let _ = writeln!(
        h,
        "<tr data-status=\"{st}\" data-kind=\"sandbox\"><td>sandbox</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{st}\">{}</td></tr>",
        esc(&r.case.name()),
        esc(&brief(&r.expected, 90)),
        esc(&brief(actual, 90)),
        st.to_uppercase()
    );
}

fn problems(h: &mut String, problems: &[String]) {
    h.push_str("<ul class=\"problems\">\n");
    for p in problems {
        let _ = writeln!(h, "<li>{}</li>", esc(p).replace('\n', "<br>"));
    }
    h.push_str("</ul>\n");
}

/// A failing case: its timeline picture, problems, what the client returned, the request
/// timeline and the diff, and how to run it alone.
fn failure(h: &mut String, r: &CaseResult, s: &ServiceRun) {
    let title = format!("{} · {}", subject(r, s), r.case.kind.title());
    let _ = writeln!(
        h,
        "<article class=\"case\" data-status=\"fail\" data-kind=\"{}\">\n<h3>{} <code>{}</code></h3>",
        esc(&r.case.kind.name()),
        esc(&title),
        esc(&r.case.name())
    );
    let _ = writeln!(h, "<p><b>Expected:</b> {}<br><b>Found:</b> {}</p>", esc(&r.outcome.expected), esc(&r.outcome.actual));
    match svg(&r.trace, &format!("Timeline of {}", r.case.name())) {
        Some(picture) => h.push_str(&redact::redact(&picture)),
        None if matches!(r.case.subject, Subject::Receiver) => {
            h.push_str("<p class=\"empty\">No timeline: the harness played the provider against the webhook handler.</p>\n")
        }
        None => h.push_str("<p class=\"empty\">No request reached the mock provider.</p>\n"),
    }
    problems(h, &r.outcome.problems);
    if !r.trace.returned.is_empty() {
        let returned: Vec<String> = r.trace.returned.iter().enumerate().map(|(i, v)| format!("call {}: {v}", i + 1)).collect();
        let _ = writeln!(h, "<p><b>The client returned:</b><br>{}</p>", returned.iter().map(|l| esc(l)).collect::<Vec<_>>().join("<br>"));
    }
    if !r.trace.text.is_empty() {
        let _ = writeln!(h, "<details><summary>Request timeline</summary><pre>{}</pre></details>", esc(&r.trace.text));
    }
    if !r.outcome.evidence.is_empty() {
        let _ = writeln!(h, "<pre class=\"diff\">{}</pre>", esc(&r.outcome.evidence));
    }
    let _ = writeln!(
        h,
        "<p>Spec: <code>{}</code> · reproduce: <code>{}</code></p>\n</article>",
        esc(&s.spec.locate(&r.case.subject.path()).to_string()),
        esc(&r.reproduce())
    );
}
