//! Work shared among the machine's cores: a whole provider's endpoints (GitHub's 1,223) each
//! take a schema check or a scan of their example, one after another on one core while the
//! other idles. [`map`] runs such a function over every item on every core and keeps the
//! items' order, so what follows (the first error, the plan's order) is the same as on one.

use std::sync::atomic::{AtomicUsize, Ordering};

/// How many items a list needs before it is worth a thread per core.
pub const PARALLEL_FROM: usize = 256;

/// Items claimed at a time by a core: few enough that uneven items even out.
const BATCH: usize = 16;

/// `f` of every item, in the items' order: on every core for [`PARALLEL_FROM`] items or more,
/// on this thread for fewer (or on a one-core machine). A panic in `f` is resumed here.
///
/// ```
/// let lengths = oc_integrate::cores::map(&["a", "bb", "ccc"], |s| s.len());
/// assert_eq!(lengths, [1, 2, 3]);
/// ```
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    spread(items, PARALLEL_FROM, BATCH, f)
}

/// What a scoped thread returned; its panic, if it panicked, resumed on this thread.
///
/// ```
/// let n = std::thread::scope(|scope| oc_integrate::cores::join(scope.spawn(|| 6 * 7)));
/// assert_eq!(n, 42);
/// ```
pub fn join<T>(thread: std::thread::ScopedJoinHandle<'_, T>) -> T {
    thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn spread<T: Sync, R: Send>(items: &[T], from: usize, batch: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if items.len() < from || cores < 2 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let start = next.fetch_add(batch, Ordering::Relaxed);
            if start >= items.len() {
                return done;
            }
            let end = (start + batch).min(items.len());
            done.extend((start..end).map(|i| (i, f(&items[i]))));
        }
    };
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    std::thread::scope(|scope| {
        let others: Vec<_> = (1..cores.min(items.len())).map(|_| scope.spawn(work)).collect();
        let mine = work();
        for (i, r) in others.into_iter().flat_map(join).chain(mine) {
            slots[i] = Some(r);
        }
    });
    slots.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_items_keep_their_order_and_each_is_done_once() {
        let items: Vec<usize> = (0..PARALLEL_FROM * 3 + 7).collect();
        let calls = AtomicUsize::new(0);
        let out = map(&items, |i| {
            calls.fetch_add(1, Ordering::Relaxed);
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(calls.load(Ordering::Relaxed), items.len());
    }

    #[test]
    fn few_items_stay_on_this_thread() {
        let here = std::thread::current().id();
        assert!(map(&[1, 2, 3], |_| std::thread::current().id() == here).into_iter().all(|same| same));
    }
}
