//! mmu-mode's in-kernel tests of ring-3 tasks that hold Forbid (or Disable) to stop the others:
//! a spin past the bound, and pulses each under it. The helpers and how to add a hostile
//! program: `ktests_attacks.rs`.

use core::sync::atomic::Ordering;

use exec::ktest::{Test, TestResult};
use exec::signal::SIGF_CTRL_F;
use exec::sys;
use exec::task::Task;
use exec::{ensure, ensure_eq};

use crate::ktests_attacks::{gone, hostile, me, me3};

/// Every Forbid test.
pub static TESTS: &[Test] = &[
    Test::new("mmu.attack.forbid_spin_is_removed", forbid_spin_is_removed),
    Test::new("mmu.attack.disable_spin_is_removed", disable_spin_is_removed),
    Test::new("mmu.attack.forbid_pulses_are_removed", forbid_pulses_are_removed),
];

/// Ring 3: tells `parent` it is about to spin, takes Forbid (or Disable), and spins forever.
extern "C" fn forbid_spinner(block: u64) -> ! {
    // SAFETY: the block holds the parent's address and the way to lock.
    let (parent, disable) = unsafe { *(block as *const (*mut Task, bool)) };
    // SAFETY: the parent is alleged to the gate, which checks it.
    unsafe { sys::signal(parent, SIGF_CTRL_F) };
    if disable { sys::disable() } else { sys::forbid() }
    loop {
        core::hint::spin_loop();
    }
}

fn spin_is_removed(name: &str, disable: bool) -> TestResult {
    let overruns = crate::gate::FORBID_OVERRUNS.load(Ordering::SeqCst);
    let start = exec::time::ticks();
    // At this task's priority: while it holds Forbid, nothing else would ever run again.
    // SAFETY: the running task is live.
    let pri = unsafe { (*me()).pri() };
    hostile(name, pri, forbid_spinner, (me3(), disable))?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // We run again only once the spinner is gone (or preempted, which Forbid forbids).
    devices::timer_sleep_ms(10);
    let waited = exec::time::ticks() - start;
    ensure!(gone(name, 1000), "the spinner is still there");
    ensure_eq!(crate::gate::FORBID_OVERRUNS.load(Ordering::SeqCst), overruns + 1);
    ensure!(waited <= exec::sched::RING3_FORBID_TICKS as u64 + 20, "we waited {waited} ticks");
    ensure_eq!(exec::sched::forbid_depth(), 0);
    Ok(())
}

/// A ring-3 task that takes Forbid and spins is removed once it held it past the bound; the
/// others run again.
fn forbid_spin_is_removed() -> TestResult {
    spin_is_removed("r3-forbid-spin", false)
}

/// The same with Disable (which in ring 3 masks no interrupt, and acts as Forbid).
fn disable_spin_is_removed() -> TestResult {
    spin_is_removed("r3-disable-spin", true)
}

/// Ring 3: tells `parent` it starts, then takes Forbid and spins for 15 ticks (by the TSC:
/// `tsc_tick` a tick), lets go, and again, for ever: each Forbid shorter than the bound.
extern "C" fn forbid_pulser(block: u64) -> ! {
    // SAFETY: the block holds the parent's address and the TSC ticks in a timer tick.
    let (parent, tsc_tick) = unsafe { *(block as *const (*mut Task, u64)) };
    // SAFETY: the parent is alleged to the gate, which checks it.
    unsafe { sys::signal(parent, SIGF_CTRL_F) };
    loop {
        sys::forbid();
        let began = exec::arch::x86_64::cpu::rdtsc();
        while exec::arch::x86_64::cpu::rdtsc() - began < 15 * tsc_tick {
            core::hint::spin_loop();
        }
        sys::permit();
    }
}

/// A ring-3 task that takes Forbid again and again, each time for less than the bound (15 of
/// 20 ticks), and lets go only for a moment, would stop the others for most of the time: its
/// Forbid debt removes it within a few rounds (`exec::sched::RING3_FORBID_DEBT`).
fn forbid_pulses_are_removed() -> TestResult {
    let overruns = crate::gate::FORBID_OVERRUNS.load(Ordering::SeqCst);
    // SAFETY: the running task is live.
    let pri = unsafe { (*me()).pri() };
    let (t, _) = hostile("r3-forbid-pulser", pri, forbid_pulser, (me3(), exec::time::tsc_hz() / exec::time::TICK_HZ))?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    let removed = gone("r3-forbid-pulser", 3000);
    if !removed {
        // SAFETY: a live task we started (found just now by name).
        unsafe { exec::task::rem_task(t) };
    }
    ensure!(removed, "the task pulsing Forbid was not removed in 3 s");
    ensure_eq!(crate::gate::FORBID_OVERRUNS.load(Ordering::SeqCst), overruns + 1);
    ensure_eq!(exec::sched::forbid_depth(), 0);
    Ok(())
}
