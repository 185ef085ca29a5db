//! The generated harness side: `tests/integrations/<svc>.rs` builds the generated client from
//! each trial's `Context`, maps every endpoint id to its method and the client's errors
//! one-to-one onto `ErrorKind`s; `tests/integrations.rs` binds every generated service.

use crate::spec::{Auth, Spec};

use super::names::literal;
use super::{Options, Signature};

/// The binding module of `spec`'s generated client.
pub(super) fn render(spec: &Spec, options: &Options, signatures: &[Signature]) -> String {
    let module = format!("{}::{}", options.crate_name, options.module.join("::"));
    let credentials = match &spec.overview.auth {
        Auth::None => "Credentials::None".to_string(),
        Auth::ApiKey { .. } => "Credentials::ApiKey(given.api_key.clone().unwrap_or_default())".into(),
        Auth::Oauth2 { .. } => "Credentials::OAuth2 {
            token_url: ctx.token_url().unwrap_or_default().to_string(),
            client_id: given.client_id.clone().unwrap_or_default(),
            client_secret: given.client_secret.clone().unwrap_or_default(),
            access_token: given.access_token.clone().unwrap_or_default(),
            refresh_token: given.refresh_token.clone().unwrap_or_default(),
        }"
        .into(),
    };
    let given = if spec.overview.auth == Auth::None { "" } else { "    let given = ctx.credentials();\n" };
    let mut arms = String::new();
    for s in signatures {
        let mut args: Vec<String> = s.params.iter().map(|p| format!("&param(&call, {})?", literal(p))).collect();
        if s.query {
            args.push("&query(&call)?".into());
        }
        if s.body {
            args.push("&call.body()?".into());
        }
        arms += &format!("            {} => outcome(client.{}({}).await.map_err(judge)),\n", literal(&s.endpoint), s.name, args.join(", "));
    }
    let mut helpers = String::new();
    if signatures.iter().any(|s| !s.params.is_empty()) {
        helpers += r#"
/// A path parameter of the call's request example.
fn param(call: &Call, name: &str) -> Result<String, ClientError> {
    call.param(name).ok_or_else(|| ClientError::new(ErrorKind::Other, format!("request example: expected path parameter `{name}`, found none")))
}
"#;
    }
    if signatures.iter().any(|s| s.query) {
        helpers += r#"
/// The query of the call's request example, as the method's query type.
fn query<T: serde::de::DeserializeOwned>(call: &Call) -> Result<T, ClientError> {
    let query = call.query().cloned().unwrap_or_else(|| serde_json::json!({}));
    serde_json::from_value(query).map_err(|e| ClientError::new(ErrorKind::Other, format!("request example: the query does not fit its type: {e}")))
}
"#;
    }
    let sender = spec.webhooks.sender.is_some();
    let (sender_use, sender_field, sender_make, sender_init) = if sender {
        (
            ", Sender",
            "    /// The webhook sender, in the trials that have a subscriber.\n    sender: Option<Result<Sender, Error>>,\n",
            r#"
/// The webhook sender for one trial: to the harness's subscriber, with the trial's secret.
fn sender(ctx: &Context) -> Option<Result<Sender, Error>> {
    let url = ctx.webhook_url()?;
    let config = Config { base_url: url.to_string(), credentials: Credentials::None, timeout: ctx.timeout(), retry: retry(ctx), proxy: None };
    Some(Sender::new(config, ctx.credentials().webhook_secret.clone().unwrap_or_default()))
}
"#,
            ", sender: sender(ctx)",
        )
    } else {
        ("", "", "", "")
    };
    let receiver = spec.webhooks.receiver.is_some();
    let (receiver_use, receiver_fn, with_receiver) = if receiver {
        (
            ", Receiver",
            r#"
/// The generated receiver for one case: on a loopback port, with the case's secret, its clock
/// and its processing delay (the stand-in for the project's work counts what it processed).
async fn receiver(ctx: ReceiverContext) -> Result<Handler, String> {
    let processed = Arc::new(AtomicUsize::new(0));
    let (clock, delay, count) = (ctx.clock().clone(), ctx.processing_delay(), processed.clone());
    let receiver = Receiver::new(ctx.secret(), move || clock.unix(), move |_event| {
        let count = count.clone();
        async move {
            tokio::time::sleep(delay).await;
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        let _ = axum::serve(listener, receiver.router()).with_graceful_shutdown(shutdown).await;
    });
    Ok(Handler::new(url, move || processed.load(Ordering::SeqCst)).keep(stop))
}
"#,
            "\n    .with_receiver(receiver)",
        )
    } else {
        ("", "", "")
    };
    let harness_use = if receiver {
        "Binding, Call, ClientError, Context, ErrorKind, Handler, ReceiverContext, outcome"
    } else {
        "Binding, Call, ClientError, Context, ErrorKind, outcome"
    };
    let atomic_use = if receiver { "use std::sync::atomic::{AtomicUsize, Ordering};\n" } else { "" };
    if sender {
        arms += r#"            oc_integrate::spec::SENDER => match &clients.sender {
                Some(Ok(sender)) => {
                    let event: serde_json::Value = call.body()?;
                    sender.send(&event).await.map(|()| serde_json::json!({"delivered": true})).map_err(judge)
                }
                Some(Err(e)) => Err(judge(e.clone())),
                None => Err(ClientError::new(ErrorKind::Other, "no subscriber in this trial")),
            },
"#;
    }
    format!(
        r#"//! The harness binding of the generated {name} client: the client built from each trial's
//! context, every endpoint id mapped to its method, every error mapped to its `ErrorKind`.

use std::sync::Arc;
{atomic_use}
use oc_integrate::{{{harness_use}}};
use {module}::{{Client, Config, Credentials, Error, ErrorKind as Kind{receiver_use}, RetryPolicy{sender_use}}};

/// What one trial calls.
struct Clients {{
    /// The client.
    client: Result<Client, Error>,
{sender_field}}}

/// The trial's retry policy (scaled by the test profile).
fn retry(ctx: &Context) -> RetryPolicy {{
    let r = ctx.retry();
    RetryPolicy {{ max_attempts: r.max_attempts, base_delay: r.base_delay, multiplier: r.multiplier, max_delay: r.max_delay, jitter: r.jitter }}
}}

/// The client for one trial: where the harness's mock provider listens, its credentials,
/// the timeout and the retry policy.
fn client(ctx: &Context) -> Result<Client, Error> {{
{given}    Client::new(Config {{
        base_url: ctx.base_url().to_string(),
        credentials: {credentials},
        timeout: ctx.timeout(),
        retry: retry(ctx),
        proxy: ctx.proxy_url().map(str::to_string),
    }})
}}
{sender_make}{receiver_fn}
/// The client's error as the harness judges it, kind for kind.
fn judge(e: Error) -> ClientError {{
    let kind = match e.kind {{
        Kind::Auth => ErrorKind::Auth,
        Kind::RateLimited => ErrorKind::RateLimited,
        Kind::Timeout => ErrorKind::Timeout,
        Kind::Status => ErrorKind::Status,
        Kind::InvalidResponse => ErrorKind::InvalidResponse,
        Kind::Connection => ErrorKind::Connection,
        Kind::Request => ErrorKind::Other,
    }};
    let judged = ClientError::new(kind, e.to_string());
    match e.status {{
        Some(s) => judged.with_status(s),
        None => judged,
    }}
}}
{helpers}
/// The service this binds (its directory under the integrations directory).
pub const SERVICE: &str = {service};

/// The binding: the generated client, one arm per endpoint of the spec.
pub fn binding() -> Binding {{
    Binding::new(
        |ctx| Clients {{ client: client(ctx){sender_init} }},
        |clients: Arc<Clients>, call: Call| async move {{
        let client = match &clients.client {{
            Ok(client) => client,
            Err(e) => return Err(judge(e.clone())),
        }};
        match call.endpoint() {{
{arms}            other => Err(ClientError::unbound(other)),
        }}
    }}){with_receiver}
}}
"#,
        name = spec.name,
        service = literal(&spec.id),
    )
}

/// The harness target (`tests/integrations.rs`) that binds each generated binding module
/// (`tests/integrations/<module>.rs`), reading the specs under `dir`.
///
/// ```
/// let main = oc_integrate::build::harness_main("integrations", &["payments".to_string()]);
/// assert!(main.contains("#[path = \"integrations/payments.rs\"]\nmod payments;"));
/// assert!(main.contains(r#"Harness::new("integrations")"#));
/// assert!(main.contains(".bind(payments::SERVICE, payments::binding())"));
/// ```
pub fn harness_main(dir: &str, services: &[String]) -> String {
    let mods: String = services.iter().map(|s| format!("#[path = \"integrations/{s}.rs\"]\nmod {s};\n")).collect();
    let binds: String = services.iter().map(|s| format!("        .bind({s}::SERVICE, {s}::binding())\n")).collect();
    format!(
        r#"//! The integrations' generated suites, one trial per case: `cargo test --test integrations`.

{mods}
fn main() -> std::process::ExitCode {{
    oc_integrate::Harness::new({dir})
{binds}        .run()
}}
"#,
        dir = literal(dir)
    )
}
