//! How many trials run at once: as many as the machine keeps up with. Trials wait on timers
//! and sockets, so on a quiet machine many at once cost nothing and keep a suite close to its
//! longest mandated wait; on a busy one every extra trial adds to the scheduling lag that
//! turns verdicts into guesses (and then into quiet re-runs, one at a time). A [`Pace`] starts
//! low, grows while the runtime's lag ([`crate::lag`]) stays well under what its trials'
//! verdicts stand up to, and halves when it comes near, never under a floor that follows the
//! core count nor over the ceiling the user set.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::time::Duration;
//! use oc_integrate::pace::Pace;
//!
//! // at most 64 at once, for trials whose verdicts stand up to 80 ms of lag
//! let pace = Pace::new(64, Duration::from_millis(80));
//! let slot = pace.slot().await; // waits while `limit()` trials hold one
//! assert_eq!(pace.running(), 1);
//! drop(slot);
//! assert_eq!(pace.running(), 0);
//! assert!(pace.limit() <= 64);
//! # }
//! ```

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The least lag at which the pace halves (a quiet runtime's timer is late by a millisecond
/// or two).
const LEAST_HIGH_LAG: Duration = Duration::from_millis(5);

/// How often the limit may change, and the span of lag each change looks at.
const STEER: Duration = Duration::from_millis(50);

/// Trials per core the pace never goes under: fewer would stretch a timer-bound suite without
/// calming a machine that other processes keep busy.
const FLOOR_PER_CORE: usize = 4;

/// An adaptive limit on the trials that run at once. Shared by the trials of one run; they
/// get their places first come, first served (a harness that starts its longest cases first
/// keeps that order).
#[derive(Debug)]
pub struct Pace {
    floor: usize,
    ceiling: usize,
    /// Lag at which the limit halves; under half of it, it grows.
    high_lag: Duration,
    /// One permit per place: fair, so places go in the order they were asked for.
    places: Arc<Semaphore>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    limit: usize,
    running: usize,
    /// Places the limit took away while trials held them: forgotten as those trials end.
    owed: usize,
    /// Whether a task steers the limit (started by the first slot asked for).
    steering: bool,
}

/// A running trial's place in the [`Pace`]; dropping it frees the place (unless the limit
/// dropped meanwhile).
#[derive(Debug)]
pub struct Slot {
    pace: Arc<Pace>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let owed = self.pace.with_state(|s| {
            s.running -= 1;
            let owed = s.owed > 0;
            s.owed -= usize::from(owed);
            owed
        });
        if let (true, Some(p)) = (owed, self.permit.take()) {
            p.forget();
        }
    }
}

impl Pace {
    /// A pace of at most `ceiling` trials at once (at least one), for trials whose verdicts
    /// stand up to `tolerance` of lag at least ([`crate::case::Case::lag_tolerance`]). It starts
    /// at its floor (four per core, or the ceiling when that is lower), halves
    /// when the lag reaches half the tolerance, and doubles while it stays under a quarter.
    pub fn new(ceiling: usize, tolerance: Duration) -> Arc<Pace> {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let ceiling = ceiling.clamp(1, Semaphore::MAX_PERMITS);
        let floor = (cores * FLOOR_PER_CORE).min(ceiling);
        Arc::new(Pace {
            floor,
            ceiling,
            high_lag: (tolerance / 2).max(LEAST_HIGH_LAG),
            places: Arc::new(Semaphore::new(floor)),
            state: Mutex::new(State { limit: floor, running: 0, owed: 0, steering: false }),
        })
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Trials that may run at once now.
    pub fn limit(&self) -> usize {
        self.with_state(|s| s.limit)
    }

    /// Trials holding a slot now.
    pub fn running(&self) -> usize {
        self.with_state(|s| s.running)
    }

    /// Wait for a place among the trials running, in the order asked. Call it on the runtime
    /// the trials use: a task on it steers the limit by that runtime's lag every 50 ms, for
    /// as long as the pace lives.
    pub async fn slot(self: &Arc<Self>) -> Slot {
        if !self.with_state(|s| std::mem::replace(&mut s.steering, true)) {
            crate::lag::watch();
            tokio::spawn(steer_while_alive(Arc::downgrade(self)));
        }
        let permit = self.places.clone().acquire_owned().await.expect("a pace's places are never closed");
        self.with_state(|s| s.running += 1);
        Slot { pace: self.clone(), permit: Some(permit) }
    }

    /// Move the limit by the lag of the last [`STEER`]: places added at once; places taken
    /// away from those free now, the rest as their trials end.
    fn steer(&self, lag: Duration) {
        self.with_state(|s| {
            let next = steer(s.limit, lag, self.high_lag, self.floor, self.ceiling);
            if next > s.limit {
                let grow = next - s.limit;
                let repaid = grow.min(s.owed);
                s.owed -= repaid;
                self.places.add_permits(grow - repaid);
            } else if next < s.limit {
                let shrink = s.limit - next;
                s.owed += shrink - self.places.forget_permits(shrink);
            }
            s.limit = next;
        });
    }
}

/// Steer `pace` every [`STEER`] until it is dropped.
async fn steer_while_alive(pace: Weak<Pace>) {
    loop {
        tokio::time::sleep(STEER).await;
        let Some(pace) = pace.upgrade() else { return };
        let now = Instant::now();
        pace.steer(crate::lag::worst_since(now.checked_sub(STEER).unwrap_or(now)));
    }
}

/// The next limit after `limit`, given the worst `lag` of the last [`STEER`]: half when the
/// runtime is late by `high` or more, twice when it is late by under half of that (a quiet
/// machine reaches 64 from 8 in 150 ms), the same in between; within `floor..=ceiling`.
fn steer(limit: usize, lag: Duration, high: Duration, floor: usize, ceiling: usize) -> usize {
    let next = if lag >= high {
        limit / 2
    } else if lag < high / 2 {
        limit.saturating_mul(2)
    } else {
        limit
    };
    next.clamp(floor, ceiling)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_halves_under_lag_grows_when_quiet_and_stays_within_bounds() {
        let ms = Duration::from_millis;
        let high = ms(40);
        assert_eq!(steer(32, ms(40), high, 8, 64), 16);
        assert_eq!(steer(10, ms(90), high, 8, 64), 8);
        assert_eq!(steer(8, ms(19), high, 8, 64), 16);
        assert_eq!(steer(60, ms(1), high, 8, 64), 64);
        assert_eq!(steer(20, ms(20), high, 8, 64), 20);
        assert_eq!(steer(1, ms(0), high, 1, 1), 1);
        assert_eq!(steer(usize::MAX, ms(0), high, 8, usize::MAX), usize::MAX);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_trial_past_the_limit_waits_for_a_freed_slot() {
        let pace = Pace::new(1, Duration::from_millis(100));
        let first = pace.slot().await;
        let waiting = tokio::spawn({
            let pace = pace.clone();
            async move {
                let _second = pace.slot().await;
            }
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!waiting.is_finished(), "a second trial ran beside the first with a limit of 1");
        drop(first);
        waiting.await.unwrap();
        assert_eq!(pace.running(), 0);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn places_go_in_the_order_they_were_asked_for() {
        let pace = Pace::new(1, Duration::from_millis(100));
        let first = pace.slot().await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for i in 0..4 {
            let (pace, order) = (pace.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                let _slot = pace.slot().await;
                order.lock().unwrap().push(i);
                tokio::task::yield_now().await;
            }));
            // each asks before the next
            tokio::task::yield_now().await;
        }
        drop(first);
        for w in waiting {
            w.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_lower_limit_takes_places_back_as_their_trials_end() {
        let pace = Pace::new(64, Duration::from_millis(80));
        let floor = pace.limit();
        pace.steer(Duration::ZERO);
        let grown = pace.limit();
        assert!(grown > floor, "a quiet runtime grows the limit: {floor} → {grown}");
        let mut held = Vec::new();
        for _ in 0..grown {
            held.push(pace.slot().await);
        }
        assert_eq!(pace.places.available_permits(), 0);
        // 40 ms of lag: half of the 80 ms the trials stand up to
        pace.steer(Duration::from_millis(40));
        assert_eq!(pace.limit(), (grown / 2).max(floor));
        drop(held);
        assert_eq!(pace.running(), 0);
        assert_eq!(pace.places.available_permits(), pace.limit(), "the places of ended trials beyond the new limit are gone");
    }
}
