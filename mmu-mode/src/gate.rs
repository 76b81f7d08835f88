//! The gate: exec calls from ring 3 (`int 0x80`), and what happens when a ring-3 task faults.
//!
//! Call numbers and arguments arrive in registers (RAX; RDI, RSI, RDX). Every pointer a task
//! passes is an allegation: checked before exec touches it; a bad one returns
//! [`ERR_BAD_POINTER`] and is counted. An unknown call returns [`ERR_NO_SUCH_CALL`].

use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use exec::arch::x86_64::trap::TrapFrame;
use exec::task::Task;

pub const SYS_FIND_SELF: u64 = 0;
pub const SYS_WAIT: u64 = 1;
pub const SYS_SIGNAL: u64 = 2;
pub const SYS_ALLOC_SIGNAL: u64 = 3;
pub const SYS_EXIT: u64 = 4;
pub const SYS_ALLOC_MEM: u64 = 5;
pub const SYS_FREE_MEM: u64 = 6;
pub const SYS_CREATE_PORT: u64 = 7;
pub const SYS_PUT_MSG: u64 = 8;
pub const SYS_GET_MSG: u64 = 9;
pub const SYS_WAIT_PORT: u64 = 10;
pub const SYS_REPLY_MSG: u64 = 11;
pub const SYS_DELETE_PORT: u64 = 12;
pub const SYS_OPEN_DEVICE: u64 = 13;
pub const SYS_DO_IO: u64 = 14;
pub const SYS_CLOSE_DEVICE: u64 = 15;

pub const ERR_NO_SUCH_CALL: u64 = u64::MAX;
pub const ERR_BAD_POINTER: u64 = u64::MAX - 1;

/// Pointers refused at the gate.
pub static BAD_ALLEGATIONS: AtomicU64 = AtomicU64::new(0);
/// Ring-3 faults contained (task removed, system on), and the vector of the last one.
pub static FAULTS_CONTAINED: AtomicU64 = AtomicU64::new(0);
pub static LAST_FAULT_VECTOR: AtomicU64 = AtomicU64::new(u64::MAX);

/// Whether `t` is a live task (an allegation about a task pointer).
fn live_task(t: u64) -> bool {
    let mut found = false;
    exec::task::for_each_task(|task| found |= task as *const Task as u64 == t);
    found
}

fn my_space() -> Option<&'static mut crate::space::Space> {
    let me = exec::task::find_task(None);
    // SAFETY: the running task is live; its space lives with it.
    unsafe { ((*me).space as *mut crate::space::Space).as_mut() }
}

fn bad() -> u64 {
    BAD_ALLEGATIONS.fetch_add(1, Ordering::Relaxed);
    ERR_BAD_POINTER
}

fn counted(r: u64) -> u64 {
    if r == ERR_BAD_POINTER { bad() } else { r }
}

/// Serves one gate call. Runs in ring 0 on the task's kernel stack.
pub fn gate(frame: &mut TrapFrame) {
    frame.rax = match frame.rax {
        SYS_FIND_SELF => exec::task::find_task(None) as u64,
        SYS_WAIT => exec::signal::wait(frame.rdi as u32) as u64,
        SYS_SIGNAL => {
            if live_task(frame.rdi) {
                // SAFETY: checked above: a live task.
                unsafe { exec::signal::signal(frame.rdi as *mut Task, frame.rsi as u32) };
                0
            } else {
                BAD_ALLEGATIONS.fetch_add(1, Ordering::Relaxed);
                ERR_BAD_POINTER
            }
        }
        SYS_ALLOC_SIGNAL => exec::signal::alloc_signal(frame.rdi as i32) as i64 as u64,
        SYS_EXIT => {
            exec::task::rem_task(core::ptr::null_mut());
            unreachable!()
        }
        SYS_ALLOC_MEM => my_space().and_then(|s| s.alloc(frame.rdi)).unwrap_or(0),
        SYS_FREE_MEM => {
            if my_space().is_some_and(|s| s.free(frame.rdi)) { 0 } else { bad() }
        }
        SYS_CREATE_PORT => crate::msg::create_port(),
        SYS_PUT_MSG => counted(crate::msg::put(frame.rdi, frame.rsi, frame.rdx)),
        SYS_GET_MSG => counted(crate::msg::get(frame.rdi, false)),
        SYS_WAIT_PORT => counted(crate::msg::get(frame.rdi, true)),
        SYS_REPLY_MSG => counted(crate::msg::reply(frame.rdi)),
        SYS_DELETE_PORT => counted(crate::msg::delete_port(frame.rdi)),
        SYS_OPEN_DEVICE => counted(crate::io::open(frame.rdi, frame.rsi, frame.rdx)),
        SYS_DO_IO => counted(crate::io::do_io(frame.rdi, frame.rsi)),
        SYS_CLOSE_DEVICE => counted(crate::io::close(frame.rdi)),
        _ => ERR_NO_SUCH_CALL,
    };
}

/// A CPU exception in ring 3: the Guru Meditation names the task, which is removed; the
/// system goes on. Does not return.
pub fn user_fault(frame: &mut TrapFrame) {
    let cr2 = if frame.vector == 14 { exec::arch::x86_64::cpu::cr2() } else { 0 };
    let report = exec::alert::Report::of_exception(frame, cr2);
    LAST_FAULT_VECTOR.store(frame.vector, Ordering::Relaxed);
    FAULTS_CONTAINED.fetch_add(1, Ordering::Relaxed);
    let mut out = exec::console::Console;
    let _ = write!(out, "{}", report.as_str().replace("Software Failure.", "Task held.       "));
    let _ = writeln!(out, "The task is removed; the system goes on.");
    exec::task::rem_task(core::ptr::null_mut());
}

/// Frees a task's address space (task end). Leaves the task's tables first if they are loaded.
pub fn reclaim(task: *mut Task) {
    // SAFETY: `task` is live (exec's reclaim contract); `space` was set by add_user_task.
    unsafe {
        let space = core::mem::replace(&mut (*task).space, 0);
        crate::msg::reclaim(task);
        crate::io::reclaim(task);
        if space == 0 {
            return;
        }
        if exec::arch::x86_64::cpu::cr3() == (*task).cr3 {
            exec::arch::x86_64::usermode::load_cr3(exec::sched::kernel_cr3());
        }
        (*task).cr3 = 0;
        drop(alloc::boxed::Box::from_raw(space as *mut crate::space::Space));
    }
}
