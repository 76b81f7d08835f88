//! The gate: exec calls from ring 3 (`syscall`), and what happens when a ring-3 task faults.
//!
//! The call number arrives in RAX, arguments in RDI, RSI, RDX, R10, R8 (numbers and stubs:
//! `exec::sys_gate`). Every pointer a task passes is an allegation: checked against the
//! caller's mappings before exec touches it; a bad one returns [`ERR_BAD_POINTER`] and is
//! counted. A call ring 3 may not make returns [`ERR_PRIVILEGED`]; an unknown number
//! [`ERR_NO_SUCH_CALL`]. Then the call reaches the same implementation as in the flat build.

use alloc::string::String;
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use exec::arch::x86_64::trap::TrapFrame;
use exec::memory::MemFlags;
use exec::task::Task;

use exec::sys_gate::*;
pub use exec::sys_gate::{ERR_BAD_POINTER, ERR_NO_SUCH_CALL, ERR_PRIVILEGED};

/// Pointers refused at the gate.
pub static BAD_ALLEGATIONS: AtomicU64 = AtomicU64::new(0);
/// Gate calls served.
pub static GATE_CALLS: AtomicU64 = AtomicU64::new(0);
/// Recoverable alerts ring-3 tasks raised themselves (exec reports and counts them as any).
pub static ALERTS_REQUESTED: AtomicU64 = AtomicU64::new(0);
/// Calls refused because ring 3 may not make them.
pub static PRIVILEGED_REFUSED: AtomicU64 = AtomicU64::new(0);
/// Ring-3 faults contained (task removed, system on), and the vector of the last one
/// ([`ALERT_VECTOR`] for a dead-end alert the task raised itself).
pub static FAULTS_CONTAINED: AtomicU64 = AtomicU64::new(0);
pub static LAST_FAULT_VECTOR: AtomicU64 = AtomicU64::new(u64::MAX);
/// What [`LAST_FAULT_VECTOR`] holds when the task ended itself with a dead-end alert.
pub const ALERT_VECTOR: u64 = 0x100;

/// Whether `t` is a live task (an allegation about a task pointer).
pub(crate) fn live_task(t: u64) -> bool {
    exec::task::is_live(t as *const Task)
}

pub(crate) fn my_space() -> Option<&'static mut crate::space::Space> {
    let me = exec::task::find_task(None);
    // SAFETY: the running task is live; its space lives with it.
    unsafe { ((*me).space as *mut crate::space::Space).as_mut() }
}

pub(crate) fn bad() -> u64 {
    BAD_ALLEGATIONS.fetch_add(1, Ordering::Relaxed);
    ERR_BAD_POINTER
}

fn counted(r: u64) -> u64 {
    if r == ERR_BAD_POINTER { bad() } else { r }
}

/// A name of `len` bytes at `at` that the caller may read, copied into the kernel; `None` if
/// the allegation fails (unreadable, longer than 64 bytes, not UTF-8).
pub(crate) fn name_arg(at: u64, len: u64) -> Option<String> {
    let s = my_space()?;
    if len > 64 || (len > 0 && !s.user_readable(at, len)) {
        return None;
    }
    // SAFETY: readable by the caller (checked), so mapped; copied before use.
    let bytes = unsafe { core::slice::from_raw_parts(at as *const u8, len as usize) };
    core::str::from_utf8(bytes).ok().map(String::from)
}

/// `n` records of `T` at `at`, if the caller may write them all (and they are aligned).
fn writable_records<T>(at: u64, n: u64) -> Option<usize> {
    let len = n.checked_mul(size_of::<T>() as u64)?;
    let ok = at % align_of::<T>() as u64 == 0 && (n == 0 || my_space()?.user_writable(at, len));
    ok.then_some(n as usize)
}

fn with_name(at: u64, len: u64, f: impl FnOnce(&str) -> u64) -> u64 {
    match name_arg(at, len) {
        Some(n) => f(&n),
        None => bad(),
    }
}

/// Serves one gate call. Runs in ring 0 on the task's kernel stack.
pub fn gate(frame: &mut TrapFrame) {
    GATE_CALLS.fetch_add(1, Ordering::Relaxed);
    let (a0, a1, a2, a3, a4) = (frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8);
    frame.rax = match frame.rax {
        SYS_FIND_SELF => exec::task::find_task(None) as u64,
        SYS_WAIT => exec::signal::wait(a0 as u32) as u64,
        SYS_SIGNAL if live_task(a0) => {
            // SAFETY: checked in the guard: a live task.
            unsafe { exec::signal::signal(a0 as *mut Task, a1 as u32) };
            0
        }
        SYS_SIGNAL => bad(),
        SYS_ALLOC_SIGNAL => exec::signal::alloc_signal(a0 as i32) as i64 as u64,
        SYS_FREE_SIGNAL => {
            exec::signal::free_signal(a0 as i32);
            0
        }
        SYS_SET_SIGNAL => exec::signal::set_signal(a0 as u32, a1 as u32) as u64,
        SYS_EXIT => {
            exec::task::rem_task(core::ptr::null_mut());
            unreachable!()
        }
        SYS_FORBID => {
            exec::sched::forbid();
            0
        }
        SYS_PERMIT => {
            // A permit without its forbid would unbalance the count: ignored.
            if exec::sched::forbid_depth() > 0 {
                exec::sched::permit();
            }
            0
        }
        SYS_FIND_TASK => with_name(a0, a1, |n| exec::task::find_task(Some(n)) as u64),
        SYS_SET_TASK_PRI => {
            if live_task(a0) { exec::task::set_task_pri(a0 as *mut Task, a1 as i8) as u8 as u64 } else { bad() }
        }
        SYS_ADD_TASK => match name_arg(a0, a1) {
            Some(n) => counted(crate::user::add_task_for_ring3(&n, a2 as i8, a3, a4)),
            None => bad(),
        },
        SYS_ALLOC_MEM => my_space().and_then(|s| s.alloc(a0)).unwrap_or(0),
        SYS_FREE_MEM => {
            let busy = crate::msg::lent_out(a0) || crate::io::in_flight_at(a0);
            if !busy && my_space().is_some_and(|s| s.free(a0)) { 0 } else { bad() }
        }
        SYS_AVAIL_MEM => exec::memory::avail_mem(MemFlags::from_bits_truncate(a0 as u32)) as u64,
        SYS_TYPE_OF_MEM => exec::memory::type_of_mem(a0 as *const u8).bits() as u64,
        SYS_CREATE_PORT => match (a1, name_arg(a0, a1)) {
            (0, _) => crate::msg::create_port(None, 0),
            (_, Some(n)) => crate::msg::create_port(Some(&n), a2 as i8),
            (_, None) => bad(),
        },
        SYS_DELETE_PORT => counted(crate::msg::delete_port(a0)),
        SYS_REM_PORT => counted(crate::msg::rem_port(a0)),
        SYS_FIND_PORT => with_name(a0, a1, |n| exec::port::find_port(n) as u64),
        SYS_PUT_MSG => counted(crate::msg::put(a0, a1, a2)),
        SYS_GET_MSG => counted(crate::msg::get(a0, crate::msg::Get::Take)),
        SYS_WAIT_PORT => {
            let how = if a1 == 1 { crate::msg::Get::WaitTake } else { crate::msg::Get::WaitPeek };
            counted(crate::msg::get(a0, how))
        }
        SYS_REPLY_MSG => counted(crate::msg::reply(a0)),
        SYS_INIT_SEMAPHORE => counted(crate::sem::init(a0)),
        SYS_OBTAIN_SEMAPHORE => counted(crate::sem::obtain(a0, a1 == 1)),
        SYS_ATTEMPT_SEMAPHORE => counted(crate::sem::attempt(a0, a1 == 1)),
        SYS_RELEASE_SEMAPHORE => counted(crate::sem::release(a0)),
        SYS_ADD_SEMAPHORE => counted(crate::sem::add(a0)),
        SYS_FIND_SEMAPHORE => with_name(a0, a1, crate::sem::find),
        SYS_REM_SEMAPHORE => counted(crate::sem::rem(a0)),
        SYS_ALERT => alert(a0 as u32),
        SYS_OPEN_LIBRARY => with_name(a0, a1, |n| crate::libs::open(n, a2 as u16)),
        SYS_CLOSE_LIBRARY => counted(crate::libs::close(a0)),
        SYS_LIBRARY_VECTOR => counted(crate::libs::vector(a0, a1)),
        SYS_OPEN_DEVICE => match name_arg(a0, a1) {
            Some(n) => counted(crate::io::open(&n, a2, a3)),
            None => bad(),
        },
        SYS_DO_IO => counted(crate::io::do_io(a0)),
        SYS_SEND_IO => counted(crate::io::send_io(a0)),
        SYS_CHECK_IO => counted(crate::io::check_io(a0)),
        SYS_WAIT_IO => counted(crate::io::wait_io(a0)),
        SYS_ABORT_IO => counted(crate::io::abort_io(a0)),
        SYS_CLOSE_DEVICE => counted(crate::io::close(a0)),
        SYS_TASK_LIST => match writable_records::<exec::snapshot::TaskEntry>(a0, a1) {
            // SAFETY: the caller's writable memory for `a1` records (checked).
            Some(n) => unsafe { exec::snapshot::task_list(a0 as *mut _, n) as u64 },
            None => bad(),
        },
        SYS_NODE_LIST => match (exec::snapshot::ListKind::from_number(a0), writable_records::<exec::snapshot::ListEntry>(a1, a2)) {
            // SAFETY: as above.
            (Some(kind), Some(n)) => unsafe { exec::snapshot::node_list(kind, a1 as *mut _, n) as u64 },
            _ => bad(),
        },
        SYS_SYSTEM_INFO => match writable_records::<exec::snapshot::SystemInfo>(a0, 1) {
            // SAFETY: as above.
            Some(_) => unsafe {
                exec::snapshot::system_info(a0 as *mut _);
                0
            },
            None => bad(),
        },
        SYS_PRIVILEGED => {
            PRIVILEGED_REFUSED.fetch_add(1, Ordering::Relaxed);
            ERR_PRIVILEGED
        }
        _ => ERR_NO_SUCH_CALL,
    };
}

/// An alert raised by a ring-3 task: a recoverable one is reported as exec reports any; a
/// dead end ends the task alone (a contained Guru). Result: 0 (recoverable).
fn alert(code: u32) -> u64 {
    if code & exec::alert::AT_DEAD_END == 0 {
        ALERTS_REQUESTED.fetch_add(1, Ordering::Relaxed);
        exec::alert::alert(code);
        return 0;
    }
    LAST_FAULT_VECTOR.store(ALERT_VECTOR, Ordering::Relaxed);
    FAULTS_CONTAINED.fetch_add(1, Ordering::Relaxed);
    let mut out = exec::console::Console;
    let me = exec::task::find_task(None);
    let _ = exec::alert::guru_box_at(&mut out, code, me as u64);
    // SAFETY: the running task is live.
    let name = unsafe { (*me).name() };
    let _ = writeln!(out, "{}\nTask: {name}\nThe task is removed; the system goes on.", exec::alert::alert_text(code));
    exec::task::rem_task(core::ptr::null_mut());
    unreachable!()
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
        crate::msg::reclaim(task, (space as *mut crate::space::Space).as_mut());
        crate::io::reclaim(task);
        crate::sem::reclaim(task);
        crate::libs::reclaim(task);
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
