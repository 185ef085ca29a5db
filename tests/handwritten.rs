//! The payments client's failure cases, written by hand with wiremock and a small raw TCP
//! server for the shapes wiremock cannot produce (stalled or trickled bodies, silence, resets).
//! Waits are judged on the server side, from the arrival times of the requests.
//!
//! This is the suite a careful user writes today without oc-integrate's generator (it uses
//! the crate only to build the client's context and read the retry policy), kept as the
//! baseline `benches/harness.rs` measures the generated suite against (same client, same
//! cases, same checks). Its tests are ignored in `cargo test`, which already runs these cases
//! through the harness, and their fixed tolerances are not proven against load;
//! `cargo test --test handwritten -- --include-ignored` runs them.

#[path = "../examples/clients/mod.rs"]
#[allow(dead_code)]
mod clients;

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use clients::payments::{Customer, PaymentsClient};
use oc_integrate::case::Subject;
use oc_integrate::{ClientError, Context, Credentials, ErrorKind};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const SPEC: &str = "examples/integrations/payments/spec.yaml";
const API_KEY: &str = "sk_test_handwritten";
// the endpoints' positions in the spec
const CREATE_CUSTOMER: usize = 0;
const GET_CUSTOMER: usize = 1;
const CAPTURE_PAYMENT: usize = 2;
/// Timer granularity allowed on every lower bound.
const SLACK: Duration = Duration::from_millis(3);

fn new_customer() -> Value {
    json!({"email": "ada@example.com", "name": "Ada Lovelace"})
}

fn customer() -> Value {
    json!({"id": "cus_NffrFeUfNV2Hib", "object": "customer", "email": "ada@example.com", "name": "Ada Lovelace", "created": 1680893993})
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(customer())
}

/// The client under test, pointed at `base` (which keeps the spec's `/v1`), and its context.
fn client(endpoint: usize, base: String) -> (PaymentsClient, Context) {
    let spec = oc_integrate::spec::load_file(Path::new(SPEC)).expect("the payments spec loads");
    let credentials = Credentials { api_key: Some(API_KEY.into()), ..Default::default() };
    let ctx = oc_integrate::trial::context(Arc::new(spec), Subject::Endpoint(endpoint), base, credentials);
    (PaymentsClient::new(&ctx, &[]), ctx)
}

/// No call may hang the suite.
async fn bounded<T>(call: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), call).await.expect("the call did not end within 10 s")
}

type Arrivals = Arc<Mutex<Vec<Instant>>>;

/// Answers the n-th request with `f(n)`, noting when each one arrived.
struct Script<F>(F, Arrivals);

impl<F: Fn(usize) -> ResponseTemplate + Send + Sync> Respond for Script<F> {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut arrivals = self.1.lock().unwrap();
        arrivals.push(Instant::now());
        (self.0)(arrivals.len() - 1)
    }
}

async fn mock(f: impl Fn(usize) -> ResponseTemplate + Send + Sync + 'static) -> (MockServer, Arrivals) {
    let server = MockServer::start().await;
    let arrivals = Arrivals::default();
    Mock::given(any()).respond_with(Script(f, arrivals.clone())).mount(&server).await;
    (server, arrivals)
}

fn arrivals(log: &Arrivals) -> Vec<Instant> {
    log.lock().unwrap().clone()
}

/// One retry per minimum wait, each no sooner than its minimum and not unboundedly later.
fn assert_waits(arrivals: &[Instant], minimums: &[Duration], jitter: Duration) {
    assert_eq!(arrivals.len(), minimums.len() + 1, "expected {} attempts", minimums.len() + 1);
    for (k, (pair, &min)) in arrivals.windows(2).zip(minimums).enumerate() {
        let waited = pair[1] - pair[0];
        assert!(waited + SLACK >= min, "retry {} came after {waited:?}, expected at least {min:?}", k + 1);
        let max = min + jitter + min.max(Duration::from_millis(500));
        assert!(waited <= max, "retry {} came after {waited:?}, expected at most {max:?}", k + 1);
    }
}

/// Every field the client returns is the served one; one it was not sent may only be null.
fn assert_served(got: &Customer, served: &Value) {
    for (field, value) in serde_json::to_value(got).unwrap().as_object().unwrap() {
        assert_eq!(value, served.get(field).unwrap_or(&Value::Null), "returned field {field}");
    }
}

fn assert_error(e: &ClientError, kind: ErrorKind, status: Option<u16>) {
    assert_eq!((&e.kind, e.status), (&kind, status), "unexpected error: {e:?}");
}

async fn assert_drift_rejected(bodies: impl IntoIterator<Item = Value>) {
    let bodies: Vec<_> = bodies.into_iter().collect();
    let calls = bodies.len();
    let (server, _) = mock(move |n| ResponseTemplate::new(200).set_body_json(&bodies[n])).await;
    let (client, _) = client(CREATE_CUSTOMER, format!("{}/v1", server.uri()));
    for n in 0..calls {
        let result = bounded(client.create_customer(&new_customer())).await;
        assert_error(&result.expect_err(&format!("drifted body {n} must be rejected")), ErrorKind::InvalidResponse, None);
    }
    assert_eq!(server.received_requests().await.unwrap().len(), calls, "one attempt per drifted body");
}

/// What the raw server does with one connection, after reading the request on it.
#[derive(Clone, Copy)]
enum Shape {
    Answer(u16),
    HeadersLate,
    BodyStalls,
    BodyTrickles,
    NoAnswer,
    Reset,
}

struct Attempt {
    arrived: Instant,
    head: String,
    hung_up: Option<Instant>,
}

type Attempts = Arc<Mutex<Vec<Attempt>>>;

/// A listener for a raw HTTP/1.1 server, and the base URL the client gets for it.
async fn raw_server() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    (listener, base)
}

/// Serves one request per connection: the n-th gets `plan[n]` (the last shape repeats).
fn serve(listener: TcpListener, plan: Vec<Shape>, budget: Duration) -> Attempts {
    let attempts = Attempts::default();
    let log = attempts.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (log, plan) = (log.clone(), plan.clone());
            tokio::spawn(async move {
                let head = read_request(&mut socket).await;
                let n = {
                    let mut log = log.lock().unwrap();
                    log.push(Attempt { arrived: Instant::now(), head, hung_up: None });
                    log.len() - 1
                };
                let shape = plan[n.min(plan.len() - 1)];
                if let Shape::Reset = shape {
                    socket.set_zero_linger().unwrap();
                    return;
                }
                let (mut reader, mut writer) = socket.into_split();
                tokio::spawn(async move {
                    let _ = answer(&mut writer, shape, budget).await;
                    std::future::pending::<()>().await
                });
                // the client hangs up when it reads EOF or gives up
                while reader.read(&mut [0; 1024]).await.is_ok_and(|read| read > 0) {}
                log.lock().unwrap()[n].hung_up = Some(Instant::now());
            });
        }
    });
    attempts
}

/// Reads one request (head and Content-Length body), returning its head.
async fn read_request(socket: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0; 4096];
    while let Ok(read @ 1..) = socket.read(&mut chunk).await {
        buf.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(end) = text.find("\r\n\r\n") {
            let head = text[..end].to_string();
            let length = header(&head, "content-length").map_or(0, |v| v.parse().unwrap());
            if buf.len() >= end + 4 + length {
                return head;
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim().to_string())
    })
}

async fn answer(w: &mut tokio::net::tcp::OwnedWriteHalf, shape: Shape, budget: Duration) -> std::io::Result<()> {
    let body = customer().to_string();
    let head = |status: u16| {
        format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len())
    };
    match shape {
        Shape::Answer(status) => w.write_all(format!("{}{body}", head(status)).as_bytes()).await?,
        Shape::HeadersLate => {
            tokio::time::sleep(budget * 3).await;
            w.write_all(format!("{}{body}", head(200)).as_bytes()).await?
        }
        // these two hold the connection open: the writer is never shut down
        Shape::BodyStalls => return w.write_all(format!("{}{}", head(200), &body[..body.len() / 2]).as_bytes()).await,
        Shape::BodyTrickles => {
            w.write_all(head(200).as_bytes()).await?;
            for byte in body.as_bytes() {
                tokio::time::sleep(budget * 3 / body.len() as u32).await;
                w.write_all(&[*byte]).await?;
            }
        }
        Shape::NoAnswer | Shape::Reset => return Ok(()),
    }
    w.shutdown().await
}

/// Every attempt (`max_attempts` of them: the POST is keyed) is hung up within the budget,
/// and the call reports a timeout.
async fn assert_times_out(shape: Shape) {
    let (listener, base) = raw_server().await;
    let (client, ctx) = client(CREATE_CUSTOMER, base);
    let attempts = serve(listener, vec![shape], ctx.timeout());
    let result = bounded(client.create_customer(&new_customer())).await;
    assert_error(&result.expect_err("expected a timeout"), ErrorKind::Timeout, None);

    let limit = ctx.timeout() + (ctx.timeout() / 2).max(Duration::from_millis(250));
    let settled = Instant::now() + limit;
    while attempts.lock().unwrap().iter().any(|a| a.hung_up.is_none()) && Instant::now() < settled {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let attempts = attempts.lock().unwrap();
    assert_eq!(attempts.len(), ctx.retry().max_attempts as usize, "an idempotent call is retried up to max_attempts");
    for (k, a) in attempts.iter().enumerate() {
        let held = a.hung_up.map(|t| t - a.arrived);
        assert!(held.is_some_and(|held| held <= limit), "attempt {} held {held:?}, expected a hang-up within {limit:?}", k + 1);
    }
}

mod payments {
    mod create_customer {
        use crate::*;

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn conformance() {
            let (server, _) = mock(|_| ok()).await;
            let (client, _) = client(CREATE_CUSTOMER, format!("{}/v1", server.uri()));
            let got = bounded(client.create_customer(&new_customer())).await.expect("success");
            assert_served(&got, &customer());

            let requests = server.received_requests().await.unwrap();
            assert_eq!(requests.len(), 1);
            let req = &requests[0];
            assert_eq!((req.method.as_str(), req.url.path()), ("POST", "/v1/customers"));
            assert_eq!(req.headers["authorization"], format!("Bearer {API_KEY}").as_str());
            assert!(req.headers["content-type"].to_str().unwrap().starts_with("application/json"));
            let sent: Value = serde_json::from_slice(&req.body).expect("a JSON body");
            assert_eq!((&sent["email"], &sent["name"]), (&new_customer()["email"], &new_customer()["name"]));
        }

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn rate_limit_retry_after() {
            let (server, log) = mock(|n| if n == 0 { ResponseTemplate::new(429).insert_header("Retry-After", "1") } else { ok() }).await;
            let (client, ctx) = client(CREATE_CUSTOMER, format!("{}/v1", server.uri()));
            let got = bounded(client.create_customer(&new_customer())).await.expect("success after the 429");
            assert_served(&got, &customer());
            assert_waits(&arrivals(&log), &[Duration::from_secs(1)], ctx.retry().jitter);
        }

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn rate_limit_retry_after_date() {
            let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
            let due = Instant::now() + httpdate::parse_http_date(&date).unwrap().duration_since(SystemTime::now()).unwrap();
            let (server, log) =
                mock(move |n| if n == 0 { ResponseTemplate::new(429).insert_header("Retry-After", &date) } else { ok() }).await;
            let (client, ctx) = client(CREATE_CUSTOMER, format!("{}/v1", server.uri()));
            let got = bounded(client.create_customer(&new_customer())).await.expect("success after the 429");
            assert_served(&got, &customer());
            let arrivals = arrivals(&log);
            assert_waits(&arrivals, &[due.saturating_duration_since(arrivals[0])], ctx.retry().jitter);
        }

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn server_error_recovers() {
            let (server, log) = mock(|n| match n {
                0 => ResponseTemplate::new(500),
                1 => ResponseTemplate::new(502),
                _ => ok(),
            })
            .await;
            let (client, ctx) = client(CREATE_CUSTOMER, format!("{}/v1", server.uri()));
            let got = bounded(client.create_customer(&new_customer())).await.expect("success after the 5xx");
            assert_served(&got, &customer());
            let r = ctx.retry();
            assert_waits(&arrivals(&log), &[r.backoff(0), r.backoff(1)], r.jitter);
        }

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn server_error_persists() {
            let (server, log) = mock(|_| ResponseTemplate::new(500)).await;
            let (client, ctx) = client(CREATE_CUSTOMER, format!("{}/v1", server.uri()));
            let result = bounded(client.create_customer(&new_customer())).await;
            assert_error(&result.expect_err("a persistent 500 fails"), ErrorKind::Status, Some(500));
            let r = ctx.retry();
            let minimums: Vec<_> = (0..r.max_attempts - 1).map(|k| r.backoff(k)).collect();
            assert_waits(&arrivals(&log), &minimums, r.jitter);
        }

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn server_error_maintenance() {
            let (server, log) = mock(|n| if n < 2 { ResponseTemplate::new(503) } else { ok() }).await;
            let (client, ctx) = client(CREATE_CUSTOMER, format!("{}/v1", server.uri()));
            let got = bounded(client.create_customer(&new_customer())).await.expect("success after maintenance");
            assert_served(&got, &customer());
            let r = ctx.retry();
            let longer = |k| r.backoff(k).mul_f64(r.longer_delay_factor);
            assert_waits(&arrivals(&log), &[longer(0), longer(1)], r.jitter);
        }

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn client_error_not_retried() {
            for status in [400, 403, 404, 422] {
                let (server, _) = mock(move |_| ResponseTemplate::new(status)).await;
                let (client, _) = client(CREATE_CUSTOMER, format!("{}/v1", server.uri()));
                let result = bounded(client.create_customer(&new_customer())).await;
                assert_error(&result.expect_err("a 4xx fails"), ErrorKind::Status, Some(status));
                assert_eq!(server.received_requests().await.unwrap().len(), 1, "{status} must not be retried");
            }
        }

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn timeout_headers_late() {
            assert_times_out(Shape::HeadersLate).await;
        }

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn timeout_body_stalls() {
            assert_times_out(Shape::BodyStalls).await;
        }

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn timeout_body_trickles() {
            assert_times_out(Shape::BodyTrickles).await;
        }

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn timeout_no_answer() {
            assert_times_out(Shape::NoAnswer).await;
        }

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn timeout_slow_within_budget() {
            let server = MockServer::start().await;
            let (client, ctx) = client(CREATE_CUSTOMER, format!("{}/v1", server.uri()));
            Mock::given(any()).respond_with(ok().set_delay(ctx.timeout().mul_f64(0.4))).mount(&server).await;
            let got = bounded(client.create_customer(&new_customer())).await.expect("a slow answer within budget succeeds");
            assert_served(&got, &customer());
            assert_eq!(server.received_requests().await.unwrap().len(), 1, "one attempt");
        }

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn connection_reset_before_response() {
            let (listener, base) = raw_server().await;
            let (client, ctx) = client(CREATE_CUSTOMER, base);
            let attempts = serve(listener, vec![Shape::Reset, Shape::Answer(200)], ctx.timeout());
            let got = bounded(client.create_customer(&new_customer())).await.expect("success after the reset");
            assert_served(&got, &customer());
            let arrivals: Vec<_> = attempts.lock().unwrap().iter().map(|a| a.arrived).collect();
            assert_waits(&arrivals, &[ctx.retry().backoff(0)], ctx.retry().jitter);
        }

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn duplicate_post() {
            let (listener, base) = raw_server().await;
            let (client, ctx) = client(CREATE_CUSTOMER, base);
            let plan = vec![Shape::Answer(500), Shape::Answer(200), Shape::Reset, Shape::Answer(200)];
            let attempts = serve(listener, plan, ctx.timeout());
            for call in 1..=2 {
                let got = bounded(client.create_customer(&new_customer())).await.unwrap_or_else(|e| panic!("call {call}: {e:?}"));
                assert_served(&got, &customer());
            }
            let keys: Vec<_> = attempts.lock().unwrap().iter().map(|a| header(&a.head, "idempotency-key")).collect();
            assert_eq!(keys.len(), 4, "two attempts per call");
            assert!(keys[0].is_some() && keys[2].is_some(), "every attempt carries an Idempotency-Key: {keys:?}");
            assert_eq!(keys[0], keys[1], "the same key on both attempts of call 1");
            assert_eq!(keys[2], keys[3], "the same key on both attempts of call 2");
            assert_ne!(keys[0], keys[2], "a new key per call");
        }

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn drift_missing_field() {
            assert_drift_rejected(["id", "object", "email", "name", "created"].map(|field| {
                let mut c = customer();
                c.as_object_mut().unwrap().remove(field);
                c
            }))
            .await;
        }

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn drift_type_changed() {
            let changes =
                [("id", json!(1)), ("object", json!(1)), ("email", json!(1)), ("name", json!(1)), ("created", json!("1680893993"))];
            assert_drift_rejected(changes.map(|(field, value)| {
                let mut c = customer();
                c[field] = value;
                c
            }))
            .await;
        }
    }

    mod get_customer {
        use crate::*;

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn conformance() {
            let (server, _) = mock(|_| ok()).await;
            let (client, _) = client(GET_CUSTOMER, format!("{}/v1", server.uri()));
            let got = bounded(client.get_customer("cus_NffrFeUfNV2Hib")).await.expect("success");
            assert_served(&got, &customer());

            let requests = server.received_requests().await.unwrap();
            assert_eq!(requests.len(), 1);
            let req = &requests[0];
            assert_eq!((req.method.as_str(), req.url.path()), ("GET", "/v1/customers/cus_NffrFeUfNV2Hib"));
            assert_eq!(req.headers["authorization"], format!("Bearer {API_KEY}").as_str());
        }
    }

    mod capture_payment {
        use crate::*;

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn server_error_recovers() {
            let (server, _) = mock(|n| ResponseTemplate::new(if n == 0 { 500 } else { 200 })).await;
            let (client, _) = client(CAPTURE_PAYMENT, format!("{}/v1", server.uri()));
            let result = bounded(client.capture_payment("pi_3MtwBwLkdIwHu7ix28a3tqPa", &json!({"amount_to_capture": 2000}))).await;
            assert_error(&result.expect_err("a non-idempotent call is not retried"), ErrorKind::Status, Some(500));
            assert_eq!(server.received_requests().await.unwrap().len(), 1, "one attempt");
        }

        #[tokio::test]
        #[ignore = "a baseline: benches/harness.rs runs it"]
        async fn duplicate_post() {
            let (listener, base) = raw_server().await;
            let (client, ctx) = client(CAPTURE_PAYMENT, base);
            let attempts = serve(listener, vec![Shape::Reset], ctx.timeout());
            let result = bounded(client.capture_payment("pi_3MtwBwLkdIwHu7ix28a3tqPa", &json!({"amount_to_capture": 2000}))).await;
            assert_error(&result.expect_err("a dropped capture fails"), ErrorKind::Connection, None);
            assert_eq!(attempts.lock().unwrap().len(), 1, "a non-idempotent call is not retried");
        }
    }
}
