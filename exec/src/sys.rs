//! The exec vector table: the one door into exec, as the library jump table was on the Amiga.
//!
//! Tasks call exec through the functions of this module; each calls through [`ExecVectors`],
//! which holds the implementations in the flat build. mmu-mode replaces the entries with gate
//! stubs that enter ring 0 and reach the same implementations; `set_function` (with libraries)
//! patches entries. The documentation of each call is on its implementation, linked below.
//!
//! The table is guarded by Forbid: entries are patched under Forbid, and a call reads its entry
//! with one aligned load.

use crate::execbase::Global;
use crate::interrupts::Interrupt;
use crate::memory::MemFlags;
use crate::pool::Pool;
use crate::port::{Message, MsgPort};
use crate::semaphore::SignalSemaphore;
use crate::task::Task;

macro_rules! exec_vectors {
    ($( $name:ident ( $($arg:ident : $ty:ty),* ) $(-> $ret:ty)? = $imp:path; )*) => {
        /// Exec's entry points, in fixed order (the library vector offsets).
        #[repr(C)]
        pub struct ExecVectors {
            $( pub $name: unsafe fn($($ty),*) $(-> $ret)?, )*
        }

        /// The table tasks call through. Forbid.
        pub static VECTORS: Global<ExecVectors> = Global::new(ExecVectors { $( $name: $imp, )* });

        $(
            #[doc = concat!("Calls exec's `", stringify!($name), "` through the vector table: see [`", stringify!($imp), "`].")]
            ///
            /// # Safety
            /// As the implementation's: pointers passed must be live objects of their kind.
            #[inline(always)]
            pub unsafe fn $name($($arg: $ty),*) $(-> $ret)? {
                // SAFETY: the entry is the implementation or a stand-in with its contract;
                // reading it is one aligned load (see the module docs).
                unsafe { ((*VECTORS.get()).$name)($($arg),*) }
            }
        )*
    };
}

exec_vectors! {
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
}
