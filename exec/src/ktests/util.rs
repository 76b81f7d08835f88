//! Helpers for tests that need other tasks.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::signal::{alloc_signal, free_signal, signal, wait};
use crate::task::{Task, add_task, find_task};

struct Ctx {
    parent: *mut Task,
    sig: u32,
    body: fn(usize),
    arg: usize,
    done: AtomicBool,
}

/// A child task started by [`spawn`]; [`Child::join`] waits for it to end.
pub struct Child {
    ctx: Box<Ctx>,
    bit: i32,
    pub task: *mut Task,
}

fn child_entry(ctx: usize) {
    // SAFETY: the parent keeps the Ctx alive until `done` is seen (join), or leaks it.
    let c = unsafe { &*(ctx as *const Ctx) };
    (c.body)(c.arg);
    c.done.store(true, Ordering::SeqCst);
    // SAFETY: the parent lives until it has joined.
    unsafe { signal(c.parent, c.sig) };
}

/// Starts `body(arg)` as task `name` at priority `pri`.
pub fn spawn(name: &str, pri: i8, body: fn(usize), arg: usize) -> Result<Child, String> {
    let bit = alloc_signal(-1);
    if bit < 0 {
        return Err("no signal bit left".into());
    }
    let ctx = Box::new(Ctx { parent: find_task(None), sig: 1 << bit, body, arg, done: AtomicBool::new(false) });
    let task = add_task(name, pri, child_entry, &*ctx as *const Ctx as usize, 16 * 1024);
    if task.is_null() {
        free_signal(bit);
        return Err(format!("add_task({name}) failed"));
    }
    Ok(Child { ctx, bit, task })
}

impl Child {
    /// Whether the child's body has returned.
    pub fn done(&self) -> bool {
        self.ctx.done.load(Ordering::SeqCst)
    }

    /// Waits for the child's body to return (the test's time limit catches a child that never
    /// does), then lets it end.
    pub fn join(self) {
        while !self.done() {
            wait(self.ctx.sig);
        }
        free_signal(self.bit);
        settle();
    }
}

struct Sleeper {
    task: *mut Task,
    mask: u32,
    ticks_left: core::sync::atomic::AtomicU32,
}

fn sleeper_tick(data: *mut ()) -> bool {
    // SAFETY: the sleeper lives on the sleeping task's stack until its server is removed.
    let s = unsafe { &*(data as *const Sleeper) };
    if s.ticks_left.load(Ordering::Relaxed) > 0 && s.ticks_left.fetch_sub(1, Ordering::Relaxed) == 1 {
        // SAFETY: the sleeping task is live (it removes this server before going on).
        unsafe { signal(s.task, s.mask) };
    }
    false
}

/// Waits (really waits: other tasks and the idle task run) for `ticks` ticks.
pub fn sleep(ticks: u32) {
    let bit = alloc_signal(-1);
    assert!(bit >= 0, "no signal bit to sleep on");
    let s = Sleeper { task: find_task(None), mask: 1 << bit, ticks_left: core::sync::atomic::AtomicU32::new(ticks) };
    let mut int = crate::interrupts::Interrupt::new("sleep", 100, sleeper_tick, &s as *const Sleeper as *mut ());
    // SAFETY: the server and the sleeper live on this frame; the server is removed before it ends.
    unsafe {
        crate::interrupts::add_int_server(0, &mut int);
        while s.ticks_left.load(Ordering::Relaxed) > 0 {
            wait(s.mask);
        }
        crate::interrupts::rem_int_server(0, &mut int);
    }
    free_signal(bit);
}

/// Lets every other task run until it waits or ends, and ended tasks be reaped: sleeps a tick.
pub fn settle() {
    sleep(1);
}

/// A reference to a value on the test's stack, for a child task (which the test joins
/// before returning).
pub fn arg<T>(v: &T) -> usize {
    v as *const T as usize
}

/// The value behind [`arg`].
///
/// # Safety
/// `a` came from `arg::<T>` and the value is still alive.
pub unsafe fn from_arg<'a, T>(a: usize) -> &'a T {
    // SAFETY: per the contract.
    unsafe { &*(a as *const T) }
}

/// Number of live tasks.
pub fn task_count() -> usize {
    let mut n = 0;
    crate::task::for_each_task(|_| n += 1);
    n
}

/// Alerts raised so far.
pub fn alerts() -> (u64, u32) {
    let c = crate::execbase::counters();
    (c.alert_count, c.last_alert)
}
