//! Deciding and converting at once: helper threads decide slices of a batch with no GIL while
//! the calling thread, which holds the GIL, turns the slices already decided into Python objects
//! in input order, and decides a slice itself whenever the next one to convert is not ready.
//!
//! Without it a batch on two threads is decided on both and then converted on one while the
//! other waits; with it the conversion overlaps the helpers' work, and the calling thread's
//! spare time goes into deciding.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use ereje_compiler::VersionSet;
use ereje_runtime::{CaseOutcome, Scratch};
use pyo3::prelude::*;

/// Cases decided at a time, by a helper or the calling thread.
const SLICE_CASES: usize = 256;

/// A slice's decisions and the thread that made them (0: the calling thread, then the helpers).
type Decided = (usize, Vec<CaseOutcome>);

/// The slices decided and not yet converted, by number. `None`: a helper claimed the slice and
/// stopped before it was decided (it panicked); the calling thread decides it.
struct Finished {
    slices: Mutex<BTreeMap<usize, Option<Decided>>>,
    changed: Condvar,
}

impl Finished {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<usize, Option<Decided>>> {
        // A helper that panicked while holding the lock left the map whole (inserts only).
        self.slices.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn put(&self, number: usize, outcomes: Option<Decided>) {
        self.lock().insert(number, outcomes);
        self.changed.notify_all();
    }
}

/// Puts `None` for the slice a helper is deciding when the helper unwinds before it is done,
/// so that the calling thread does not wait for it forever.
struct Claim<'a> {
    finished: &'a Finished,
    number: Option<usize>,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Some(number) = self.number.take() {
            self.finished.put(number, None);
        }
    }
}

/// Decides `items` on one thread per engine of `engines` (the first is the calling thread's)
/// and hands the outcomes to `convert` a slice at a time, in input order, on the calling thread
/// with the GIL. `B` is a thread's scratch space for `decide`.
///
/// A slice's decisions are dropped by the thread that made them: a helper's go back to it once
/// converted. Freeing memory of another thread's allocator arena while that thread allocates
/// made the calling thread's conversion three times slower. Stops at the first error of `convert` (the
/// helpers then finish the slices they hold and stop).
pub fn decide_and_convert<'py, T, B, F, C>(
    py: Python<'py>,
    engines: &[&VersionSet],
    items: &[T],
    decide: F,
    mut convert: C,
) -> PyResult<()>
where
    T: Sync,
    B: Default + Send,
    F: Fn(&VersionSet, &T, &mut Scratch, &mut B) -> CaseOutcome + Sync,
    C: FnMut(&[CaseOutcome]) -> PyResult<()>,
{
    let Some(first) = engines.first().copied() else {
        return Ok(());
    };
    let slices: Vec<&[T]> = items.chunks(SLICE_CASES).collect();
    let helpers = engines.len().clamp(1, slices.len().max(1)) - 1;
    let next = AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let finished = Finished {
        slices: Mutex::new(BTreeMap::new()),
        changed: Condvar::new(),
    };
    // The converted slices of each helper, for it to drop.
    let returned: Vec<Mutex<Vec<Vec<CaseOutcome>>>> =
        (0..helpers).map(|_| Mutex::new(Vec::new())).collect();
    let drop_returned = |helper: usize| {
        if let Some(queue) = returned.get(helper) {
            let slices = std::mem::take(&mut *queue.lock().unwrap_or_else(PoisonError::into_inner));
            drop(slices);
        }
    };
    let decide_slice =
        |engines: &VersionSet, slice: &[T], scratch: &mut Scratch, buffer: &mut B| {
            slice
                .iter()
                .map(|item| decide(engines, item, scratch, buffer))
                .collect::<Vec<_>>()
        };
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(helpers);
        for (helper, engines) in engines.iter().skip(1).take(helpers).enumerate() {
            let (next, stop, finished, decide_slice, slices, drop_returned) = (
                &next,
                &stop,
                &finished,
                &decide_slice,
                &slices,
                &drop_returned,
            );
            handles.push(scope.spawn(move || {
                let mut scratch = Scratch::default();
                let mut buffer = B::default();
                while !stop.load(Ordering::Relaxed) {
                    drop_returned(helper);
                    let number = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slice) = slices.get(number) else {
                        break;
                    };
                    let mut claim = Claim {
                        finished,
                        number: Some(number),
                    };
                    let outcomes = decide_slice(engines, slice, &mut scratch, &mut buffer);
                    claim.number = None;
                    finished.put(number, Some((helper + 1, outcomes)));
                }
                drop_returned(helper);
            }));
        }
        let mut scratch = Scratch::default();
        let mut buffer = B::default();
        let result = (|| {
            for wanted in 0..slices.len() {
                let outcomes = py.detach(|| loop {
                    if let Some(done) = finished.lock().remove(&wanted) {
                        if let Some(decided) = done {
                            return decided;
                        }
                        let slice = slices.get(wanted).copied().unwrap_or_default();
                        return (0, decide_slice(first, slice, &mut scratch, &mut buffer));
                    }
                    // Not ready: decide the next slice nobody has claimed, or wait for one.
                    let number = next.fetch_add(1, Ordering::Relaxed);
                    if let Some(slice) = slices.get(number) {
                        let outcomes = decide_slice(first, slice, &mut scratch, &mut buffer);
                        if number == wanted {
                            return (0, outcomes);
                        }
                        finished.lock().insert(number, Some((0, outcomes)));
                        continue;
                    }
                    let slices = finished.lock();
                    if !slices.contains_key(&wanted) {
                        // Woken by every slice put; the map is checked again at the loop's top.
                        drop(
                            finished
                                .changed
                                .wait(slices)
                                .unwrap_or_else(PoisonError::into_inner),
                        );
                    }
                });
                let (decider, outcomes) = outcomes;
                convert(&outcomes)?;
                match decider
                    .checked_sub(1)
                    .and_then(|helper| returned.get(helper))
                {
                    Some(queue) => queue
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(outcomes),
                    None => drop(outcomes),
                }
            }
            Ok(())
        })();
        stop.store(true, Ordering::Relaxed);
        // Joined here rather than by the scope, which would panic for a helper that did (its
        // slice was put back as `None` and decided above).
        for handle in handles {
            let _ = handle.join();
        }
        result
    })
}
