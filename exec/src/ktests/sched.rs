use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

use super::util::{arg, from_arg, settle, spawn};
use crate::arch::x86_64::cpu;
use crate::global::Global;
use crate::interrupts::{Interrupt, add_int_server, rem_int_server};
use crate::ktest::TestResult;
use crate::sched::{disable, enable, forbid, permit};
use crate::signal::{alloc_signal, free_signal, signal, wait};
use crate::task::{Task, find_task, set_task_pri};
use crate::time::ticks;
use crate::{ensure, ensure_eq};

struct Spin {
    count: AtomicU64,
    stop: AtomicBool,
}

fn spinner(a: usize) {
    // SAFETY: the test joins before the Spin goes away.
    let s: &Spin = unsafe { from_arg(a) };
    while !s.stop.load(Ordering::Relaxed) {
        s.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Two CPU-bound tasks of equal priority both make progress: the quantum takes turns.
pub fn quantum_round_robin() -> TestResult {
    let a = Spin { count: AtomicU64::new(0), stop: AtomicBool::new(false) };
    let b = Spin { count: AtomicU64::new(0), stop: AtomicBool::new(false) };
    let ca = spawn("spin-a", -1, spinner, arg(&a))?;
    let cb = spawn("spin-b", -1, spinner, arg(&b))?;
    // Join them at priority -1 for 40 ticks: three equal tasks round-robin.
    // SAFETY: null is the caller itself.
    let old = unsafe { set_task_pri(core::ptr::null_mut(), -1) };
    let until = ticks() + 40;
    let mut seen = (0, 0);
    while ticks() < until {
        seen = (a.count.load(Ordering::Relaxed), b.count.load(Ordering::Relaxed));
        core::hint::spin_loop();
    }
    // SAFETY: null is the caller itself.
    unsafe { set_task_pri(core::ptr::null_mut(), old) };
    a.stop.store(true, Ordering::Relaxed);
    b.stop.store(true, Ordering::Relaxed);
    ca.join();
    cb.join();
    ensure!(seen.0 > 0 && seen.1 > 0, "progress while we spun: a {} b {}", seen.0, seen.1);
    Ok(())
}

struct Woken {
    task: AtomicPtr<Task>,
    bit: AtomicU64,
    woke_at_spin: AtomicU64,
    spins: AtomicU64,
}

static WOKEN: Woken = Woken {
    task: AtomicPtr::new(core::ptr::null_mut()),
    bit: AtomicU64::new(0),
    woke_at_spin: AtomicU64::new(0),
    spins: AtomicU64::new(0),
};

fn tick_server(_: *mut ()) -> bool {
    let t = WOKEN.task.load(Ordering::SeqCst);
    if !t.is_null() {
        // SAFETY: the task lives until the test joins it (after removing this server).
        unsafe { signal(t, 1 << WOKEN.bit.load(Ordering::SeqCst)) };
    }
    false // not the tick's owner: let the chain go on
}

static SERVER: Global<Interrupt> = Global::new(Interrupt::new("test-waker", 10, tick_server, core::ptr::null_mut()));

fn high(_: usize) {
    let b = alloc_signal(-1);
    WOKEN.bit.store(b as u64, Ordering::SeqCst);
    WOKEN.task.store(find_task(None), Ordering::SeqCst);
    wait(1 << b);
    WOKEN.woke_at_spin.store(WOKEN.spins.load(Ordering::SeqCst), Ordering::SeqCst);
    WOKEN.task.store(core::ptr::null_mut(), Ordering::SeqCst);
    free_signal(b);
}

/// A higher-priority task woken by an interrupt preempts a CPU-bound lower-priority task.
pub fn interrupt_wakes_higher_priority() -> TestResult {
    WOKEN.spins.store(0, Ordering::SeqCst);
    WOKEN.woke_at_spin.store(0, Ordering::SeqCst);
    let child = spawn("high", 10, high, 0)?;
    // SAFETY: the server is a static, added once and removed below.
    unsafe { add_int_server(0, SERVER.get()) };
    // Spin without ever waiting: only preemption can let `high` run.
    let t0 = ticks();
    while WOKEN.woke_at_spin.load(Ordering::SeqCst) == 0 && ticks() < t0 + 100 {
        WOKEN.spins.fetch_add(1, Ordering::SeqCst);
    }
    // SAFETY: added above.
    unsafe { rem_int_server(0, SERVER.get()) };
    let woke = WOKEN.woke_at_spin.load(Ordering::SeqCst);
    let spins = WOKEN.spins.load(Ordering::SeqCst);
    child.join();
    ensure!(woke > 0, "the high-priority task never ran while we spun ({spins} spins)");
    ensure!(woke <= spins);
    Ok(())
}

fn bump(a: usize) {
    // SAFETY: the test waits for the flag before returning.
    let f: &AtomicBool = unsafe { from_arg(a) };
    f.store(true, Ordering::SeqCst);
}

/// Forbid keeps a higher-priority ready task from running until Permit.
pub fn forbid_prevents_switching() -> TestResult {
    let ran = AtomicBool::new(false);
    forbid();
    forbid(); // nests
    crate::task::add_task("forbidden", 20, bump, arg(&ran), 8192);
    let t0 = ticks();
    while ticks() < t0 + 5 {
        core::hint::spin_loop();
    }
    let ran_inside = ran.load(Ordering::SeqCst);
    permit();
    let ran_after_one = ran.load(Ordering::SeqCst);
    permit();
    let ran_after_two = ran.load(Ordering::SeqCst);
    ensure!(!ran_inside, "a task ran during Forbid");
    ensure!(!ran_after_one, "a task ran before the outermost Permit");
    ensure!(ran_after_two, "the task did not run at Permit");
    settle();
    Ok(())
}

/// Disable nests: interrupts stay off until the outermost Enable.
pub fn disable_nests() -> TestResult {
    disable();
    disable();
    let off1 = !cpu::interrupts_enabled();
    enable();
    let off2 = !cpu::interrupts_enabled();
    let t0 = ticks();
    for _ in 0..2_000_000 {
        core::hint::spin_loop();
    }
    let frozen = ticks() == t0;
    enable();
    ensure!(off1 && off2, "interrupts came on inside Disable");
    ensure!(frozen, "the tick ran inside Disable");
    ensure!(cpu::interrupts_enabled());
    Ok(())
}

/// Waiting while forbidden lets other tasks run; the Forbid is back when we continue.
pub fn wait_breaks_forbid() -> TestResult {
    let ran = AtomicBool::new(false);
    let b = alloc_signal(-1);
    forbid();
    let child = spawn("during-wait", -1, bump, arg(&ran))?;
    let me = find_task(None);
    // Have a helper at lower priority signal us after it ran.
    fn poke(a: usize) {
        // SAFETY: the pair lives until the test returns (it waits for the poke).
        let (me, bit): &(usize, i32) = unsafe { from_arg(a) };
        // SAFETY: the waiting test task is live.
        unsafe { signal(*me as *mut Task, 1 << *bit) };
    }
    let pair = (me as usize, b);
    crate::task::add_task("poker", -2, poke, arg(&pair), 8192);
    wait(1 << b);
    // SAFETY: reading our own nesting count.
    let still_forbidden = unsafe { (*crate::execbase::base()).nest.td_nest_cnt } == 1;
    permit();
    child.join();
    free_signal(b);
    ensure!(ran.load(Ordering::SeqCst), "no task ran while we waited in Forbid");
    ensure!(still_forbidden, "Forbid was not restored after the wait");
    Ok(())
}

pub fn idle_task_exists() -> TestResult {
    let idle = find_task(Some("idle"));
    ensure!(!idle.is_null());
    // SAFETY: the idle task never ends.
    ensure_eq!(unsafe { (*idle).pri() }, -128);
    Ok(())
}
