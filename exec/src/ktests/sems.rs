use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::util::{alerts, arg, from_arg, settle, spawn};
use crate::alert::AN_SEM_CORRUPT;
use crate::global::Global;
use crate::ktest::TestResult;
use crate::list::{Node, NodeType};
use crate::semaphore::*;
use crate::task::find_task;
use crate::{ensure, ensure_eq};

pub fn obtain_release_nesting() -> TestResult {
    let mut s = SignalSemaphore::new();
    let me = find_task(None);
    // SAFETY: the semaphore lives on this frame; only this task uses it.
    unsafe {
        obtain_semaphore(&mut s);
        obtain_semaphore(&mut s);
        ensure!(attempt_semaphore(&mut s));
        ensure_eq!(s.owner(), me);
        ensure_eq!(s.nest_count(), 3);
        obtain_semaphore_shared(&mut s); // the owner nests
        ensure_eq!(s.nest_count(), 4);
        for _ in 0..4 {
            release_semaphore(&mut s);
        }
        ensure!(s.owner().is_null());
        ensure_eq!(s.nest_count(), 0);
    }
    Ok(())
}

struct Shared {
    sem: Global<SignalSemaphore>,
    holding: AtomicBool,
    release: AtomicBool,
    order: AtomicU32,
    log: Global<Vec<u32>>,
}

impl Shared {
    fn new() -> Self {
        Shared {
            sem: Global::new(SignalSemaphore::new()),
            holding: AtomicBool::new(false),
            release: AtomicBool::new(false),
            order: AtomicU32::new(0),
            log: Global::new(Vec::new()),
        }
    }
}

fn holder(a: usize) {
    // SAFETY: the test joins before Shared goes away.
    let s: &Shared = unsafe { from_arg(a) };
    // SAFETY: the semaphore lives in Shared.
    unsafe { obtain_semaphore(s.sem.get()) };
    s.holding.store(true, Ordering::SeqCst);
    while !s.release.load(Ordering::SeqCst) {
        settle();
    }
    // SAFETY: as above.
    unsafe { release_semaphore(s.sem.get()) };
}

/// Exclusive handover: while another task holds it, attempts fail and obtain waits; release
/// hands it over.
pub fn exclusive_handover() -> TestResult {
    let s = Shared::new();
    let child = spawn("holder", 1, holder, arg(&s))?;
    ensure!(s.holding.load(Ordering::SeqCst));
    // SAFETY: the semaphore lives in `s`.
    unsafe {
        ensure!(!attempt_semaphore(s.sem.get()));
        ensure!(!attempt_semaphore_shared(s.sem.get()));
        s.release.store(true, Ordering::SeqCst);
        obtain_semaphore(s.sem.get()); // waits until the holder releases
        ensure_eq!((*s.sem.get()).owner(), find_task(None));
        release_semaphore(s.sem.get());
    }
    child.join();
    Ok(())
}

fn shared_reader(a: usize) {
    // SAFETY: as in `holder`.
    let s: &Shared = unsafe { from_arg(a) };
    // SAFETY: as above.
    unsafe {
        obtain_semaphore_shared(s.sem.get());
        s.order.fetch_add(1, Ordering::SeqCst);
        while !s.release.load(Ordering::SeqCst) {
            settle();
        }
        release_semaphore(s.sem.get());
    }
}

/// Shared holders coexist; an exclusive obtain waits for all of them.
pub fn shared_then_exclusive() -> TestResult {
    let s = Shared::new();
    let a = spawn("reader-a", 1, shared_reader, arg(&s))?;
    let b = spawn("reader-b", 1, shared_reader, arg(&s))?;
    ensure_eq!(s.order.load(Ordering::SeqCst), 2);
    // SAFETY: as above.
    unsafe {
        ensure_eq!((*s.sem.get()).nest_count(), 2);
        ensure!((*s.sem.get()).owner().is_null());
        ensure!(!attempt_semaphore(s.sem.get()));
        ensure!(attempt_semaphore_shared(s.sem.get()));
        release_semaphore(s.sem.get());
        s.release.store(true, Ordering::SeqCst);
        obtain_semaphore(s.sem.get());
        ensure_eq!((*s.sem.get()).nest_count(), 1);
        release_semaphore(s.sem.get());
    }
    a.join();
    b.join();
    Ok(())
}

fn queued(a: usize) {
    // SAFETY: the pair lives until the test joins.
    let (s, id): &(&Shared, u32) = unsafe { from_arg(a) };
    // SAFETY: the semaphore lives in Shared; the log is touched only by the holder.
    unsafe {
        obtain_semaphore(s.sem.get());
        (*s.log.get()).push(*id);
        release_semaphore(s.sem.get());
    }
}

/// Waiters get the semaphore in the order they asked, whatever their priority.
pub fn waiters_fifo() -> TestResult {
    let s = Shared::new();
    // SAFETY: as above.
    unsafe { obtain_semaphore(s.sem.get()) };
    let args: Vec<(&Shared, u32)> = (0..4).map(|i| (&s, i)).collect();
    let pris = [1i8, 5, 3, 9];
    let mut kids = Vec::new();
    for i in 0..4 {
        kids.push(spawn("queued", pris[i], queued, arg(&args[i]))?);
    }
    // SAFETY: as above.
    unsafe { release_semaphore(s.sem.get()) };
    for k in kids {
        k.join();
    }
    // SAFETY: all writers have ended.
    ensure_eq!(unsafe { &*s.log.get() }, &alloc::vec![0, 1, 2, 3]);
    Ok(())
}

struct Torture {
    sem: Global<SignalSemaphore>,
    counter: Global<u64>,
    rounds: u64,
}

fn torturer(a: usize) {
    // SAFETY: the test joins before Torture goes away.
    let t: &Torture = unsafe { from_arg(a) };
    for i in 0..t.rounds {
        // SAFETY: the counter is only touched while holding the semaphore.
        unsafe {
            obtain_semaphore(t.sem.get());
            let v = core::ptr::read_volatile(t.counter.get());
            if i % 64 == 0 {
                core::hint::spin_loop(); // widen the window a preemption can hit
            }
            core::ptr::write_volatile(t.counter.get(), v + 1);
            release_semaphore(t.sem.get());
        }
    }
}

/// Two tasks, 100,000 obtains each, a read-modify-write under the semaphore: no lost update
/// (the tick preempts them mid-way many times).
pub fn torture() -> TestResult {
    let t = Torture { sem: Global::new(SignalSemaphore::new()), counter: Global::new(0), rounds: 100_000 };
    let a = spawn("torture-a", -1, torturer, arg(&t))?;
    let b = spawn("torture-b", -1, torturer, arg(&t))?;
    let before = crate::execbase::counters().disp_count;
    a.join();
    b.join();
    let switches = crate::execbase::counters().disp_count - before;
    // SAFETY: both writers ended.
    ensure_eq!(unsafe { *t.counter.get() }, 200_000);
    ensure!(switches > 2, "the tasks never alternated ({switches} switches)");
    Ok(())
}

pub fn public_semaphores() -> TestResult {
    let mut s = SignalSemaphore::new();
    s.node = Node::named(NodeType::Semaphore, 0, "test.sem");
    // SAFETY: lives on this frame; removed before returning.
    unsafe {
        add_semaphore(&mut s);
        ensure_eq!(find_semaphore("test.sem"), &mut s as *mut SignalSemaphore);
        rem_semaphore(&mut s);
    }
    ensure!(find_semaphore("test.sem").is_null());
    Ok(())
}

pub fn release_unheld_alerts() -> TestResult {
    let mut s = SignalSemaphore::new();
    let (n0, _) = alerts();
    // SAFETY: a valid semaphore nobody holds.
    unsafe { release_semaphore(&mut s) };
    let (n1, code) = alerts();
    ensure_eq!(n1, n0 + 1);
    ensure_eq!(code, AN_SEM_CORRUPT);
    ensure_eq!(s.nest_count(), 0);
    Ok(())
}

fn dies_holding(a: usize) {
    // SAFETY: as in `holder`.
    let s: &Shared = unsafe { from_arg(a) };
    // SAFETY: as above.
    unsafe { obtain_semaphore(s.sem.get()) };
    s.holding.store(true, Ordering::SeqCst);
    // ends without releasing
}

/// A task that ends holding a semaphore releases it; the waiter gets it.
pub fn owner_death_releases() -> TestResult {
    let s = Shared::new();
    spawn("dies", 1, dies_holding, arg(&s))?.join();
    ensure!(s.holding.load(Ordering::SeqCst));
    // SAFETY: as above.
    unsafe {
        ensure!(attempt_semaphore(s.sem.get()), "the dead task still holds it");
        release_semaphore(s.sem.get());
    }
    Ok(())
}

fn waits_forever(a: usize) {
    // SAFETY: the test keeps Shared alive past this task's removal.
    let s: &Shared = unsafe { from_arg(a) };
    // SAFETY: as above.
    unsafe { obtain_semaphore(s.sem.get()) };
    s.holding.store(true, Ordering::SeqCst); // never reached while the test holds it
}

/// A task removed while it waits for a semaphore leaves no request behind: the semaphore is
/// still usable and the next release goes to a live waiter (or nobody).
pub fn waiter_death_leaves_no_request() -> TestResult {
    let s = Shared::new();
    // SAFETY: the semaphore lives in `s`.
    unsafe { obtain_semaphore(s.sem.get()) };
    let t = crate::task::add_task("sem-victim", 1, waits_forever, arg(&s), 16 * 1024);
    ensure!(!t.is_null());
    // SAFETY: `t` is a live task this test started.
    unsafe { crate::task::rem_task(t) };
    settle();
    // SAFETY: as above.
    unsafe {
        release_semaphore(s.sem.get());
        ensure!((*s.sem.get()).owner().is_null(), "granted to the removed task");
        ensure!(attempt_semaphore(s.sem.get()));
        release_semaphore(s.sem.get());
    }
    ensure!(!s.holding.load(Ordering::SeqCst));
    Ok(())
}

fn holds_shared(a: usize) {
    // SAFETY: the test joins first.
    let s: &Shared = unsafe { from_arg(a) };
    // SAFETY: as above.
    unsafe { obtain_semaphore_shared(s.sem.get()) };
    s.holding.store(true, Ordering::SeqCst);
    // ends holding it shared
}

/// A task that ends holding a semaphore shared gives that hold back.
pub fn shared_holder_death_releases() -> TestResult {
    let s = Shared::new();
    spawn("shared-dies", 1, holds_shared, arg(&s))?.join();
    ensure!(s.holding.load(Ordering::SeqCst));
    // SAFETY: as above.
    unsafe {
        ensure_eq!((*s.sem.get()).nest_count(), 0);
        ensure!(attempt_semaphore(s.sem.get()), "the dead task's shared hold is still counted");
        release_semaphore(s.sem.get());
    }
    Ok(())
}
