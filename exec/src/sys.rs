//! The exec vector table: the one door into exec, as the library jump table was on the Amiga.
//!
//! Tasks call exec through the functions of this module; each calls through [`ExecVectors`],
//! which holds the implementations; `set_function` (with libraries) patches entries. In the
//! mmu build a caller in ring 3 takes the gate stub of the same name instead
//! (`exec::sys_gate`), which reaches the same implementation through the SYSCALL gate with
//! every pointer checked. The documentation of each call is on its implementation, linked below.
//!
//! The table is guarded by Forbid: entries are patched under Forbid (`set_function` on
//! [`EXEC_LIBRARY`]), and a call reads its entry with one aligned load.

use crate::device::{Device, IoRequest};
use crate::global::Global;
use crate::interrupts::Interrupt;
use crate::library::Library;
use crate::memory::MemFlags;
use crate::pool::Pool;
use crate::port::{Message, MsgPort};
use crate::semaphore::SignalSemaphore;
use crate::snapshot::{ListEntry, ListKind, SystemInfo, TaskEntry};
use crate::task::Task;

crate::vector_table! {
    /// Exec's entry points, in fixed order (the library vector offsets).
    pub struct ExecVectors in VECTORS;
    gate crate::sys_gate;
    safe fn forbid() = crate::sched::forbid;
    safe fn permit() = crate::sched::permit;
    safe fn disable() = crate::sched::disable;
    safe fn enable() = crate::sched::enable;
    safe fn add_task(name: &str, pri: i8, entry: fn(usize), arg: usize, stack_size: usize) -> *mut Task = crate::task::add_task;
    unsafe fn rem_task(task: *mut Task) = crate::task::rem_task;
    safe fn find_task(name: Option<&str>) -> *mut Task = crate::task::find_task;
    safe fn task_alive(id: u64) -> bool = crate::task::task_alive;
    unsafe fn set_task_pri(task: *mut Task, pri: i8) -> i8 = crate::task::set_task_pri;
    safe fn alloc_signal(wanted: i32) -> i32 = crate::signal::alloc_signal;
    safe fn free_signal(bit: i32) = crate::signal::free_signal;
    unsafe fn signal(task: *mut Task, mask: u32) = crate::signal::signal;
    safe fn wait(mask: u32) -> u32 = crate::signal::wait;
    safe fn set_signal(new: u32, mask: u32) -> u32 = crate::signal::set_signal;
    safe fn create_msg_port() -> *mut MsgPort = crate::port::create_msg_port;
    unsafe fn delete_msg_port(port: *mut MsgPort) = crate::port::delete_msg_port;
    safe fn create_port(name: Option<&str>, pri: i8) -> *mut MsgPort = crate::port::create_port;
    unsafe fn add_port(port: *mut MsgPort) = crate::port::add_port;
    unsafe fn rem_port(port: *mut MsgPort) = crate::port::rem_port;
    safe fn find_port(name: &str) -> *mut MsgPort = crate::port::find_port;
    unsafe fn put_msg(port: *mut MsgPort, msg: *mut Message) = crate::port::put_msg;
    unsafe fn get_msg(port: *mut MsgPort) -> *mut Message = crate::port::get_msg;
    unsafe fn reply_msg(msg: *mut Message) = crate::port::reply_msg;
    unsafe fn wait_port(port: *mut MsgPort) -> *mut Message = crate::port::wait_port;
    unsafe fn init_semaphore(sem: *mut SignalSemaphore) = crate::semaphore::init_semaphore;
    unsafe fn obtain_semaphore(sem: *mut SignalSemaphore) = crate::semaphore::obtain_semaphore;
    unsafe fn attempt_semaphore(sem: *mut SignalSemaphore) -> bool = crate::semaphore::attempt_semaphore;
    unsafe fn release_semaphore(sem: *mut SignalSemaphore) = crate::semaphore::release_semaphore;
    unsafe fn obtain_semaphore_shared(sem: *mut SignalSemaphore) = crate::semaphore::obtain_semaphore_shared;
    unsafe fn attempt_semaphore_shared(sem: *mut SignalSemaphore) -> bool = crate::semaphore::attempt_semaphore_shared;
    unsafe fn add_semaphore(sem: *mut SignalSemaphore) = crate::semaphore::add_semaphore;
    unsafe fn find_semaphore(name: &str) -> *mut SignalSemaphore = crate::semaphore::find_semaphore;
    unsafe fn rem_semaphore(sem: *mut SignalSemaphore) = crate::semaphore::rem_semaphore;
    safe fn alloc_mem(size: usize, flags: MemFlags) -> *mut u8 = crate::memory::alloc_mem;
    unsafe fn free_mem(ptr: *mut u8, size: usize) = crate::memory::free_mem;
    safe fn avail_mem(flags: MemFlags) -> usize = crate::memory::avail_mem;
    safe fn alloc_vec(size: usize, flags: MemFlags) -> *mut u8 = crate::memory::alloc_vec;
    unsafe fn free_vec(ptr: *mut u8) = crate::memory::free_vec;
    safe fn type_of_mem(ptr: *const u8) -> MemFlags = crate::memory::type_of_mem;
    safe fn create_pool(flags: MemFlags, puddle_size: usize, threshold: usize) -> *mut Pool = crate::pool::create_pool;
    unsafe fn delete_pool(pool: *mut Pool) = crate::pool::delete_pool;
    unsafe fn alloc_pooled(pool: *mut Pool, size: usize) -> *mut u8 = crate::pool::alloc_pooled;
    unsafe fn free_pooled(pool: *mut Pool, mem: *mut u8, size: usize) = crate::pool::free_pooled;
    unsafe fn add_int_server(irq: u8, int: *mut Interrupt) = crate::interrupts::add_int_server;
    unsafe fn rem_int_server(irq: u8, int: *mut Interrupt) = crate::interrupts::rem_int_server;
    unsafe fn cause(int: *mut Interrupt) = crate::interrupts::cause;
    safe fn alert(code: u32) = crate::alert::alert;
    unsafe fn add_library(lib: *mut Library) = crate::library::add_library;
    safe fn open_library(name: &str, min_version: u16) -> *mut Library = crate::library::open_library;
    unsafe fn close_library(lib: *mut Library) = crate::library::close_library;
    unsafe fn rem_library(lib: *mut Library) -> bool = crate::library::rem_library;
    unsafe fn set_function(lib: *mut Library, index: usize, new: *const ()) -> *const () = crate::library::set_function;
    unsafe fn add_device(dev: *mut Device) = crate::device::add_device;
    unsafe fn rem_device(dev: *mut Device) -> bool = crate::device::rem_device;
    unsafe fn open_device(name: &str, unit: u32, req: *mut IoRequest, flags: u32) -> i8 = crate::device::open_device;
    unsafe fn close_device(req: *mut IoRequest) = crate::device::close_device;
    unsafe fn do_io(req: *mut IoRequest) -> i8 = crate::device::do_io;
    unsafe fn send_io(req: *mut IoRequest) = crate::device::send_io;
    unsafe fn check_io(req: *mut IoRequest) -> bool = crate::device::check_io;
    unsafe fn wait_io(req: *mut IoRequest) -> i8 = crate::device::wait_io;
    unsafe fn abort_io(req: *mut IoRequest) = crate::device::abort_io;
    unsafe fn task_list(buf: *mut TaskEntry, max: usize) -> usize = crate::snapshot::task_list;
    unsafe fn node_list(kind: ListKind, buf: *mut ListEntry, max: usize) -> usize = crate::snapshot::node_list;
    unsafe fn system_info(info: *mut SystemInfo) = crate::snapshot::system_info;
    unsafe_c fn do_msg(port: *mut MsgPort, msg: *mut Message) -> *mut Message = crate::port::do_msg_entry;
    unsafe_c fn reply_wait(msg: *mut Message, port: *mut MsgPort) -> *mut Message = crate::port::reply_wait_entry;
    safe fn task_by_number(id: u64) -> *mut Task = crate::task_table::task_by_number;
    unsafe fn task_number(task: *mut Task) -> u64 = crate::task_table::task_number;
    unsafe fn port_signal(port: *mut MsgPort) -> u32 = crate::port::port_signal;
}

/// exec.library's version.
pub const EXEC_VERSION: u16 = 1;

/// exec itself as a library, so that it can be opened by name and patched with set_function
/// like any other. Forbid.
pub static EXEC_LIBRARY: Global<Library> =
    Global::new(Library::new("exec.library", EXEC_VERSION, 0, "exec 1.0 (23.11.2026)", &VECTORS));
