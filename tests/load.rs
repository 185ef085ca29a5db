//! Verdicts do not depend on load: with the machine oversubscribed six times over (twelve busy
//! processes on two cores, started and stopped here), and then with twice the trials at once
//! as well, the examples' correct clients fail nothing (a trial the load broke is re-run alone
//! and reported flaky), and a client with no backoff still fails every case that judges
//! backoff (no pass won by a starved machine). `--nocapture` prints each run's figures.

#[path = "../examples/clients/mod.rs"]
#[allow(dead_code)] // each target uses part of the shared example clients
mod clients;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clients::flaw::Flaw;
use oc_integrate::Harness;
use oc_integrate::case::Kind;
use oc_integrate::results::CaseResult;

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

/// Both examples, bound to their clients with `flaws`, all cases, 64 at once (the default).
async fn run_all(flaws: &'static [Flaw]) -> Vec<CaseResult> {
    Harness::new(DIR)
        .bind("payments", clients::payments::binding(flaws))
        .bind("tracker", clients::tracker::binding(flaws))
        .evaluate(|_| true)
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
async fn under_sixfold_oversubscription_correct_clients_pass_and_flawed_ones_still_fail() {
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
