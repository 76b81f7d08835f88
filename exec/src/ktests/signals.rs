use core::sync::atomic::{AtomicU32, Ordering};

use super::util::{arg, from_arg, spawn};
use crate::ktest::TestResult;
use crate::signal::*;
use crate::task::find_task;
use crate::{ensure, ensure_eq};

fn me() -> &'static crate::task::Task {
    // SAFETY: the running task is live while it runs.
    unsafe { &*find_task(None) }
}

/// In a child: free every bit (the reserved ones too), then allocate all 32 with -1.
fn all_any(out: usize) {
    // SAFETY: the parent joins before `out` goes away.
    let out: &AtomicU32 = unsafe { from_arg(out) };
    for b in 0..32 {
        free_signal(b);
    }
    let mut got = 0u32;
    let mut in_order = true;
    for expect in (0..32).rev() {
        let b = alloc_signal(-1);
        in_order &= b == expect;
        if b >= 0 {
            got |= 1 << b;
        }
    }
    let extra = alloc_signal(-1);
    for b in 0..32 {
        free_signal(b);
    }
    out.store(if in_order && extra == -1 { got } else { 0 }, Ordering::SeqCst);
}

pub fn all_32_by_any() -> TestResult {
    let out = AtomicU32::new(1);
    spawn("sig-any", 0, all_any, arg(&out))?.join();
    ensure_eq!(out.load(Ordering::SeqCst), u32::MAX);
    Ok(())
}

fn all_numbered(out: usize) {
    // SAFETY: as above.
    let out: &AtomicU32 = unsafe { from_arg(out) };
    for b in 0..32 {
        free_signal(b);
    }
    let mut got = 0u32;
    for b in 0..32 {
        if alloc_signal(b) == b {
            got |= 1 << b;
        }
    }
    let again = (0..32).all(|b| alloc_signal(b) == -1);
    for b in 0..32 {
        free_signal(b);
    }
    let free_again = (0..32).all(|b| alloc_signal(b) == b);
    out.store(if again && free_again { got } else { 0 }, Ordering::SeqCst);
}

pub fn all_32_by_number() -> TestResult {
    let out = AtomicU32::new(1);
    spawn("sig-num", 0, all_numbered, arg(&out))?.join();
    ensure_eq!(out.load(Ordering::SeqCst), u32::MAX);
    Ok(())
}

pub fn reserved_bits() -> TestResult {
    ensure_eq!(me().sig_alloc & SIGNALS_RESERVED, SIGNALS_RESERVED);
    ensure_eq!(alloc_signal(SIGB_CTRL_C as i32), -1);
    ensure_eq!(SIGF_CTRL_C, 1 << 12);
    ensure_eq!(SIGF_CTRL_F, 1 << 15);
    ensure_eq!(alloc_signal(40), -1);
    free_signal(-1); // does nothing
    free_signal(99);
    Ok(())
}

pub fn alloc_free_roundtrip() -> TestResult {
    let b = alloc_signal(-1);
    ensure!(b >= 16, "got bit {b}");
    ensure!(me().sig_alloc & (1 << b) != 0);
    ensure_eq!(alloc_signal(b), -1);
    free_signal(b);
    ensure!(me().sig_alloc & (1 << b) == 0);
    ensure_eq!(alloc_signal(b), b);
    free_signal(b);
    Ok(())
}

pub fn set_signal_and_wait() -> TestResult {
    let b = alloc_signal(-1);
    let m = 1u32 << b;
    set_signal(0, m);
    ensure_eq!(set_signal(0, 0) & m, 0);
    let old = set_signal(m, m);
    ensure_eq!(old & m, 0);
    ensure_eq!(set_signal(0, 0) & m, m);
    // A signal already received: wait returns at once and clears it.
    ensure_eq!(wait(m), m);
    ensure_eq!(set_signal(0, 0) & m, 0);
    ensure_eq!(wait(0), 0);
    free_signal(b);
    Ok(())
}

struct Wake {
    parent: *mut crate::task::Task,
    bit: AtomicU32,
    got: AtomicU32,
}

fn waiter(a: usize) {
    // SAFETY: the parent joins before the Wake goes away.
    let w: &Wake = unsafe { from_arg(a) };
    let b = alloc_signal(-1);
    w.bit.store(b as u32, Ordering::SeqCst);
    // SAFETY: the parent is live.
    unsafe { signal(w.parent, SIGF_SINGLE) };
    let got = wait((1 << b) | SIGF_CTRL_C);
    w.got.store(got, Ordering::SeqCst);
    free_signal(b);
}

/// A child waits; the parent's signal wakes it with exactly the bits sent.
pub fn signal_wakes_waiter() -> TestResult {
    for send_ctrl_c in [false, true] {
        let w = Wake { parent: find_task(None), bit: AtomicU32::new(99), got: AtomicU32::new(0) };
        set_signal(0, SIGF_SINGLE);
        let child = spawn("waiter", -1, waiter, arg(&w))?;
        wait(SIGF_SINGLE);
        // SAFETY: the child is live until joined.
        let st = unsafe { (*child.task).state };
        ensure_eq!(st, crate::task::TaskState::Ready);
        super::util::settle(); // let it reach its wait
        // SAFETY: as above.
        ensure_eq!(unsafe { (*child.task).state }, crate::task::TaskState::Waiting);
        let mask = if send_ctrl_c { SIGF_CTRL_C } else { 1 << w.bit.load(Ordering::SeqCst) };
        // SAFETY: as above.
        unsafe { signal(child.task, mask) };
        child.join();
        ensure_eq!(w.got.load(Ordering::SeqCst), mask);
    }
    Ok(())
}
