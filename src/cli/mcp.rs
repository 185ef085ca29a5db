//! `oc-integrate mcp`: serve the Model Context Protocol (the `mcp` module) for agents, over
//! stdio, or over streamable HTTP on a loopback address with a bearer token.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use super::table::{Paint, fail};

/// Serve MCP for coding agents: the verbs as tools (plan, check, cases, build, test, connect,
/// report, list, checkpoint, drift, webhook_sign, webhook_verify, health, secrets, retry), the specs,
/// documents and round reports as resources, the Planner, Builder and Tester briefs as
/// prompts. Over stdio by default; every path is confined to the project directory.
#[derive(clap::Args)]
pub struct Args {
    /// Directory of integrations, relative to the project (the tools' default).
    #[arg(long, default_value = "integrations")]
    dir: String,
    /// The project directory the server works in (default: the current directory).
    #[arg(long, default_value = ".")]
    project: PathBuf,
    /// Serve streamable HTTP at http://ADDR/mcp instead of stdio; ADDR must be loopback
    /// (127.0.0.1:PORT, [::1]:PORT; port 0 picks a free one, printed on stderr).
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// The environment variable holding the bearer token HTTP clients must send.
    #[arg(long, value_name = "VAR", default_value = "OC_MCP_TOKEN", requires = "http")]
    token_env: String,
}

pub fn run(args: Args, _: &Paint) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    let served = match args.http {
        None => runtime.block_on(crate::mcp::serve_stdio(&args.project, &args.dir)),
        Some(addr) => {
            let token = std::env::var(&args.token_env).ok().filter(|t| !t.is_empty());
            let Some(token) = token else { return fail(crate::mcp::ServeError::NoToken(args.token_env)) };
            runtime.block_on(crate::mcp::serve_http(&args.project, &args.dir, addr, token, |bound| {
                eprintln!("oc-integrate mcp: serving http://{bound}/mcp");
            }))
        }
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
