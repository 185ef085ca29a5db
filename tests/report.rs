//! Round reports: the seed's layout, pinned per example integration by a golden file
//! (timings, ports and keys normalised), numbering and escalation, and concurrent writers.

#[path = "../examples/clients/mod.rs"]
#[allow(dead_code)] // each target uses part of the shared example clients
mod clients;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use oc_integrate::Harness;
use oc_integrate::case::{Case, Check, Kind};
use oc_integrate::report;
use oc_integrate::results::{CaseResult, MAX_FAILED_ROUNDS, Outcome, SandboxResult, ServiceRun};
use oc_integrate::scenario::plan;
use oc_integrate::spec::{Spec, load_file};
use rstest::rstest;

/// `spec`'s run with these results.
fn service_run(spec: &Spec, cases: Vec<CaseResult>, sandbox: Vec<SandboxResult>) -> ServiceRun {
    let mut run = ServiceRun::new(Arc::new(spec.clone()), plan(spec), oc_integrate::sandbox::trial::plan(spec));
    (run.cases, run.sandbox) = (cases, sandbox);
    run
}

/// Replace what varies between runs (durations, ports, keys) with placeholders.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        // 1.234 s → #.### s
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let num: String = chars[start..i].iter().collect();
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            if num.contains('.') && rest == " s" {
                out.push_str("#.###");
            } else {
                out.push_str(&num);
            }
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    let mut s = out;
    while let Some(p) = s.find("127.0.0.1:") {
        let end = s[p + 10..].find(|c: char| !c.is_ascii_digit()).map(|e| p + 10 + e).unwrap_or(s.len());
        s.replace_range(p..end, "127.0.0.1<port>");
    }
    // idempotency keys (uuids: 8-4-4-4-12 hex digits)
    let is_uuid = |w: &[u8]| {
        w.len() == 36 && w.iter().enumerate().all(|(i, b)| if [8, 13, 18, 23].contains(&i) { *b == b'-' } else { b.is_ascii_hexdigit() })
    };
    let mut i = 0;
    while i + 36 <= s.len() {
        if s.is_char_boundary(i) && s.is_char_boundary(i + 36) && is_uuid(&s.as_bytes()[i..i + 36]) {
            s.replace_range(i..i + 36, "<uuid>");
        }
        i += 1;
    }
    // and a key a short row cut in the middle
    regex::Regex::new("[0-9a-f]{8}-[0-9a-f-]*…").unwrap().replace_all(&s, "<uuid>…").into_owned()
}

#[rstest]
#[case("payments")]
#[case("tracker")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_round_report(#[case] service: &str) {
    let spec = load_file(Path::new(&format!("examples/integrations/{service}/spec.yaml"))).unwrap();
    let binding = if service == "payments" { clients::payments::binding(&[]) } else { clients::tracker::binding(&[]) };
    let prefix = format!("{service}::");
    let results = Harness::new("examples/integrations").bind(service, binding).evaluate(|n| n.starts_with(&prefix)).await.unwrap();
    let run = service_run(&spec, results, vec![]);
    assert!(run.is_complete());
    let rendered = normalise(&report::render(&run, 1, 0));
    let golden = PathBuf::from(format!("tests/golden/{service}-round.md"));
    if std::env::var("OC_UPDATE_GOLDEN").is_ok() {
        std::fs::write(&golden, &rendered).unwrap();
    }
    let want = std::fs::read_to_string(&golden).unwrap_or_default();
    if want != rendered {
        let diff = similar::TextDiff::from_lines(&want, &rendered).unified_diff().header("golden", "rendered").to_string();
        panic!("{} differs from the rendered report (OC_UPDATE_GOLDEN=1 to accept):\n{diff}", golden.display());
    }
}

/// Headings and table headers of a report, in order. The Webhooks section is ours (the
/// seed's report has no webhook cases), so it is left out of the comparison.
fn skeleton(md: &str) -> Vec<String> {
    md.lines()
        .filter(|l| {
            (l.starts_with('#') && *l != "### Webhooks")
                || l.starts_with("| Endpoint |")
                || l.starts_with("| Scenario |")
                || l.starts_with("- Endpoint reachable")
                || l.starts_with("- Auth succeeds")
                || l.starts_with("- Latency")
        })
        .map(|l| {
            let l = l.split(':').next().unwrap_or(l);
            l.replace("— [Service] — Round [M]", "— S — Round N").replace(" / FAIL", "")
        })
        .collect()
}

#[test]
fn the_report_has_the_seed_layout() {
    let seed = std::fs::read_to_string("tests/fixtures/seed-report.md").unwrap();
    let spec = demo_spec();
    let results = synthetic(&spec, true);
    let mut ours = report::render(&service_run(&spec, results, vec![]), 7, 0);
    ours = ours.replace(&format!("— {} — Round 7", spec.name), "— S — Round N");
    assert_eq!(skeleton(&ours), skeleton(&seed));
    assert!(ours.contains("### Verdict: PASS"));
    assert_eq!(ours.contains("### Webhooks"), !spec.webhooks.is_empty());
    let failing = report::render(&service_run(&spec, synthetic(&spec, false), vec![]), 1, 0);
    assert!(failing.contains("### Verdict: FAIL"));
    assert!(failing.contains("Failures for the Builder to fix:"));
    assert!(failing.contains("--exact`"));
}

fn demo_spec() -> Spec {
    load_file(Path::new("examples/integrations/payments/spec.yaml")).unwrap()
}

/// Results for every case of `spec`; all pass, or the conformance cases fail.
fn synthetic(spec: &Spec, pass: bool) -> Vec<CaseResult> {
    plan(spec)
        .into_iter()
        .map(|case: Case| {
            let passed = pass || case.kind != Kind::Conformance;
            CaseResult {
                outcome: Outcome {
                    passed,
                    expected: "as the spec says".into(),
                    actual: if passed { "as expected".into() } else { "sent no credential".into() },
                    problems: if passed { vec![] } else { vec!["expected a credential in header Authorization, found none".into()] },
                    evidence: String::new(),
                },
                message: String::new(),
                seconds: 0.0,
                mandated_wait: std::time::Duration::ZERO,
                lag: std::time::Duration::ZERO,
                runs: 1,
                flaky: None,
                trace: Default::default(),
                case,
            }
        })
        .collect()
}

/// A copy of the payments spec in a scratch directory, so rounds can be written there.
fn scratch_spec() -> Spec {
    let dir =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("oc-report-{}", uuid::Uuid::new_v4().simple())).join("payments");
    std::fs::create_dir_all(dir.join("schemas")).unwrap();
    let from = Path::new("examples/integrations/payments");
    std::fs::copy(from.join("spec.yaml"), dir.join("spec.yaml")).unwrap();
    std::fs::copy(from.join("schemas/customer.schema.json"), dir.join("schemas/customer.schema.json")).unwrap();
    load_file(&dir.join("spec.yaml")).unwrap()
}

#[test]
fn rounds_count_up_escalate_after_three_failures_and_a_pass_resets() {
    let spec = scratch_spec();
    let fail = service_run(&spec, synthetic(&spec, false), vec![]);
    let pass = service_run(&spec, synthetic(&spec, true), vec![]);
    let mut rounds = Vec::new();
    for run in [&fail, &fail, &fail, &pass, &fail] {
        rounds.push(report::write(run).unwrap());
    }
    let numbers: Vec<u32> = rounds.iter().map(|r| r.number).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
    let in_a_row: Vec<u32> = rounds.iter().map(|r| r.failed_in_a_row).collect();
    assert_eq!(in_a_row, [1, 2, MAX_FAILED_ROUNDS, 0, 1]);
    assert!(rounds[2].escalated() && !rounds[4].escalated());
    let third = std::fs::read_to_string(&rounds[2].path).unwrap();
    assert!(third.contains("**Escalated:** 3 failed rounds in a row"), "{third}");
    assert!(std::fs::read_to_string(&rounds[3].path).unwrap().contains("### Verdict: PASS"));
}

#[test]
fn concurrent_writers_get_distinct_rounds_and_whole_files() {
    let spec = scratch_spec();
    let run = service_run(&spec, synthetic(&spec, true), vec![]);
    let numbers: Vec<u32> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8).map(|_| s.spawn(|| report::write(&run).unwrap().number)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = numbers.clone();
    sorted.sort();
    assert_eq!(sorted, (1..=8).collect::<Vec<_>>());
    let dir = spec.file.parent().unwrap();
    let expected = report::render(&run, 1, 0);
    for n in 1..=8u32 {
        let text = std::fs::read_to_string(dir.join(format!("test-round-{n}.md"))).unwrap();
        assert_eq!(text, expected.replace("Round 1", &format!("Round {n}")));
    }
    assert!(std::fs::read_dir(dir).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp")));
}

/// Sandbox results of a payments run: connectivity, auth and a latency for every check,
/// `get_customer`'s answer off its schema.
fn sandbox_results(spec: &Spec, ignored: Option<&str>) -> Vec<SandboxResult> {
    oc_integrate::sandbox::trial::plan(spec)
        .into_iter()
        .filter(|case| !matches!(case.check, Check::Drift(_)))
        .enumerate()
        .map(|(n, case)| {
            let bad = case.check == Check::Endpoint(1);
            SandboxResult {
                ignored: ignored.map(str::to_string),
                passed: ignored.is_none() && !bad,
                expected: "as the spec says".into(),
                actual: match case.check {
                    Check::Connectivity => "reachable: HTTP 404 in 2.0 ms (median of 3)".into(),
                    Check::Idempotency(_) => {
                        "finding about the sandbox, not the client: the sandbox does not honour Idempotency-Key".into()
                    }
                    _ => "as expected".into(),
                },
                problems: if bad {
                    vec!["expected the response to satisfy the schema, found at /created: expected type integer, found string \"x\"".into()]
                } else {
                    vec![]
                },
                latencies: if ignored.is_some() { vec![] } else { vec![std::time::Duration::from_millis(n as u64 + 1)] },
                shape: matches!(case.check, Check::Endpoint(_)).then(|| {
                    if bad { "Fails: /created: expected type integer, found string \"x\"".into() } else { "Matches schema".into() }
                }),
                drift: None,
                message: String::new(),
                recording: None,
                seconds: 0.0,
                case,
            }
        })
        .collect()
}

/// The sandbox trials fill Sandbox Connectivity and the Response Shape column, and a failing
/// one fails the round with its reproduce line; ignored ones leave the "not run — why" wording.
#[test]
fn sandbox_results_fill_connectivity_and_response_shape() {
    let spec = load_file(Path::new("examples/integrations/payments/spec.yaml")).unwrap();
    let mock = synthetic(&spec, true);
    let md = report::render(&service_run(&spec, mock.clone(), sandbox_results(&spec, None)), 1, 0);
    for line in [
        "- Endpoint reachable: Yes (reachable: HTTP 404 in 2.0 ms (median of 3))",
        "- Auth succeeds: Yes (as expected)",
        "- Latency: 4ms (median of 7 sandbox requests)",
        "- Idempotency (create_customer): PASS — finding about the sandbox, not the client: the sandbox does not honour Idempotency-Key",
        "- Rate limit: PASS — as expected",
        "| POST /customers | PASS | Sandbox: Matches schema; mock: Parsed; drift handled (10/10) | 41/41 cases pass; sandbox 3ms |",
        "| GET /customers/{id} | FAIL | Sandbox: Fails: /created: expected type integer, found string \"x\"; mock: Parsed; drift handled (10/10) | 39/39 cases pass; sandbox 4ms |",
        "### Verdict: FAIL",
        "- sandbox: 6/7 sandbox trials pass",
    ] {
        assert!(md.contains(line), "missing {line:?} in:\n{md}");
    }
    assert!(md.contains("- `payments::sandbox::get_customer` ("), "{md}");
    assert!(
        md.contains("— reproduce with `OC_REQUIRE_SANDBOX=1 cargo test --test report -- payments::sandbox::get_customer --exact`"),
        "{md}"
    );

    let md = report::render(&service_run(&spec, mock, sandbox_results(&spec, Some("set PAYMENTS_API_KEY to run"))), 1, 0);
    assert!(
        md.contains("- Endpoint reachable: not run — set PAYMENTS_API_KEY to run\n- Auth succeeds: not run\n- Latency: not measured\n"),
        "{md}"
    );
    assert!(md.contains("| POST /customers | PASS | Parsed; drift handled (10/10) | 41/41 cases pass |"), "{md}");
    assert!(md.contains("### Verdict: PASS"), "ignored sandbox trials do not fail the round:\n{md}");
}

/// A flaky case (failed beside other trials, passed alone) does not fail the round; the report
/// lists it with its first failure.
#[test]
fn flaky_cases_are_listed_and_do_not_fail_the_round() {
    let spec = demo_spec();
    let mut results = synthetic(&spec, true);
    results[0].flaky = Some(oc_integrate::results::Flaky {
        problem: "expected the call to succeed, found Err(Timeout: after 1 attempts)".into(),
        message: "expected: …".into(),
    });
    let md = report::render(&service_run(&spec, results, vec![]), 1, 0);
    assert!(md.contains("### Verdict: PASS"), "{md}");
    assert!(
        md.contains(
            "\nFlaky (failed at first, passed when re-run alone; not counted against the round):\n- `payments::create_customer::conformance`: expected the call to succeed, found Err(Timeout: after 1 attempts)\n"
        ),
        "{md}"
    );
}

/// The flawed example clients' round reports read at a glance: every Error Handling row fits
/// one screen line, every failing case is folded below its table with its timeline as a
/// Mermaid picture, and the list for the Builder stays one short line per failure.
#[rstest]
#[case("payments")]
#[case("tracker")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flawed_round_reads_at_a_glance(#[case] service: &str) {
    use clients::flaw::Flaw;
    const FLAWS: &[Flaw] = &[Flaw::NoBackoff, Flaw::NoTimeout, Flaw::IgnoresRetryAfter, Flaw::StrictUnknownFields, Flaw::DropsBodyOnRetry];
    let spec = load_file(Path::new(&format!("examples/integrations/{service}/spec.yaml"))).unwrap();
    let binding = if service == "payments" { clients::payments::binding(FLAWS) } else { clients::tracker::binding(FLAWS) };
    let prefix = format!("{service}::");
    let results = Harness::new("examples/integrations").bind(service, binding).evaluate(|n| n.starts_with(&prefix)).await.unwrap();
    let failing: Vec<&CaseResult> = results.iter().filter(|r| !r.outcome.passed).collect();
    assert!(failing.len() >= 10, "the flaws must fail many cases, found {}", failing.len());
    let md = report::render(&service_run(&spec, results.clone(), vec![]), 1, 0);
    let table: Vec<&str> = md.lines().skip_while(|l| *l != "### Error Handling").skip(3).take_while(|l| l.starts_with('|')).collect();
    assert!(table.iter().any(|l| l.contains("| FAIL (")), "{md}");
    for row in &table {
        assert!(row.chars().count() <= report::ROW_WIDTH, "{} columns: {row}", row.chars().count());
    }
    assert_eq!(md.matches("<details><summary>").count(), failing.len(), "{md}");
    assert_eq!(md.matches("</details>").count(), failing.len(), "{md}");
    // a picture for each failing case the mock provider saw
    let seen = failing.iter().filter(|r| !r.trace.attempts.is_empty()).count();
    assert!(seen > 0);
    assert_eq!(md.matches("```mermaid\ngantt\n").count(), seen, "{md}");
    let builder: Vec<&str> =
        md.lines().skip_while(|l| *l != "Failures for the Builder to fix:").skip(1).take_while(|l| l.starts_with("- ")).collect();
    assert_eq!(builder.len(), failing.len());
    for line in builder {
        assert!(line.chars().count() < 400, "{line}");
    }
}
