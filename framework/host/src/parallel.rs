//! Work spread over the machine's cores.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `work` applied to every item, on as many threads as the machine has cores
/// (loading a plugin is mostly abi_stable's layout check, which is CPU
/// bound); the results come back in the items' order.
pub fn in_parallel<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    in_parallel_with(items, || (), |(), item| work(item))
}

/// [`in_parallel`], where each thread first makes its own state with
/// `start` (a child process, say) and hands it to `work` for each item it
/// takes; the states are dropped when the items run out.
pub fn in_parallel_with<T: Sync, S, R: Send>(
    items: &[T],
    start: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R> {
    let threads = if items.len() <= 1 {
        1
    } else {
        // Asking costs tens of microseconds (cgroup files are read): ask once.
        static CORES: OnceLock<usize> = OnceLock::new();
        let cores =
            *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        cores.min(items.len())
    };
    if threads <= 1 {
        let mut state = start();
        return items.iter().map(|item| work(&mut state, item)).collect();
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut state = start();
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return done;
                        };
                        done.push((i, work(&mut state, item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parallel_work_keeps_the_order_of_the_items() {
        let items: Vec<u32> = (0..100).collect();
        let doubled = in_parallel(&items, |n| {
            // Uneven work, so that threads finish out of order.
            std::thread::sleep(Duration::from_micros(u64::from(n % 7) * 50));
            n * 2
        });
        assert_eq!(doubled, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        assert!(in_parallel(&[] as &[u32], |n| *n).is_empty());
    }

    #[test]
    fn each_thread_keeps_its_own_state() {
        let items: Vec<u32> = (0..50).collect();
        let seen = in_parallel_with(&items, Vec::new, |mine: &mut Vec<u32>, n| {
            mine.push(*n);
            // Every item this thread saw so far is in its state, in order.
            mine.windows(2).all(|w| w[0] < w[1])
        });
        assert!(seen.into_iter().all(|ordered| ordered));
    }
}
