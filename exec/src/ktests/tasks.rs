use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use super::util::{alerts, arg, from_arg, settle, spawn, task_count};
use crate::execbase::counters;
use crate::ktest::TestResult;
use crate::memory::{MemFlags, alloc_mem, avail_mem};
use crate::port::{add_port, create_msg_port, find_port};
use crate::signal::wait;
use crate::task::*;
use crate::{ensure, ensure_eq};

fn sleeper(_: usize) {
    wait(crate::signal::SIGF_CTRL_C);
}

pub fn add_find_remove() -> TestResult {
    let before = task_count();
    let t = add_task("finder", -5, sleeper, 0, 8192);
    ensure!(!t.is_null());
    ensure_eq!(find_task(Some("finder")), t);
    ensure_eq!(task_count(), before + 1);
    settle();
    // SAFETY: the task is live until removed below.
    ensure_eq!(unsafe { (*t).state }, TaskState::Waiting);
    // SAFETY: `t` is a live task this test started.
    unsafe { rem_task(t) };
    ensure!(find_task(Some("finder")).is_null());
    settle();
    ensure_eq!(task_count(), before);
    Ok(())
}

pub fn find_self_and_missing() -> TestResult {
    let me = find_task(None);
    ensure!(!me.is_null());
    // SAFETY: the running task is live.
    let name = unsafe { (*me).name() };
    ensure_eq!(find_task(Some(name)), me);
    // SAFETY: as above.
    ensure_eq!(unsafe { (*me).state }, TaskState::Running);
    ensure!(find_task(Some("no such task")).is_null());
    Ok(())
}

pub fn set_pri_returns_old() -> TestResult {
    let t = add_task("pri", -10, sleeper, 0, 8192);
    // SAFETY: `t` is a live task this test started.
    ensure_eq!(unsafe { set_task_pri(t, 7 - 20) }, -10);
    // SAFETY: as above.
    ensure_eq!(unsafe { set_task_pri(t, 100) }, -13);
    // SAFETY: live until removed.
    ensure_eq!(unsafe { (*t).pri() }, 100);
    // It outranks us now, so it ran (and waits).
    // SAFETY: as above.
    ensure_eq!(unsafe { (*t).state }, TaskState::Waiting);
    // SAFETY: null is the caller itself.
    ensure_eq!(unsafe { set_task_pri(core::ptr::null_mut(), 0) }, 0);
    // SAFETY: `t` is a live task this test started.
    unsafe { rem_task(t) };
    Ok(())
}

pub fn name_is_kept_and_cut() -> TestResult {
    let long = "a-task-name-that-is-much-longer-than-thirty-two-bytes";
    let t = add_task(long, -5, sleeper, 0, 8192);
    // SAFETY: live until removed.
    let name = unsafe { (*t).name() };
    ensure_eq!(name, &long[..TASK_NAME_MAX]);
    // SAFETY: `t` is a live task this test started.
    unsafe { rem_task(t) };
    Ok(())
}

fn mark(a: usize) {
    // SAFETY: the test outlives the task (it joins or settles).
    let order: &AtomicUsize = unsafe { from_arg(a) };
    order.fetch_add(1, Ordering::SeqCst);
}

/// A higher-priority task runs before add_task returns; a lower one only when we wait.
pub fn priority_decides_who_runs() -> TestResult {
    let ran = AtomicUsize::new(0);
    add_task("high", 10, mark, arg(&ran), 8192);
    ensure_eq!(ran.load(Ordering::SeqCst), 1);
    add_task("low", -10, mark, arg(&ran), 8192);
    ensure_eq!(ran.load(Ordering::SeqCst), 1);
    settle();
    ensure_eq!(ran.load(Ordering::SeqCst), 2);
    Ok(())
}

/// A task that returns from its entry ends cleanly and is gone from every list.
pub fn return_ends_task() -> TestResult {
    let before = task_count();
    let mem = avail_mem(MemFlags::ANY);
    let ran = AtomicUsize::new(0);
    spawn("returns", 5, mark, arg(&ran))?.join();
    ensure_eq!(ran.load(Ordering::SeqCst), 1);
    ensure_eq!(task_count(), before);
    ensure_eq!(avail_mem(MemFlags::ANY), mem);
    Ok(())
}

fn hoarder(a: usize) {
    // SAFETY: as in `mark`.
    let ok: &AtomicU32 = unsafe { from_arg(a) };
    for i in 1..50 {
        alloc_mem(i * 100, MemFlags::CLEAR);
    }
    let port = create_msg_port();
    // SAFETY: the port is ours; its name is static.
    unsafe {
        (*port).node = crate::list::Node::named(crate::list::NodeType::MsgPort, 0, "hoarder.port");
        add_port(port);
    }
    // SAFETY: the running task is live.
    let (n, _) = unsafe { crate::memory::owned_by(find_task(None)) };
    ok.store(n as u32, Ordering::SeqCst);
}

/// A task that ends with memory allocated and a public port open leaves nothing behind.
pub fn end_reclaims_everything() -> TestResult {
    let mem = avail_mem(MemFlags::ANY);
    let ok = AtomicU32::new(0);
    spawn("hoarder", 5, hoarder, arg(&ok))?.join();
    ensure_eq!(ok.load(Ordering::SeqCst), 50); // 49 blocks and the port
    ensure!(find_port("hoarder.port").is_null(), "its public port is still listed");
    ensure_eq!(avail_mem(MemFlags::ANY), mem);
    Ok(())
}

fn dig(depth: usize) -> usize {
    let buf = core::hint::black_box([depth as u8; 256]);
    // SAFETY: reading our own task's bounds.
    let lower = unsafe { (*find_task(None)).sp_lower };
    if crate::arch::x86_64::switch::stack_pointer() > lower.saturating_sub(128) {
        return dig(depth + 1) + buf[0] as usize;
    }
    // Far enough below the stack: the next switch must notice.
    wait(crate::signal::SIGF_CTRL_C);
    buf[1] as usize
}

fn overflow(_: usize) {
    dig(0);
}

/// A task that overruns its stack is caught at its next switch: alert, task removed, system on.
pub fn stack_overflow_caught() -> TestResult {
    let before = task_count();
    let (alerts_before, _) = alerts();
    let t = add_task("overflow", 5, overflow, 0, 8192);
    ensure!(!t.is_null());
    settle();
    let (alerts_after, last) = alerts();
    ensure_eq!(alerts_after, alerts_before + 1);
    ensure_eq!(last, crate::alert::AN_STACK_PROBE);
    ensure!(find_task(Some("overflow")).is_null(), "the task survived");
    ensure_eq!(task_count(), before);
    Ok(())
}

pub fn counters_count() -> TestResult {
    let c0 = counters();
    ensure_eq!(c0.quantum, 4);
    crate::time::wait_ticks(2);
    settle();
    let c1 = counters();
    ensure!(c1.disp_count > c0.disp_count, "no dispatches counted");
    ensure!(c1.idle_count > c0.idle_count, "idle never ran");
    ensure!(c1.ready >= 1, "the idle task should be ready");
    Ok(())
}

/// Removing another (waiting) task: it is gone, its stack freed.
pub fn remove_other() -> TestResult {
    let mem = avail_mem(MemFlags::ANY);
    let t = add_task("victim", -3, sleeper, 0, 32 * 1024);
    settle();
    // SAFETY: `t` is a live task this test started.
    unsafe { rem_task(t) };
    settle();
    ensure_eq!(avail_mem(MemFlags::ANY), mem);
    Ok(())
}

/// A task's state follows its life: ready when added below us, waiting in wait(), gone after.
pub fn states_follow_life() -> TestResult {
    let t = add_task("stateful", -4, sleeper, 0, 8192);
    // SAFETY: live until it ends (we signal it and then settle).
    unsafe {
        ensure_eq!((*t).state, TaskState::Ready);
        settle();
        ensure_eq!((*t).state, TaskState::Waiting);
        ensure_eq!((*t).sig_wait, crate::signal::SIGF_CTRL_C);
        crate::signal::signal(t, crate::signal::SIGF_CTRL_C);
        ensure_eq!((*t).state, TaskState::Ready);
    }
    settle();
    ensure!(find_task(Some("stateful")).is_null());
    Ok(())
}

fn record(a: usize) {
    // SAFETY: the pair lives until the test has settled.
    let (log, id): &(&AtomicUsize, usize) = unsafe { from_arg(a) };
    // Append the id as one decimal digit.
    let v = log.load(Ordering::SeqCst);
    log.store(v * 10 + id, Ordering::SeqCst);
}

/// Tasks of equal priority run in the order they became ready.
pub fn equal_priority_fifo() -> TestResult {
    let log = AtomicUsize::new(0);
    let args: alloc::vec::Vec<(&AtomicUsize, usize)> = (1..=4).map(|i| (&log, i)).collect();
    for a in &args {
        add_task("fifo", -2, record, arg(a), 8192);
    }
    settle();
    ensure_eq!(log.load(Ordering::SeqCst), 1234);
    Ok(())
}

/// Lowering one's own priority below a ready task lets it run at once.
pub fn lowering_own_priority_yields() -> TestResult {
    let ran = AtomicUsize::new(0);
    add_task("waiting-turn", -1, mark, arg(&ran), 8192);
    ensure_eq!(ran.load(Ordering::SeqCst), 0);
    // SAFETY: null is the caller itself.
    let old = unsafe { set_task_pri(core::ptr::null_mut(), -2) };
    let ran_now = ran.load(Ordering::SeqCst);
    // SAFETY: null is the caller itself.
    unsafe { set_task_pri(core::ptr::null_mut(), old) };
    ensure_eq!(ran_now, 1);
    Ok(())
}

/// The memory a task owns is listed with it and counted.
pub fn owned_memory_is_listed() -> TestResult {
    let me = find_task(None);
    // SAFETY: the running task is live.
    let (n0, b0) = unsafe { crate::memory::owned_by(me) };
    let p = alloc_mem(1234, MemFlags::ANY);
    let q = alloc_mem(99, MemFlags::PUBLIC);
    // SAFETY: as above.
    let (n1, b1) = unsafe { crate::memory::owned_by(me) };
    // SAFETY: our blocks.
    unsafe {
        crate::memory::free_mem(p, 1234);
        crate::memory::free_mem(q, 99);
    }
    ensure_eq!((n1, b1), (n0 + 1, b0 + 1234));
    // SAFETY: as above.
    ensure_eq!(unsafe { crate::memory::owned_by(me) }, (n0, b0));
    Ok(())
}

/// A task's number finds it in O(1) while it lives; once it ends the number finds nothing,
/// even after its slot is given to a new task (whose number differs in the generation only).
pub fn numbers_are_never_reused() -> TestResult {
    crate::sched::forbid(); // nothing else starts or ends a task meanwhile
    let first = add_task("numbered", -5, sleeper, 0, 8192);
    let second = if first.is_null() {
        core::ptr::null_mut()
    } else {
        // SAFETY: `first` is live (it cannot run under Forbid).
        let old = unsafe { (*first).id() };
        let found = task_by_number(old) == first && task_alive(old);
        // SAFETY: as above.
        unsafe { rem_task(first) };
        let gone = task_by_number(old).is_null() && !task_alive(old);
        let second = add_task("numbered", -5, sleeper, 0, 8192);
        // SAFETY: `second` is live or null.
        let new = if second.is_null() { 0 } else { unsafe { (*second).id() } };
        crate::sched::permit();
        ensure!(found, "a live task's number did not find it");
        ensure!(gone, "an ended task's number still finds a task");
        ensure!(!second.is_null(), "no memory for the second task");
        ensure_eq!(new & 0xffff_ffff, old & 0xffff_ffff, "the slot was not used again");
        ensure!(new != old, "a number was given twice");
        ensure!(task_by_number(old).is_null(), "the old number finds the slot's new task");
        ensure_eq!(task_by_number(new), second);
        ensure!(task_by_number(0).is_null() && task_by_number(new ^ (1 << 32)).is_null(), "a forged number finds a task");
        second
    };
    if first.is_null() {
        crate::sched::permit();
        return Err("no memory for a task".into());
    }
    // SAFETY: live, waiting (or about to).
    unsafe { rem_task(second) };
    Ok(())
}
