//! `oc-integrate schema`: the JSON Schema of `spec.yaml` (or, with `--pm`, of
//! `.opchain/pm.yaml`), for editors and validators.

use std::process::ExitCode;

use oc_integrate::{pm, spec};

use super::table::{Paint, json};

/// Print the JSON Schema of spec.yaml (or of .opchain/pm.yaml with --pm).
#[derive(clap::Args)]
pub struct Args {
    /// The schema of .opchain/pm.yaml instead.
    #[arg(long)]
    pm: bool,
}

pub fn run(args: Args, _: &Paint) -> ExitCode {
    json(&if args.pm { pm::config::json_schema() } else { spec::json_schema() })
}
