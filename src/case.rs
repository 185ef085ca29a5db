//! What a trial is, before it runs and after: its service, its subject in the spec, its
//! kind, its name, its title and how to run it alone. Planning (`scenario`, `sandbox`)
//! makes these, trials run them, and every output names what it reports by them, so the
//! outputs need nothing of how a case is prepared or judged.
//!
//! ```
//! use oc_integrate::case::{Case, Kind, Subject};
//!
//! let case = Case { service: "payments".into(), subject: Subject::Endpoint(0), subject_id: "create_customer".into(), kind: Kind::DuplicatePost };
//! assert_eq!(case.name(), "payments::create_customer::duplicate_post");
//! assert_eq!(case.title(), "Duplicate POST (idempotency)");
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::RwLock;

use crate::spec::{Action, Auth, Endpoint, Spec};

/// What a case exercises: one of the endpoints the client calls, the project's webhook
/// handler, or its webhook sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    /// The endpoint at this index of `spec.endpoints`.
    Endpoint(usize),
    /// `webhooks.receiver`.
    Receiver,
    /// `webhooks.sender`.
    Sender,
}

impl Subject {
    /// The spec path of what the case exercises (`endpoints[0]`, `webhooks.receiver`), for locations.
    pub fn path(self) -> String {
        match self {
            Subject::Endpoint(i) => format!("endpoints[{i}]"),
            Subject::Receiver => "webhooks.receiver".into(),
            Subject::Sender => "webhooks.sender".into(),
        }
    }

    /// What the subject is, for listings: `POST /customers`, `POST /webhooks/stripe (webhook handler, stripe)`.
    pub fn label(self, spec: &Spec) -> String {
        match (self, &spec.webhooks.receiver, &spec.webhooks.sender) {
            (Subject::Endpoint(i), _, _) => spec.endpoints.get(i).map(Endpoint::label).unwrap_or_default(),
            (Subject::Receiver, Some(r), _) => format!("POST {} (webhook handler, {})", r.path, r.scheme),
            (Subject::Sender, _, Some(s)) => format!("POST {} (webhook sender, {})", s.path, s.scheme),
            _ => String::new(),
        }
    }

    /// The endpoint the client calls in this case: a spec endpoint, or the sender's
    /// delivery to its subscriber. `None` for the receiver, which the harness calls.
    pub fn endpoint(self, spec: &Spec) -> Option<Endpoint> {
        match self {
            Subject::Endpoint(i) => spec.endpoints.get(i).cloned(),
            Subject::Sender => spec.webhooks.sender.as_ref().map(|s| s.endpoint()),
            Subject::Receiver => None,
        }
    }
}

/// One generated case: a scenario kind applied to one subject of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Service id.
    pub service: String,
    /// What the case exercises.
    pub subject: Subject,
    /// The subject's id in trial names: the endpoint id, `webhook_receiver` or `webhook_sender`.
    pub subject_id: String,
    /// Scenario kind.
    pub kind: Kind,
}

impl Case {
    /// The trial name: `service::endpoint::kind`.
    pub fn name(&self) -> String {
        let mut name = String::new();
        self.write_name(&mut name);
        name
    }

    /// [`name`](Self::name), written at the end of `out` (a listing of many names need not
    /// make a string for each).
    ///
    /// ```
    /// use oc_integrate::case::{Case, Kind, Subject};
    ///
    /// let case = Case { service: "payments".into(), subject: Subject::Endpoint(0), subject_id: "get_customer".into(), kind: Kind::TimeoutNoAnswer };
    /// let mut list = String::from("trials: ");
    /// case.write_name(&mut list);
    /// assert_eq!(list, "trials: payments::get_customer::timeout_no_answer");
    /// ```
    pub fn write_name(&self, out: &mut String) {
        for part in [self.service.as_str(), "::", &self.subject_id, "::", &self.kind.name()] {
            out.push_str(part);
        }
    }

    /// The case's title for listings and reports: the kind's, but a sender's conformance
    /// case is its signed delivery.
    pub fn title(&self) -> Cow<'static, str> {
        if self.subject == Subject::Sender && self.kind == Kind::Conformance {
            "Signed delivery (conformance)".into()
        } else {
            self.kind.title()
        }
    }
}

/// Every kind of generated case, in the order trials are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Kind {
    Conformance,
    HostileRequestValues,
    AuthExpired,
    AuthRefreshFails,
    AuthRejected,
    AuthExpiredConcurrent,
    RateLimitRetryAfter,
    RateLimitRetryAfterDate,
    RateLimitStorm,
    RateLimitConcurrent,
    ServerErrorRecovers,
    ServerErrorPersists,
    ServerErrorMaintenance,
    RateLimitNoRetryAfter,
    RateLimitReset,
    ClientErrorNotRetried,
    /// A row of the spec's error matrix that no kind above covers: its status (`when`: 0
    /// for the plain row, else which of the status's `when` rows, from 1) and its action.
    Status {
        code: u16,
        when: u8,
        action: Action,
    },
    TimeoutHeadersLate,
    TimeoutBodyStalls,
    TimeoutBodyTrickles,
    TimeoutLateHeadersThenStall,
    TimeoutNoAnswer,
    TimeoutSlowWithinBudget,
    DuplicatePost,
    DuplicatePostReplayed,
    PaginationAllPages,
    PaginationLoop,
    PaginationPageFails,
    PaginationPagePersists,
    DriftExtraField,
    DriftMissingField,
    DriftTypeChanged,
    DriftNullValue,
    DriftRenamedField,
    DriftEmptyBody,
    DriftTruncatedJson,
    DriftNotJson,
    DriftWrongContentType,
    TolerateOptionalAbsent,
    TolerateNull,
    TolerateMediaTypeParameters,
    TolerateUnknownNestedFields,
    TolerateEmptyArrays,
    TolerateLargeIntegers,
    TolerateNonAscii,
    ConnectionRefused,
    ConnectionResetBeforeResponse,
    ConnectionResetDuringResponse,
    ConnectionTruncatedBody,
    WebhookAccepted,
    WebhookBadSignature,
    WebhookDistinctEvents,
    WebhookMissingSignature,
    WebhookWrongSecret,
    WebhookSecretRotation,
    WebhookStaleTimestamp,
    WebhookFutureTimestamp,
    WebhookDuplicate,
    WebhookConcurrentDuplicate,
    WebhookRedeliveryWithinTtl,
    WebhookReplayAfterTtl,
    WebhookMalformedJson,
    WebhookOversized,
    WebhookUnknownEvent,
    WebhookSlowProcessing,
}

impl Kind {
    /// Every kind but the error matrix's own rows ([`Kind::Status`], which the spec makes),
    /// in listing order.
    pub const ALL: [Kind; 64] = [
        Kind::Conformance,
        Kind::HostileRequestValues,
        Kind::AuthExpired,
        Kind::AuthRefreshFails,
        Kind::AuthRejected,
        Kind::AuthExpiredConcurrent,
        Kind::RateLimitRetryAfter,
        Kind::RateLimitRetryAfterDate,
        Kind::RateLimitStorm,
        Kind::RateLimitConcurrent,
        Kind::ServerErrorRecovers,
        Kind::ServerErrorPersists,
        Kind::ServerErrorMaintenance,
        Kind::RateLimitNoRetryAfter,
        Kind::RateLimitReset,
        Kind::ClientErrorNotRetried,
        Kind::TimeoutHeadersLate,
        Kind::TimeoutBodyStalls,
        Kind::TimeoutBodyTrickles,
        Kind::TimeoutLateHeadersThenStall,
        Kind::TimeoutNoAnswer,
        Kind::TimeoutSlowWithinBudget,
        Kind::DuplicatePost,
        Kind::DuplicatePostReplayed,
        Kind::PaginationAllPages,
        Kind::PaginationLoop,
        Kind::PaginationPageFails,
        Kind::PaginationPagePersists,
        Kind::DriftExtraField,
        Kind::DriftMissingField,
        Kind::DriftTypeChanged,
        Kind::DriftNullValue,
        Kind::DriftRenamedField,
        Kind::DriftEmptyBody,
        Kind::DriftTruncatedJson,
        Kind::DriftNotJson,
        Kind::DriftWrongContentType,
        Kind::TolerateOptionalAbsent,
        Kind::TolerateNull,
        Kind::TolerateMediaTypeParameters,
        Kind::TolerateUnknownNestedFields,
        Kind::TolerateEmptyArrays,
        Kind::TolerateLargeIntegers,
        Kind::TolerateNonAscii,
        Kind::ConnectionRefused,
        Kind::ConnectionResetBeforeResponse,
        Kind::ConnectionResetDuringResponse,
        Kind::ConnectionTruncatedBody,
        Kind::WebhookAccepted,
        Kind::WebhookBadSignature,
        Kind::WebhookDistinctEvents,
        Kind::WebhookMissingSignature,
        Kind::WebhookWrongSecret,
        Kind::WebhookSecretRotation,
        Kind::WebhookStaleTimestamp,
        Kind::WebhookFutureTimestamp,
        Kind::WebhookDuplicate,
        Kind::WebhookConcurrentDuplicate,
        Kind::WebhookRedeliveryWithinTtl,
        Kind::WebhookReplayAfterTtl,
        Kind::WebhookMalformedJson,
        Kind::WebhookOversized,
        Kind::WebhookUnknownEvent,
        Kind::WebhookSlowProcessing,
    ];

    /// Whether the kind is one of the benign-variation cases (`tolerate_*`).
    pub fn is_tolerance(self) -> bool {
        matches!(
            self,
            Kind::TolerateOptionalAbsent
                | Kind::TolerateNull
                | Kind::TolerateMediaTypeParameters
                | Kind::TolerateUnknownNestedFields
                | Kind::TolerateEmptyArrays
                | Kind::TolerateLargeIntegers
                | Kind::TolerateNonAscii
        )
    }

    /// Whether the case makes its calls all at once through one client instance (the
    /// provider cannot tell the calls apart: arrivals are numbered in order).
    pub fn is_concurrent(self) -> bool {
        matches!(self, Kind::AuthExpiredConcurrent | Kind::RateLimitConcurrent)
    }

    /// Whether the kind is one of the pagination cases (one call, a request per page).
    pub fn is_pagination(self) -> bool {
        matches!(self, Kind::PaginationAllPages | Kind::PaginationLoop | Kind::PaginationPageFails | Kind::PaginationPagePersists)
    }

    /// Whether the kind is one of the response-shape drift cases.
    pub fn is_drift(self) -> bool {
        matches!(
            self,
            Kind::DriftExtraField
                | Kind::DriftMissingField
                | Kind::DriftTypeChanged
                | Kind::DriftNullValue
                | Kind::DriftRenamedField
                | Kind::DriftEmptyBody
                | Kind::DriftTruncatedJson
                | Kind::DriftNotJson
                | Kind::DriftWrongContentType
        )
    }

    /// The name used in trial names.
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Kind::Status { code, when: 0, .. } => return Cow::Owned(format!("status_{code}")),
            Kind::Status { code, when, .. } => return Cow::Owned(format!("status_{code}_when_{when}")),
            Kind::Conformance => "conformance",
            Kind::HostileRequestValues => "hostile_request_values",
            Kind::AuthExpired => "auth_expired",
            Kind::AuthRefreshFails => "auth_refresh_fails",
            Kind::AuthRejected => "auth_rejected",
            Kind::AuthExpiredConcurrent => "auth_expired_concurrent",
            Kind::RateLimitRetryAfter => "rate_limit_retry_after",
            Kind::RateLimitRetryAfterDate => "rate_limit_retry_after_date",
            Kind::RateLimitStorm => "rate_limit_storm",
            Kind::RateLimitConcurrent => "rate_limit_concurrent",
            Kind::ServerErrorRecovers => "server_error_recovers",
            Kind::ServerErrorPersists => "server_error_persists",
            Kind::ServerErrorMaintenance => "server_error_maintenance",
            Kind::RateLimitNoRetryAfter => "rate_limit_no_retry_after",
            Kind::RateLimitReset => "rate_limit_reset",
            Kind::ClientErrorNotRetried => "client_error_not_retried",
            Kind::TimeoutHeadersLate => "timeout_headers_late",
            Kind::TimeoutBodyStalls => "timeout_body_stalls",
            Kind::TimeoutBodyTrickles => "timeout_body_trickles",
            Kind::TimeoutLateHeadersThenStall => "timeout_late_headers_then_stall",
            Kind::TimeoutNoAnswer => "timeout_no_answer",
            Kind::TimeoutSlowWithinBudget => "timeout_slow_within_budget",
            Kind::DuplicatePost => "duplicate_post",
            Kind::DuplicatePostReplayed => "duplicate_post_replayed",
            Kind::PaginationAllPages => "pagination_all_pages",
            Kind::PaginationLoop => "pagination_loop",
            Kind::PaginationPageFails => "pagination_page_fails",
            Kind::PaginationPagePersists => "pagination_page_persists",
            Kind::DriftExtraField => "drift_extra_field",
            Kind::DriftMissingField => "drift_missing_field",
            Kind::DriftTypeChanged => "drift_type_changed",
            Kind::DriftNullValue => "drift_null_value",
            Kind::DriftRenamedField => "drift_renamed_field",
            Kind::DriftEmptyBody => "drift_empty_body",
            Kind::DriftTruncatedJson => "drift_truncated_json",
            Kind::DriftNotJson => "drift_not_json",
            Kind::DriftWrongContentType => "drift_wrong_content_type",
            Kind::TolerateOptionalAbsent => "tolerate_optional_absent",
            Kind::TolerateNull => "tolerate_null",
            Kind::TolerateMediaTypeParameters => "tolerate_media_type_parameters",
            Kind::TolerateUnknownNestedFields => "tolerate_unknown_nested_fields",
            Kind::TolerateEmptyArrays => "tolerate_empty_arrays",
            Kind::TolerateLargeIntegers => "tolerate_large_integers",
            Kind::TolerateNonAscii => "tolerate_non_ascii",
            Kind::ConnectionRefused => "connection_refused",
            Kind::ConnectionResetBeforeResponse => "connection_reset_before_response",
            Kind::ConnectionResetDuringResponse => "connection_reset_during_response",
            Kind::ConnectionTruncatedBody => "connection_truncated_body",
            Kind::WebhookAccepted => "webhook_accepted",
            Kind::WebhookBadSignature => "webhook_bad_signature",
            Kind::WebhookDistinctEvents => "webhook_distinct_events",
            Kind::WebhookMissingSignature => "webhook_missing_signature",
            Kind::WebhookWrongSecret => "webhook_wrong_secret",
            Kind::WebhookSecretRotation => "webhook_secret_rotation",
            Kind::WebhookStaleTimestamp => "webhook_stale_timestamp",
            Kind::WebhookFutureTimestamp => "webhook_future_timestamp",
            Kind::WebhookDuplicate => "webhook_duplicate",
            Kind::WebhookConcurrentDuplicate => "webhook_concurrent_duplicate",
            Kind::WebhookRedeliveryWithinTtl => "webhook_redelivery_within_ttl",
            Kind::WebhookReplayAfterTtl => "webhook_replay_after_ttl",
            Kind::WebhookMalformedJson => "webhook_malformed_json",
            Kind::WebhookOversized => "webhook_oversized",
            Kind::WebhookUnknownEvent => "webhook_unknown_event",
            Kind::WebhookSlowProcessing => "webhook_slow_processing",
        })
    }

    /// Whether the kind is one of the webhook receiver's cases.
    pub fn is_receiver(self) -> bool {
        self >= Kind::WebhookAccepted
    }

    /// The row label used in reports' Error Handling table.
    pub fn title(self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Kind::Status { code, when, action } => {
                let row = if when == 0 { String::new() } else { format!("its `when` row {when}; ") };
                return Cow::Owned(format!("{code} ({row}error matrix: {})", action.name()));
            }
            Kind::Conformance => "Happy path (conformance)",
            Kind::HostileRequestValues => "Reserved and non-ASCII characters in the request",
            Kind::AuthExpired => "Expired token (401)",
            Kind::AuthRefreshFails => "Refresh rejected (401 + invalid_grant)",
            Kind::AuthRejected => "Credential rejected (401)",
            Kind::AuthExpiredConcurrent => "Expired token under concurrent calls (one refresh for all)",
            Kind::RateLimitRetryAfter => "Rate limit (429, Retry-After seconds)",
            Kind::RateLimitRetryAfterDate => "Rate limit (429, Retry-After date)",
            Kind::RateLimitStorm => "Rate limit storm (429 forever)",
            Kind::RateLimitConcurrent => "Rate limit under concurrent calls (429 to each, Retry-After)",
            Kind::ServerErrorRecovers => "Server error (500, 502 then 200)",
            Kind::ServerErrorPersists => "Server error (500 forever)",
            Kind::ServerErrorMaintenance => "Maintenance (503)",
            Kind::RateLimitNoRetryAfter => "Rate limit (429, no Retry-After)",
            Kind::RateLimitReset => "Rate limit (429, reset header only)",
            Kind::ClientErrorNotRetried => "Client error (4xx)",
            Kind::TimeoutHeadersLate => "Timeout (headers late)",
            Kind::TimeoutBodyStalls => "Timeout (body stalls)",
            Kind::TimeoutBodyTrickles => "Timeout (body trickles)",
            Kind::TimeoutLateHeadersThenStall => "Timeout (headers late, then the body stalls)",
            Kind::TimeoutNoAnswer => "Timeout (never answered)",
            Kind::TimeoutSlowWithinBudget => "Slow but within budget",
            Kind::DuplicatePost => "Duplicate POST (idempotency)",
            Kind::DuplicatePostReplayed => "Keyed POST replayed by the provider's key store",
            Kind::PaginationAllPages => "Pagination (every page followed)",
            Kind::PaginationLoop => "Pagination (a page that points back at itself)",
            Kind::PaginationPageFails => "Pagination (page 3 fails once)",
            Kind::PaginationPagePersists => "Pagination (page 3 fails for good)",
            Kind::DriftExtraField => "Drift: extra field",
            Kind::DriftMissingField => "Drift: missing field",
            Kind::DriftTypeChanged => "Drift: type changed",
            Kind::DriftNullValue => "Drift: null value",
            Kind::DriftRenamedField => "Drift: renamed field",
            Kind::DriftEmptyBody => "Drift: empty body",
            Kind::DriftTruncatedJson => "Drift: truncated JSON",
            Kind::DriftNotJson => "Drift: not JSON",
            Kind::DriftWrongContentType => "Drift: wrong content type",
            Kind::TolerateOptionalAbsent => "Benign: optional fields absent",
            Kind::TolerateNull => "Benign: nullable fields null",
            Kind::TolerateMediaTypeParameters => "Benign: media type with parameters",
            Kind::TolerateUnknownNestedFields => "Benign: unknown nested fields",
            Kind::TolerateEmptyArrays => "Benign: empty arrays",
            Kind::TolerateLargeIntegers => "Benign: integers past 2^53",
            Kind::TolerateNonAscii => "Benign: non-ASCII text",
            Kind::ConnectionRefused => "Connection refused",
            Kind::ConnectionResetBeforeResponse => "Connection reset before response",
            Kind::ConnectionResetDuringResponse => "Connection reset during response",
            Kind::ConnectionTruncatedBody => "Truncated body",
            Kind::WebhookAccepted => "Webhook: valid signature accepted, processed once",
            Kind::WebhookBadSignature => "Webhook: body altered after signing",
            Kind::WebhookDistinctEvents => "Webhook: two events of one type",
            Kind::WebhookMissingSignature => "Webhook: signature header missing",
            Kind::WebhookWrongSecret => "Webhook: signed with another secret",
            Kind::WebhookSecretRotation => "Webhook: two signatures during a secret rotation",
            Kind::WebhookStaleTimestamp => "Webhook: stale timestamp",
            Kind::WebhookFutureTimestamp => "Webhook: future timestamp",
            Kind::WebhookDuplicate => "Webhook: same event delivered twice",
            Kind::WebhookConcurrentDuplicate => "Webhook: same event delivered concurrently",
            Kind::WebhookRedeliveryWithinTtl => "Webhook: redelivered just inside the idempotency TTL",
            Kind::WebhookReplayAfterTtl => "Webhook: captured delivery replayed after the TTL",
            Kind::WebhookMalformedJson => "Webhook: malformed JSON",
            Kind::WebhookOversized => "Webhook: oversized body",
            Kind::WebhookUnknownEvent => "Webhook: unknown event type",
            Kind::WebhookSlowProcessing => "Webhook: slow processing",
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The environment variable that turns missing credentials and an unreachable sandbox into failures.
pub const REQUIRE_ENV: &str = "OC_REQUIRE_SANDBOX";

/// The environment variable that leaves the sandbox and drift trials out of a run (`0`: each
/// ignored, saying so; `1` or unset: they run when their credentials are set). `oc-integrate
/// test` and `build` set it to `0` unless given `--sandbox`.
pub const SANDBOX_ENV: &str = "OC_SANDBOX";

/// What a sandbox trial checks, in the seed's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// The sandbox answers, and how fast.
    Connectivity,
    /// The credential is accepted (and a request without it is not); for OAuth 2.0 the
    /// token is obtained, its expiry and rotation seen, and a wrong client secret refused.
    Auth,
    /// OAuth 2.0: the client's access token revoked, the client refreshes through the real
    /// token endpoint (twice when refresh tokens rotate, keeping the rotated one).
    TokenRefresh,
    /// One endpoint, called through the client; the answer checked against its schema.
    Endpoint(usize),
    /// The same idempotency key twice gives the same resource.
    Idempotency(usize),
    /// A gentle probe at the declared rate limit.
    RateLimit,
    /// The endpoint's live answer against its recorded baseline shape (nightly).
    Drift(usize),
}

/// The environment variable that runs the drift trials.
pub const DRIFT_ENV: &str = "OC_DRIFT";

/// One sandbox trial of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxCase {
    /// The service id.
    pub service: String,
    /// What it checks.
    pub check: Check,
    /// The endpoint id for endpoint and idempotency checks, else empty.
    pub subject_id: String,
}

impl SandboxCase {
    /// The trial name, e.g. `payments::sandbox::create_customer`.
    pub fn name(&self) -> String {
        if let Check::Drift(_) = self.check {
            return format!("{}::drift::{}", self.service, self.subject_id);
        }
        let what = match self.check {
            Check::Connectivity => "connectivity".to_string(),
            Check::Auth => "auth".to_string(),
            Check::TokenRefresh => "token_refresh".to_string(),
            Check::Endpoint(_) => self.subject_id.clone(),
            Check::Idempotency(_) => format!("idempotency::{}", self.subject_id),
            Check::RateLimit => "rate_limit".to_string(),
            Check::Drift(_) => self.subject_id.clone(),
        };
        format!("{}::sandbox::{what}", self.service)
    }

    /// What kind of check it is: `connectivity`, `auth`, `token_refresh`, `endpoint`,
    /// `idempotency`, `rate_limit` or `drift`.
    pub fn kind(&self) -> &'static str {
        match self.check {
            Check::Connectivity => "connectivity",
            Check::Auth => "auth",
            Check::TokenRefresh => "token_refresh",
            Check::Endpoint(_) => "endpoint",
            Check::Idempotency(_) => "idempotency",
            Check::RateLimit => "rate_limit",
            Check::Drift(_) => "drift",
        }
    }

    /// What the trial checks, for listings.
    pub fn title(&self, spec: &Spec) -> String {
        let label = |i: usize| spec.endpoints.get(i).map(Endpoint::label).unwrap_or_default();
        match self.check {
            Check::Connectivity => "the sandbox answers (reachable, latency)".into(),
            Check::Auth if matches!(spec.overview.auth, Auth::Oauth2 { .. }) => {
                "a token is obtained at the sandbox's token endpoint (expiry and rotation seen), a wrong client secret is refused, the token is accepted and a request without it is not".into()
            }
            Check::Auth => "the sandbox credential is accepted, and a request without it is not".into(),
            Check::TokenRefresh => "the client's access token revoked: the client refreshes through the real token endpoint and retries (twice when refresh tokens rotate, so the rotated one must be kept)".into(),
            Check::Endpoint(i) => format!("{} through the client and the recording proxy, the answer valid against its schema", label(i)),
            Check::Idempotency(i) => format!("{}: the client's request twice with the same key gives the same resource", label(i)),
            Check::RateLimit => "a gentle probe at the declared rate limit gets no 429".into(),
            Check::Drift(i) => format!("{}: the live answer's shape against its baseline and schema ({DRIFT_ENV}=1)", label(i)),
        }
    }

    /// The spec path this trial is about (for `file:line:col`).
    pub fn path(&self) -> String {
        match self.check {
            Check::Endpoint(i) | Check::Idempotency(i) | Check::Drift(i) => Subject::Endpoint(i).path(),
            Check::RateLimit => "overview.rate_limit".into(),
            _ => "sandbox".into(),
        }
    }
}

/// Environment variables, besides `OC_TIME_SCALE`, that change what a run does and so
/// belong in a reproduce line (set by `Harness::reproduce_env`).
static REPRODUCE_ENV: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Name the environment variables a reproduce line must carry when they are set.
pub fn set_reproduce_env(names: &[String]) {
    *REPRODUCE_ENV.write().unwrap_or_else(|p| p.into_inner()) = names.to_vec();
}

/// `value` as one shell word.
fn shell_word(value: &str) -> String {
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || "_-.,:/=+@%".contains(c)) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', "'\\''"))
    }
}

/// The command that re-runs one trial alone, with the environment that shaped this run.
pub fn reproduce(name: &str) -> String {
    let target = crate::file::test_target().unwrap_or_else(|| "integrations".into());
    let names = REPRODUCE_ENV.read().unwrap_or_else(|p| p.into_inner()).clone();
    let env: String = std::iter::once("OC_TIME_SCALE".to_string())
        .chain(names)
        .filter_map(|n| std::env::var(&n).ok().map(|v| format!("{n}={} ", shell_word(&v))))
        .collect();
    format!("{env}cargo test --test {target} -- {name} --exact")
}
