//! `oc-integrate`: check integration specs, list the cases they generate, show the state
//! of each integration (rounds, checkpoint), print round reports and the spec schema.
//! The trials themselves run under `cargo test`, through the project's harness target.
//! Each verb lives in its own file under `cli/`; this file only parses and dispatches.

mod cli;
mod mcp;

/// The CLI allocates and frees millions of small JSON and YAML nodes when it plans or loads a
/// provider-scale spec: with glibc's allocator that was a third of `plan`'s time on GitHub's
/// document (`benches/plan.sh`). Transparent huge pages are off (`no_thp`): with them the
/// peak memory grew by a fifth.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Hand the pages of what was just freed back to the system now (mimalloc keeps them a
/// while), so that the memory of a big value that is gone (a provider's document) is not
/// counted again under what comes next.
fn give_back_memory() {
    // SAFETY: mi_collect only walks the allocator's own free lists
    unsafe { libmimalloc_sys::mi_collect(true) }
}

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cli::table::{Color, Paint};
use cli::{
    build, cases, check, checkpoint, connect, drift, health, list, oauth, plan, pm, render, report, retry, schema, secrets, test, webhook,
};

#[derive(Parser)]
#[command(name = "oc-integrate", version, about = "Client-resilience test harness for third-party API integrations")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Color the output: auto (when stdout is a terminal and NO_COLOR is unset), always, never.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

/// The verbs, in the order `--help` lists them; each one's help is its `Args`' doc.
#[derive(Subcommand)]
enum Command {
    Check(check::Args),
    Cases(cases::Args),
    Schema(schema::Args),
    Drift(drift::Args),
    Plan(plan::Args),
    Render(render::Args),
    Webhook(webhook::Args),
    List(list::Args),
    Report(report::Args),
    Checkpoint(checkpoint::Args),
    Retry(retry::Args),
    Health(health::Args),
    Oauth(oauth::Args),
    Secrets(secrets::Args),
    Build(build::Args),
    Test(test::Args),
    Connect(connect::Args),
    Mcp(cli::mcp::Args),
    Pm(pm::Args),
}

/// mimalloc's `destroy_on_exit` option (22 in v3's `mi_option_e`, which libmimalloc-sys builds
/// and does not name; mimalloc keeps retired options' places, so the number holds): above 1,
/// nothing is done at exit.
const MI_OPTION_DESTROY_ON_EXIT: libmimalloc_sys::mi_option_t = 22;

fn main() -> ExitCode {
    // the process's memory goes with it: the allocator's walk of every page of its heap at exit
    // is not made (1% of `plan`'s time on Stripe's document)
    // SAFETY: setting an option of the allocator, before this thread starts another
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_DESTROY_ON_EXIT, 2) };
    let cli = Cli::parse();
    let paint = Paint::new(cli.color);
    match cli.command {
        Command::Check(args) => check::run(args, &paint),
        Command::Cases(args) => cases::run(args, &paint),
        Command::Schema(args) => schema::run(args, &paint),
        Command::Drift(args) => drift::run(args, &paint),
        Command::Plan(args) => plan::run(args, &paint),
        Command::Render(args) => render::run(args, &paint),
        Command::Webhook(args) => webhook::run(args, &paint),
        Command::List(args) => list::run(args, &paint),
        Command::Report(args) => report::run(args, &paint),
        Command::Checkpoint(args) => checkpoint::run(args, &paint),
        Command::Retry(args) => retry::run(args, &paint),
        Command::Health(args) => health::run(args, &paint),
        Command::Oauth(args) => oauth::run(args, &paint),
        Command::Secrets(args) => secrets::run(args, &paint),
        Command::Build(args) => build::run(args, &paint),
        Command::Test(args) => test::run(args, &paint),
        Command::Connect(args) => connect::run(args, &paint),
        Command::Mcp(args) => cli::mcp::run(args, &paint),
        Command::Pm(args) => pm::run(args, &paint),
    }
}
