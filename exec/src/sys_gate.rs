//! mmu-mode: the gate stubs behind exec's vector table, and the gate's call numbers.
//!
//! In the mmu build every exec call a task makes through [`crate::sys`] first asks which ring
//! it runs in (one read of CS). A ring-0 task (devices' tasks, the shell, interrupt code) goes
//! on through the vector table as in the flat build. A ring-3 task goes through the stub of the
//! same name here: its arguments go into registers, `syscall` enters the gate, and mmu-mode's
//! gate checks every pointer (an *allegation*) against the caller's mappings before it reaches
//! the same implementation. A library call from ring 3 asks the gate for the vector (the
//! library must be open to the caller) and runs the library's code in the caller's ring.
//!
//! What a ring-3 task may not do (add an interrupt server, a library or a device, patch a
//! vector, end another task) is refused and counted by the gate; such calls return null, false
//! or nothing. `disable`/`enable` from ring 3 act as `forbid`/`permit`: a task cannot mask
//! interrupts. Pools are not available in ring 3 (`create_pool` returns null).
//!
//! Errors come back as [`ERR_BAD_POINTER`] (a refused allegation), [`ERR_PRIVILEGED`] or
//! [`ERR_NO_SUCH_CALL`]; the stubs turn them into the typed call's "nothing" (null, false, -1).

use crate::arch::x86_64::usermode::gate_call5 as call;
use crate::device::IoRequest;
use crate::interrupts::Interrupt;
use crate::library::Library;
use crate::memory::MemFlags;
use crate::pool::Pool;
use crate::port::{Message, MsgPort};
use crate::semaphore::SignalSemaphore;
use crate::snapshot::{ListEntry, ListKind, SystemInfo, TaskEntry};
use crate::task::Task;

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
pub const SYS_FREE_SIGNAL: u64 = 16;
pub const SYS_SET_SIGNAL: u64 = 17;
pub const SYS_FORBID: u64 = 18;
pub const SYS_PERMIT: u64 = 19;
pub const SYS_FIND_TASK: u64 = 20;
pub const SYS_SET_TASK_PRI: u64 = 21;
pub const SYS_ADD_TASK: u64 = 22;
pub const SYS_FIND_PORT: u64 = 23;
pub const SYS_REM_PORT: u64 = 24;
pub const SYS_INIT_SEMAPHORE: u64 = 25;
pub const SYS_OBTAIN_SEMAPHORE: u64 = 26;
pub const SYS_ATTEMPT_SEMAPHORE: u64 = 27;
pub const SYS_RELEASE_SEMAPHORE: u64 = 28;
pub const SYS_ADD_SEMAPHORE: u64 = 29;
pub const SYS_FIND_SEMAPHORE: u64 = 30;
pub const SYS_REM_SEMAPHORE: u64 = 31;
pub const SYS_AVAIL_MEM: u64 = 32;
pub const SYS_TYPE_OF_MEM: u64 = 33;
pub const SYS_ALERT: u64 = 34;
pub const SYS_OPEN_LIBRARY: u64 = 35;
pub const SYS_CLOSE_LIBRARY: u64 = 36;
pub const SYS_LIBRARY_VECTOR: u64 = 37;
pub const SYS_SEND_IO: u64 = 38;
pub const SYS_CHECK_IO: u64 = 39;
pub const SYS_WAIT_IO: u64 = 40;
pub const SYS_ABORT_IO: u64 = 41;
/// A call ring 3 may not make (the argument is its name's address, for the record).
pub const SYS_PRIVILEGED: u64 = 42;
pub const SYS_TASK_LIST: u64 = 43;
pub const SYS_NODE_LIST: u64 = 44;
pub const SYS_SYSTEM_INFO: u64 = 45;
/// One past the last call number.
pub const SYS_CALLS: u64 = 46;

/// The gate refused a pointer or handle (an allegation that did not hold).
pub const ERR_BAD_POINTER: u64 = u64::MAX - 1;
/// The call is not open to ring 3.
pub const ERR_PRIVILEGED: u64 = u64::MAX - 2;
/// There is no call with that number.
pub const ERR_NO_SUCH_CALL: u64 = u64::MAX;

/// Whether a result is one of the gate's errors.
pub fn is_error(r: u64) -> bool {
    r >= ERR_PRIVILEGED
}

fn ptr<T>(r: u64) -> *mut T {
    if is_error(r) { core::ptr::null_mut() } else { r as *mut T }
}

fn name(s: &str) -> (u64, u64) {
    (s.as_ptr() as u64, s.len() as u64)
}

fn refused(call_name: &'static str) {
    call(SYS_PRIVILEGED, call_name.as_ptr() as u64, call_name.len() as u64, 0, 0, 0);
}

/// Whether the caller runs in ring 3 (the one test every exec call makes in the mmu build).
#[inline(always)]
pub fn in_ring3() -> bool {
    crate::arch::x86_64::cpu::in_ring3()
}

/// The vector `index` of the library whose table is at `table`, for a ring-3 caller that has
/// the library open; a call through an unopened library is a dead-end alert (the task is
/// removed).
pub fn library_vector(table: usize, index: usize) -> usize {
    let f = call(SYS_LIBRARY_VECTOR, table as u64, index as u64, 0, 0, 0);
    if is_error(f) {
        alert(crate::alert::AN_LIB_NOT_OPEN);
    }
    f as usize
}

// The stubs, in the table's order. Each has the contract of the implementation it stands for.

pub fn forbid() {
    call(SYS_FORBID, 0, 0, 0, 0, 0);
}
pub fn permit() {
    call(SYS_PERMIT, 0, 0, 0, 0, 0);
}
pub fn disable() {
    forbid();
}
pub fn enable() {
    permit();
}
pub fn add_task(n: &str, pri: i8, entry: fn(usize), arg: usize, _stack_size: usize) -> *mut Task {
    let (p, l) = name(n);
    ptr(call(SYS_ADD_TASK, p, l, pri as u64, entry as usize as u64, arg as u64))
}
pub fn rem_task(task: *mut Task) {
    if task.is_null() || task as u64 == call(SYS_FIND_SELF, 0, 0, 0, 0, 0) {
        call(SYS_EXIT, 0, 0, 0, 0, 0);
    }
    refused("rem_task");
}
pub fn find_task(n: Option<&str>) -> *mut Task {
    match n {
        None => ptr(call(SYS_FIND_SELF, 0, 0, 0, 0, 0)),
        Some(n) => {
            let (p, l) = name(n);
            ptr(call(SYS_FIND_TASK, p, l, 0, 0, 0))
        }
    }
}
pub fn set_task_pri(task: *mut Task, pri: i8) -> i8 {
    call(SYS_SET_TASK_PRI, task as u64, pri as u64, 0, 0, 0) as i8
}
pub fn alloc_signal(wanted: i32) -> i32 {
    call(SYS_ALLOC_SIGNAL, wanted as u64, 0, 0, 0, 0) as i32
}
pub fn free_signal(bit: i32) {
    call(SYS_FREE_SIGNAL, bit as u64, 0, 0, 0, 0);
}
pub fn signal(task: *mut Task, mask: u32) {
    call(SYS_SIGNAL, task as u64, mask as u64, 0, 0, 0);
}
pub fn wait(mask: u32) -> u32 {
    call(SYS_WAIT, mask as u64, 0, 0, 0, 0) as u32
}
pub fn set_signal(new: u32, mask: u32) -> u32 {
    call(SYS_SET_SIGNAL, new as u64, mask as u64, 0, 0, 0) as u32
}
pub fn create_msg_port() -> *mut MsgPort {
    ptr(call(SYS_CREATE_PORT, 0, 0, 0, 0, 0))
}
pub fn create_port(n: Option<&str>, pri: i8) -> *mut MsgPort {
    let (p, l) = n.map_or((0, 0), name);
    ptr(call(SYS_CREATE_PORT, p, l, pri as u64, 0, 0))
}
pub fn delete_msg_port(port: *mut MsgPort) {
    call(SYS_DELETE_PORT, port as u64, 0, 0, 0, 0);
}
/// In ring 3 a port's name cannot be set in the port (the port is exec's, not the task's):
/// a ring-3 task names its port with `create_port`; add_port is refused.
pub fn add_port(_port: *mut MsgPort) {
    refused("add_port");
}
pub fn rem_port(port: *mut MsgPort) {
    call(SYS_REM_PORT, port as u64, 0, 0, 0, 0);
}
pub fn find_port(n: &str) -> *mut MsgPort {
    let (p, l) = name(n);
    ptr(call(SYS_FIND_PORT, p, l, 0, 0, 0))
}
/// Sent by transfer when the message is a whole block from alloc_mem, else by copy.
pub fn put_msg(port: *mut MsgPort, msg: *mut Message) {
    call(SYS_PUT_MSG, port as u64, msg as u64, PUT_AUTO, 0, 0);
}
pub fn get_msg(port: *mut MsgPort) -> *mut Message {
    ptr(call(SYS_GET_MSG, port as u64, 0, 0, 0, 0))
}
pub fn reply_msg(msg: *mut Message) {
    call(SYS_REPLY_MSG, msg as u64, 0, 0, 0, 0);
}
pub fn wait_port(port: *mut MsgPort) -> *mut Message {
    // exec's wait_port leaves the message queued; so does the gate's (second argument 0:
    // look, do not take).
    ptr(call(SYS_WAIT_PORT, port as u64, 0, 0, 0, 0))
}
pub fn init_semaphore(sem: *mut SignalSemaphore) {
    call(SYS_INIT_SEMAPHORE, sem as u64, 0, 0, 0, 0);
}
pub fn obtain_semaphore(sem: *mut SignalSemaphore) {
    call(SYS_OBTAIN_SEMAPHORE, sem as u64, 0, 0, 0, 0);
}
pub fn attempt_semaphore(sem: *mut SignalSemaphore) -> bool {
    call(SYS_ATTEMPT_SEMAPHORE, sem as u64, 0, 0, 0, 0) == 1
}
pub fn release_semaphore(sem: *mut SignalSemaphore) {
    call(SYS_RELEASE_SEMAPHORE, sem as u64, 0, 0, 0, 0);
}
pub fn obtain_semaphore_shared(sem: *mut SignalSemaphore) {
    call(SYS_OBTAIN_SEMAPHORE, sem as u64, 1, 0, 0, 0);
}
pub fn attempt_semaphore_shared(sem: *mut SignalSemaphore) -> bool {
    call(SYS_ATTEMPT_SEMAPHORE, sem as u64, 1, 0, 0, 0) == 1
}
pub fn add_semaphore(sem: *mut SignalSemaphore) {
    call(SYS_ADD_SEMAPHORE, sem as u64, 0, 0, 0, 0);
}
pub fn find_semaphore(n: &str) -> *mut SignalSemaphore {
    let (p, l) = name(n);
    ptr(call(SYS_FIND_SEMAPHORE, p, l, 0, 0, 0))
}
pub fn rem_semaphore(sem: *mut SignalSemaphore) {
    call(SYS_REM_SEMAPHORE, sem as u64, 0, 0, 0, 0);
}
pub fn alloc_mem(size: usize, flags: MemFlags) -> *mut u8 {
    // Gate memory is whole pages, always cleared, whatever `flags` ask.
    let _ = flags;
    ptr(call(SYS_ALLOC_MEM, size as u64, 0, 0, 0, 0))
}
pub fn free_mem(p: *mut u8, _size: usize) {
    call(SYS_FREE_MEM, p as u64, 0, 0, 0, 0);
}
pub fn avail_mem(flags: MemFlags) -> usize {
    call(SYS_AVAIL_MEM, flags.bits() as u64, 0, 0, 0, 0) as usize
}
pub fn alloc_vec(size: usize, flags: MemFlags) -> *mut u8 {
    alloc_mem(size, flags)
}
pub fn free_vec(p: *mut u8) {
    free_mem(p, 0);
}
pub fn type_of_mem(p: *const u8) -> MemFlags {
    MemFlags::from_bits_truncate(call(SYS_TYPE_OF_MEM, p as u64, 0, 0, 0, 0) as u32)
}
pub fn create_pool(_flags: MemFlags, _puddle_size: usize, _threshold: usize) -> *mut Pool {
    refused("create_pool");
    core::ptr::null_mut()
}
pub fn delete_pool(_pool: *mut Pool) {
    refused("delete_pool");
}
pub fn alloc_pooled(_pool: *mut Pool, _size: usize) -> *mut u8 {
    refused("alloc_pooled");
    core::ptr::null_mut()
}
pub fn free_pooled(_pool: *mut Pool, _mem: *mut u8, _size: usize) {
    refused("free_pooled");
}
pub fn add_int_server(_irq: u8, _int: *mut Interrupt) {
    refused("add_int_server");
}
pub fn rem_int_server(_irq: u8, _int: *mut Interrupt) {
    refused("rem_int_server");
}
pub fn cause(_int: *mut Interrupt) {
    refused("cause");
}
/// A dead-end code ends the calling task (a contained Guru); a recoverable one is reported.
pub fn alert(code: u32) {
    call(SYS_ALERT, code as u64, 0, 0, 0, 0);
}
pub fn add_library(_lib: *mut Library) {
    refused("add_library");
}
pub fn open_library(n: &str, min_version: u16) -> *mut Library {
    let (p, l) = name(n);
    ptr(call(SYS_OPEN_LIBRARY, p, l, min_version as u64, 0, 0))
}
pub fn close_library(lib: *mut Library) {
    call(SYS_CLOSE_LIBRARY, lib as u64, 0, 0, 0, 0);
}
pub fn rem_library(_lib: *mut Library) -> bool {
    refused("rem_library");
    false
}
pub fn set_function(_lib: *mut Library, _index: usize, _new: *const ()) -> *const () {
    refused("set_function");
    core::ptr::null()
}
pub fn add_device(_dev: *mut crate::device::Device) {
    refused("add_device");
}
pub fn rem_device(_dev: *mut crate::device::Device) -> bool {
    refused("rem_device");
    false
}
/// The request lives in the caller's memory; the gate keeps exec's own copy of it and copies
/// the caller's fields in and the results out at each call.
pub fn open_device(n: &str, unit: u32, req: *mut IoRequest, _flags: u32) -> i8 {
    let (p, l) = name(n);
    let r = call(SYS_OPEN_DEVICE, p, l, unit as u64, req as u64, 0);
    if is_error(r) { crate::device::IOERR_OPENFAIL } else { r as i8 }
}
pub fn close_device(req: *mut IoRequest) {
    call(SYS_CLOSE_DEVICE, req as u64, 0, 0, 0, 0);
}
pub fn do_io(req: *mut IoRequest) -> i8 {
    let r = call(SYS_DO_IO, req as u64, 0, 0, 0, 0);
    if is_error(r) { crate::device::IOERR_BADADDRESS } else { r as i8 }
}
pub fn send_io(req: *mut IoRequest) {
    call(SYS_SEND_IO, req as u64, 0, 0, 0, 0);
}
pub fn check_io(req: *mut IoRequest) -> bool {
    call(SYS_CHECK_IO, req as u64, 0, 0, 0, 0) == 1
}
pub fn wait_io(req: *mut IoRequest) -> i8 {
    let r = call(SYS_WAIT_IO, req as u64, 0, 0, 0, 0);
    if is_error(r) { crate::device::IOERR_BADADDRESS } else { r as i8 }
}
pub fn abort_io(req: *mut IoRequest) {
    call(SYS_ABORT_IO, req as u64, 0, 0, 0, 0);
}
pub fn task_list(buf: *mut TaskEntry, max: usize) -> usize {
    let r = call(SYS_TASK_LIST, buf as u64, max as u64, 0, 0, 0);
    if is_error(r) { 0 } else { r as usize }
}
pub fn node_list(kind: ListKind, buf: *mut ListEntry, max: usize) -> usize {
    let r = call(SYS_NODE_LIST, kind as u64, buf as u64, max as u64, 0, 0);
    if is_error(r) { 0 } else { r as usize }
}
/// Left as it was when the gate refuses `info`.
pub fn system_info(info: *mut SystemInfo) {
    call(SYS_SYSTEM_INFO, info as u64, 0, 0, 0, 0);
}

/// put_msg's ways: by copy, by page transfer, or transfer when the message is a whole block
/// the caller allocated (else copy).
pub const PUT_COPY: u64 = 0;
pub const PUT_TRANSFER: u64 = 1;
pub const PUT_AUTO: u64 = 2;
