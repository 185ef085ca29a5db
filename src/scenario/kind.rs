//! The catalogue of scenario kinds: their trial names, report titles, when a spec makes
//! each applicable, and the wait each forces on a correct client.

use std::fmt;
use std::time::Duration;

use super::{Policy, drift, retry};
use crate::spec::{Action, Auth, Endpoint, Method, Receiver, Spec};
use crate::webhook::Scheme;

/// Every kind of generated case, in the order trials are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Kind {
    Conformance,
    AuthExpired,
    AuthRefreshFails,
    AuthRejected,
    RateLimitRetryAfter,
    RateLimitRetryAfterDate,
    RateLimitStorm,
    ServerErrorRecovers,
    ServerErrorPersists,
    ServerErrorMaintenance,
    ClientErrorNotRetried,
    TimeoutHeadersLate,
    TimeoutBodyStalls,
    TimeoutBodyTrickles,
    TimeoutNoAnswer,
    TimeoutSlowWithinBudget,
    DuplicatePost,
    DriftExtraField,
    DriftMissingField,
    DriftTypeChanged,
    DriftNullValue,
    DriftRenamedField,
    DriftEmptyBody,
    DriftTruncatedJson,
    DriftNotJson,
    DriftWrongContentType,
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
    /// All kinds, in listing order.
    pub const ALL: [Kind; 46] = [
        Kind::Conformance,
        Kind::AuthExpired,
        Kind::AuthRefreshFails,
        Kind::AuthRejected,
        Kind::RateLimitRetryAfter,
        Kind::RateLimitRetryAfterDate,
        Kind::RateLimitStorm,
        Kind::ServerErrorRecovers,
        Kind::ServerErrorPersists,
        Kind::ServerErrorMaintenance,
        Kind::ClientErrorNotRetried,
        Kind::TimeoutHeadersLate,
        Kind::TimeoutBodyStalls,
        Kind::TimeoutBodyTrickles,
        Kind::TimeoutNoAnswer,
        Kind::TimeoutSlowWithinBudget,
        Kind::DuplicatePost,
        Kind::DriftExtraField,
        Kind::DriftMissingField,
        Kind::DriftTypeChanged,
        Kind::DriftNullValue,
        Kind::DriftRenamedField,
        Kind::DriftEmptyBody,
        Kind::DriftTruncatedJson,
        Kind::DriftNotJson,
        Kind::DriftWrongContentType,
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
    pub fn name(self) -> &'static str {
        match self {
            Kind::Conformance => "conformance",
            Kind::AuthExpired => "auth_expired",
            Kind::AuthRefreshFails => "auth_refresh_fails",
            Kind::AuthRejected => "auth_rejected",
            Kind::RateLimitRetryAfter => "rate_limit_retry_after",
            Kind::RateLimitRetryAfterDate => "rate_limit_retry_after_date",
            Kind::RateLimitStorm => "rate_limit_storm",
            Kind::ServerErrorRecovers => "server_error_recovers",
            Kind::ServerErrorPersists => "server_error_persists",
            Kind::ServerErrorMaintenance => "server_error_maintenance",
            Kind::ClientErrorNotRetried => "client_error_not_retried",
            Kind::TimeoutHeadersLate => "timeout_headers_late",
            Kind::TimeoutBodyStalls => "timeout_body_stalls",
            Kind::TimeoutBodyTrickles => "timeout_body_trickles",
            Kind::TimeoutNoAnswer => "timeout_no_answer",
            Kind::TimeoutSlowWithinBudget => "timeout_slow_within_budget",
            Kind::DuplicatePost => "duplicate_post",
            Kind::DriftExtraField => "drift_extra_field",
            Kind::DriftMissingField => "drift_missing_field",
            Kind::DriftTypeChanged => "drift_type_changed",
            Kind::DriftNullValue => "drift_null_value",
            Kind::DriftRenamedField => "drift_renamed_field",
            Kind::DriftEmptyBody => "drift_empty_body",
            Kind::DriftTruncatedJson => "drift_truncated_json",
            Kind::DriftNotJson => "drift_not_json",
            Kind::DriftWrongContentType => "drift_wrong_content_type",
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
        }
    }

    /// Whether the spec makes this kind applicable to `endpoint`.
    pub fn applies(self, spec: &Spec, endpoint: &Endpoint) -> bool {
        let oauth = matches!(spec.overview.auth, Auth::Oauth2 { .. }) && endpoint.auth;
        match self {
            Kind::Conformance => true,
            Kind::AuthExpired | Kind::AuthRefreshFails => oauth && spec.action_for(401) == Some(Action::RefreshAndRetryOnce),
            Kind::AuthRejected => endpoint.auth && spec.overview.auth != Auth::None && spec.action_for(401) == Some(Action::Fail),
            Kind::RateLimitRetryAfter | Kind::RateLimitRetryAfterDate => spec.action_for(429) == Some(Action::RespectRetryAfter),
            Kind::RateLimitStorm => spec.action_for(429) == Some(Action::RespectRetryAfter) && spec.retry.max_attempts > 1,
            Kind::ServerErrorRecovers => spec.action_for(500) == Some(Action::RetryWithBackoff) && spec.retry.max_attempts > 1,
            Kind::ServerErrorPersists => spec.action_for(500) == Some(Action::RetryWithBackoff),
            Kind::ServerErrorMaintenance => spec.action_for(503) == Some(Action::RetryWithLongerDelays) && spec.retry.max_attempts > 1,
            Kind::ClientErrorNotRetried => !retry::client_error_statuses(spec).is_empty(),
            Kind::TimeoutHeadersLate
            | Kind::TimeoutBodyStalls
            | Kind::TimeoutBodyTrickles
            | Kind::TimeoutNoAnswer
            | Kind::TimeoutSlowWithinBudget => true,
            Kind::DuplicatePost => endpoint.method == Method::POST,
            Kind::DriftMissingField | Kind::DriftTypeChanged | Kind::DriftNullValue | Kind::DriftRenamedField => {
                !drift::fields_to_mutate(endpoint).is_empty()
            }
            Kind::DriftExtraField => {
                endpoint.response.example.is_object() || endpoint.response.example.get(0).is_some_and(|v| v.is_object())
            }
            Kind::DriftEmptyBody | Kind::DriftTruncatedJson | Kind::DriftNotJson | Kind::DriftWrongContentType => true,
            Kind::ConnectionRefused
            | Kind::ConnectionResetBeforeResponse
            | Kind::ConnectionResetDuringResponse
            | Kind::ConnectionTruncatedBody => true,
            _ => false,
        }
    }

    /// Whether the kind is one of the webhook receiver's cases.
    pub fn is_receiver(self) -> bool {
        self >= Kind::WebhookAccepted
    }

    /// Whether the receiver declared in the spec makes this kind applicable to it.
    pub fn applies_to_receiver(self, r: &Receiver) -> bool {
        match self {
            Kind::WebhookStaleTimestamp | Kind::WebhookReplayAfterTtl => r.tolerance().is_some(),
            Kind::WebhookFutureTimestamp => r.tolerance().is_some() && r.scheme.rejects_future(),
            Kind::WebhookUnknownEvent => r.event_type().is_some(),
            Kind::WebhookSecretRotation => matches!(r.scheme, Scheme::Stripe | Scheme::StandardWebhooks | Scheme::Svix),
            k => k.is_receiver(),
        }
    }

    /// Whether the kind applies to a webhook sender's delivery (besides what the error
    /// matrix says): the sender's retries, timeouts, connection failures and event ids.
    /// Rate limits and response drift are a subscriber's business, not a sender's.
    pub fn applies_to_sender(self) -> bool {
        matches!(
            self,
            Kind::Conformance
                | Kind::RateLimitRetryAfter
                | Kind::ServerErrorRecovers
                | Kind::ServerErrorPersists
                | Kind::ServerErrorMaintenance
                | Kind::ClientErrorNotRetried
                | Kind::TimeoutHeadersLate
                | Kind::TimeoutNoAnswer
                | Kind::DuplicatePost
                | Kind::ConnectionRefused
                | Kind::ConnectionResetBeforeResponse
        )
    }

    /// The row label used in reports' Error Handling table.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Conformance => "Happy path (conformance)",
            Kind::AuthExpired => "Expired token (401)",
            Kind::AuthRefreshFails => "Refresh rejected (401 + invalid_grant)",
            Kind::AuthRejected => "Credential rejected (401)",
            Kind::RateLimitRetryAfter => "Rate limit (429, Retry-After seconds)",
            Kind::RateLimitRetryAfterDate => "Rate limit (429, Retry-After date)",
            Kind::RateLimitStorm => "Rate limit storm (429 forever)",
            Kind::ServerErrorRecovers => "Server error (500, 502 then 200)",
            Kind::ServerErrorPersists => "Server error (500 forever)",
            Kind::ServerErrorMaintenance => "Maintenance (503)",
            Kind::ClientErrorNotRetried => "Client error (4xx)",
            Kind::TimeoutHeadersLate => "Timeout (headers late)",
            Kind::TimeoutBodyStalls => "Timeout (body stalls)",
            Kind::TimeoutBodyTrickles => "Timeout (body trickles)",
            Kind::TimeoutNoAnswer => "Timeout (never answered)",
            Kind::TimeoutSlowWithinBudget => "Slow but within budget",
            Kind::DuplicatePost => "Duplicate POST (idempotency)",
            Kind::DriftExtraField => "Drift: extra field",
            Kind::DriftMissingField => "Drift: missing field",
            Kind::DriftTypeChanged => "Drift: type changed",
            Kind::DriftNullValue => "Drift: null value",
            Kind::DriftRenamedField => "Drift: renamed field",
            Kind::DriftEmptyBody => "Drift: empty body",
            Kind::DriftTruncatedJson => "Drift: truncated JSON",
            Kind::DriftNotJson => "Drift: not JSON",
            Kind::DriftWrongContentType => "Drift: wrong content type",
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
        }
    }

    /// The wait a correct client must spend on one case, as a lower bound: what the spec's
    /// policy forces between attempts and inside slow attempts. Jitter, connection setup and
    /// the client's own work are not counted.
    pub fn mandated_wait(self, endpoint: &Endpoint, p: &Policy) -> Duration {
        let n = p.retry.max_attempts;
        let idempotent = endpoint.is_idempotent();
        let backoffs = |retries: u32| (0..retries).map(|k| p.retry.backoff(k)).sum::<Duration>();
        let if_idempotent = |d: Duration| if idempotent { d } else { Duration::ZERO };
        // retries before the 5xx recover: 500, 502, then 200, fewer when the policy allows fewer
        let recovers = backoffs(n.min(3).saturating_sub(1));
        match self {
            // the handler's cases are about the handler's answers, not the client's waits
            // the date form is rounded up to a whole second past Retry-After: this is a lower bound
            Kind::RateLimitRetryAfter | Kind::RateLimitRetryAfterDate => p.retry_after,
            Kind::RateLimitStorm => p.retry_after * n.saturating_sub(1),
            Kind::ServerErrorRecovers => if_idempotent(recovers),
            Kind::ServerErrorPersists => if_idempotent(backoffs(n.saturating_sub(1))),
            Kind::ServerErrorMaintenance => if_idempotent(recovers.mul_f64(p.retry.longer_delay_factor)),
            Kind::TimeoutHeadersLate | Kind::TimeoutBodyStalls | Kind::TimeoutBodyTrickles | Kind::TimeoutNoAnswer => {
                if idempotent {
                    p.budget * n + backoffs(n.saturating_sub(1))
                } else {
                    p.budget
                }
            }
            Kind::TimeoutSlowWithinBudget => p.budget.mul_f64(0.4),
            Kind::ConnectionResetBeforeResponse | Kind::ConnectionResetDuringResponse | Kind::ConnectionTruncatedBody => {
                if_idempotent(p.retry.backoff(0))
            }
            // nothing was sent, so even a non-idempotent call retries a refused connection
            Kind::ConnectionRefused => backoffs(n.saturating_sub(1)),
            // two calls, each retried once after a 500 or a reset
            Kind::DuplicatePost if endpoint.idempotency_header.is_some() && idempotent => p.retry.backoff(0) * 2,
            Kind::DuplicatePost
            | Kind::Conformance
            | Kind::AuthExpired
            | Kind::AuthRefreshFails
            | Kind::AuthRejected
            | Kind::ClientErrorNotRetried
            | Kind::DriftExtraField
            | Kind::DriftMissingField
            | Kind::DriftTypeChanged
            | Kind::DriftNullValue
            | Kind::DriftRenamedField
            | Kind::DriftEmptyBody
            | Kind::DriftTruncatedJson
            | Kind::DriftNotJson
            | Kind::DriftWrongContentType
            | Kind::WebhookAccepted
            | Kind::WebhookBadSignature
            | Kind::WebhookDistinctEvents
            | Kind::WebhookMissingSignature
            | Kind::WebhookWrongSecret
            | Kind::WebhookSecretRotation
            | Kind::WebhookStaleTimestamp
            | Kind::WebhookFutureTimestamp
            | Kind::WebhookDuplicate
            | Kind::WebhookConcurrentDuplicate
            | Kind::WebhookRedeliveryWithinTtl
            | Kind::WebhookReplayAfterTtl
            | Kind::WebhookMalformedJson
            | Kind::WebhookOversized
            | Kind::WebhookUnknownEvent
            | Kind::WebhookSlowProcessing => Duration::ZERO,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
