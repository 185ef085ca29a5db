//! The bundled example integrations, run exactly as a user runs theirs:
//! `cargo test --test examples`.

#[path = "../examples/clients/mod.rs"]
#[allow(dead_code)] // each target uses part of the shared example clients
mod clients;

use oc_integrate::Harness;

fn main() -> std::process::ExitCode {
    Harness::new("examples/integrations")
        .bind("payments", clients::payments::binding(&[]))
        .bind("tracker", clients::tracker::binding(&[]))
        .run()
}
