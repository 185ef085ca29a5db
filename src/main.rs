//! `oc-integrate`: check integration specs, list the cases they generate, print the spec schema.
//! The trials themselves run under `cargo test`, through the project's harness target.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use oc_integrate::scenario::{self, Policy};
use oc_integrate::spec;

#[derive(Parser)]
#[command(name = "oc-integrate", version, about = "Client-resilience test harness for third-party API integrations")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate every <service>/spec.yaml under DIR; errors name file:line:col.
    Check {
        /// Directory of integrations.
        #[arg(default_value = "integrations")]
        dir: PathBuf,
    },
    /// List the cases each spec generates, with what each one demands.
    Cases {
        /// Directory of integrations.
        #[arg(default_value = "integrations")]
        dir: PathBuf,
        /// Print only the trial names.
        #[arg(long)]
        names: bool,
    },
    /// Print the JSON Schema of spec.yaml.
    Schema,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Schema => {
            println!("{}", serde_json::to_string_pretty(&spec::json_schema()).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Command::Check { dir } => {
            let specs = match spec::load_dir(&dir) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let mut bad = 0;
            for s in specs {
                match s {
                    Ok(s) => println!("ok    {} ({} endpoints, {} cases)", s.file.display(), s.endpoints.len(), scenario::plan(&s).len()),
                    Err(e) => {
                        bad += 1;
                        eprintln!("error: {e}");
                    }
                }
            }
            if bad > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
        }
        Command::Cases { dir, names } => {
            let specs = match spec::load_dir(&dir) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let mut bad = false;
            for s in specs {
                let s = match s {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("error: {e}");
                        bad = true;
                        continue;
                    }
                };
                let policy = Policy::of(&s);
                for case in scenario::plan(&s) {
                    if names {
                        println!("{}", case.name());
                    } else {
                        let e = &s.endpoints[case.endpoint];
                        println!("{:<60} {} — {}", case.name(), e.label(), case.kind.title());
                    }
                }
                if !names {
                    println!(
                        "  ({}: time scale {}, attempt budget {:.3} s, {} attempts, Retry-After {} s)\n",
                        s.id,
                        policy.time_scale,
                        policy.budget.as_secs_f64(),
                        policy.retry.max_attempts,
                        policy.retry_after.as_secs()
                    );
                }
            }
            if bad { ExitCode::FAILURE } else { ExitCode::SUCCESS }
        }
    }
}
