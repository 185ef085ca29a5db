//! Verdicts do not depend on load: with the machine oversubscribed six times over (twelve busy
//! processes on two cores, started and stopped here), and then with twice the trials at once
//! as well, the examples' correct clients fail nothing (a trial the load broke is re-run alone
//! and reported flaky), a client with no backoff still fails every case that judges backoff
//! (no pass won by a starved machine), and a flawed client of each family fails exactly what
//! it fails on a quiet machine (a real flaw is not re-run into a flaky pass). `--nocapture`
//! prints each run's figures.

#[path = "../examples/clients/mod.rs"]
#[allow(dead_code)] // each target uses part of the shared example clients
mod clients;
#[path = "support/expected.rs"]
mod expected;

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clients::flaw::Flaw;
use oc_integrate::Harness;
use oc_integrate::case::Kind;
use oc_integrate::results::CaseResult;

/// One loaded test at a time: each starts its own busy processes.
static MACHINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const DIR: &str = "examples/integrations";

/// Busy processes, killed when dropped (also when the test fails).
struct Busy(Vec<Child>);

impl Busy {
    /// Six per core: enough to starve the harness (with one per core it keeps up).
    fn start() -> Busy {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let spin = |_| {
            Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .expect("start a busy process")
        };
        Busy((0..cores * 6).map(spin).collect())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Both examples, bound to their clients with `flaws`, all cases (at most 64 at once, the default).
async fn run_all(flaws: &'static [Flaw]) -> Vec<CaseResult> {
    run(flaws, &["payments", "tracker"]).await
}

/// The cases of `services`, their clients bound with `flaws`.
async fn run(flaws: &'static [Flaw], services: &[&str]) -> Vec<CaseResult> {
    Harness::new(DIR)
        .bind("payments", clients::payments::binding(flaws))
        .bind("tracker", clients::tracker::binding(flaws))
        .evaluate(|name| services.iter().any(|s| name.strip_prefix(s).is_some_and(|rest| rest.starts_with("::"))))
        .await
        .unwrap()
}

/// What a run of the correct clients came to, for the test output (the table).
fn summary(what: &str, results: &[CaseResult], took: Duration) -> String {
    let failed = results.iter().filter(|r| !r.outcome.passed).count();
    let flaky: Vec<String> = results.iter().filter(|r| r.flaky.is_some()).map(|r| r.case.name()).collect();
    let alone = results.iter().filter(|r| r.runs > 1).count();
    format!(
        "{what}: {} cases, {failed} failed, {} flaky, {alone} decided alone, {:.1} s; flaky: {flaky:?}",
        results.len(),
        flaky.len(),
        took.as_secs_f64()
    )
}

fn failures(results: &[CaseResult]) -> Vec<String> {
    results.iter().filter(|r| !r.outcome.passed).map(|r| format!("{}\n{}", r.case.name(), r.message)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_sixfold_oversubscription_correct_clients_pass_and_no_backoff_still_fails() {
    let _machine = MACHINE.lock().await;
    let started = Instant::now();
    let quiet = run_all(&[]).await;
    println!("{}", summary("quiet machine", &quiet, started.elapsed()));
    assert!(failures(&quiet).is_empty(), "{}", failures(&quiet).join("\n\n"));

    let busy = Busy::start();
    let started = Instant::now();
    let loaded = run_all(&[]).await;
    println!("{}", summary(&format!("{} busy processes", busy.0.len()), &loaded, started.elapsed()));
    assert!(failures(&loaded).is_empty(), "a correct client failed under load:\n{}", failures(&loaded).join("\n\n"));

    // and 64 more trials at once beside them: without quiet re-runs this failed 31, 14 and 4
    // of 474 trials in three runs
    let started = Instant::now();
    let (a, b) = tokio::join!(run_all(&[]), run_all(&[]));
    let doubled: Vec<CaseResult> = a.into_iter().chain(b).collect();
    println!("{}", summary(&format!("{} busy processes and twice the trials", busy.0.len()), &doubled, started.elapsed()));
    assert!(failures(&doubled).is_empty(), "a correct client failed under load:\n{}", failures(&doubled).join("\n\n"));

    // no pass won by a starved machine: no backoff fails every case that judges it
    let no_backoff = run_all(&[Flaw::NoBackoff]).await;
    drop(busy);
    let judged: Vec<_> = no_backoff
        .iter()
        .filter(|r| r.case.kind == Kind::ServerErrorRecovers)
        .filter(|r| r.case.subject.endpoint(&spec(&r.case.service)).is_some_and(|e| e.is_idempotent()))
        .collect();
    let passed: Vec<String> =
        judged.iter().filter(|r| r.outcome.passed).map(|r| format!("{} (lag {:?}, runs {})", r.case.name(), r.lag, r.runs)).collect();
    assert!(judged.len() >= 2 && passed.is_empty(), "a client with no backoff passed under load: {passed:?}");
}

fn spec(service: &str) -> oc_integrate::spec::Spec {
    oc_integrate::spec::load_file(std::path::Path::new(&format!("{DIR}/{service}/spec.yaml"))).unwrap()
}

/// A flaw of each family whose verdict load could move: waits and deadlines judged from below
/// (load stretches a client's waits, so a client that waits too little can look patient),
/// keys across retries, refresh, drift, a handler's answer time. Flaws that wait too long
/// (`OverlongBackoff`, `NoTimeout`) are left out: load only lengthens their waits, and
/// confirming each of their 64 failures alone beside busy processes takes six minutes.
const FAMILIES: [Flaw; 8] = [
    Flaw::IgnoresRetryAfter,
    Flaw::Treats503Like500,
    Flaw::TimeoutTooShort,
    Flaw::NewIdempotencyKeyPerRetry,
    Flaw::RetriesNonIdempotent,
    Flaw::NeverRefreshes,
    Flaw::DefaultsMissingField,
    Flaw::ProcessesBeforeAnswering,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_sixfold_oversubscription_flawed_clients_fail_exactly_their_scenarios() {
    let _machine = MACHINE.lock().await;
    let busy = Busy::start();
    let mut wrong = Vec::new();
    for flaw in FAMILIES {
        let flaws: &'static [Flaw] = Box::leak(Box::new([flaw]));
        let started = Instant::now();
        let ran = run(flaws, expected::services(Some(flaw))).await;
        let failed: BTreeSet<String> = ran.iter().filter(|r| !r.outcome.passed).map(|r| r.case.name()).collect();
        let should: BTreeSet<String> = ran
            .iter()
            .filter(|r| expected::should_fail(Some(flaw), r.case.subject.endpoint(&spec(&r.case.service)).as_ref()).contains(&r.case.kind))
            .map(|r| r.case.name())
            .collect();
        println!(
            "{flaw:?} beside {} busy processes: {} failed as it should, {:.1} s",
            busy.0.len(),
            failed.len(),
            started.elapsed().as_secs_f64()
        );
        for r in ran.iter().filter(|r| failed.contains(&r.case.name()) != should.contains(&r.case.name())) {
            wrong.push(format!(
                "== {flaw:?}: {} (failed: {}, runs {}, lag {:?})\n{}",
                r.case.name(),
                !r.outcome.passed,
                r.runs,
                r.lag,
                r.message
            ));
        }
    }
    drop(busy);
    assert!(wrong.is_empty(), "under load, a flawed client's failures differ from its scenarios:\n{}", wrong.join("\n"));
}
