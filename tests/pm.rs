//! PM write-back against stateful fakes of GitHub Issues, Jira Cloud and Linear
//! (`sandboxes/trackers/fake.py`, started on loopback): one comment per round whatever runs
//! at once, the ticket moved per `states`, one bug ticket per escalation, and every failure
//! mode of the seed (404, 403, 422, 401, 5xx/429/network then deferred and flushed by
//! `--retry-pm`, `--force`), none of which fails a test run.

#[path = "../examples/clients/mod.rs"]
#[allow(dead_code)] // each target uses part of the shared example clients
mod clients;
#[allow(dead_code)] // each target uses part of the shared helpers
mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oc_integrate::case::{Case, Kind, Subject};
use oc_integrate::pm::config::Provider;
use oc_integrate::pm::deferred;
use oc_integrate::pm::writeback::{self, Settings};
use oc_integrate::results::{CaseResult, Outcome, Round, Run, ServiceRun};
use oc_integrate::{Harness, Outputs, pm, spec};
use rstest::rstest;
use serde_json::json;
use support::trackers::{self, Fake, checkpoint, config, requests, settings};

const ALL: [Provider; 3] = [Provider::GithubIssues, Provider::Jira, Provider::Linear];

/// The fake's name for a provider's traffic.
fn fake_name(p: Provider) -> &'static str {
    match p {
        Provider::GithubIssues => "github",
        Provider::Jira => "jira",
        Provider::Linear => "linear",
    }
}

/// A ticket in the covered project, one that does not exist, one in another project.
fn tickets(p: Provider) -> (&'static str, &'static str, &'static str) {
    match p {
        Provider::GithubIssues => ("acme/shop#1", "acme/shop#99", "other/secret#1"),
        _ => ("PLAT-1", "PLAT-99", "OPS-1"),
    }
}

/// A fake tracker, a scratch project named `name` with `provider`'s pm.yaml, the ticket it
/// covers, and the settings that write back to it.
fn setup(provider: Provider, name: &str) -> (Fake, std::path::PathBuf, &'static str, Settings) {
    let fake = Fake::start();
    let root = support::scratch(name);
    let (ticket, ..) = tickets(provider);
    let s = settings(&fake, &root, &config(provider), Some(ticket));
    (fake, root, ticket, s)
}

/// The payments example's spec, with a quick retry policy (100 ms, ×2, 3 attempts).
fn payments() -> Arc<spec::Spec> {
    let mut s = spec::load_file(Path::new("examples/integrations/payments/spec.yaml")).unwrap();
    s.retry = spec::RetryPolicy { max_attempts: 3, base_delay_ms: 100, multiplier: 2.0, max_delay_ms: 400, jitter_ms: 0 };
    Arc::new(s)
}

/// A run of payments whose round `number` passed or failed (`failed_in_a_row`), the failing
/// case leaking the ticket text `leak` into its problem.
fn run_of(root: &Path, number: u32, passed: bool, failed_in_a_row: u32) -> Run {
    let spec = payments();
    let case =
        Case { service: spec.id.clone(), subject: Subject::Endpoint(0), subject_id: spec.endpoints[0].id.clone(), kind: Kind::Conformance };
    let outcome = Outcome {
        passed,
        expected: "the documented response parsed".into(),
        actual: "a panic".into(),
        problems: if passed { vec![] } else { vec!["the client panicked on an unknown field".into()] },
        evidence: String::new(),
    };
    let mut svc = ServiceRun::new(spec, vec![case.clone()], vec![]);
    svc.cases.push(CaseResult {
        case,
        outcome,
        message: String::new(),
        seconds: 0.1,
        mandated_wait: Duration::ZERO,
        lag: Duration::ZERO,
        runs: 1,
        flaky: None,
        trace: Default::default(),
    });
    svc.round = Some(Round { path: root.join(format!("test-round-{number}.md")), number, passed, failed_in_a_row });
    Run { started: SystemTime::now(), elapsed: Duration::ZERO, services: vec![svc], setup: vec![] }
}

fn has(notes: &[String], text: &str) -> bool {
    notes.iter().any(|n| n.contains(text))
}

#[rstest]
fn a_round_leaves_one_comment_and_moves_the_ticket(#[values(ALL[0], ALL[1], ALL[2])] provider: Provider) {
    let (fake, root, ticket, s) = setup(provider, "pm-round");

    let notes = writeback::after_run(&run_of(&root, 1, false, 1), &s);
    let comments = fake.comments(provider, ticket);
    assert_eq!(comments.len(), 1, "{notes:#?}");
    let c = &comments[0];
    assert!(c.starts_with("<!-- opchain:oc-integrations-engineer:test-round:payments-round-1 -->"), "{c}");
    for part in [
        "round 1: FAIL",
        "Score: 0/1 cases pass",
        "test-round-1.md",
        "payments::",
        "the client panicked on an unknown field",
        "reproduce: `",
        "--exact",
    ] {
        assert!(c.contains(part), "{part:?} missing from {c}");
    }
    // the same round again (a re-run of the write-back) finds its marker and writes nothing
    let again = writeback::after_run(&run_of(&root, 1, false, 1), &s);
    assert!(has(&again, "already there"), "{again:#?}");
    assert_eq!(fake.comments(provider, ticket).len(), 1);

    // a failed round moves the ticket to states.in_progress, a passing one to states.done
    let state = |fake: &Fake| fake.ticket_state(provider, ticket);
    assert_eq!(state(&fake), if provider == Provider::GithubIssues { "open" } else { "In Progress" });
    writeback::after_run(&run_of(&root, 2, true, 0), &s);
    assert_eq!(state(&fake), if provider == Provider::GithubIssues { "closed" } else { "Done" });
    let comments = fake.comments(provider, ticket);
    assert_eq!(comments.len(), 2);
    assert!(comments[1].contains("round 2: PASS") && !comments[1].contains("Failures:"), "{}", comments[1]);
    assert!(deferred::list(&checkpoint(&root)).unwrap().is_empty());
}

#[rstest]
fn runs_finishing_at_once_leave_one_comment(#[values(ALL[0], ALL[1], ALL[2])] provider: Provider) {
    let (fake, root, ticket, s) = setup(provider, "pm-race");
    // both pre-write checks are answered only once both arrived: neither sees the other's comment
    let listing = match provider {
        Provider::GithubIssues => json!({"provider": "github", "method": "GET", "path_contains": "/comments", "count": 2}),
        Provider::Jira => json!({"provider": "jira", "method": "GET", "path_contains": "/comment", "count": 2}),
        Provider::Linear => json!({"provider": "linear", "method": "POST", "count": 2}),
    };
    fake.gate(listing);
    let run = run_of(&root, 1, false, 1);
    let notes: Vec<Vec<String>> = std::thread::scope(|scope| {
        let a = scope.spawn(|| writeback::after_run(&run, &s));
        let b = scope.spawn(|| writeback::after_run(&run, &s));
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    let comments = fake.comments(provider, ticket);
    assert_eq!(comments.len(), 1, "{notes:#?}\n{comments:#?}");
    let writes = fake
        .log()
        .iter()
        .filter(|r| r["provider"] == fake_name(provider))
        .filter(|r| r["op"] == "CommentCreate" || (r["method"] == "POST" && r["path"].as_str().unwrap().contains("/comment")))
        .count();
    assert!(writes >= 2, "expected both runs to write before either re-checked (the gate holds both listings), found {writes} write(s)");
    assert_eq!(notes.iter().flatten().filter(|n| n.contains("this run's copy removed")).count(), 1, "{notes:#?}");
}

#[rstest]
fn an_escalation_creates_one_bug_ticket_per_streak(#[values(ALL[0], ALL[1], ALL[2])] provider: Provider) {
    let (fake, root, _, s) = setup(provider, "pm-escalate");
    let created = |fake: &Fake| -> Vec<serde_json::Value> {
        let st = fake.state();
        let all = match provider {
            Provider::GithubIssues => st["github"]["acme/shop"].clone(),
            Provider::Jira => st["jira"].clone(),
            Provider::Linear => st["linear"].clone(),
        };
        let text = |i: &serde_json::Value| match provider {
            Provider::Jira => oc_integrate::pm::jira::text_of(&i["description"]),
            Provider::GithubIssues => i["body"].as_str().unwrap_or_default().to_string(),
            Provider::Linear => i["description"].as_str().unwrap_or_default().to_string(),
        };
        all.as_object().unwrap().values().filter(|i| text(i).contains("opchain:oc-integrations-engineer:escalation:")).cloned().collect()
    };
    let notes = writeback::after_run(&run_of(&root, 2, false, 2), &s);
    assert!(created(&fake).is_empty(), "two failed rounds do not escalate: {notes:#?}");
    let notes = writeback::after_run(&run_of(&root, 3, false, 3), &s);
    let bugs = created(&fake);
    assert_eq!(bugs.len(), 1, "{notes:#?}");
    let labels: Vec<String> = bugs[0]["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect();
    assert!(labels.contains(&"opchain".to_string()) && labels.contains(&"agent-driven".to_string()), "{labels:?}");
    if provider == Provider::Jira {
        assert_eq!(bugs[0]["type"], "Bug");
    }
    // round 4 of the same streak finds the ticket by its marker
    let notes = writeback::after_run(&run_of(&root, 4, false, 4), &s);
    assert_eq!(created(&fake).len(), 1, "{notes:#?}");
    assert!(has(&notes, "already there"), "{notes:#?}");
}

#[rstest]
fn a_tracker_down_is_retried_by_the_policy_then_deferred_and_flushed_later(#[values(ALL[0], ALL[1], ALL[2])] provider: Provider) {
    let (fake, root, ticket, s) = setup(provider, "pm-down");
    fake.fault(json!({"provider": fake_name(provider), "status": 503, "count": -1}));
    let notes = writeback::after_run(&run_of(&root, 1, false, 1), &s);
    assert!(has(&notes, "deferred (retriable"), "{notes:#?}");
    // the first call tried max_attempts times, the rest were deferred untried
    let log = requests(&fake.log(), fake_name(provider));
    assert_eq!(log.len(), 3, "{log:#?}");
    let gaps: Vec<f64> = log.windows(2).map(|w| w[1].2 - w[0].2).collect();
    assert!(gaps[0] >= 0.09 && gaps[1] >= 0.19, "backoff 100 ms then 200 ms (server-side arrivals): {gaps:?}");
    let pending = deferred::list(&checkpoint(&root)).unwrap();
    assert_eq!(pending.len(), 2, "the comment and the transition: {pending:#?}");
    assert!(pending.iter().all(|d| d.retriable && d.status == Some(503) && d.skill == "oc-integrations-engineer"));
    assert!(fake.comments(provider, ticket).is_empty());

    // still down: --retry-pm keeps them, retriable, one more attempt each
    let rt = tokio::runtime::Runtime::new().unwrap();
    let flush = rt.block_on(writeback::retry(&s, false)).unwrap();
    assert_eq!((flush.written, flush.retriable), (0, 2), "{flush:#?}");
    assert!(deferred::list(&checkpoint(&root)).unwrap().iter().all(|d| d.attempts == 2));
    // back up: --retry-pm writes them once, and the list is empty
    fake.heal();
    let flush = rt.block_on(writeback::retry(&s, false)).unwrap();
    assert_eq!((flush.written, flush.retriable, flush.kept), (2, 0, 0), "{flush:#?}");
    assert_eq!(fake.comments(provider, ticket).len(), 1);
    assert!(deferred::list(&checkpoint(&root)).unwrap().is_empty());
    let again = rt.block_on(writeback::retry(&s, false)).unwrap();
    assert_eq!(again.written, 0);
    assert_eq!(fake.comments(provider, ticket).len(), 1);
}

#[test]
fn a_429_waits_for_its_retry_after() {
    let fake = Fake::start();
    let root = support::scratch("pm-429");
    let s = settings(&fake, &root, &config(Provider::GithubIssues), Some("acme/shop#2"));
    fake.fault(json!({"provider": "github", "status": 429, "count": 1, "retry_after": 1}));
    let notes = writeback::after_run(&run_of(&root, 1, false, 1), &s);
    assert_eq!(fake.comments(Provider::GithubIssues, "acme/shop#2").len(), 1, "{notes:#?}");
    let log = requests(&fake.log(), "github");
    assert_eq!(log[0].3, 429);
    let gap = log[1].2 - log[0].2;
    assert!(gap >= 0.95, "Retry-After: 1 respected (the policy alone waits 100 ms): {gap:.3} s");
}

#[test]
fn a_linear_rate_limit_answered_as_a_graphql_error_is_retried() {
    let fake = Fake::start();
    let root = support::scratch("pm-ratelimited");
    let s = settings(&fake, &root, &config(Provider::Linear), Some("PLAT-3"));
    fake.fault(json!({"provider": "linear", "status": 400, "graphql_code": "RATELIMITED", "count": 2}));
    let notes = writeback::after_run(&run_of(&root, 1, false, 1), &s);
    assert_eq!(fake.comments(Provider::Linear, "PLAT-3").len(), 1, "{notes:#?}");
    let log = requests(&fake.log(), "linear");
    assert_eq!(log.iter().take(3).map(|r| r.3).collect::<Vec<_>>(), [400, 400, 200], "{log:#?}");
    assert!(deferred::list(&checkpoint(&root)).unwrap().is_empty());
}

#[rstest]
fn an_unknown_ticket_is_reported_not_retried_nor_deferred(#[values(ALL[0], ALL[1], ALL[2])] provider: Provider) {
    let fake = Fake::start();
    let root = support::scratch("pm-404");
    let (_, missing, _) = tickets(provider);
    let s = settings(&fake, &root, &config(provider), Some(missing));
    let notes = writeback::after_run(&run_of(&root, 1, false, 1), &s);
    assert!(has(&notes, "not found (404)") && has(&notes, "confirm the ticket id"), "{notes:#?}");
    assert_eq!(requests(&fake.log(), fake_name(provider)).len(), 1, "one request, not retried, no transition tried");
    assert!(deferred::list(&checkpoint(&root)).unwrap().is_empty());
}

#[rstest]
fn another_projects_ticket_stops_write_back_and_is_kept_until_forced(#[values(ALL[0], ALL[1], ALL[2])] provider: Provider) {
    let fake = Fake::start();
    let root = support::scratch("pm-403");
    let (.., foreign) = tickets(provider);
    let s = settings(&fake, &root, &config(provider), Some(foreign));
    // an escalating round: after the 403 not even the bug ticket (in the covered project) is tried
    let notes = writeback::after_run(&run_of(&root, 3, false, 3), &s);
    assert!(has(&notes, "scope is never widened"), "{notes:#?}");
    assert_eq!(requests(&fake.log(), fake_name(provider)).len(), 1, "stopped at the 403: {notes:#?}");
    let pending = deferred::list(&checkpoint(&root)).unwrap();
    assert_eq!(pending.len(), 1);
    assert!(!pending[0].retriable && pending[0].status.unwrap_or(403) == 403, "{pending:#?}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let flush = rt.block_on(writeback::retry(&s, false)).unwrap();
    assert_eq!((flush.kept, flush.cleared), (1, 0));
    assert_eq!(requests(&fake.log(), fake_name(provider)).len(), 1, "--retry-pm does not retry what is not retriable");
    let flush = rt.block_on(writeback::retry(&s, true)).unwrap();
    assert_eq!((flush.kept, flush.cleared), (0, 1));
    assert!(deferred::list(&checkpoint(&root)).unwrap().is_empty());
}

#[rstest]
fn a_rejected_body_is_a_bug_recorded_not_retriable(#[values(ALL[0], ALL[1], ALL[2])] provider: Provider) {
    let (fake, root, _, s) = setup(provider, "pm-422");
    let write = match provider {
        Provider::GithubIssues => json!({"provider": "github", "method": "POST", "path_contains": "/comments", "status": 422, "count": 1}),
        Provider::Jira => json!({"provider": "jira", "method": "POST", "path_contains": "/comment", "status": 422, "count": 1}),
        Provider::Linear => json!({"provider": "linear", "op": "CommentCreate", "status": 422, "count": 1}),
    };
    fake.fault(write);
    let notes = writeback::after_run(&run_of(&root, 1, false, 1), &s);
    let pending = deferred::list(&checkpoint(&root)).unwrap();
    assert!(has(&notes, "a bug to fix"), "{notes:#?}");
    assert!(pending.iter().any(|d| !d.retriable && d.status == Some(422)), "{pending:#?}");
    // the transition after it still went through
    assert!(notes.iter().any(|n| n.starts_with("pm: move ") && n.contains(": done (")), "{notes:#?}");
}

#[test]
fn a_refused_credential_is_not_retriable() {
    let fake = Fake::start();
    let root = support::scratch("pm-401");
    let mut s = settings(&fake, &root, &config(Provider::Jira), Some("PLAT-1"));
    s.api = Some(pm::Api { authorization: "Basic bm90OnRoaXM=".into(), ..fake.api(Provider::Jira) });
    let notes = writeback::after_run(&run_of(&root, 1, false, 1), &s);
    assert!(has(&notes, "401"), "{notes:#?}");
    assert_eq!(requests(&fake.log(), "jira").len(), 1);
    assert!(deferred::list(&checkpoint(&root)).unwrap().iter().all(|d| !d.retriable));
}

#[test]
fn a_network_failure_is_deferred_as_retriable() {
    let root = support::scratch("pm-network");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = config(Provider::Linear);
    let file = root.join(".opchain/pm.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, config.to_yaml()).unwrap();
    let api = pm::Api { base_url: format!("http://127.0.0.1:{closed}/graphql"), authorization: trackers::LINEAR_KEY.into() };
    let s = Settings {
        mcp: root.join(".mcp.json"),
        project: root.clone(),
        config: file,
        ticket: Some("PLAT-1".into()),
        api: Some(api),
        checkpoint: Some(checkpoint(&root)),
    };
    let notes = writeback::after_run(&run_of(&root, 1, false, 1), &s);
    let pending = deferred::list(&checkpoint(&root)).unwrap();
    assert_eq!(pending.len(), 2, "{notes:#?}");
    assert!(pending.iter().all(|d| d.retriable && d.status.is_none()), "{pending:#?}");
}

#[test]
fn without_pm_yaml_write_back_is_off_and_says_so_once() {
    let root = support::scratch("pm-off");
    let s = Settings { project: root.clone(), config: root.join(".opchain/pm.yaml"), ..Settings::default() };
    let mut run = run_of(&root, 1, false, 1);
    run.services.push(run.services[0].clone());
    let notes = writeback::after_run(&run, &s);
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert!(notes[0].contains("pm-mcp not configured") && notes[0].contains("pm init"), "{notes:#?}");
}

#[test]
fn a_broken_pm_yaml_is_a_located_note_not_a_failure() {
    let root = support::scratch("pm-broken");
    let file = root.join(".opchain/pm.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "provider: jira\nteam_or_project: PLAT\nstates:\n  done: [Done]\n").unwrap();
    let s = Settings { project: root.clone(), config: file.clone(), ..Settings::default() };
    let notes = writeback::after_run(&run_of(&root, 1, false, 1), &s);
    assert_eq!(notes, [format!("pm: write-back off: {}:4:9: states.done: expected a string, found a list", file.display())]);
}

#[test]
fn the_committed_pm_schema_is_current() {
    let committed: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("schemas/pm.schema.json").unwrap()).unwrap();
    assert_eq!(
        committed,
        pm::config::json_schema(),
        "schemas/pm.schema.json is stale: run `cargo run -- schema --pm > schemas/pm.schema.json`"
    );
}

/// A real round through the harness, with the tracker up and with it down: the comment
/// lands once, and the exit status is the run's own either way.
#[test]
fn a_harness_round_writes_back_and_a_tracker_failure_never_changes_the_exit_status() {
    use clients::flaw::Flaw;
    let fake = Fake::start();
    let code = |e: std::process::ExitCode| format!("{e:?}");
    let mut exits = Vec::new();
    for down in [false, true] {
        let root = support::scratch("pm-harness");
        support::copy_example("payments", &root.join("integrations/payments"));
        let mut s = settings(&fake, &root, &config(Provider::GithubIssues), Some("acme/shop#3"));
        s.checkpoint = None; // the harness passes its own
        if down {
            fake.fault(json!({"provider": "github", "status": 502, "count": -1}));
        }
        let exit = Harness::new(root.join("integrations"))
            .bind("payments", clients::payments::binding(&[Flaw::StrictUnknownFields]))
            .outputs(Outputs { checkpoint: Some(checkpoint(&root)), pm: Some(s), ..Outputs::default() })
            .run_with(libtest_mimic::Arguments { quiet: true, ..Default::default() });
        exits.push(code(exit));
        if down {
            let pending = deferred::list(&checkpoint(&root)).unwrap();
            assert!(!pending.is_empty() && pending.iter().all(|d| d.retriable), "{pending:#?}");
        }
        fake.heal();
    }
    assert_eq!(exits[0], exits[1], "a tracker that is down changes nothing of the run's verdict");
    assert_eq!(exits[0], code(std::process::ExitCode::from(101)));
    let comments = fake.comments(Provider::GithubIssues, "acme/shop#3");
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(
        comments[0].contains("payments-round-1") && comments[0].contains("round 1: FAIL") && comments[0].contains("reproduce:"),
        "{}",
        comments[0]
    );
}

/// `oc-integrate pm …` in `dir` with `env`.
fn cli(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_oc-integrate"));
    cmd.arg("pm").args(args).current_dir(dir).env_remove("OC_PM_CONFIG").env_remove("OC_TICKET").env_remove("OC_CHECKPOINT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn pm_retry_pm_flushes_what_is_retriable_and_force_clears_the_rest() {
    let fake = Fake::start();
    let root = support::scratch("pm-cli");
    let s = settings(&fake, &root, &config(Provider::GithubIssues), Some("acme/shop#1"));
    fake.fault(json!({"provider": "github", "status": 500, "count": -1}));
    writeback::after_run(&run_of(&root, 1, false, 1), &s);
    fake.heal();
    // and one not retriable: another repository's ticket
    writeback::after_run(&run_of(&root, 2, false, 2), &Settings { ticket: Some("other/secret#1".into()), ..s.clone() });
    assert_eq!(deferred::list(&checkpoint(&root)).unwrap().len(), 3);
    let url = fake.process.url("/github");
    let env = [("GITHUB_API_URL", url.as_str()), ("GITHUB_TOKEN", trackers::GITHUB_TOKEN)];

    let shown = cli(&root, &[], &env);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("github-issues acme/shop") && text.contains("not retriable") && text.contains("retriable"), "{text}");
    let out = cli(&root, &["--retry-pm"], &env);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "one is left: {text}");
    assert!(text.contains("written 2, still deferred 0 (retriable) + 1 (not retriable)"), "{text}");
    assert_eq!(fake.comments(Provider::GithubIssues, "acme/shop#1").len(), 1);
    let out = cli(&root, &["--retry-pm", "--force"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(deferred::list(&checkpoint(&root)).unwrap().is_empty());
    assert!(String::from_utf8_lossy(&cli(&root, &[], &env).stdout).contains("deferred actions: none"));
    assert_ne!(cli(&root, &["--force"], &env).status.code(), Some(0), "--force alone is refused");
}

#[test]
fn pm_init_asks_once_on_a_terminal_and_refuses_without_one() {
    let root = support::scratch("pm-init");
    let off = cli(&root, &["init"], &[]);
    assert_eq!(off.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&off.stderr).contains("not a terminal: pass --provider and --project"));
    assert!(!root.join(".opchain/pm.yaml").exists());
    let bad = cli(&root, &["init", "--provider", "github-issues", "--project", "PLAT"], &[]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected a repository as owner/repo"), "{bad:?}");

    // on a terminal (util-linux's `script` gives the command one): two questions, answered once
    let mut child = support::on_terminal(Path::new(env!("CARGO_BIN_EXE_oc-integrate")), &["pm", "init"])
        .current_dir(&root)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .env_remove("OC_PM_CONFIG")
        .spawn()
        .expect("util-linux's script");
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(b"jira\nPLAT\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert_eq!(text.matches("Tracker (linear, jira, github-issues): ").count(), 1, "{text}");
    let written = pm::config::load(&root.join(".opchain/pm.yaml")).unwrap().unwrap();
    assert_eq!((written.provider, written.team_or_project.as_str(), written.state("done")), (Provider::Jira, "PLAT", Some("Done")));
    let again = cli(&root, &["init", "--provider", "jira", "--project", "PLAT"], &[]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already there (--force replaces it)"));
}

#[rstest]
fn through_an_mcp_server_a_round_leaves_one_comment_and_an_escalation_one_ticket(#[values(ALL[0], ALL[1], ALL[2])] provider: Provider) {
    let fake = Fake::start();
    let root = support::scratch("pm-mcp");
    let (ticket, ..) = tickets(provider);
    let s = trackers::mcp_settings(&fake, &root, &mut config(provider), Some(ticket));
    let notes = writeback::after_run(&run_of(&root, 1, false, 1), &s);
    let comments = fake.comments(provider, ticket);
    assert_eq!(comments.len(), 1, "{notes:#?}");
    assert!(comments[0].contains("payments-round-1") && comments[0].contains("reproduce: `"), "{}", comments[0]);
    // the traffic came from the MCP server (its user agent), none from the API client
    let log = fake.log();
    assert!(!log.is_empty() && log.iter().all(|r| r["agent"] == "fake-tracker-mcp"), "{log:#?}");
    let again = writeback::after_run(&run_of(&root, 1, false, 1), &s);
    assert!(has(&again, "already there"), "{again:#?}");
    writeback::after_run(&run_of(&root, 3, false, 3), &s);
    let notes = writeback::after_run(&run_of(&root, 4, false, 4), &s);
    assert!(notes.iter().any(|n| n.starts_with("pm: create the ticket escalation:") && n.contains("already there")), "{notes:#?}");
    assert_eq!(fake.ticket_state(provider, ticket), if provider == Provider::GithubIssues { "open" } else { "In Progress" });
    assert_eq!(fake.comments(provider, ticket).len(), 3, "rounds 1, 3 and 4");
}

#[rstest]
fn through_an_mcp_server_failures_are_classed_as_through_the_api(#[values(ALL[0], ALL[1], ALL[2])] provider: Provider) {
    let fake = Fake::start();
    let root = support::scratch("pm-mcp-fail");
    let (ticket, missing, foreign) = tickets(provider);
    let mut c = config(provider);
    let base = trackers::mcp_settings(&fake, &root, &mut c, Some(ticket));
    let with = |t: &str| Settings { ticket: Some(t.into()), ..base.clone() };
    let notes = writeback::after_run(&run_of(&root, 1, false, 1), &with(missing));
    assert!(has(&notes, "not found (404)"), "{notes:#?}");
    let notes = writeback::after_run(&run_of(&root, 1, false, 1), &with(foreign));
    assert!(has(&notes, "scope is never widened"), "{notes:#?}");
    let before = requests(&fake.log(), fake_name(provider)).len();
    fake.fault(json!({"provider": fake_name(provider), "status": 503, "count": -1}));
    let notes = writeback::after_run(&run_of(&root, 1, false, 1), &with(ticket));
    assert!(has(&notes, "deferred (retriable"), "{notes:#?}");
    assert_eq!(requests(&fake.log(), fake_name(provider)).len() - before, 3, "one tool call, tried max_attempts times");
    let pending = deferred::list(&checkpoint(&root)).unwrap();
    assert_eq!(pending.iter().filter(|d| d.retriable).count(), 2, "{pending:#?}");
    assert_eq!(pending.iter().filter(|d| !d.retriable).count(), 1, "the 403");
    fake.heal();
    let flush = tokio::runtime::Runtime::new().unwrap().block_on(writeback::retry(&base, false)).unwrap();
    assert_eq!((flush.written, flush.kept), (2, 1), "{flush:#?}");
    assert_eq!(fake.comments(provider, ticket).len(), 1);
}

#[test]
fn plan_ticket_without_a_tracker_plans_and_cites_the_ticket() {
    let root = support::scratch("pm-plan");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_oc-integrate"))
        .args(["plan", "stripe", "--ticket", "https://acme.atlassian.net/browse/PLAT-9"])
        .current_dir(&root)
        .env_remove("OC_PM_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("pm-mcp not configured"), "{stdout}");
    let spec = spec::load_file(&root.join("integrations/stripe/spec.yaml")).unwrap();
    assert_eq!(spec.ticket.as_deref(), Some("PLAT-9"));
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_oc-integrate"))
        .args(["plan", "stripe", "--ticket", "plat-9"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("--ticket: expected a ticket (PLAT-4471, owner/repo#12 or an issue URL), found \"plat-9\"")
    );
}
