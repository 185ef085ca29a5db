//! `oc-integrate test <service>`: one Tester round of one service against the project's own
//! client, through its harness target (`harness::round`): the round report and the checkpoint
//! written, the verdict, score and failures printed, and what PM write-back did after it (the
//! harness target writes back on close, `.opchain/pm.yaml`). Exit 0 PASS, 1 FAIL, 3 escalated (the
//! third failed round in a row), 2 when no round could be run (the spec, the checkpoint, or
//! a suite that did not build). The sandbox trials are left out of the round unless
//! `--sandbox` (then they run when the sandbox's credentials are set, and say why not otherwise).

use std::path::PathBuf;
use std::process::ExitCode;

use oc_integrate::harness::round::{self, Ran, Request};
use oc_integrate::results::MAX_FAILED_ROUNDS;

use super::table::{Paint, say};

/// Run one Tester round of SERVICE: `OC_SERVICE=<service> cargo test --test integrations` in
/// this project (the sandbox trials left out unless --sandbox), its round report and
/// checkpoint entry written. Exit 0 PASS, 1 FAIL, 3 escalated (the third failed round in a
/// row), 2 no round (the suite did not build).
#[derive(clap::Args)]
pub struct Args {
    /// The service (its directory name).
    service: String,
    /// Directory of integrations.
    #[arg(long, default_value = "integrations")]
    dir: PathBuf,
    /// The project's harness test target.
    #[arg(long, default_value = "integrations")]
    target: String,
    /// Add the sandbox trials to the round (they run when the sandbox's credentials are set).
    #[arg(long)]
    sandbox: bool,
}

pub fn run(args: Args, paint: &Paint) -> ExitCode {
    let file = args.dir.join(&args.service).join("spec.yaml");
    if !file.is_file() {
        eprintln!("error: {}: expected the service's spec.yaml, found none", file.display());
        return ExitCode::from(2);
    }
    let mut request = Request::new(".", &args.service);
    request.target = args.target;
    request.sandbox = args.sandbox;
    run_round(&request, paint)
}

/// Run the round of `request` and say how it went (the Builder's to-do list on a FAIL); the
/// exit status as [`Args`] documents it.
pub fn run_round(request: &Request, paint: &Paint) -> ExitCode {
    say!("round: {} (this takes as long as the suite builds and runs)", request.command());
    match round::run(request) {
        Ok(ran) => verdict(&request.service, &ran, paint),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn verdict(service: &str, ran: &Ran, paint: &Paint) -> ExitCode {
    let r = &ran.round;
    let word = if r.passed { "PASS" } else { "FAIL" };
    say!("{} round {} of {service}: {} ({} cases pass)", paint.bold("Tester"), r.number, paint.verdict(word, 4), ran.score);
    say!("report: {}", r.path.display());
    say!("sandbox trials: {}", ran.sandbox);
    for note in &ran.pm {
        say!("{note}");
    }
    if r.passed {
        say!("{service} is tested: the build loop is over (status {})", ran.status);
        return ExitCode::SUCCESS;
    }
    say!("\nthe Builder's to-do list ({} failures; output: {}):", ran.failures.len(), ran.log.display());
    for f in &ran.failures {
        say!("- {}\n    spec: {}\n    the client: {}\n    run alone: {}", f.case, f.at, f.did, f.reproduce);
    }
    if r.escalated() {
        eprintln!(
            "escalated: {} failed rounds in a row for {service} (the limit is {MAX_FAILED_ROUNDS}): a person decides now; see {}",
            r.failed_in_a_row,
            r.path.display()
        );
        return ExitCode::from(3);
    }
    say!(
        "\nfailed rounds in a row: {} of {MAX_FAILED_ROUNDS}; fix the client, then `oc-integrate build {service}` runs the next round",
        r.failed_in_a_row
    );
    ExitCode::FAILURE
}
