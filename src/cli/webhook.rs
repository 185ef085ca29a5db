//! `oc-integrate webhook sign|verify`: sign a delivery, or check one's signature, with a
//! provider's scheme; the secret comes from an environment variable, never the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use oc_integrate::webhook;
use serde_json::Value;

use super::table::{Paint, fail, say};

/// Sign or verify a webhook delivery with a provider's scheme.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: WebhookCommand,
}

/// What `webhook` does.
#[derive(Subcommand)]
enum WebhookCommand {
    /// Print the headers that sign the body (stdin, or --body FILE) for SCHEME.
    Sign {
        #[command(flatten)]
        common: WebhookArgs,
        /// Unix seconds to sign (default: now).
        #[arg(long)]
        timestamp: Option<i64>,
        /// The message / event id (Standard Webhooks, Svix, the generic scheme's X-Event-ID).
        #[arg(long)]
        id: Option<String>,
        /// Print the headers as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a delivery's signature: exit 0 when valid, 1 (with the reason) when not.
    Verify {
        #[command(flatten)]
        common: WebhookArgs,
        /// A received header, `Name: value` (repeat for each).
        #[arg(long = "header", short = 'H')]
        headers: Vec<String>,
        /// Unix seconds to judge the timestamp against (default: now).
        #[arg(long)]
        now: Option<i64>,
        /// Override the scheme's timestamp tolerance, in seconds.
        #[arg(long)]
        tolerance: Option<i64>,
    },
}

#[derive(clap::Args)]
struct WebhookArgs {
    /// stripe, github, slack, standard_webhooks (or standard-webhooks), svix, shopify, twilio, linear, telegram, generic.
    #[arg(long, value_parser = parse_scheme)]
    scheme: webhook::Scheme,
    /// The environment variable holding the secret (never the secret itself on the command line).
    #[arg(long)]
    secret_env: String,
    /// The raw body file (default: stdin). Its exact bytes are signed, or checked.
    #[arg(long)]
    body: Option<PathBuf>,
    /// The full URL the provider posts to (Twilio signs it, with or without its port; a JSON
    /// delivery's URL carries bodySHA256).
    #[arg(long)]
    url: Option<String>,
}

fn parse_scheme(name: &str) -> Result<webhook::Scheme, String> {
    webhook::Scheme::named(name).ok_or_else(|| {
        let all: Vec<&str> = webhook::Scheme::ALL.iter().map(|s| s.name()).collect();
        format!("expected one of {}, found {name:?}", all.join(", "))
    })
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

pub fn run(args: Args, _: &Paint) -> ExitCode {
    let command = args.command;
    let common = match &command {
        WebhookCommand::Sign { common, .. } | WebhookCommand::Verify { common, .. } => common,
    };
    let secret = match std::env::var(&common.secret_env) {
        Ok(s) if !s.is_empty() => s,
        _ => {
            return fail(format!(
                "--secret-env {}: expected the secret in that environment variable, found it unset or empty",
                common.secret_env
            ));
        }
    };
    if common.scheme == webhook::Scheme::Twilio && common.url.is_none() {
        return fail("--url: expected the full URL Twilio posts to (Twilio signs it, query string included), found none");
    }
    let body = match &common.body {
        Some(path) => std::fs::read(path).map_err(|e| format!("{}: {e}", path.display())),
        None => {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf).map_err(|e| format!("stdin: {e}"))
        }
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    match command {
        WebhookCommand::Sign { common, timestamp, id, json } => {
            let with = webhook::Sign { timestamp: timestamp.unwrap_or_else(unix_now), id, url: common.url };
            match webhook::sign(common.scheme, &secret, &body, &with) {
                Ok(headers) if json => {
                    let map: serde_json::Map<String, Value> = headers.into_iter().map(|(k, v)| (k, Value::from(v))).collect();
                    super::table::json(&map)
                }
                Ok(headers) => {
                    for (k, v) in headers {
                        say!("{k}: {v}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        WebhookCommand::Verify { common, headers, now, tolerance } => {
            let mut parsed = Vec::new();
            for h in &headers {
                match h.split_once(':') {
                    Some((k, v)) => parsed.push((k.trim().to_string(), v.trim().to_string())),
                    None => return fail(format!("--header: expected `Name: value`, found {h:?}")),
                }
            }
            let with = webhook::Verify { now: now.unwrap_or_else(unix_now), tolerance, url: common.url };
            match webhook::verify(common.scheme, &secret, &parsed, &body, &with) {
                Ok(()) => {
                    say!("valid {} signature", common.scheme);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("invalid: {}", oc_integrate::redact::redact(&e.to_string()));
                    ExitCode::FAILURE
                }
            }
        }
    }
}
