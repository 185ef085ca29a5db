//! `oc-integrate schema`: the JSON Schema of `spec.yaml`, for editors and validators.

use std::process::ExitCode;

use oc_integrate::spec;

use super::table::{Paint, json};

/// Print the JSON Schema of spec.yaml.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_: Args, _: &Paint) -> ExitCode {
    json(&spec::json_schema())
}
