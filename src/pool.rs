//! Work on many targets at once, bounded: a pool of workers, each taking the next item as
//! soon as it is done with the last, so one slow target never holds up the others (as
//! fixed waves would).

use std::sync::Mutex;

/// Run `work` on every item, at most `workers` at a time.
pub fn each<T: Send>(items: &mut [T], workers: usize, work: &(dyn Fn(&mut T) + Sync)) {
    let _ = map(items, workers, |item| work(item));
}

/// `f` of every item, at most `workers` at a time; the results in the items' order.
pub fn map<T: Send, R: Send>(items: &mut [T], workers: usize, f: impl Fn(&mut T) -> R + Sync) -> Vec<R> {
    let n = items.len();
    if n <= 1 || workers <= 1 {
        return items.iter_mut().map(f).collect();
    }
    let queue = Mutex::new(items.iter_mut().enumerate());
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.min(n) {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                    let Some((i, item)) = next else { break };
                    let result = f(item);
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|r| r.expect("every item was worked on"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    #[test]
    fn results_come_in_the_items_order_and_every_item_is_done_once() {
        let mut items: Vec<usize> = (0..50).collect();
        let got = map(&mut items, 7, |n| {
            std::thread::sleep(Duration::from_millis((*n % 5) as u64));
            *n * 2
        });
        assert_eq!(got, (0..50).map(|n| n * 2).collect::<Vec<_>>());
    }

    #[test]
    fn no_more_than_the_workers_run_at_once() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let mut items = vec![(); 40];
        each(&mut items, 4, &|_| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(2));
            running.fetch_sub(1, Ordering::SeqCst);
        });
        assert_eq!(most.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn a_slow_item_does_not_hold_up_the_others() {
        // Item 0 waits until every other item is done. In waves of 2 the second wave would
        // never start while it waits; in a pool the other worker takes them all.
        let done = AtomicUsize::new(0);
        let mut items: Vec<usize> = (0..10).collect();
        let waited = map(&mut items, 2, |n| {
            if *n == 0 {
                let deadline = Instant::now() + Duration::from_secs(10);
                while done.load(Ordering::SeqCst) < 9 {
                    if Instant::now() > deadline {
                        return false;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                true
            } else {
                done.fetch_add(1, Ordering::SeqCst);
                true
            }
        });
        assert!(waited[0], "the other items waited for the slow one");
    }
}
