//! Webhook receiver cases: the harness plays the provider and posts signed deliveries to
//! the project's running handler, then judges the handler by its answers (status, time to
//! answer) and by the side effect it reports (how many events it processed).
//!
//! Deliveries are signed exactly as the provider signs them (`crate::webhook`), with the
//! body spaced as no serialiser would, so only a handler that verifies the raw bytes
//! accepts them.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Verdict;
use crate::binding::{Clock, Handler};
use crate::case::Kind;
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
    /// What was sent, for the log: size and signature headers.
    sent: String,
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

/// The handler's processed count minus `baseline`; a panicking counter is recorded in
/// `broken` (its message redacted) and counts as zero.
fn count(processed: &Counter, baseline: usize, broken: &Mutex<Option<String>>) -> usize {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| processed())) {
        Ok(n) => n.saturating_sub(baseline),
        Err(p) => {
            let mut b = broken.lock().unwrap_or_else(|e| e.into_inner());
            b.get_or_insert_with(|| redact::redact(&redact::panic_message(&*p)));
            0
        }
    }
}

type Counter = Arc<dyn Fn() -> usize + Send + Sync>;

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
    /// Set when the binding's processed counter panicked.
    broken: Arc<Mutex<Option<String>>>,
    /// How long the harness waits for one answer.
    patience: Duration,
    answers: Vec<Answer>,
}

/// A secret that is not the case's, in the scheme's form.
fn other_secret(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::StandardWebhooks | Scheme::Svix => "whsec_b2MtaW50ZWdyYXRlLXdyb25nLXNlY3JldA==",
        _ => "oc_whsec_not_the_configured_secret",
    }
}

/// What a delivery carried, for the log: body size and the scheme's headers (values of
/// secrets are redacted with the rest of the log).
fn summary(d: &Delivery) -> String {
    let headers: Vec<String> =
        d.headers.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("content-type")).map(|(k, v)| format!("{k}: {v}")).collect();
    format!("{} bytes; {}", d.body.len(), headers.join("; "))
}

/// Set the value at JSON pointer `ptr`, creating objects on the way.
fn set_pointer(doc: &mut Value, ptr: &str, value: Value) {
    let mut at = doc;
    let parts: Vec<String> = ptr.split('/').skip(1).map(|p| crate::spec::unescape(p).into_owned()).collect();
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
    /// `settle`: how long a correct handler may take to report an accepted event processed;
    /// `timeout`: the provider's (scaled) wait for an answer.
    pub(crate) fn new(
        receiver: &'a Receiver,
        handler: &'a Handler,
        clock: &'a Clock,
        secret: &'a str,
        settle: Duration,
        timeout: Duration,
    ) -> Session<'a> {
        let url = format!("{}{}", handler.url.trim_end_matches('/'), receiver.path);
        let http = reqwest::Client::builder().no_proxy().build().unwrap_or_default();
        let broken = Arc::new(Mutex::new(None));
        let baseline = count(&handler.processed, 0, &broken);
        let patience = settle + timeout;
        Session {
            receiver,
            handler,
            clock,
            secret,
            url,
            http,
            start: Instant::now(),
            settle,
            baseline,
            broken,
            patience,
            answers: Vec::new(),
        }
    }

    /// Why the binding's counter could not be read, if it panicked.
    pub(crate) fn counter_panic(&self) -> Option<String> {
        self.broken.lock().unwrap_or_else(|e| e.into_inner()).clone()
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

    /// `doc` signed at once with another (the previous) secret and with the case's, the
    /// previous signature first, as providers sign while a secret is being rotated.
    fn rotated(&self, doc: &Value, id: &str) -> Delivery {
        let (at, body) = (self.clock.unix(), odd_json(doc));
        let label = "event A, signed with the previous and the current secret";
        let old = self.sign_body(label, body.clone(), id, at, Some(other_secret(self.receiver.scheme)), None);
        let mut d = self.sign_body(label, body, id, at, None, None);
        let name = self.receiver.scheme.signature_header();
        let old_sig = old.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()).unwrap_or_default();
        for (_, v) in d.headers.iter_mut().filter(|(k, _)| k.eq_ignore_ascii_case(name)) {
            *v = match self.receiver.scheme {
                // t=…,v1=<previous>,v1=<current>
                Scheme::Stripe => format!("{old_sig},{}", v.split(',').filter(|p| p.starts_with("v1=")).collect::<Vec<_>>().join(",")),
                // v1,<previous> v1,<current>
                _ => format!("{old_sig} {v}"),
            };
        }
        d
    }

    fn processed(&self) -> usize {
        count(&self.handler.processed, self.baseline, &self.broken)
    }

    /// Post one delivery and record the answer.
    async fn post(&mut self, d: &Delivery) -> Answer {
        let answer = self.send(d).await;
        self.answers.push(answer.clone());
        answer
    }

    fn send(&self, d: &Delivery) -> impl std::future::Future<Output = Answer> + Send + 'static {
        let sent_at = self.start.elapsed();
        let mut req = self.http.post(&self.url).body(d.body.clone()).timeout(self.patience);
        for (k, v) in &d.headers {
            req = req.header(k, v);
        }
        let label = d.label.clone();
        let sent = summary(d);
        let (processed, baseline, broken, patience) = (self.handler.processed.clone(), self.baseline, self.broken.clone(), self.patience);
        async move {
            let t = Instant::now();
            let (status, reply) = match req.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let text = r.text().await.unwrap_or_default();
                    (Ok(status), text.chars().take(120).collect())
                }
                Err(e) if e.is_timeout() => (Err(format!("no answer within {:.1} s", patience.as_secs_f64())), String::new()),
                Err(e) if e.is_connect() => (Err(format!("could not connect: {}", redact::redact(&e.to_string()))), String::new()),
                Err(e) => (Err(format!("no valid HTTP answer: {}", redact::redact(&e.to_string()))), String::new()),
            };
            Answer { label, sent, sent_at, status, took: t.elapsed(), reply, processed: count(&processed, baseline, &broken) }
        }
    }

    /// Post deliveries all at once and record the answers.
    async fn post_together(&mut self, ds: &[Delivery]) -> Vec<Answer> {
        let tasks: Vec<_> = ds.iter().map(|d| tokio::spawn(self.send(d))).collect();
        let mut answers = Vec::with_capacity(tasks.len());
        for (t, d) in tasks.into_iter().zip(ds) {
            answers.push(t.await.unwrap_or_else(|e| Answer {
                label: d.label.clone(),
                sent: summary(d),
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
        let mut out =
            format!("  handler: POST {} (processed counts read up to {:.1} s after each answer)\n", self.url, self.settle.as_secs_f64());
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
            let _ = writeln!(out, "             sent {}", a.sent);
        }
        redact::redact(&out)
    }
}

/// What `kind` demands of the handler, in a sentence.
pub(crate) fn expected(kind: Kind, r: &Receiver) -> String {
    let tol = r.tolerance().unwrap_or_default();
    match kind {
        Kind::WebhookAccepted => "a validly signed delivery → 2xx, and the event processed once".into(),
        Kind::WebhookBadSignature => {
            "a delivery whose body was altered after signing → 400/401/403, nothing processed; then the genuine delivery of that event → 2xx, processed once".into()
        }
        Kind::WebhookSecretRotation => {
            "a delivery carrying two signatures, the previous secret's first and the current secret's second → 2xx, processed once".into()
        }
        Kind::WebhookDistinctEvents => format!("two events of one type with different ids ({}) → 2xx each, both processed", r.key().describe()),
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
            let genuine = s.signed("event A, genuine (same id)", &a_doc, &a_id, 0, None, None);
            let mut d = genuine.clone();
            if r.scheme == Scheme::Telegram {
                for (k, v) in d.headers.iter_mut().filter(|(k, _)| k.eq_ignore_ascii_case(r.scheme.signature_header())) {
                    *v = format!("{v}x");
                    d.label = format!("event A, {k} altered");
                }
            } else {
                // same length, same JSON: only a check of the raw bytes notices (and no body limit is crossed)
                d.label = "event A, body altered after signing (whitespace)".into();
                match d.body.windows(4).position(|w| w == b" :  ") {
                    Some(at) => d.body[at + 3] = b'\t',
                    None => {
                        let last = d.body.len() - 1;
                        d.body[last] = b' ';
                    }
                }
            }
            let a = s.post(&d).await;
            want_rejected(&a, "a body that does not match its signature", &mut p);
            want_count(s.settled(0).await, 0, &mut p);
            // a forged delivery must not poison the store: the genuine one is still processed
            let g = s.post(&genuine).await;
            want_ok(&g, "the genuine delivery after a forged one with its id", &mut p);
            want_count(s.settled(1).await, 1, &mut p);
        }
        Kind::WebhookSecretRotation => {
            let d = s.rotated(&a_doc, &a_id);
            let a = s.post(&d).await;
            want_ok(&a, "a delivery signed with the previous secret first and the current one second (during a secret rotation)", &mut p);
            want_count(s.settled(1).await, 1, &mut p);
        }
        Kind::WebhookDistinctEvents => {
            let (b_doc, b_id) = s.event(None);
            let d1 = s.signed("event A", &a_doc, &a_id, 0, None, None);
            let d2 = s.signed("event B (same type, another id)", &b_doc, &b_id, 0, None, None);
            let a1 = s.post(&d1).await;
            want_ok(&a1, "event A", &mut p);
            s.settled(1).await;
            let a2 = s.post(&d2).await;
            want_ok(&a2, "event B", &mut p);
            want_count(s.settled(2).await, 2, &mut p);
        }
        Kind::WebhookMissingSignature => {
            let mut d = s.signed("event A, signature header removed", &a_doc, &a_id, 0, None, None);
            d.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(r.scheme.signature_header()));
            let a = s.post(&d).await;
            want_rejected(&a, "an unsigned delivery", &mut p);
            want_count(s.settled(0).await, 0, &mut p);
        }
        Kind::WebhookWrongSecret => {
            let d = s.signed("event A, signed with another secret", &a_doc, &a_id, 0, Some(other_secret(r.scheme)), None);
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
    let actual =
        s.answers.iter().map(|a| format!("{} → {} in {:.3} s", a.label, a.status(), a.took.as_secs_f64())).collect::<Vec<_>>().join("; ")
            + &format!("; processed {}", s.processed());
    Verdict { actual, problems: p, evidence: String::new() }
}
