//! `oc-integrate check`: every spec under a directory loads (or its error is located), and
//! the documents rendered beside it are current.

use std::path::PathBuf;
use std::process::ExitCode;

use oc_integrate::{plan, sandbox, scenario};

use super::each_spec;
use super::table::{Paint, say};

/// Validate every <service>/spec.yaml under DIR (errors name file:line:col) and check
/// that each integration-spec.md and contract.md beside one is rendered from it.
#[derive(clap::Args)]
pub struct Args {
    /// Directory of integrations.
    #[arg(default_value = "integrations")]
    dir: PathBuf,
}

pub fn run(args: Args, _: &Paint) -> ExitCode {
    each_spec(&args.dir, |s| {
        let stale: Vec<String> = [plan::document::stale(s), plan::contract::stale(s)].into_iter().flatten().collect();
        for reason in &stale {
            eprintln!("error: {reason}");
        }
        if stale.is_empty() {
            let live = sandbox::trial::plan(s).len();
            let live = if live > 0 { format!(", {live} sandbox trials") } else { String::new() };
            say!("ok    {} ({} endpoints, {} cases{live})", s.file.display(), s.endpoints.len(), scenario::plan(s).len());
        }
        stale.is_empty()
    })
}
