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
    forbid() = crate::sched::forbid;
    permit() = crate::sched::permit;
    disable() = crate::sched::disable;
    enable() = crate::sched::enable;
    add_task(name: &str, pri: i8, entry: fn(usize), arg: usize, stack_size: usize) -> *mut Task = crate::task::add_task;
    rem_task(task: *mut Task) = crate::task::rem_task;
    find_task(name: Option<&str>) -> *mut Task = crate::task::find_task;
    set_task_pri(task: *mut Task, pri: i8) -> i8 = crate::task::set_task_pri;
    alloc_signal(wanted: i32) -> i32 = crate::signal::alloc_signal;
    free_signal(bit: i32) = crate::signal::free_signal;
    signal(task: *mut Task, mask: u32) = crate::signal::signal;
    wait(mask: u32) -> u32 = crate::signal::wait;
    set_signal(new: u32, mask: u32) -> u32 = crate::signal::set_signal;
    create_msg_port() -> *mut MsgPort = crate::port::create_msg_port;
    delete_msg_port(port: *mut MsgPort) = crate::port::delete_msg_port;
    create_port(name: Option<&str>, pri: i8) -> *mut MsgPort = crate::port::create_port;
    add_port(port: *mut MsgPort) = crate::port::add_port;
    rem_port(port: *mut MsgPort) = crate::port::rem_port;
    find_port(name: &str) -> *mut MsgPort = crate::port::find_port;
    put_msg(port: *mut MsgPort, msg: *mut Message) = crate::port::put_msg;
    get_msg(port: *mut MsgPort) -> *mut Message = crate::port::get_msg;
    reply_msg(msg: *mut Message) = crate::port::reply_msg;
    wait_port(port: *mut MsgPort) -> *mut Message = crate::port::wait_port;
    init_semaphore(sem: *mut SignalSemaphore) = crate::semaphore::init_semaphore;
    obtain_semaphore(sem: *mut SignalSemaphore) = crate::semaphore::obtain_semaphore;
    attempt_semaphore(sem: *mut SignalSemaphore) -> bool = crate::semaphore::attempt_semaphore;
    release_semaphore(sem: *mut SignalSemaphore) = crate::semaphore::release_semaphore;
    obtain_semaphore_shared(sem: *mut SignalSemaphore) = crate::semaphore::obtain_semaphore_shared;
    attempt_semaphore_shared(sem: *mut SignalSemaphore) -> bool = crate::semaphore::attempt_semaphore_shared;
    add_semaphore(sem: *mut SignalSemaphore) = crate::semaphore::add_semaphore;
    find_semaphore(name: &str) -> *mut SignalSemaphore = crate::semaphore::find_semaphore;
    rem_semaphore(sem: *mut SignalSemaphore) = crate::semaphore::rem_semaphore;
    alloc_mem(size: usize, flags: MemFlags) -> *mut u8 = crate::memory::alloc_mem;
    free_mem(ptr: *mut u8, size: usize) = crate::memory::free_mem;
    avail_mem(flags: MemFlags) -> usize = crate::memory::avail_mem;
    alloc_vec(size: usize, flags: MemFlags) -> *mut u8 = crate::memory::alloc_vec;
    free_vec(ptr: *mut u8) = crate::memory::free_vec;
    type_of_mem(ptr: *const u8) -> MemFlags = crate::memory::type_of_mem;
    create_pool(flags: MemFlags, puddle_size: usize, threshold: usize) -> *mut Pool = crate::pool::create_pool;
    delete_pool(pool: *mut Pool) = crate::pool::delete_pool;
    alloc_pooled(pool: *mut Pool, size: usize) -> *mut u8 = crate::pool::alloc_pooled;
    free_pooled(pool: *mut Pool, mem: *mut u8, size: usize) = crate::pool::free_pooled;
    add_int_server(irq: u8, int: *mut Interrupt) = crate::interrupts::add_int_server;
    rem_int_server(irq: u8, int: *mut Interrupt) = crate::interrupts::rem_int_server;
    cause(int: *mut Interrupt) = crate::interrupts::cause;
    alert(code: u32) = crate::alert::alert;
    add_library(lib: *mut Library) = crate::library::add_library;
    open_library(name: &str, min_version: u16) -> *mut Library = crate::library::open_library;
    close_library(lib: *mut Library) = crate::library::close_library;
    rem_library(lib: *mut Library) -> bool = crate::library::rem_library;
    set_function(lib: *mut Library, index: usize, new: *const ()) -> *const () = crate::library::set_function;
    add_device(dev: *mut Device) = crate::device::add_device;
    rem_device(dev: *mut Device) -> bool = crate::device::rem_device;
    open_device(name: &str, unit: u32, req: *mut IoRequest, flags: u32) -> i8 = crate::device::open_device;
    close_device(req: *mut IoRequest) = crate::device::close_device;
    do_io(req: *mut IoRequest) -> i8 = crate::device::do_io;
    send_io(req: *mut IoRequest) = crate::device::send_io;
    check_io(req: *mut IoRequest) -> bool = crate::device::check_io;
    wait_io(req: *mut IoRequest) -> i8 = crate::device::wait_io;
    abort_io(req: *mut IoRequest) = crate::device::abort_io;
    task_list(buf: *mut TaskEntry, max: usize) -> usize = crate::snapshot::task_list;
    node_list(kind: ListKind, buf: *mut ListEntry, max: usize) -> usize = crate::snapshot::node_list;
    system_info(info: *mut SystemInfo) = crate::snapshot::system_info;
}

/// exec.library's version.
pub const EXEC_VERSION: u16 = 1;

/// exec itself as a library, so that it can be opened by name and patched with set_function
/// like any other. Forbid.
pub static EXEC_LIBRARY: Global<Library> =
    Global::new(Library::new("exec.library", EXEC_VERSION, 0, "exec 1.0 (23.11.2026)", &VECTORS));
