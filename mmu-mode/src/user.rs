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

/// Allocates `len` bytes of whole pages, open to the caller alone; 0 without memory.
pub fn alloc_mem(len: u64) -> u64 {
    gate_call(SYS_ALLOC_MEM, len, 0, 0)
}

/// Creates a port for the caller; its handle, or 0.
pub fn create_port() -> u64 {
    gate_call(SYS_CREATE_PORT, 0, 0, 0)
}

/// Sends the message at `msg` to `port` by copy or transfer (`crate::msg::PUT_*`).
pub fn put_msg(port: u64, msg: u64, how: u64) -> u64 {
    gate_call(SYS_PUT_MSG, port, msg, how)
}

/// Waits for a message at the caller's `port` and takes it.
pub fn wait_get(port: u64) -> u64 {
    gate_call(SYS_WAIT_PORT, port, 0, 0)
}

/// Replies a message the caller holds.
pub fn reply_msg(msg: u64) -> u64 {
    gate_call(SYS_REPLY_MSG, msg, 0, 0)
}

/// Deletes one of the caller's ports.
pub fn delete_port(port: u64) -> u64 {
    gate_call(SYS_DELETE_PORT, port, 0, 0)
}

/// Opens unit `unit` of device `name`; a handle, 0 if there is none, or ERR_BAD_POINTER.
pub fn open_device(name: &str, unit: u64) -> u64 {
    gate_call(SYS_OPEN_DEVICE, name.as_ptr() as u64, name.len() as u64, unit)
}

/// Performs the request in `io` (in the caller's memory) on an open device.
pub fn do_io(handle: u64, io: &mut crate::io::UserIo) -> u64 {
    gate_call(SYS_DO_IO, handle, io as *mut crate::io::UserIo as u64, 0)
}

/// Closes a device handle.
pub fn close_device(handle: u64) -> u64 {
    gate_call(SYS_CLOSE_DEVICE, handle, 0, 0)
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
    add_user_task_in(name, pri, entry, arg, space)
}

/// Starts `entry` in ring 3 with a block of its own memory holding `init`, whose address is
/// the task's argument (how a parent hands a ring-3 task its parameters and gets results
/// back: the kernel may read the block at any time). Result: the task and the block's
/// address, or `None` without memory.
pub fn add_user_task_with<T>(name: &str, pri: i8, entry: extern "C" fn(u64) -> !, init: T) -> Option<(*mut Task, u64)> {
    let mut space = Space::new(USER_STACK)?;
    let block = space.alloc(size_of::<T>() as u64)?;
    // SAFETY: the block is fresh exec memory of at least size_of::<T>(), page-aligned.
    unsafe { (block as *mut T).write(init) };
    let t = add_user_task_in(name, pri, entry, block, space);
    (!t.is_null()).then_some((t, block))
}

/// [`add_user_task`] in a space prepared by the caller (for example with memory allocated
/// and filled in for the task before it starts).
pub fn add_user_task_in(name: &str, pri: i8, entry: extern "C" fn(u64) -> !, arg: u64, space: Box<Space>) -> *mut Task {
    let (cr3, top) = (space.cr3(), space.stack_range.1);
    let raw = Box::into_raw(space);
    let t = exec::task::add_user_task(name, pri, entry as *const () as u64, arg as usize, top - 16, cr3, raw as usize);
    if t.is_null() {
        // SAFETY: the task never started; the space is ours again.
        drop(unsafe { Box::from_raw(raw) });
    }
    t
}
