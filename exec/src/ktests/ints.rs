use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::global::Global;
use crate::interrupts::*;
use crate::ktest::TestResult;
use crate::time::{ticks, wait_ticks};
use crate::{ensure, ensure_eq};

static LOG: Global<Vec<u8>> = Global::new(Vec::new());

fn log(id: *mut ()) -> bool {
    // SAFETY: interrupts are off in servers and soft ints; the log is only touched there and
    // by the test under Disable.
    unsafe { (*LOG.get()).push(id as usize as u8) };
    false
}

fn take_log() -> Vec<u8> {
    crate::sched::disable();
    // SAFETY: Disable held.
    let v = unsafe { core::mem::take(&mut *LOG.get()) };
    crate::sched::enable();
    v
}

/// Servers on a line run by priority, on every interrupt, until removed.
pub fn servers_by_priority() -> TestResult {
    let mut a = Interrupt::new("srv-a", -5, log, core::ptr::without_provenance_mut(1));
    let mut b = Interrupt::new("srv-b", 20, log, core::ptr::without_provenance_mut(2));
    take_log();
    // SAFETY: the servers live on this frame and are removed before it ends.
    unsafe {
        add_int_server(0, &mut a);
        add_int_server(0, &mut b);
    }
    wait_ticks(3);
    // SAFETY: as above.
    unsafe {
        rem_int_server(0, &mut a);
        rem_int_server(0, &mut b);
    }
    let l = take_log();
    wait_ticks(2);
    ensure!(take_log().is_empty(), "a removed server still ran");
    // b (pri 20) runs before the tick server, a (pri -5) after it; but the tick claims the
    // interrupt, so a never runs.
    ensure!(l.len() >= 3 && l.iter().all(|&x| x == 2), "{l:?}");
    Ok(())
}

/// A software interrupt caused from a task runs at once; already-queued ones are not doubled;
/// queued ones run highest priority first.
pub fn cause_runs_by_priority() -> TestResult {
    let mut lo = Interrupt::new("soft-lo", -32, log, core::ptr::without_provenance_mut(1));
    let mut mid = Interrupt::new("soft-mid", 0, log, 2 as *mut ());
    let mut hi = Interrupt::new("soft-hi", 32, log, 3 as *mut ());
    take_log();
    // SAFETY: the interrupts live on this frame and have run before it ends.
    unsafe {
        cause(&mut mid);
        ensure_eq!(take_log(), alloc::vec![2]);
        crate::sched::disable();
        cause(&mut lo);
        cause(&mut mid);
        cause(&mut hi);
        cause(&mut lo); // already queued: ignored
        ensure!((*LOG.get()).is_empty(), "ran inside Disable");
        crate::sched::enable();
    }
    ensure_eq!(take_log(), alloc::vec![3, 2, 1]);
    Ok(())
}

static SOFT_FROM_IRQ: Global<Interrupt> = Global::new(Interrupt::new("soft-from-irq", 0, count_soft, core::ptr::null_mut()));
static SOFT_RUNS: AtomicU32 = AtomicU32::new(0);

fn count_soft(_: *mut ()) -> bool {
    SOFT_RUNS.fetch_add(1, Ordering::SeqCst);
    true
}

fn cause_from_irq(_: *mut ()) -> bool {
    // SAFETY: the static interrupt is only caused here.
    unsafe { cause(SOFT_FROM_IRQ.get()) };
    false
}

static CAUSER: Global<Interrupt> = Global::new(Interrupt::new("causer", 30, cause_from_irq, core::ptr::null_mut()));

/// A software interrupt caused inside a hardware interrupt runs before the task resumes.
pub fn cause_from_interrupt() -> TestResult {
    SOFT_RUNS.store(0, Ordering::SeqCst);
    // SAFETY: static server, added and removed here.
    unsafe { add_int_server(0, CAUSER.get()) };
    let t0 = ticks();
    while SOFT_RUNS.load(Ordering::SeqCst) < 3 && ticks() < t0 + 50 {
        core::hint::spin_loop();
    }
    // SAFETY: as above.
    unsafe { rem_int_server(0, CAUSER.get()) };
    ensure!(SOFT_RUNS.load(Ordering::SeqCst) >= 3, "soft interrupt ran {} times", SOFT_RUNS.load(Ordering::SeqCst));
    Ok(())
}

/// Calls through the vector table reach the implementation; a patched entry is what runs.
pub fn vector_table_is_the_door() -> TestResult {
    fn fake_avail(_: crate::memory::MemFlags) -> usize {
        4242
    }
    // SAFETY: patched and restored under Forbid; no other task calls avail_mem meanwhile.
    unsafe {
        let real = crate::sys::avail_mem(crate::memory::MemFlags::TOTAL);
        ensure_eq!(real, crate::memory::avail_mem(crate::memory::MemFlags::TOTAL));
        crate::sched::forbid();
        let v = crate::sys::VECTORS.get();
        let old = (*v).avail_mem;
        (*v).avail_mem = fake_avail;
        let patched = crate::sys::avail_mem(crate::memory::MemFlags::TOTAL);
        (*v).avail_mem = old;
        crate::sched::permit();
        ensure_eq!(patched, 4242);
        ensure_eq!(crate::sys::avail_mem(crate::memory::MemFlags::TOTAL), real);
    }
    Ok(())
}

/// A recoverable alert returns and is counted; the system goes on.
pub fn recoverable_alert_returns() -> TestResult {
    let before = crate::execbase::counters().alert_count;
    crate::alert::alert(crate::alert::AO_EXEC | 0x7777);
    let c = crate::execbase::counters();
    ensure_eq!(c.alert_count, before + 1);
    ensure_eq!(c.last_alert, crate::alert::AO_EXEC | 0x7777);
    Ok(())
}
