//! Calls a ring-3 task makes (through the gate), and how such a task is started.

use alloc::boxed::Box;

use exec::arch::x86_64::usermode::gate_call;
use exec::task::Task;

use crate::gate::*;
use crate::space::Space;

/// The calling task's own address.
pub fn find_self() -> u64 {
    gate_call(SYS_FIND_SELF, 0, 0, 0)
}

/// Waits for any of `mask`; returns what arrived.
pub fn wait(mask: u32) -> u32 {
    gate_call(SYS_WAIT, mask as u64, 0, 0) as u32
}

/// Signals `task`; 0, or ERR_BAD_POINTER if `task` is not a live task.
pub fn signal(task: u64, mask: u32) -> u64 {
    gate_call(SYS_SIGNAL, task, mask as u64, 0)
}

/// Ends the calling task.
pub fn exit() -> ! {
    gate_call(SYS_EXIT, 0, 0, 0);
    loop {}
}

/// User stack of every ring-3 task.
pub const USER_STACK: usize = 16 * 1024;

/// Starts `entry(arg)` as task `name` in ring 3 with its own address space. `entry` must end
/// with [`exit`] (there is nothing to return to). Result: the task, or null without memory.
pub fn add_user_task(name: &str, pri: i8, entry: extern "C" fn(u64) -> !, arg: u64) -> *mut Task {
    let Some(space) = Space::new(USER_STACK) else { return core::ptr::null_mut() };
    let (cr3, top) = (space.cr3(), space.stack_range.1);
    let raw = Box::into_raw(space);
    let t = exec::task::add_user_task(name, pri, entry as *const () as u64, arg as usize, top - 16, cr3, raw as usize);
    if t.is_null() {
        // SAFETY: the task never started; the space is ours again.
        drop(unsafe { Box::from_raw(raw) });
    }
    t
}
