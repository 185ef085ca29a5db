//! Confirm before failing: a case that fails beside other trials is run again alone before
//! its verdict counts (flaky when it then passes, failed when it fails again), and a pass
//! reached while the harness itself was starved is not evidence: it is decided alone, and
//! fails as inconclusive when every quiet run is starved too.

#[path = "../examples/clients/mod.rs"]
#[allow(dead_code)] // each target uses part of the shared example clients
mod clients;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use oc_integrate::results::CaseResult;
use oc_integrate::{Binding, ClientError, ErrorKind, Harness, Outputs};
use serde_json::Value;

const DIR: &str = "examples/integrations";
const CONFORMANCE: &str = "payments::get_customer::conformance";
const RECOVERS: &str = "payments::get_customer::server_error_recovers";
/// A case the test clients pass slowly (the answer comes at 0.4 × the budget): run beside
/// another, it makes sure that one does not run alone.
const SLOW: &str = "payments::create_customer::timeout_slow_within_budget";

/// The lag probe and the quiet re-runs are process-wide: these tests run one at a time, so
/// one's starved runtime is not another's evidence.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A payments client for `get_customer` alone: it fails its first `fail_first` conformance
/// calls with a timeout after 300 ms, as a starved client does; before every request it
/// blocks its thread for `block` (starving the runtime it shares with the harness) and it
/// never backs off.
fn client(fail_first: usize, block: Duration) -> Binding {
    let calls = Arc::new(AtomicUsize::new(0));
    Binding::new(
        |ctx| (reqwest::Client::new(), ctx.base_url().to_string(), ctx.credentials().api_key.clone().unwrap_or_default()),
        move |c, call| {
            // the conformance case's calls are the ones counted (the slow case's answer is slow)
            // get_customer's calls may fail; create_customer's only keep them company
            let counted = call.endpoint() == "get_customer";
            let n = if counted { calls.fetch_add(1, Ordering::SeqCst) } else { usize::MAX };
            let fails = counted && n < fail_first;
            async move {
                let (http, base, key) = &*c;
                if fails {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    // with the issued key in the message: every text a re-run keeps must mask it
                    return Err(ClientError::new(ErrorKind::Timeout, format!("timed out after 300 ms (the machine was busy) for {key}")));
                }
                if !counted {
                    let r = http
                        .post(format!("{base}/customers"))
                        .bearer_auth(key)
                        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                        .json(&call.body::<Value>()?)
                        .send()
                        .await
                        .map_err(|e| ClientError::new(ErrorKind::Connection, e.to_string()))?;
                    return r.json::<Value>().await.map_err(|e| ClientError::new(ErrorKind::InvalidResponse, e.to_string()));
                }
                let id = call.param("id").unwrap_or_default();
                for attempt in 1..=3 {
                    std::thread::sleep(block);
                    let r = http.get(format!("{base}/customers/{id}")).bearer_auth(key).send().await;
                    let r = r.map_err(|e| ClientError::new(ErrorKind::Connection, e.to_string()))?;
                    let status = r.status().as_u16();
                    if status >= 500 && attempt < 3 {
                        continue;
                    }
                    if status >= 400 {
                        return Err(ClientError::new(ErrorKind::Status, format!("HTTP {status}")).with_status(status));
                    }
                    return r.json::<Value>().await.map_err(|e| ClientError::new(ErrorKind::InvalidResponse, e.to_string()));
                }
                unreachable!("the last attempt returns")
            }
        },
    )
}

/// The result of `name`, run alone or beside [`SLOW`].
async fn one(name: &str, beside: bool, harness: Harness) -> CaseResult {
    let results = harness.evaluate(|n| n == name || (beside && n == SLOW)).await.unwrap();
    assert_eq!(results.len(), 1 + usize::from(beside));
    results.into_iter().find(|r| r.case.name() == name).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_that_passes_alone_is_flaky_and_passes_unless_flaky_trials_fail() {
    let _one = ONE_AT_A_TIME.lock().await;
    let r = one(CONFORMANCE, true, Harness::new(DIR).bind("payments", client(1, Duration::ZERO))).await;
    assert!(r.outcome.passed, "{}", r.message);
    assert_eq!(r.runs, 2);
    let flaky = r.flaky.expect("the overturned failure is kept");
    assert_eq!(flaky.problem, "expected exactly 1 attempt (a healthy provider needs no retry), found 0");
    assert!(
        flaky.message.contains("returned Err(Timeout: timed out after 300 ms") && flaky.message.contains("reproduce: "),
        "{}",
        flaky.message
    );
    assert!(flaky.message.contains("for [REDACTED]") && !flaky.message.contains("oc_key_"), "{}", flaky.message);

    let r = one(CONFORMANCE, true, Harness::new(DIR).bind("payments", client(1, Duration::ZERO)).flaky_fails(true)).await;
    assert!(!r.outcome.passed);
    assert!(r.outcome.problems[0].starts_with("flaky: it failed at first (expected exactly 1 attempt"), "{:?}", r.outcome.problems);
    assert!(r.message.contains("OC_FLAKY=fail") && r.message.contains("for [REDACTED]") && !r.message.contains("oc_key_"), "{}", r.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_that_fails_alone_too_is_confirmed() {
    let _one = ONE_AT_A_TIME.lock().await;
    let r = one(CONFORMANCE, true, Harness::new(DIR).bind("payments", client(usize::MAX, Duration::ZERO))).await;
    assert!(!r.outcome.passed);
    assert_eq!((r.runs, r.flaky.is_some()), (2, false));
    assert!(r.message.contains("confirmed: it failed again when re-run alone"), "{}", r.message);
    assert!(!r.message.contains("oc_key_") && r.outcome.problems.iter().all(|p| !p.contains("oc_key_")), "{}", r.message);
    // without quiet re-runs (as under nextest) it is judged once, and so it is when it ran
    // alone unstarved (`--exact`, `--test-threads 1`): that run was already a quiet one
    let r = one(CONFORMANCE, true, Harness::new(DIR).bind("payments", client(usize::MAX, Duration::ZERO)).quiet_reruns(false)).await;
    assert_eq!((r.outcome.passed, r.runs), (false, 1));
    let r = one(CONFORMANCE, false, Harness::new(DIR).bind("payments", client(usize::MAX, Duration::ZERO))).await;
    assert_eq!((r.outcome.passed, r.runs), (false, 1), "lag {:?}", r.lag);
    assert!(!r.message.contains("confirmed:"), "{}", r.message);
}

/// `OC_FLAKY` takes `fail` or `pass`; anything else stops the run before it starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_flaky_setting_is_a_startup_error() {
    let _one = ONE_AT_A_TIME.lock().await;
    // SAFETY: the other tests of this binary, which read the environment, wait for the lock
    unsafe { std::env::set_var("OC_FLAKY", "1") };
    let err = Harness::new(DIR).bind("payments", client(0, Duration::ZERO)).evaluate(|n| n == CONFORMANCE).await.unwrap_err();
    unsafe { std::env::remove_var("OC_FLAKY") };
    assert_eq!(
        err,
        "OC_FLAKY: expected `fail` (flaky trials fail the run) or `pass` (the default: they pass it, listed as flaky), found \"1\""
    );
}

/// A client with no backoff whose gaps only look long because it starves the machine (it
/// blocks the one thread of the runtime it shares with the harness) cannot pass: every run
/// is starved past what the case stands up to, so the verdict is inconclusive, a failure.
/// The correct client passes the same case at once on the same kind of runtime.
#[tokio::test(flavor = "current_thread")]
async fn a_pass_won_by_starving_the_machine_is_inconclusive() {
    let _one = ONE_AT_A_TIME.lock().await;
    let r = one(RECOVERS, false, Harness::new(DIR).bind("payments", client(0, Duration::from_millis(450)))).await;
    assert!(!r.outcome.passed, "a pass won by starvation must not count (lag {:?}, runs {}):\n{}", r.lag, r.runs, r.message);
    // it ran alone: its first run counts as a quiet one
    assert_eq!(r.runs, oc_integrate::trial::QUIET_RUNS);
    assert!(r.lag >= Duration::from_millis(300), "{:?}", r.lag);
    assert!(r.outcome.problems[0].starts_with("inconclusive: the harness itself was starved for "), "{:?}", r.outcome.problems);

    let r = one(RECOVERS, false, Harness::new(DIR).bind("payments", clients::payments::binding(&[]))).await;
    assert!(r.outcome.passed, "{}", r.message);
    assert_eq!((r.runs, r.flaky.is_none()), (1, true), "lag {:?}", r.lag);
}

/// Through the test binary: a flaky trial passes the run, prints that it was flaky, and JUnit
/// carries its first failure as `<flakyFailure>`; `--flaky-fails` fails the run.
#[test]
fn a_flaky_trial_is_reported_and_fails_the_run_only_when_asked() {
    let _one = ONE_AT_A_TIME.blocking_lock();
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("oc-confirm-{}", uuid::Uuid::new_v4().simple()));
    let run = |flaky_fails: bool| {
        Harness::new(DIR)
            .bind("payments", client(1, Duration::ZERO))
            .flaky_fails(flaky_fails)
            .outputs(Outputs { junit: Some(root.join("junit.xml")), step_summary: Some(root.join("summary.md")), ..Outputs::default() })
            .run_with(libtest_mimic::Arguments {
                // the flaky conformance case, beside the slow one
                filter: Some("payments::".into()),
                skip: [
                    "webhook",
                    "capture_payment",
                    "create_customer::conformance",
                    "get_customer::timeout_slow",
                    "auth",
                    "rate_limit",
                    "server_error",
                    "client_error",
                    "status_",
                    "tolerate",
                    "hostile",
                    "timeout_headers",
                    "timeout_body",
                    "timeout_no",
                    "timeout_late",
                    "duplicate",
                    "drift",
                    "connection",
                    "contract",
                    "sandbox",
                ]
                .map(String::from)
                .to_vec(),
                quiet: true,
                ..Default::default()
            })
    };
    assert_eq!(format!("{:?}", run(false)), format!("{:?}", ExitCode::SUCCESS));
    let junit = std::fs::read_to_string(root.join("junit.xml")).unwrap();
    assert!(
        junit.contains(r#"<flakyFailure message="expected exactly 1 attempt (a healthy provider needs no retry), found 0""#),
        "{junit}"
    );
    assert!(junit.contains("returned Err(Timeout: timed out after 300 ms"), "{junit}");
    // the issued key the client put in its error reaches neither file unmasked
    assert!(junit.contains("for [REDACTED]") && !junit.contains("oc_key_"), "{junit}");
    assert!(!junit.contains("<failure"), "{junit}");
    let summary = std::fs::read_to_string(root.join("summary.md")).unwrap();
    assert!(!summary.contains("oc_key_"), "{summary}");
    assert!(summary.contains("### Flaky (failed at first, passed when re-run alone)"), "{summary}");
    assert!(summary.contains(&format!("| `{CONFORMANCE}` | expected exactly 1 attempt")), "{summary}");

    assert_eq!(format!("{:?}", run(true)), format!("{:?}", ExitCode::from(101)));
    let junit = std::fs::read_to_string(root.join("junit.xml")).unwrap();
    assert!(junit.contains(r#"<failure message="flaky: it failed at first"#), "{junit}");
    std::fs::remove_dir_all(Path::new(&root)).ok();
}
