//! When a spec makes each kind of case applicable, and the wait each forces on a correct
//! client (the kinds themselves, their names and titles, are [`crate::case::Kind`]).

use std::time::Duration;

use super::{Policy, conformance, drift, matrix, tolerance};
use crate::case::Kind;
use crate::spec::{Action, Auth, Endpoint, Method, Receiver, Spec};
use crate::webhook::Scheme;

impl Kind {
    /// Whether the spec makes this kind applicable to `endpoint`.
    pub fn applies(self, spec: &Spec, endpoint: &Endpoint) -> bool {
        let oauth = matches!(spec.overview.auth, Auth::Oauth2 { .. }) && endpoint.auth;
        // a 204 carries no body (RFC 9110 §15.3.5): a client reads none, so nothing can go wrong in one
        if endpoint.response.status == 204 && self.is_about_the_body() {
            return false;
        }
        match self {
            Kind::Conformance => true,
            Kind::HostileRequestValues => conformance::hostile_input(endpoint).is_some(),
            Kind::AuthExpired | Kind::AuthRefreshFails | Kind::AuthExpiredConcurrent => {
                oauth && spec.action_for(401) == Some(Action::RefreshAndRetryOnce)
            }
            Kind::AuthRejected => endpoint.auth && spec.overview.auth != Auth::None && spec.action_for(401) == Some(Action::Fail),
            Kind::RateLimitRetryAfter | Kind::RateLimitRetryAfterDate => spec.action_for(429) == Some(Action::RespectRetryAfter),
            Kind::RateLimitStorm | Kind::RateLimitConcurrent => {
                spec.action_for(429) == Some(Action::RespectRetryAfter) && spec.retry.max_attempts > 1
            }
            Kind::ServerErrorRecovers => spec.action_for(500) == Some(Action::RetryWithBackoff) && spec.retry.max_attempts > 1,
            Kind::ServerErrorPersists => spec.action_for(500) == Some(Action::RetryWithBackoff),
            Kind::ServerErrorMaintenance => spec.action_for(503) == Some(Action::RetryWithLongerDelays) && spec.retry.max_attempts > 1,
            Kind::RateLimitNoRetryAfter => spec.action_for(429) == Some(Action::RespectRetryAfter) && spec.retry.max_attempts > 1,
            Kind::RateLimitReset => {
                spec.rule_for(429).is_some_and(|r| r.action == Action::RespectRetryAfter && r.reset.is_some())
                    && spec.retry.max_attempts > 1
            }
            Kind::ClientErrorNotRetried => !matrix::client_error_statuses(spec).is_empty(),
            // the matrix's own rows are planned from the matrix (`matrix::status_kinds`)
            Kind::Status { .. } => matrix::status_kinds(spec).contains(&self),
            Kind::TimeoutHeadersLate
            | Kind::TimeoutBodyStalls
            | Kind::TimeoutBodyTrickles
            | Kind::TimeoutLateHeadersThenStall
            | Kind::TimeoutNoAnswer
            | Kind::TimeoutSlowWithinBudget => true,
            Kind::DuplicatePost => endpoint.method == Method::POST,
            Kind::PaginationAllPages | Kind::PaginationPagePersists => endpoint.pagination.is_some(),
            Kind::PaginationLoop => endpoint.pagination.as_ref().is_some_and(|p| p.can_loop()),
            Kind::PaginationPageFails => {
                endpoint.pagination.is_some()
                    && endpoint.is_idempotent()
                    && spec.action_for(500) == Some(Action::RetryWithBackoff)
                    && spec.retry.max_attempts > 1
            }
            Kind::DuplicatePostReplayed => {
                endpoint.method == Method::POST && endpoint.idempotency_header.is_some() && endpoint.is_idempotent()
            }
            Kind::DriftMissingField | Kind::DriftTypeChanged | Kind::DriftNullValue | Kind::DriftRenamedField => {
                drift::has_field_to_mutate(endpoint)
            }
            Kind::DriftExtraField => drift::takes_extra_field(endpoint),
            Kind::DriftEmptyBody | Kind::DriftTruncatedJson | Kind::DriftNotJson | Kind::DriftWrongContentType => true,
            k if k.is_tolerance() => tolerance::applies(k, endpoint),
            Kind::ConnectionRefused
            | Kind::ConnectionResetBeforeResponse
            | Kind::ConnectionResetDuringResponse
            | Kind::ConnectionTruncatedBody => true,
            _ => false,
        }
    }

    /// Whether the case is about the response body (served slowly, cut, reset halfway, drifted,
    /// varied, paged), which a 204 does not have.
    fn is_about_the_body(self) -> bool {
        self.is_tolerance()
            || self.is_drift()
            || self.is_pagination()
            || matches!(
                self,
                Kind::TimeoutBodyStalls
                    | Kind::TimeoutBodyTrickles
                    | Kind::TimeoutLateHeadersThenStall
                    | Kind::ConnectionResetDuringResponse
                    | Kind::ConnectionTruncatedBody
            )
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
            // a date or a reset epoch names the whole second past Retry-After, up to a second
            // later: this is their lower bound, and a trial records what its answer forced
            // (`CaseResult::mandated_wait`)
            Kind::RateLimitRetryAfter | Kind::RateLimitRetryAfterDate | Kind::RateLimitReset | Kind::RateLimitConcurrent => p.retry_after,
            Kind::RateLimitNoRetryAfter => p.retry.backoff(0),
            Kind::Status { action, .. } => match action {
                Action::RespectRetryAfter => p.retry_after,
                // a lower bound: the row's own delay factor only lengthens it
                Action::RetryWithBackoff | Action::RetryWithLongerDelays => if_idempotent(recovers),
                Action::Fail | Action::RefreshAndRetryOnce => Duration::ZERO,
            },
            Kind::RateLimitStorm => p.retry_after * n.saturating_sub(1),
            Kind::ServerErrorRecovers => if_idempotent(recovers),
            Kind::ServerErrorPersists => if_idempotent(backoffs(n.saturating_sub(1))),
            Kind::ServerErrorMaintenance => if_idempotent(recovers.mul_f64(p.retry.longer_delay_factor)),
            Kind::TimeoutHeadersLate
            | Kind::TimeoutBodyStalls
            | Kind::TimeoutBodyTrickles
            | Kind::TimeoutLateHeadersThenStall
            | Kind::TimeoutNoAnswer => {
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
            // two calls, each retried once after a dropped answer
            Kind::DuplicatePostReplayed => p.retry.backoff(0) * 2,
            Kind::PaginationPageFails => p.retry.backoff(0),
            // page 3 retried as the policy allows, when the call may repeat after a 500
            Kind::PaginationPagePersists => if_idempotent(backoffs(n.saturating_sub(1))),
            Kind::DuplicatePost
            | Kind::Conformance
            | Kind::HostileRequestValues
            | Kind::PaginationAllPages
            | Kind::PaginationLoop
            | Kind::AuthExpired
            | Kind::AuthRefreshFails
            | Kind::AuthRejected
            | Kind::AuthExpiredConcurrent
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
            | Kind::TolerateOptionalAbsent
            | Kind::TolerateNull
            | Kind::TolerateMediaTypeParameters
            | Kind::TolerateUnknownNestedFields
            | Kind::TolerateEmptyArrays
            | Kind::TolerateLargeIntegers
            | Kind::TolerateNonAscii
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

    /// The least wait a correct client respects before retry `k` (0-based) of a call in this
    /// case, and the rule that sets it, as the timeline pictures draw it: Retry-After (or the
    /// rate limit's reset, advertised as long), or the policy's backoff (longer where the
    /// matrix says so); `None` where the case mandates no wait or the call may not repeat.
    pub fn least_wait(self, k: u32, endpoint: &Endpoint, p: &Policy) -> Option<(Duration, &'static str)> {
        let backoff = (p.retry.backoff(k), "backoff");
        let longer = (p.retry.backoff(k).mul_f64(p.retry.longer_delay_factor), "longer backoff");
        let may_repeat = endpoint.is_idempotent();
        match self {
            Kind::RateLimitRetryAfter
            | Kind::RateLimitRetryAfterDate
            | Kind::RateLimitStorm
            | Kind::RateLimitConcurrent
            | Kind::RateLimitReset
            | Kind::Status { action: Action::RespectRetryAfter, .. } => Some((p.retry_after, "Retry-After")),
            Kind::RateLimitNoRetryAfter => Some(backoff),
            // nothing was sent, so even a non-idempotent call retries a refused connection
            Kind::ConnectionRefused => Some(backoff),
            Kind::Status { action: Action::RetryWithLongerDelays, .. } | Kind::ServerErrorMaintenance => may_repeat.then_some(longer),
            Kind::Status { action: Action::RetryWithBackoff, .. }
            | Kind::ServerErrorRecovers
            | Kind::ServerErrorPersists
            | Kind::TimeoutHeadersLate
            | Kind::TimeoutBodyStalls
            | Kind::TimeoutBodyTrickles
            | Kind::TimeoutLateHeadersThenStall
            | Kind::TimeoutNoAnswer
            | Kind::ConnectionResetBeforeResponse
            | Kind::ConnectionResetDuringResponse
            | Kind::ConnectionTruncatedBody
            | Kind::DuplicatePost
            | Kind::DuplicatePostReplayed
            | Kind::PaginationPageFails
            | Kind::PaginationPagePersists => may_repeat.then_some(backoff),
            _ => None,
        }
    }
}
