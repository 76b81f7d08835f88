//! mmu-mode's in-kernel tests of ring-3 tasks that hold Forbid (or Disable) to stop the others:
//! a spin past the bound, pulses each under it, tasks of a family taking it in turns, and a
//! family's debt that is its own. The helpers and how to add a hostile program:
//! `ktests_attacks.rs`.

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
    Test::new("mmu.attack.forbid_in_turns_is_removed", forbid_in_turns_is_removed),
    Test::new("mmu.attack.forbid_debt_is_each_familys_own", forbid_debt_is_each_familys_own),
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
        spin_ticks(15, tsc_tick);
        sys::permit();
    }
}

/// Spins for `n` timer ticks by the TSC (`tsc_tick` a tick).
fn spin_ticks(n: u64, tsc_tick: u64) {
    let began = exec::arch::x86_64::cpu::rdtsc();
    while exec::arch::x86_64::cpu::rdtsc() - began < n * tsc_tick {
        core::hint::spin_loop();
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

/// The public port of [`forbid_turn_taker`].
const TURNS: &str = "r3.turns";
const TAKER: &str = "r3-turn-taker";
const TAKER_CHILD: &str = "r3-turn-child";

/// Ring 3, the child half of [`forbid_turn_taker`]'s turns (`tsc_tick` its argument), for
/// ever: takes Forbid, spins 15 ticks, lets go, wakes its parent (a message at [`TURNS`]), and
/// waits for its turn (CTRL_D).
fn forbid_turn_child(tsc_tick: usize) {
    let port = sys::find_port(TURNS) as u64;
    let m = crate::user::alloc_mem(4096);
    loop {
        sys::forbid();
        spin_ticks(15, tsc_tick as u64);
        sys::permit();
        // SAFETY: our own block.
        unsafe { (m as *mut exec::port::Message).write(exec::port::Message::new(core::ptr::null_mut(), size_of::<exec::port::Message>())) };
        crate::user::put_msg(port, m, crate::msg::PUT_COPY);
        sys::wait(exec::signal::SIGF_CTRL_D);
    }
}

/// Ring 3: starts a child (of its family) and takes turns with it, each taking Forbid,
/// spinning 15 ticks, letting go, waking the other and waiting: Forbid is held most of the
/// time, each hold is under the bound, and each one's own debt is paid off while the other
/// holds.
extern "C" fn forbid_turn_taker(block: u64) -> ! {
    // SAFETY: the block holds the parent's address and the TSC ticks in a timer tick.
    let (parent, tsc_tick) = unsafe { *(block as *const (*mut Task, u64)) };
    let port = sys::create_port(Some(TURNS), 0) as u64;
    // SAFETY: the parent is alleged to the gate, which checks it.
    unsafe { sys::signal(parent, SIGF_CTRL_F) };
    let child = sys::add_task(TAKER_CHILD, 0, forbid_turn_child, tsc_tick as usize, 8192);
    loop {
        let view = crate::user::wait_get(port);
        crate::user::reply_msg(view);
        sys::forbid();
        spin_ticks(15, tsc_tick);
        sys::permit();
        // SAFETY: our child, alleged to the gate.
        unsafe { sys::signal(child, exec::signal::SIGF_CTRL_D) };
    }
}

/// Starts the turn takers at the running task's priority. Result: the TSC ticks in a tick.
fn start_turn_takers() -> Result<u64, alloc::string::String> {
    // SAFETY: the running task is live.
    let pri = unsafe { (*me()).pri() };
    let tsc_tick = exec::time::tsc_hz() / exec::time::TICK_HZ;
    hostile(TAKER, pri, forbid_turn_taker, (me3(), tsc_tick))?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    Ok(tsc_tick)
}

/// Waits up to 3 s for one of the turn takers to be removed, then ends the other. Result:
/// whether one was removed.
fn one_turn_taker_removed() -> bool {
    let mut one_gone = false;
    for _ in 0..300 {
        devices::timer_sleep_ms(10);
        if exec::task::find_task(Some(TAKER)).is_null() || exec::task::find_task(Some(TAKER_CHILD)).is_null() {
            one_gone = true;
            break;
        }
    }
    for name in [TAKER_CHILD, TAKER] {
        let t = exec::task::find_task(Some(name));
        if !t.is_null() {
            // SAFETY: a live task we started (found just now by name), waiting for its turn.
            unsafe { exec::task::rem_task(t) };
        }
    }
    one_gone
}

/// Two ring-3 tasks of a family that take Forbid in turns (each holds it 15 ticks, lets go,
/// wakes the other and waits) keep the other tasks waiting most of the time while each one's
/// own debt is paid off during the other's turn: their family's debt removes the one holding
/// Forbid then (`exec::sched::RING3_FORBID_DEBT_FAMILY`); the other, left waiting for its
/// turn, stops nobody.
fn forbid_in_turns_is_removed() -> TestResult {
    let overruns = crate::gate::FORBID_OVERRUNS.load(Ordering::SeqCst);
    start_turn_takers()?;
    let one_gone = one_turn_taker_removed();
    ensure!(one_gone, "neither task taking Forbid in turns was removed in 3 s");
    ensure_eq!(crate::gate::FORBID_OVERRUNS.load(Ordering::SeqCst), overruns + 1);
    ensure!(gone(TAKER, 500) && gone(TAKER_CHILD, 500), "the tasks did not end");
    ensure_eq!(exec::sched::forbid_depth(), 0);
    Ok(())
}

/// Ring 3, of a family of its own: takes Forbid for 3 ticks in every 10, for ever (its own
/// debt stays at 3 or less, but is above 0 right after each hold).
extern "C" fn short_forbidder(block: u64) -> ! {
    // SAFETY: the block holds the TSC ticks in a timer tick.
    let tsc_tick = unsafe { *(block as *const u64) };
    loop {
        sys::forbid();
        spin_ticks(3, tsc_tick);
        sys::permit();
        spin_ticks(7, tsc_tick);
    }
}

/// A family's Forbid debt is its own: while a family taking Forbid in turns runs up its debt
/// past the bound and has one of its tasks removed, a task of another family that takes
/// short Forbids all along (and owes a little itself after each) is not removed, then or in
/// the second after (a debt shared by all ring-3 tasks would remove it: a hostile family
/// could have any other's task removed).
fn forbid_debt_is_each_familys_own() -> TestResult {
    const SHORT: &str = "r3-short-forbid";
    let overruns = crate::gate::FORBID_OVERRUNS.load(Ordering::SeqCst);
    // SAFETY: the running task is live.
    let pri = unsafe { (*me()).pri() };
    let tsc_tick = exec::time::tsc_hz() / exec::time::TICK_HZ;
    hostile(SHORT, pri, short_forbidder, tsc_tick)?;
    let started = start_turn_takers();
    let one_gone = started.is_ok() && one_turn_taker_removed();
    devices::timer_sleep_ms(1000);
    let short = exec::task::find_task(Some(SHORT));
    let short_alive = !short.is_null();
    if short_alive {
        // SAFETY: a live task we started (found just now by name).
        unsafe { exec::task::rem_task(short) };
    }
    started?;
    ensure!(one_gone, "neither task taking Forbid in turns was removed in 3 s");
    ensure!(short_alive, "another family's task was removed for the turn takers' debt");
    ensure_eq!(crate::gate::FORBID_OVERRUNS.load(Ordering::SeqCst), overruns + 1);
    ensure!(gone(TAKER, 500) && gone(TAKER_CHILD, 500) && gone(SHORT, 500), "the tasks did not end");
    ensure_eq!(exec::sched::forbid_depth(), 0);
    Ok(())
}
