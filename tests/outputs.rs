//! What a run leaves behind besides its test output: the checkpoint (locked, atomic,
//! unknown fields kept, corrupt files refused), JUnit XML, the step summary, and the
//! escalation after three failed rounds, each from real harness runs.

#[path = "../examples/clients/mod.rs"]
#[allow(dead_code)] // each target uses part of the shared example clients
mod clients;
#[allow(dead_code)] // each target uses part of the shared helpers
mod support;

use std::path::Path;
use std::process::{Command, ExitCode};

use clients::flaw::Flaw;
use oc_integrate::checkpoint::{self, CheckpointError};
use oc_integrate::{Harness, Outputs};
use serde_json::{Value, json};

/// One complete run of the payments example (under `root/integrations/<service>`), writing
/// every output into `root`.
fn run(root: &Path, service: &str, flaws: &'static [Flaw], threads: usize) -> ExitCode {
    Harness::new(root.join("integrations"))
        .bind(service, clients::payments::binding(flaws))
        .outputs(Outputs {
            checkpoint: Some(root.join(checkpoint::DEFAULT_PATH)),
            junit: Some(root.join("junit.xml")),
            step_summary: Some(root.join("summary.md")),
            annotations: false,
            html: Some(root.join("report.html")),
            ..Outputs::default()
        })
        .run_with(libtest_mimic::Arguments { test_threads: Some(threads), quiet: true, ..Default::default() })
}

/// Held by the tests that run whole rounds and judge their verdicts, so they do not run
/// beside each other: the eight concurrent runs load the machine, and the timing cases of
/// a judged round must not share it with them.
static WHOLE_ROUNDS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn whole_rounds() -> std::sync::MutexGuard<'static, ()> {
    WHOLE_ROUNDS.lock().unwrap_or_else(|p| p.into_inner())
}

fn code(c: ExitCode) -> String {
    format!("{c:?}")
}

fn state(root: &Path) -> Value {
    checkpoint::read(&root.join(checkpoint::DEFAULT_PATH)).unwrap()
}

/// Run the current test binary's `test` in `n` child processes, each told its index.
fn children(test: &str, n: usize, env: &[(&str, String)]) -> Vec<std::process::Child> {
    (0..n)
        .map(|i| {
            let mut c = Command::new(std::env::current_exe().unwrap());
            c.args([test, "--exact", "--nocapture"]).env("OC_CHILD", i.to_string());
            for (k, v) in env {
                c.env(k, v);
            }
            c.stdout(std::process::Stdio::null()).spawn().unwrap()
        })
        .collect()
}

/// 8 processes × 25 locked read-modify-writes of one counter, with a reader checking every
/// version it sees: no update is lost, no reader sees a torn file, unknown fields survive.
#[test]
fn concurrent_updates_lose_nothing_and_never_tear() {
    if let (Ok(i), Ok(path)) = (std::env::var("OC_CHILD"), std::env::var("OC_CHECKPOINT_FILE")) {
        for _ in 0..25 {
            checkpoint::update(Path::new(&path), |s| {
                let n = s["counter"].as_u64().unwrap_or(0);
                s["counter"] = json!(n + 1);
                s["skill_state"]["integrations"][format!("svc{i}")] = json!({"status": "built"});
            })
            .unwrap();
        }
        return;
    }
    let root = support::scratch("outputs-counter");
    let path = root.join("state.json");
    std::fs::write(&path, r#"{"other_tool": {"keep": [1, 2]}, "skill_state": {"integrations": {}, "phase": "planned"}}"#).unwrap();
    let mut kids = children("concurrent_updates_lose_nothing_and_never_tear", 8, &[("OC_CHECKPOINT_FILE", path.display().to_string())]);
    let mut reads = 0;
    while kids.iter_mut().any(|k| k.try_wait().unwrap().is_none()) {
        let text = std::fs::read_to_string(&path).unwrap();
        serde_json::from_str::<Value>(&text).unwrap_or_else(|e| panic!("a reader saw a torn checkpoint ({e}):\n{text}"));
        reads += 1;
    }
    for mut k in kids {
        assert!(k.wait().unwrap().success(), "a writer failed");
    }
    let s = checkpoint::read(&path).unwrap();
    assert_eq!(s["counter"], 200, "8 writers × 25 updates each");
    assert_eq!(s["other_tool"], json!({"keep": [1, 2]}));
    assert_eq!(s["skill_state"]["phase"], "planned");
    assert_eq!(s["skill_state"]["integrations"].as_object().unwrap().len(), 8);
    assert_eq!(
        (&s["skill_state"]["current_build"], &s["skill_state"]["build_iteration"]),
        (&Value::Null, &json!(0)),
        "the seed's keys exist from the start"
    );
    assert!(reads > 0);
    let leftovers: Vec<_> =
        std::fs::read_dir(&root).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "temp files left behind: {leftovers:?}");
}

/// 8 harness runs at once, each a complete round of its own service, all recording into
/// one checkpoint: every round is recorded and fields other tools wrote are kept.
#[test]
fn eight_concurrent_harness_runs_all_reach_the_checkpoint() {
    if let (Ok(i), Ok(root)) = (std::env::var("OC_CHILD"), std::env::var("OC_ROOT")) {
        let root = Path::new(&root);
        let mine = root.join(format!("run{i}"));
        // rounds may pass or fail here; the checkpoint is what is under test
        let _ = Harness::new(mine.join("integrations"))
            .bind(&format!("svc{i}"), clients::payments::binding(&[]))
            .outputs(Outputs { checkpoint: Some(root.join(checkpoint::DEFAULT_PATH)), ..Outputs::default() })
            .run_with(libtest_mimic::Arguments { test_threads: Some(8), quiet: true, ..Default::default() });
        return;
    }
    let _alone = whole_rounds();
    let root = support::scratch("outputs-eight");
    for i in 0..8 {
        support::copy_example("payments", &root.join(format!("run{i}/integrations")).join(format!("svc{i}")));
    }
    let path = root.join(checkpoint::DEFAULT_PATH);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        r#"{"skill_state": {"integrations": {"svc3": {"last_health": "2026-04-03T10:00:00Z", "owner": "ops"}}}, "phase": "built"}"#,
    )
    .unwrap();
    for mut k in children("eight_concurrent_harness_runs_all_reach_the_checkpoint", 8, &[("OC_ROOT", root.display().to_string())]) {
        assert!(k.wait().unwrap().success());
    }
    let s = state(&root);
    let all = s["skill_state"]["integrations"].as_object().unwrap();
    assert_eq!(all.len(), 8, "every run's service is recorded: {s:#}");
    for (name, svc) in all {
        assert_eq!(svc["test_rounds"], 1, "{name}");
        assert_eq!(svc["endpoints"], 3);
        assert_eq!(svc["auth"], "api_key");
        assert!(svc["last_test"] == "PASS" || svc["last_test"] == "FAIL");
        assert!(Path::new(svc["last_round"].as_str().unwrap()).exists());
    }
    assert_eq!(all["svc3"]["last_health"], "2026-04-03T10:00:00Z");
    assert_eq!(all["svc3"]["owner"], "ops");
    assert_eq!(s["phase"], "built");
}

#[test]
fn a_corrupt_checkpoint_is_reported_and_left_untouched() {
    let root = support::scratch("outputs-corrupt");
    let path = root.join("c.checkpoint.json");
    let cases: [(&str, &str); 6] = [
        (
            r#"{"skill_state": {"integrations": {"payments": {"test_rounds": "three"}}}}"#,
            "(at skill_state.integrations.payments.test_rounds): the checkpoint is corrupt: expected a count, found a string \"three\"",
        ),
        (r#"{"skill_state": {"integrations": {}, "build_iteration": "x"}}"#, "(at skill_state.build_iteration)"),
        ("{\"skill_state\": {\"integrations\": {\n  \"stripe\": {\"status\": \"built\",}\n}}}", ":2:"),
        ("", "an empty file"),
        (r#"{"skill_state": []}"#, "(at skill_state): the checkpoint is corrupt: expected an object, found an array"),
        (r#"{"skill_state": {"integrations": {"stripe": "built"}}}"#, "(at skill_state.integrations.stripe)"),
    ];
    for (text, says) in cases {
        std::fs::write(&path, text).unwrap();
        let err = checkpoint::update(&path, |s| s["x"] = json!(1)).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, CheckpointError::Corrupt { .. }), "{msg}");
        assert!(msg.starts_with(&path.display().to_string()), "names the file: {msg}");
        assert!(msg.contains(says), "{msg:?} should say {says:?}");
        assert!(msg.contains("left untouched"), "{msg}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "a corrupt checkpoint must not be overwritten");
        assert_eq!(std::fs::read_to_string(path.with_extension("json.corrupt")).unwrap(), text, "a copy is kept");
    }
    // a good update keeps the previous version as .bak
    std::fs::write(&path, r#"{"skill_state": {"integrations": {}}, "v": 1}"#).unwrap();
    checkpoint::update(&path, |s| s["v"] = json!(2)).unwrap();
    assert_eq!(checkpoint::read(&path.with_extension("json.bak")).unwrap()["v"], 1);
    assert_eq!(checkpoint::read(&path).unwrap()["v"], 2);
}

/// Three failed rounds escalate (exit 3, status `escalated`, the report says so); a PASS
/// resets the count. Every run writes JUnit matching its trials and appends a summary.
#[test]
fn three_failed_rounds_escalate_and_a_pass_resets() {
    let _alone = whole_rounds();
    let root = support::scratch("outputs-escalate");
    support::copy_example("payments", &root.join("integrations/payments"));
    let mut summaries = 0;
    for round in 1..=3 {
        let exit = run(&root, "payments", &[Flaw::StrictUnknownFields], 32);
        summaries += 1;
        let s = state(&root);
        let svc = &s["skill_state"]["integrations"]["payments"];
        assert_eq!(svc["test_rounds"], round);
        assert_eq!(svc["last_test"], "FAIL");
        assert_eq!(svc["failed_rounds_in_a_row"], round);
        assert_eq!(svc["endpoint_results"]["get_customer"], "FAIL");
        assert_eq!(s["skill_state"]["current_build"], "payments");
        assert_eq!(s["skill_state"]["build_iteration"], round);
        let report = std::fs::read_to_string(root.join(format!("integrations/payments/test-round-{round}.md"))).unwrap();
        assert!(report.contains("### Verdict: FAIL"));
        assert!(report.contains("payments::get_customer::drift_extra_field"), "the failure list names the case");
        if round < 3 {
            assert_eq!(code(exit), code(ExitCode::from(101)));
            assert_eq!(svc["status"], "failing");
        } else {
            assert_eq!(code(exit), code(ExitCode::from(3)), "the third failed round escalates");
            assert_eq!(svc["status"], "escalated");
            assert!(report.contains("**Escalated:** 3 failed rounds in a row"));
        }
        let xml = std::fs::read_to_string(root.join("junit.xml")).unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("JUnit is not well-formed XML: {e}"));
        let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
        let spec = oc_integrate::spec::load_file(&root.join("integrations/payments/spec.yaml")).unwrap();
        let sandbox = oc_integrate::sandbox::trial::plan(&spec).len();
        assert_eq!(cases.len(), oc_integrate::scenario::plan(&spec).len() + sandbox, "one testcase per trial");
        // without PAYMENTS_API_KEY (as here, unless the caller set it) the sandbox trials are
        // testcases skipped with the reason
        if std::env::var_os("PAYMENTS_API_KEY").is_none() {
            let skipped: Vec<_> = cases.iter().filter_map(|c| c.children().find(|n| n.has_tag_name("skipped"))).collect();
            assert_eq!(skipped.len(), sandbox);
            // drift trials say they run nightly; the others name the missing key
            assert!(skipped.iter().all(|n| matches!(
                n.attribute("message"),
                Some("set PAYMENTS_API_KEY to run" | "drift checks run when OC_DRIFT=1 (nightly)")
            )));
        }
        let failed: Vec<_> = cases.iter().filter(|c| c.children().any(|f| f.has_tag_name("failure"))).collect();
        assert_eq!(failed.len(), 3, "drift_extra_field fails on each of the 3 endpoints");
        for c in failed {
            assert!(c.attribute("name").unwrap().ends_with("::drift_extra_field"));
            assert!(c.attribute("file").unwrap().ends_with("spec.yaml") && c.attribute("line").unwrap().parse::<usize>().unwrap() > 1);
        }
    }
    let exit = run(&root, "payments", &[], 32);
    summaries += 1;
    assert_eq!(code(exit), code(ExitCode::SUCCESS));
    let s = state(&root);
    let svc = &s["skill_state"]["integrations"]["payments"];
    assert_eq!(
        (svc["test_rounds"].clone(), svc["status"].clone(), svc["failed_rounds_in_a_row"].clone()),
        (json!(4), json!("tested"), json!(0))
    );
    assert_eq!(s["skill_state"]["current_build"], Value::Null, "a PASS of the current build clears it");
    let summary = std::fs::read_to_string(root.join("summary.md")).unwrap();
    assert_eq!(summary.matches("## oc-integrate").count(), summaries, "one summary appended per run");
    assert!(summary.contains("**escalated** (3 failed in a row)"));
    assert!(summary.contains("| `payments::create_customer::drift_extra_field` |"));
}

/// A filtered run is no round: no report, no checkpoint entry; its JUnit and summary say
/// what ran.
#[test]
fn a_filtered_run_writes_no_round_and_says_it_is_partial() {
    let root = support::scratch("outputs-filtered");
    support::copy_example("payments", &root.join("integrations/payments"));
    let exit = Harness::new(root.join("integrations"))
        .bind("payments", clients::payments::binding(&[]))
        .outputs(Outputs {
            checkpoint: Some(root.join(checkpoint::DEFAULT_PATH)),
            junit: Some(root.join("junit.xml")),
            step_summary: Some(root.join("summary.md")),
            annotations: false,
            ..Outputs::default()
        })
        .run_with(libtest_mimic::Arguments { filter: Some("::conformance".into()), quiet: true, ..Default::default() });
    assert_eq!(code(exit), code(ExitCode::SUCCESS));
    assert!(!root.join("integrations/payments/test-round-1.md").exists());
    assert!(!root.join(checkpoint::DEFAULT_PATH).exists());
    let xml = std::fs::read_to_string(root.join("junit.xml")).unwrap();
    // the three endpoints' conformance cases and the webhook sender's
    assert_eq!(xml.matches("<testcase ").count(), 4);
    let spec = oc_integrate::spec::load_file(&root.join("integrations/payments/spec.yaml")).unwrap();
    let planned = oc_integrate::scenario::plan(&spec).len() + oc_integrate::sandbox::trial::plan(&spec).len();
    let summary = std::fs::read_to_string(root.join("summary.md")).unwrap();
    assert!(summary.contains(&format!("partial run (4 of {planned} cases): no round written")), "{summary}");
}

/// A checkpoint the run could not record in stops it before any trial runs: no round is
/// written that the checkpoint would then miss.
#[test]
fn a_corrupt_checkpoint_stops_a_run_before_it_starts() {
    let root = support::scratch("outputs-stop");
    support::copy_example("payments", &root.join("integrations/payments"));
    let path = root.join(checkpoint::DEFAULT_PATH);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "{ not json").unwrap();
    let exit = run(&root, "payments", &[], 32);
    assert_eq!(code(exit), code(ExitCode::from(2)));
    assert!(!root.join("integrations/payments/test-round-1.md").exists(), "no round may be written");
    assert!(!root.join("junit.xml").exists(), "no trial ran");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");
}

/// The reproduce line in every output carries the environment that shaped the run.
#[test]
fn a_reproduce_line_carries_the_environment() {
    if let Ok(root) = std::env::var("OC_REPRODUCE_ROOT") {
        let root = Path::new(&root);
        let _ = Harness::new(root.join("integrations"))
            .reproduce_env(["OC_OUTPUTS_SWITCH"])
            .bind("payments", clients::payments::binding(&[Flaw::StrictUnknownFields]))
            .outputs(Outputs { junit: Some(root.join("junit.xml")), ..Outputs::default() })
            .run_with(libtest_mimic::Arguments {
                filter: Some("get_customer::drift_extra_field".into()),
                quiet: true,
                ..Default::default()
            });
        return;
    }
    let root = support::scratch("outputs-reproduce");
    support::copy_example("payments", &root.join("integrations/payments"));
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["a_reproduce_line_carries_the_environment", "--exact", "--nocapture"])
        .env("OC_REPRODUCE_ROOT", &root)
        .env("OC_TIME_SCALE", "0.5")
        .env("OC_OUTPUTS_SWITCH", "on it")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let xml = std::fs::read_to_string(root.join("junit.xml")).unwrap();
    let want = "reproduce: OC_TIME_SCALE=0.5 OC_OUTPUTS_SWITCH='on it' cargo test --test outputs -- payments::get_customer::drift_extra_field --exact";
    assert!(xml.contains(&want.replace('\'', "&apos;")), "{xml}");
}

/// The seed's checkpoint events, each a locked update that keeps what it does not own: a spec
/// created (`planned`), the contract negotiated (`agreed` / `sent back`), the Builder's step
/// (`built`, files, the current build), a quick build (`connected`, the smoke test, which
/// clears a current build of that service), a secret audit (per integration and overall).
#[test]
fn every_event_of_the_seed_is_recorded_and_keeps_other_fields() {
    let root = support::scratch("outputs-events");
    support::copy_example("payments", &root.join("integrations/payments"));
    let spec = oc_integrate::spec::load_file(&root.join("integrations/payments/spec.yaml")).unwrap();
    let path = root.join(checkpoint::DEFAULT_PATH);
    checkpoint::update(&path, |s| s["skill_state"]["integrations"]["payments"] = json!({"rotated_at": {"key": "2026-01-01"}, "mine": 1}))
        .unwrap();
    let entry = |s: &Value| s["skill_state"]["integrations"]["payments"].clone();

    let s = checkpoint::record_plan(&path, &spec, 2).unwrap();
    let e = entry(&s);
    assert_eq!(
        (e["status"].as_str(), e["auth"].as_str(), e["endpoints"].as_u64(), e["todos"].as_u64()),
        (Some("planned"), Some("api_key"), Some(3), Some(2))
    );
    assert_eq!(e["test_plan"]["edge_cases"], json!(spec.test_plan.edge_cases));

    let s =
        checkpoint::record_contract(&path, &spec, &["Auth flow completes".into()], &["spec.yaml:3:1: test_plan.sandbox: expected".into()])
            .unwrap();
    assert_eq!((entry(&s)["contract"].as_str(), entry(&s)["status"].as_str()), (Some("sent back"), Some("planned")), "the status is left");
    let s = checkpoint::record_contract(&path, &spec, &["Auth flow completes".into()], &[]).unwrap();
    assert_eq!((entry(&s)["contract"].as_str(), entry(&s)["contract_findings"].clone()), (Some("agreed"), json!([])));

    let s = checkpoint::record_build(&path, &spec, &["src/integrations/payments/client.rs".into()]).unwrap();
    assert_eq!((entry(&s)["status"].as_str(), s["skill_state"]["current_build"].as_str()), (Some("built"), Some("payments")));
    assert_eq!(entry(&s)["contract"], "agreed", "the build keeps the contract's answer");

    let smoke = checkpoint::Smoke {
        verdict: "FAIL",
        score: "3/4".into(),
        sandbox: "not run",
        sandbox_skipped: Some("set PAYMENTS_API_KEY to run"),
        failures: vec![checkpoint::Failure {
            case: "payments::get_customer::conformance".into(),
            at: "spec.yaml:38:7".into(),
            did: "Err(Decode)".into(),
            reproduce: "cargo test".into(),
        }],
    };
    let s = checkpoint::record_connect(&path, &spec, &[], &smoke).unwrap();
    assert_eq!((entry(&s)["status"].as_str(), s["skill_state"]["current_build"].as_str()), (Some("failing"), Some("payments")));
    assert_eq!(checkpoint::failures(&s, "payments"), smoke.failures, "the quick build's to-do list");
    let smoke = checkpoint::Smoke { verdict: "PASS", score: "4/4".into(), sandbox: "PASS", sandbox_skipped: None, failures: Vec::new() };
    let s = checkpoint::record_connect(&path, &spec, &[], &smoke).unwrap();
    let e = entry(&s);
    assert_eq!(
        (e["status"].as_str(), e["smoke"].as_str(), e["mode"].as_str(), e["sandbox"].as_str()),
        (Some("connected"), Some("PASS"), Some("quick"), Some("PASS"))
    );
    assert!(s["skill_state"]["current_build"].is_null(), "a passing quick build ends the build of that service: {s}");
    assert!(checkpoint::failures(&s, "payments").is_empty());

    let audited = checkpoint::SecretsEntry {
        service: "payments",
        verdict: "notes",
        rotation: vec![("key", "90d")],
        issues: vec!["key: rotated 120 days ago".into()],
    };
    let s = checkpoint::record_secrets(&path, "2026-12-01T00:00:00Z", "clean", 0, &[audited]).unwrap();
    let e = entry(&s);
    assert_eq!(
        (e["secrets"].as_str(), e["rotation"]["key"].as_str(), e["last_secrets_audit"].as_str()),
        (Some("notes"), Some("90d"), Some("2026-12-01T00:00:00Z"))
    );
    assert_eq!(s["skill_state"]["secrets_audit"], json!({"at": "2026-12-01T00:00:00Z", "verdict": "clean", "leaks": 0}));
    assert_eq!((e["mine"].as_u64(), e["rotated_at"]["key"].as_str()), (Some(1), Some("2026-01-01")), "other tools' fields are kept: {e}");
    assert_eq!(checkpoint::read(&path).unwrap(), s, "what each event returns is what it wrote");
}
