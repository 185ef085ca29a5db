//! The bundled example integrations, run exactly as a user runs theirs:
//! `cargo test --test examples`.

#[path = "../examples/clients/mod.rs"]
mod clients;

use oc_integrate::Harness;

fn main() -> std::process::ExitCode {
    Harness::new("examples/integrations")
        .bind("payments", clients::payments::binding(&[]))
        .bind("tracker", clients::tracker::binding(&[]))
        .run()
}
