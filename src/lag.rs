//! Scheduling lag: how late the harness's own timer fires on the runtime the clients and mock
//! providers share. It is the evidence that a verdict was reached on a starved machine, where
//! waits stretch (a client with no backoff looks patient) and deadlines slip (a correct
//! client's timer fires before its runtime reads an answer that came in time).
//!
//! One probe task per runtime ticks every [`TICK`] and keeps what it saw for a few minutes;
//! a trial asks for the worst lag its own runtime saw over its span.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::time::{Duration, Instant};
//!
//! let since = Instant::now();
//! oc_integrate::lag::watch();
//! tokio::time::sleep(Duration::from_millis(30)).await;
//! // a client that blocks the runtime's only thread starves everything on it
//! std::thread::sleep(Duration::from_millis(80));
//! tokio::time::sleep(Duration::from_millis(30)).await;
//! assert!(oc_integrate::lag::worst_since(since) >= Duration::from_millis(60));
//! # }
//! ```

use std::collections::{HashMap, VecDeque};
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::runtime::{Handle, Id};

/// How often the probe wakes.
pub const TICK: Duration = Duration::from_millis(10);

/// How long samples are kept: longer than any trial waits.
const KEEP: Duration = Duration::from_secs(600);

/// What each runtime's probe saw: when each tick was due and when it ran, oldest first.
type Samples = HashMap<Id, VecDeque<(Instant, Instant)>>;

static SAMPLES: Mutex<Option<Samples>> = Mutex::new(None);

fn with_samples<T>(f: impl FnOnce(&mut Samples) -> T) -> T {
    f(SAMPLES.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(HashMap::new))
}

/// Start the probe on the current tokio runtime unless it has one. Called by every trial,
/// so a runtime that runs trials has one for as long as it lives.
pub fn watch() {
    let Ok(handle) = Handle::try_current() else { return };
    let id = handle.id();
    let now = Instant::now();
    let started = with_samples(|all| {
        // runtimes gone quiet for long are gone
        all.retain(|_, s| s.back().is_some_and(|(_, ran)| now.saturating_duration_since(*ran) < KEEP));
        let mine = all.entry(id).or_default();
        if mine.back().is_some_and(|(_, ran)| now.saturating_duration_since(*ran) < TICK * 5) {
            return false;
        }
        // claim the start: the next caller sees a fresh tick
        mine.push_back((now, now));
        true
    });
    if !started {
        return;
    }
    handle.spawn(async move {
        loop {
            let due = Instant::now() + TICK;
            tokio::time::sleep(TICK).await;
            let ran = Instant::now();
            with_samples(|all| {
                let mine = all.entry(id).or_default();
                mine.push_back((due, ran));
                while mine.front().is_some_and(|(_, r)| ran.saturating_duration_since(*r) > KEEP) {
                    mine.pop_front();
                }
            });
        }
    });
}

/// The worst lag the current runtime's probe saw since `since`: the latest any tick ran past
/// its due time, or, when the probe has not ticked for a while (its runtime starved), how
/// long that has been. Zero outside a runtime or before [`watch`].
pub fn worst_since(since: Instant) -> Duration {
    let Ok(handle) = Handle::try_current() else { return Duration::ZERO };
    with_samples(|all| {
        let Some(s) = all.get(&handle.id()) else { return Duration::ZERO };
        let worst = s.iter().rev().take_while(|(_, ran)| *ran >= since).map(|(due, ran)| ran.saturating_duration_since(*due)).max();
        let silent = s.back().map(|(_, ran)| Instant::now().saturating_duration_since(*ran).saturating_sub(TICK)).unwrap_or_default();
        worst.unwrap_or_default().max(silent)
    })
}

/// The slowest of five HTTP-sized exchanges over loopback (connect, send a request, read the
/// answer), measured once per process: the floor under any attempt budget on this machine.
///
/// ```
/// assert!(oc_integrate::lag::loopback_round_trip() < std::time::Duration::from_secs(5));
/// ```
pub fn loopback_round_trip() -> Duration {
    static ROUND_TRIP: OnceLock<Duration> = OnceLock::new();
    *ROUND_TRIP.get_or_init(|| {
        let Ok(listener) = TcpListener::bind(("127.0.0.1", 0)) else { return Duration::ZERO };
        let Ok(addr) = listener.local_addr() else { return Duration::ZERO };
        const N: usize = 5;
        std::thread::spawn(move || {
            for mut s in listener.incoming().take(N).flatten() {
                let _ = s.read(&mut [0u8; 256]);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
            }
        });
        (0..N)
            .map(|_| {
                let started = Instant::now();
                if let Ok(mut c) = TcpStream::connect(addr) {
                    let _ = c.write_all(b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n");
                    let _ = c.read(&mut [0u8; 64]);
                }
                started.elapsed()
            })
            .max()
            .unwrap_or_default()
    })
}
