//! The bundled example integrations, run exactly as a user runs theirs:
//! `cargo test --test examples`.
//!
//! `OC_EXAMPLE_FLAWS=ignores_retry_after,no_timeout cargo test --test examples` builds the
//! example clients with those mistakes, to see what a failing round looks like.

#[path = "../examples/clients/mod.rs"]
#[allow(dead_code)] // each target uses part of the shared example clients
mod clients;

use clients::flaw::Flaw;
use oc_integrate::Harness;

fn main() -> std::process::ExitCode {
    let flaws: &'static [Flaw] = match std::env::var("OC_EXAMPLE_FLAWS") {
        Err(_) => &[],
        Ok(list) => {
            let mut flaws = Vec::new();
            for name in list.split(',').filter(|n| !n.trim().is_empty()) {
                match Flaw::named(name) {
                    Some(f) => flaws.push(f),
                    None => {
                        let known: Vec<String> = Flaw::ALL.iter().map(|f| f.name()).collect();
                        eprintln!("error: OC_EXAMPLE_FLAWS: expected flaw names from: {}; found {name:?}", known.join(", "));
                        return std::process::ExitCode::from(2);
                    }
                }
            }
            flaws.leak()
        }
    };
    Harness::new("examples/integrations")
        .reproduce_env(["OC_EXAMPLE_FLAWS"])
        .bind("payments", clients::payments::binding(flaws))
        .bind("tracker", clients::tracker::binding(flaws))
        .run()
}
