//! Persistent worker threads for the kernels' parallel regions ([`super::split_rows`]).
//!
//! A model pass has ~100 parallel regions (one per convolution and per large elementwise
//! pass), many of 0.1–0.5 ms. `std::thread::scope` started and joined a thread for each:
//! ~32 µs per region on the 2-core Zen 4 VM (a scope with one spawn and join, timed over
//! 2000 runs), and each new thread started with empty thread-local scratch buffers. Here
//! [`threads`](super::threads)` − 1` workers live for the process: a region posts one job
//! index to each worker, runs index 0 on the calling thread, then waits for the others.
//! A worker that finishes waits for [`SPIN`] yielding its core (`sched_yield`) before
//! sleeping on its condition variable, so the next region of the same pass finds it awake
//! (as ONNX Runtime's and OpenMP's pools spin), while threads with work (a server's
//! camera decoders) still get the core.
//!
//! One region at a time: a call made while another is running (another thread's model,
//! or a region inside a region) runs on scoped threads as before. A panic in a job is
//! re-raised on the calling thread after every worker has finished with the borrowed
//! closure.

use std::{
    cell::UnsafeCell,
    panic::{AssertUnwindSafe, catch_unwind, resume_unwind},
    sync::{
        Condvar, Mutex, OnceLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// How long an idle worker spins for the next job before it sleeps.
const SPIN: Duration = Duration::from_micros(200);

/// A job: a borrowed closure with its lifetime erased, and the index to call it with.
#[derive(Clone, Copy)]
struct Job {
    f: *const (dyn Fn(usize) + Sync),
    index: usize,
}

/// One worker's mailbox.
struct Slot {
    /// Count of jobs posted; the job is written before this is bumped (release).
    posted: AtomicU64,
    /// Count of jobs finished; bumped after the job returned (release).
    done: AtomicU64,
    /// Whether a job of this worker panicked (cleared by the caller that saw it).
    panicked: AtomicBool,
    /// The job; written by the caller only while `posted == done`, read by the worker
    /// only while `posted > done`.
    job: UnsafeCell<Option<Job>>,
    lock: Mutex<()>,
    wake: Condvar,
}

// SAFETY: `job` is handed over by the posted/done protocol above (one writer, then one
// reader, ordered by the release/acquire pair on `posted` and on `done`); the closure it
// points to is `Sync`.
#[allow(unsafe_code)]
unsafe impl Sync for Slot {}
// SAFETY: as above.
#[allow(unsafe_code)]
unsafe impl Send for Slot {}

struct Pool {
    slots: Vec<&'static Slot>,
    busy: AtomicBool,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let slots = (1..super::threads())
            .filter_map(|i| {
                let slot: &'static Slot = Box::leak(Box::new(Slot {
                    posted: AtomicU64::new(0),
                    done: AtomicU64::new(0),
                    panicked: AtomicBool::new(false),
                    job: UnsafeCell::new(None),
                    lock: Mutex::new(()),
                    wake: Condvar::new(),
                }));
                std::thread::Builder::new()
                    .name(format!("vf-kernel-{i}"))
                    .spawn(move || work(slot))
                    .ok()
                    .map(|_| slot)
            })
            .collect();
        Pool {
            slots,
            busy: AtomicBool::new(false),
        }
    })
}

/// A worker's loop: wait (spin, then sleep) for a posted job, run it, mark it done.
fn work(slot: &'static Slot) {
    let mut seen = 0u64;
    loop {
        let started = Instant::now();
        while slot.posted.load(Ordering::Acquire) == seen {
            if started.elapsed() < SPIN {
                // Yielding, not a busy loop: on a loaded machine (a server decoding camera
                // streams) the other threads get the core while this one waits.
                std::thread::yield_now();
                continue;
            }
            let guard = slot.lock.lock().unwrap_or_else(|e| e.into_inner());
            // Checked again under the lock the poster takes to notify: no lost wake-up.
            if slot.posted.load(Ordering::Acquire) == seen {
                drop(slot.wake.wait(guard).unwrap_or_else(|e| e.into_inner()));
            }
        }
        seen = slot.posted.load(Ordering::Acquire);
        // SAFETY: posted > done: the caller wrote the job before bumping `posted` and
        // does not touch it (nor let the closure's borrow end) until `done` catches up.
        #[allow(unsafe_code)]
        let job = unsafe { *slot.job.get() };
        if let Some(job) = job {
            // SAFETY: the closure outlives the job (the caller waits for `done`).
            #[allow(unsafe_code)]
            let f = unsafe { &*job.f };
            if catch_unwind(AssertUnwindSafe(|| f(job.index))).is_err() {
                slot.panicked.store(true, Ordering::Relaxed);
            }
        }
        slot.done.store(seen, Ordering::Release);
    }
}

/// Calls `f(i)` for every `i < n` (`n ≤` [`super::threads`]), `f(0)` on this thread and
/// the others on the pool's workers at the same time; returns when all have returned.
/// Re-raises a panic of any of them.
pub(crate) fn run(n: usize, f: &(dyn Fn(usize) + Sync)) {
    let p = pool();
    if n <= 1 {
        if n == 1 {
            f(0);
        }
        return;
    }
    if n - 1 > p.slots.len()
        || p.busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
    {
        // Another region is running (or too few workers): scoped threads, as before.
        std::thread::scope(|scope| {
            for i in 1..n {
                scope.spawn(move || f(i));
            }
            f(0);
        });
        return;
    }
    // SAFETY: only the lifetime is erased; every worker given this pointer has finished
    // with it before this function returns (the wait below runs even if `f(0)` panics).
    #[allow(unsafe_code)]
    let erased: *const (dyn Fn(usize) + Sync) = unsafe { std::mem::transmute(f) };
    let slots = &p.slots[..n - 1];
    for (i, slot) in slots.iter().enumerate() {
        // SAFETY: posted == done (the previous job of this slot finished before the
        // region that posted it returned), so the worker is not reading `job`.
        #[allow(unsafe_code)]
        unsafe {
            *slot.job.get() = Some(Job {
                f: erased,
                index: i + 1,
            });
        }
        slot.posted.fetch_add(1, Ordering::Release);
        let _guard = slot.lock.lock().unwrap_or_else(|e| e.into_inner());
        slot.wake.notify_one();
    }
    let mine = catch_unwind(AssertUnwindSafe(|| f(0)));
    let mut theirs = false;
    for slot in slots {
        let want = slot.posted.load(Ordering::Relaxed);
        let mut spins = 0u32;
        while slot.done.load(Ordering::Acquire) != want {
            spins += 1;
            if spins < 1 << 14 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        theirs |= slot.panicked.swap(false, Ordering::Relaxed);
    }
    p.busy.store(false, Ordering::Release);
    if let Err(e) = mine {
        resume_unwind(e);
    }
    if theirs {
        panic!("a kernel worker thread panicked");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::run;

    #[test]
    fn every_index_runs_once_also_nested_and_from_several_threads() {
        let n = super::super::threads().max(2);
        let hits: Vec<AtomicUsize> = (0..n * n).map(|_| AtomicUsize::new(0)).collect();
        // A region inside a region (the inner one falls back to scoped threads), from
        // four threads at once (all but one fall back), many times.
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..50 {
                        run(n, &|i| {
                            run(n, &|j| _ = hits[i * n + j].fetch_add(1, Ordering::Relaxed))
                        });
                    }
                });
            }
        });
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 200));
    }

    #[test]
    fn a_panicking_job_reaches_the_caller_and_the_pool_still_works() {
        let n = super::super::threads().max(2);
        for bad in [0, n - 1] {
            let r = std::panic::catch_unwind(|| {
                run(n, &|i| assert_ne!(i, bad, "job {i} fails"));
            });
            assert!(r.is_err(), "the panic of job {bad} was lost");
        }
        let sum = AtomicUsize::new(0);
        run(n, &|i| _ = sum.fetch_add(i + 1, Ordering::Relaxed));
        assert_eq!(sum.load(Ordering::Relaxed), n * (n + 1) / 2);
    }
}
