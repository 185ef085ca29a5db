//! Webhook receiver cases: the harness plays the provider and posts signed deliveries to
//! the project's running handler, then judges the handler by its answers (status, time to
//! answer) and by the side effect it reports (how many events it processed).
//!
//! Deliveries are signed exactly as the provider signs them (`crate::webhook`), with the
//! body spaced as no serialiser would, so only a handler that verifies the raw bytes
//! accepts them.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Kind, Verdict};
use crate::binding::{Clock, Handler};
use crate::redact;
use crate::spec::{Field, Receiver};
use crate::webhook::{self, Scheme, Sign};

/// One delivery the harness makes.
#[derive(Debug, Clone)]
struct Delivery {
    /// What it is, for the log (`event A, signed`).
    label: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// What the handler did with one delivery.
#[derive(Debug, Clone)]
struct Answer {
    label: String,
    /// Offset from the start of the case when the delivery was sent.
    sent_at: Duration,
    /// The status, or the transport error.
    status: Result<u16, String>,
    /// How long the handler took to answer.
    took: Duration,
    /// The start of the answer's body.
    reply: String,
    /// Events processed, as the handler reports, after the delivery.
    processed: usize,
}

impl Answer {
    fn ok(&self) -> bool {
        matches!(self.status, Ok(s) if (200..300).contains(&s))
    }

    fn rejected(&self) -> bool {
        matches!(self.status, Ok(400 | 401 | 403))
    }

    fn client_error(&self) -> bool {
        matches!(self.status, Ok(s) if (400..500).contains(&s))
    }

    fn status(&self) -> String {
        match &self.status {
            Ok(s) => s.to_string(),
            Err(e) => format!("no answer ({e})"),
        }
    }
}

/// A receiver case in progress: the deliveries sent so far and the handler's counts.
pub(crate) struct Session<'a> {
    receiver: &'a Receiver,
    handler: &'a Handler,
    clock: &'a Clock,
    secret: &'a str,
    url: String,
    http: reqwest::Client,
    start: Instant,
    /// How long a correct handler may take to report an event it accepted as processed.
    settle: Duration,
    baseline: usize,
    answers: Vec<Answer>,
}

/// Set the value at JSON pointer `ptr`, creating objects on the way.
fn set_pointer(doc: &mut Value, ptr: &str, value: Value) {
    let mut at = doc;
    let parts: Vec<String> = ptr.split('/').skip(1).map(|p| p.replace("~1", "/").replace("~0", "~")).collect();
    for (i, part) in parts.iter().enumerate() {
        if !at.is_object() {
            *at = Value::Object(Default::default());
        }
        let Value::Object(map) = at else { return };
        if i + 1 == parts.len() {
            map.insert(part.clone(), value);
            return;
        }
        at = map.entry(part.clone()).or_insert(Value::Object(Default::default()));
    }
}

/// `value` as JSON with spacing no serialiser produces: a handler that re-serialises the
/// parsed body before verifying gets other bytes than were signed.
fn odd_json(value: &Value) -> Vec<u8> {
    let pretty = serde_json::to_string_pretty(value).unwrap_or_default();
    format!("{}\n", pretty.replace(": ", " :  ")).into_bytes()
}

impl<'a> Session<'a> {
    pub(crate) fn new(receiver: &'a Receiver, handler: &'a Handler, clock: &'a Clock, secret: &'a str, settle: Duration) -> Session<'a> {
        let url = format!("{}{}", handler.url.trim_end_matches('/'), receiver.path);
        let http = reqwest::Client::builder().no_proxy().build().unwrap_or_default();
        let baseline = (handler.processed)();
        Session { receiver, handler, clock, secret, url, http, start: Instant::now(), settle, baseline, answers: Vec::new() }
    }

    /// A fresh event id, shaped like the provider's.
    fn new_id(&self, like: Option<&Value>) -> Value {
        let hex = uuid::Uuid::new_v4().simple().to_string();
        match (like, self.receiver.scheme) {
            (Some(Value::Number(_)), _) => Value::from(u32::from_str_radix(&hex[..7], 16).unwrap_or(1)),
            (_, Scheme::Stripe) => Value::from(format!("evt_{}", &hex[..24])),
            (_, Scheme::StandardWebhooks | Scheme::Svix) => Value::from(format!("msg_{}", &hex[..26])),
            _ => Value::from(uuid::Uuid::new_v4().to_string()),
        }
    }

    /// The payload of a new event of the first declared type (or of `kind`), with a fresh id.
    fn event(&self, kind: Option<&str>) -> (Value, String) {
        let e = &self.receiver.events[0];
        let mut doc = e.example.clone();
        let id = match self.receiver.key() {
            Field::Body(p) => {
                let id = self.new_id(doc.pointer(&p));
                set_pointer(&mut doc, &p, id.clone());
                id
            }
            Field::Header(_) => self.new_id(None),
        };
        if let Some(Field::Body(p)) = self.receiver.event_type() {
            set_pointer(&mut doc, &p, Value::from(kind.unwrap_or(&e.kind)));
        }
        (doc, id.as_str().map(str::to_string).unwrap_or_else(|| id.to_string()))
    }

    /// `doc` signed at the clock's now plus `skew` seconds with `secret` (the case's, by default).
    fn signed(&self, label: &str, doc: &Value, id: &str, skew: i64, secret: Option<&str>, kind: Option<&str>) -> Delivery {
        let mut doc = doc.clone();
        let at = self.clock.unix() + skew;
        if self.receiver.scheme == Scheme::Linear {
            set_pointer(&mut doc, "/webhookTimestamp", Value::from(at * 1000));
        }
        let body = odd_json(&doc);
        self.sign_body(label, body, id, at, secret, kind)
    }

    fn sign_body(&self, label: &str, body: Vec<u8>, id: &str, at: i64, secret: Option<&str>, kind: Option<&str>) -> Delivery {
        let with = Sign { timestamp: at, id: Some(id.to_string()), url: Some(self.url.clone()) };
        // a scheme's signing fails only without a URL (Twilio), which the spec refuses for receivers
        let mut headers = webhook::sign(self.receiver.scheme, secret.unwrap_or(self.secret), &body, &with).unwrap_or_default();
        let has = |h: &[(String, String)], name: &str| h.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        if let Field::Header(k) = self.receiver.key()
            && !has(&headers, &k)
        {
            headers.push((k, id.to_string()));
        }
        if let Some(Field::Header(t)) = self.receiver.event_type() {
            headers.push((t, kind.unwrap_or(&self.receiver.events[0].kind).to_string()));
        }
        headers.push(("Content-Type".into(), "application/json".into()));
        Delivery { label: label.to_string(), headers, body }
    }

    fn processed(&self) -> usize {
        (self.handler.processed)().saturating_sub(self.baseline)
    }

    /// Post one delivery and record the answer.
    async fn post(&mut self, d: &Delivery) -> Answer {
        let answer = self.send(d).await;
        self.answers.push(answer.clone());
        answer
    }

    fn send(&self, d: &Delivery) -> impl std::future::Future<Output = Answer> + Send + 'static {
        let sent_at = self.start.elapsed();
        let mut req = self.http.post(&self.url).body(d.body.clone()).timeout(self.settle + Duration::from_secs(10));
        for (k, v) in &d.headers {
            req = req.header(k, v);
        }
        let label = d.label.clone();
        let (processed, baseline) = (self.handler.processed.clone(), self.baseline);
        async move {
            let t = Instant::now();
            let (status, reply) = match req.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let text = r.text().await.unwrap_or_default();
                    (Ok(status), text.chars().take(120).collect())
                }
                Err(e) => (Err(redact::redact(&e.to_string())), String::new()),
            };
            Answer { label, sent_at, status, took: t.elapsed(), reply, processed: processed().saturating_sub(baseline) }
        }
    }

    /// Post deliveries all at once and record the answers.
    async fn post_together(&mut self, ds: &[Delivery]) -> Vec<Answer> {
        let tasks: Vec<_> = ds.iter().map(|d| tokio::spawn(self.send(d))).collect();
        let mut answers = Vec::with_capacity(tasks.len());
        for (t, d) in tasks.into_iter().zip(ds) {
            answers.push(t.await.unwrap_or_else(|e| Answer {
                label: d.label.clone(),
                sent_at: Duration::ZERO,
                status: Err(format!("the harness's request task failed: {e}")),
                took: Duration::ZERO,
                reply: String::new(),
                processed: 0,
            }));
        }
        self.answers.extend(answers.iter().cloned());
        answers
    }

    /// The processed count once a correct handler has had time to reach `want`.
    async fn settled(&self, want: usize) -> usize {
        let deadline = Instant::now() + self.settle;
        while self.processed() < want && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // a moment more, so that extra processing (a duplicate) shows too
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.processed()
    }

    /// The deliveries and answers, for humans.
    pub(crate) fn log(&self) -> String {
        let mut out = String::new();
        for a in &self.answers {
            let _ = writeln!(
                out,
                "  +{:>7.3}s  {:<52} → {:<5} in {:.3}s, processed {}{}",
                a.sent_at.as_secs_f64(),
                a.label,
                a.status(),
                a.took.as_secs_f64(),
                a.processed,
                if a.reply.is_empty() { String::new() } else { format!("  {:?}", a.reply) }
            );
        }
        redact::redact(&out)
    }
}

/// What `kind` demands of the handler, in a sentence.
pub(crate) fn expected(kind: Kind, r: &Receiver) -> String {
    let tol = r.tolerance().unwrap_or_default();
    match kind {
        Kind::WebhookAccepted => "a validly signed delivery → 2xx, and the event processed once".into(),
        Kind::WebhookBadSignature => "a delivery whose body was altered after signing → 400/401/403, nothing processed".into(),
        Kind::WebhookMissingSignature => format!("a delivery without {} → 400/401/403, nothing processed", r.scheme.signature_header()),
        Kind::WebhookWrongSecret => "a delivery signed with another secret → 400/401/403, nothing processed".into(),
        Kind::WebhookStaleTimestamp => format!("a delivery signed {} s ago (tolerance {tol} s) → 400/401/403, nothing processed", tol + 60),
        Kind::WebhookFutureTimestamp => format!("a delivery signed {} s in the future (tolerance {tol} s) → 400/401/403, nothing processed", tol + 60),
        Kind::WebhookDuplicate => format!("the same event ({}) delivered twice → 2xx both times, processed once", r.key().describe()),
        Kind::WebhookConcurrentDuplicate => {
            format!("the same event ({}) delivered {CONCURRENT} times at once → no 5xx, at least one 2xx, processed once", r.key().describe())
        }
        Kind::WebhookRedeliveryWithinTtl => format!(
            "an event redelivered (freshly signed) {} after the first delivery, inside the {} TTL → 2xx, not processed again",
            days(within_ttl(r)),
            days(r.idempotency.ttl_s)
        ),
        Kind::WebhookReplayAfterTtl => format!(
            "a captured delivery replayed byte for byte {} later, past the {} TTL → rejected by its timestamp (400/401/403), not processed again",
            days(r.idempotency.ttl_s + 3600),
            days(r.idempotency.ttl_s)
        ),
        Kind::WebhookMalformedJson => "a validly signed body that is not JSON → 4xx, nothing processed; the next valid delivery → 2xx".into(),
        Kind::WebhookOversized => {
            format!("a validly signed body over max_body_bytes ({} bytes) → 4xx, nothing processed; the next valid delivery → 2xx", r.max_body_bytes)
        }
        Kind::WebhookUnknownEvent => "a validly signed event of an unknown type → 2xx (acknowledged), nothing processed".into(),
        Kind::WebhookSlowProcessing => {
            "processing that takes twice the provider's timeout → the handler answers 2xx within the timeout, and the event is still processed once".into()
        }
        _ => String::new(),
    }
}

const CONCURRENT: usize = 5;

/// How far past the first delivery the within-TTL redelivery comes: an hour before the TTL ends.
fn within_ttl(r: &Receiver) -> u64 {
    let ttl = r.idempotency.ttl_s;
    if ttl > 7200 { ttl - 3600 } else { ttl * 9 / 10 }
}

/// `7 days`, `23 h`, `90 s`.
fn days(s: u64) -> String {
    match s {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s >= 3600 => format!("{:.1} h", s as f64 / 3600.0),
        s => format!("{s} s"),
    }
}

fn want_ok(a: &Answer, what: &str, p: &mut Vec<String>) {
    if !a.ok() {
        p.push(format!("expected 2xx for {what}, found {}", a.status()));
    }
}

fn want_rejected(a: &Answer, what: &str, p: &mut Vec<String>) {
    if !a.rejected() {
        p.push(format!("expected 400, 401 or 403 for {what}, found {}", a.status()));
    }
}

fn want_count(n: usize, want: usize, p: &mut Vec<String>) {
    if n != want {
        p.push(match want {
            0 => format!("expected no event processed, found {n} processed"),
            _ => format!("expected the event processed {want} time(s), found {n}"),
        });
    }
}

impl Session<'_> {
    /// Deliver event A validly signed; it must be acknowledged and processed.
    async fn first(&mut self, doc: &Value, id: &str, p: &mut Vec<String>) -> Delivery {
        let d = self.signed("event A", doc, id, 0, None, None);
        let a = self.post(&d).await;
        want_ok(&a, "the first delivery", p);
        self.settled(1).await;
        d
    }

    /// After a bad delivery: nothing processed, and a new valid event is still acknowledged and processed once.
    async fn still_up(&mut self, p: &mut Vec<String>) {
        want_count(self.settled(0).await, 0, p);
        let (doc, id) = self.event(None);
        let d = self.signed("event B, signed (is the handler still up?)", &doc, &id, 0, None, None);
        let b = self.post(&d).await;
        want_ok(&b, "the next valid delivery", p);
        want_count(self.settled(1).await, 1, p);
    }
}

/// Run `kind` against the handler and judge it. `timeout` is the provider's (scaled).
pub(crate) async fn judge(kind: Kind, s: &mut Session<'_>, timeout: Duration) -> Verdict {
    let mut p = Vec::new();
    let r = s.receiver;
    let (a_doc, a_id) = s.event(None);
    match kind {
        Kind::WebhookAccepted => {
            let d = s.signed("event A, signed", &a_doc, &a_id, 0, None, None);
            let a = s.post(&d).await;
            want_ok(&a, "a validly signed delivery", &mut p);
            want_count(s.settled(1).await, 1, &mut p);
        }
        Kind::WebhookBadSignature => {
            let mut d = s.signed("event A, body altered after signing", &a_doc, &a_id, 0, None, None);
            if r.scheme == Scheme::Telegram {
                for (k, v) in d.headers.iter_mut().filter(|(k, _)| k.eq_ignore_ascii_case(r.scheme.signature_header())) {
                    *v = format!("{v}x");
                    d.label = format!("event A, {k} altered");
                }
            } else {
                let at = d.body.iter().rposition(|b| *b == b'}').unwrap_or(0);
                d.body.splice(at..at, b",\n  \"oc_tampered\" :  true\n".iter().copied());
            }
            let a = s.post(&d).await;
            want_rejected(&a, "a body that does not match its signature", &mut p);
            want_count(s.settled(0).await, 0, &mut p);
        }
        Kind::WebhookMissingSignature => {
            let mut d = s.signed("event A, signature header removed", &a_doc, &a_id, 0, None, None);
            d.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(r.scheme.signature_header()));
            let a = s.post(&d).await;
            want_rejected(&a, "an unsigned delivery", &mut p);
            want_count(s.settled(0).await, 0, &mut p);
        }
        Kind::WebhookWrongSecret => {
            let other = match r.scheme {
                Scheme::StandardWebhooks | Scheme::Svix => "whsec_b2MtaW50ZWdyYXRlLXdyb25nLXNlY3JldA==",
                _ => "oc_whsec_not_the_configured_secret",
            };
            let d = s.signed("event A, signed with another secret", &a_doc, &a_id, 0, Some(other), None);
            let a = s.post(&d).await;
            want_rejected(&a, "a delivery signed with another secret", &mut p);
            want_count(s.settled(0).await, 0, &mut p);
        }
        Kind::WebhookStaleTimestamp | Kind::WebhookFutureTimestamp => {
            let tol = r.tolerance().unwrap_or_default();
            let (skew, what) = if kind == Kind::WebhookStaleTimestamp { (-(tol + 60), "ago") } else { (tol + 60, "ahead") };
            let d = s.signed(&format!("event A, signed {} s {what}", tol + 60), &a_doc, &a_id, skew, None, None);
            let a = s.post(&d).await;
            want_rejected(&a, &format!("a signature timestamped {} s {what} (tolerance {tol} s)", tol + 60), &mut p);
            want_count(s.settled(0).await, 0, &mut p);
        }
        Kind::WebhookDuplicate => {
            s.first(&a_doc, &a_id, &mut p).await;
            let d2 = s.signed("event A again (re-signed, same id)", &a_doc, &a_id, 0, None, None);
            let a2 = s.post(&d2).await;
            want_ok(&a2, "the duplicate (a provider retries until it gets 2xx)", &mut p);
            want_count(s.settled(1).await, 1, &mut p);
        }
        Kind::WebhookConcurrentDuplicate => {
            let ds: Vec<Delivery> = (0..CONCURRENT)
                .map(|i| s.signed(&format!("event A, copy {} of {CONCURRENT} at once", i + 1), &a_doc, &a_id, 0, None, None))
                .collect();
            let answers = s.post_together(&ds).await;
            if answers.iter().any(|a| !matches!(a.status, Ok(s) if s < 500)) {
                let got: Vec<String> = answers.iter().map(Answer::status).collect();
                p.push(format!("expected no 5xx or dropped answer for concurrent copies, found {}", got.join(", ")));
            }
            if !answers.iter().any(Answer::ok) {
                p.push("expected at least one copy acknowledged with 2xx, found none".into());
            }
            want_count(s.settled(1).await, 1, &mut p);
        }
        Kind::WebhookRedeliveryWithinTtl => {
            s.first(&a_doc, &a_id, &mut p).await;
            s.clock.advance(Duration::from_secs(within_ttl(r)));
            let d2 = s.signed(&format!("event A again, {} later (clock moved)", days(within_ttl(r))), &a_doc, &a_id, 0, None, None);
            let a2 = s.post(&d2).await;
            want_ok(&a2, "a redelivery inside the TTL", &mut p);
            want_count(s.settled(1).await, 1, &mut p);
        }
        Kind::WebhookReplayAfterTtl => {
            let d1 = s.first(&a_doc, &a_id, &mut p).await;
            let later = r.idempotency.ttl_s + 3600;
            s.clock.advance(Duration::from_secs(later));
            let mut replay = d1.clone();
            replay.label = format!("event A replayed byte for byte {} later (clock moved)", days(later));
            let a2 = s.post(&replay).await;
            want_rejected(&a2, "a replay whose signed timestamp is past the tolerance", &mut p);
            want_count(s.settled(1).await, 1, &mut p);
        }
        Kind::WebhookMalformedJson => {
            let good = odd_json(&a_doc);
            let broken = good[..good.len() / 2].to_vec();
            let d = s.sign_body("event A cut in half (not JSON), signed", broken, &a_id, s.clock.unix(), None, None);
            let a = s.post(&d).await;
            if !a.client_error() {
                p.push(format!("expected a 4xx for a body that is not JSON, found {}", a.status()));
            }
            s.still_up(&mut p).await;
        }
        Kind::WebhookOversized => {
            let mut doc = a_doc.clone();
            set_pointer(&mut doc, "/oc_padding", Value::from("x".repeat(r.max_body_bytes as usize + 1)));
            let d = s.signed(&format!("event A padded past {} bytes, signed", r.max_body_bytes), &doc, &a_id, 0, None, None);
            let a = s.post(&d).await;
            if !a.client_error() {
                p.push(format!("expected a 4xx (413) for a body over {} bytes, found {}", r.max_body_bytes, a.status()));
            }
            s.still_up(&mut p).await;
        }
        Kind::WebhookUnknownEvent => {
            let unknown = "oc_integrate.unknown_event";
            let (doc, id) = s.event(Some(unknown));
            let d = s.signed(&format!("event of type {unknown}, signed"), &doc, &id, 0, None, Some(unknown));
            let a = s.post(&d).await;
            want_ok(&a, "an unknown event type (a non-2xx makes the provider retry it for days)", &mut p);
            want_count(s.settled(0).await, 0, &mut p);
        }
        Kind::WebhookSlowProcessing => {
            let d = s.signed("event A, signed (processing is slow)", &a_doc, &a_id, 0, None, None);
            let a = s.post(&d).await;
            want_ok(&a, "a delivery whose processing is slow", &mut p);
            // measured on the harness's side of the connection, so load may add to it: a
            // tolerance of max(timeout/2, 250 ms), as for a client's budget; work that takes
            // twice the timeout still breaks it
            let tolerance = (timeout / 2).max(Duration::from_millis(250));
            if a.took > timeout + tolerance {
                p.push(format!(
                    "expected an answer within the provider's timeout ({:.3} s, +{:.3} s tolerance), found one after {:.3} s: acknowledge first, process after",
                    timeout.as_secs_f64(),
                    tolerance.as_secs_f64(),
                    a.took.as_secs_f64()
                ));
            }
            want_count(s.settled(1).await, 1, &mut p);
        }
        _ => p.push(format!("{kind} is not a receiver case")),
    }
    let actual = s.answers.iter().map(|a| format!("{} → {}", a.label, a.status())).collect::<Vec<_>>().join("; ")
        + &format!("; processed {}", s.processed());
    Verdict { actual, problems: p, evidence: String::new() }
}
