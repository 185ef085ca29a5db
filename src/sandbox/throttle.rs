//! The harness's own brake on sandbox traffic: every request to a service's sandbox (the
//! client's, through the proxy, and the harness's own) waits for its slot, so the whole
//! run never sends faster than the spec's declared rate limit, whatever runs concurrently.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use crate::spec::RateLimit;

/// Evenly spaced slots at the declared rate (never a burst above it).
#[derive(Debug)]
pub struct Throttle {
    gap: Duration,
    next: Mutex<Option<Instant>>,
}

impl Throttle {
    /// Slots `limit.per / limit.requests` apart; no spacing without a limit.
    pub fn new(limit: Option<RateLimit>) -> Throttle {
        let gap = limit.filter(|l| l.requests > 0).map(|l| l.per / l.requests).unwrap_or_default();
        Throttle { gap, next: Mutex::new(None) }
    }

    /// The shared throttle of `service` (one per process, so concurrent trials share it).
    pub fn of(service: &str, limit: Option<RateLimit>) -> Arc<Throttle> {
        static ALL: OnceLock<Mutex<BTreeMap<String, Arc<Throttle>>>> = OnceLock::new();
        let mut all = ALL.get_or_init(Mutex::default).lock().unwrap_or_else(|p| p.into_inner());
        all.entry(service.to_string()).or_insert_with(|| Arc::new(Throttle::new(limit))).clone()
    }

    /// Wait for the next free slot and take it.
    pub async fn wait(&self) {
        tokio::time::sleep_until(self.take(Instant::now())).await;
    }

    /// Take the first free slot at or after `now`.
    fn take(&self, now: Instant) -> Instant {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let slot = next.map_or(now, |n| n.max(now));
        *next = Some(slot + self.gap);
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spaced_by_the_declared_rate() {
        let t = Throttle::new(Some(RateLimit { requests: 10, per: Duration::from_secs(1) }));
        let now = Instant::now();
        let slots: Vec<Duration> = (0..4).map(|_| t.take(now) - now).collect();
        assert_eq!(slots, [0, 100, 200, 300].map(Duration::from_millis), "requests asked for at once get slots 100 ms apart at 10/s");
        // a slot asked for after a quiet spell is taken at once
        let later = now + Duration::from_secs(5);
        assert_eq!(t.take(later), later);
        let free = Throttle::new(None);
        assert_eq!((free.take(now), free.take(now)), (now, now), "no limit, no spacing");
    }
}
