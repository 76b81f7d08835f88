//! The gate: exec calls from ring 3 (`syscall`), and what happens when a ring-3 task faults.
//!
//! The call number arrives in RAX, arguments in RDI, RSI, RDX, R10, R8 (numbers, errors and
//! stubs: `exec::sys_gate`). Every pointer a task passes is an allegation: checked against the
//! caller's mappings before exec touches it; a bad one is refused with
//! [`GateError::BadPointer`] and counted. A call ring 3 may not make is refused with
//! [`GateError::Privileged`]; an unknown number with [`GateError::NoSuchCall`]. Then the call
//! reaches the same implementation as in the flat build.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use exec::arch::x86_64::trap::TrapFrame;
use exec::memory::MemFlags;
use exec::sched::{forbid, permit};
use exec::task::Task;

use crate::uaccess::UserWrite;

use exec::sys_gate::GateError::BadPointer;
use exec::sys_gate::{Call, GateError, GateResult, encode};
pub use exec::sys_gate::{ERR_BAD_POINTER, ERR_NO_SUCH_CALL, ERR_PRIVILEGED};

/// Pointers refused at the gate.
pub static BAD_ALLEGATIONS: AtomicU64 = AtomicU64::new(0);
/// Gate calls served (exec's event counter).
pub use exec::events::GATE_CALLS;
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

/// The number ring 3 knows `t` by (0 for none): ring 3 names tasks by number, never by
/// address (see `exec::task_table`). `t` is the caller, or Forbid is held since it was found
/// (see [`under_forbid`]).
fn number_of(t: *mut Task) -> u64 {
    // SAFETY: the caller, or found under the caller's Forbid: live.
    if t.is_null() { 0 } else { unsafe { (*t).id() } }
}

/// `f` under Forbid: no other task runs until it is done, so a task it finds or starts cannot
/// end meanwhile, and a space it changes (blocks, loans, page tables) is changed by no one else.
pub(crate) fn under_forbid<R>(f: impl FnOnce() -> R) -> R {
    forbid();
    let r = f();
    permit();
    r
}

/// The calling task's address space (none for a ring-0 task).
///
/// # Safety
/// No other reference to the caller's space is alive while the result is used (take it, use
/// it, let it go before taking another, as each gate call does).
pub(crate) unsafe fn my_space<'a>() -> Option<&'a mut crate::space::Space> {
    let me = exec::task::find_task(None);
    // SAFETY: the running task is live; its space lives with it; unique per the contract.
    unsafe { ((*me).space() as *mut crate::space::Space).as_mut() }
}

/// The task numbered `id`, if the calling ring-3 task may do `what` to it: the number must
/// name a live task (found in O(1); a stale or forged number, or an address, is refused as a
/// bad pointer) within the caller's authority (see `policy`; else refused as privileged).
/// Forbid held, until the caller is done with the task.
fn reach(id: u64, what: crate::policy::Reach) -> Result<*mut Task, GateError> {
    let t = exec::task::task_by_number(id);
    if t.is_null() {
        return Err(BadPointer);
    }
    let me = exec::task::find_task(None);
    // SAFETY: the caller is the running task, `t` a live task (just found, and the caller
    // holds Forbid, so that nothing ends it meanwhile); policies are the kernel's.
    let ok = unsafe { crate::space::policy_of(me).is_some_and(|p| crate::policy::may_reach(me, p, t, what)) };
    if ok { Ok(t) } else { Err(GateError::Privileged) }
}

/// A name of `len` bytes at `at` that the caller may read, copied into the kernel; `None` if
/// the allegation fails (unreadable, longer than 64 bytes, not UTF-8).
pub(crate) fn name_arg(at: u64, len: u64) -> Option<String> {
    // SAFETY: the only reference during this call.
    let s = unsafe { my_space() }?;
    if len > 64 {
        return None;
    }
    let mut bytes = [0u8; 64];
    let bytes = &mut bytes[..len as usize];
    if len > 0 {
        s.readable(at, len)?.read_into(0, bytes);
    }
    core::str::from_utf8(bytes).ok().map(String::from)
}

/// The most records one TaskList or NodeList call copies out (they are made in the kernel
/// first, so the kernel heap bounds them).
pub const RECORDS_MAX: u64 = 256;

/// `n` records of `T` at `at` (at most [`RECORDS_MAX`] of them are written), if the caller may
/// write them all.
fn writable_records<T>(at: u64, n: u64) -> Result<UserWrite, GateError> {
    let len = n.checked_mul(size_of::<T>() as u64).ok_or(BadPointer)?;
    // SAFETY: the only reference during this call.
    unsafe { my_space() }.and_then(|s| s.writable(at, len)).ok_or(BadPointer)
}

/// Fills up to `n` records of `T` (at most [`RECORDS_MAX`]) in kernel memory with `fill`,
/// which says how many there are in all, and copies those made to `to`. Result: how many
/// there are in all, counted up to [`RECORDS_MAX`] (so that a caller that asks again with room
/// for all gets every one it is told of).
fn records_out<T: Copy>(to: UserWrite, n: u64, fill: impl FnOnce(*mut T, usize) -> usize) -> u64 {
    let room = n.min(RECORDS_MAX) as usize;
    let mut buf: Vec<core::mem::MaybeUninit<T>> = Vec::with_capacity(room);
    // Zeroed first: the records' padding must not carry old kernel-heap bytes out.
    // SAFETY: the buffer has room for `room` records.
    unsafe { core::ptr::write_bytes(buf.as_mut_ptr(), 0, room) };
    let all = fill(buf.as_mut_ptr() as *mut T, room).min(RECORDS_MAX as usize);
    let made = all.min(room);
    // SAFETY: `fill` wrote the first `made` records; they are copied out as bytes.
    unsafe { to.copy_from_kernel(0, buf.as_ptr() as *const u8, (made * size_of::<T>()) as u64) };
    all as u64
}

fn with_name(at: u64, len: u64, f: impl FnOnce(&str) -> GateResult) -> GateResult {
    f(&name_arg(at, len).ok_or(BadPointer)?)
}

/// Serves one gate call: the number in RAX is converted once, the result (or the refusal,
/// counted in [`refused`]) encoded into RAX. Runs in ring 0 on the task's kernel stack.
pub fn gate(frame: &mut TrapFrame) {
    GATE_CALLS.fetch_add(1, Ordering::Relaxed);
    let args = [frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8];
    frame.rax = match Call::try_from(frame.rax) {
        Ok(c) => serve(c, args),
        Err(e) => refused(e),
    };
    // A task that holds its own Forbid past its bound goes here too: the ticks of a long call
    // fall in the kernel now (its copies let interrupts in), where the trap path does not judge.
    if exec::sched::forbid_depth() > 0 && exec::sched::forbid_overrun() {
        forbid_overrun(frame);
    }
}

/// A refusal as it goes back in RAX, counted.
#[cold]
#[inline(never)]
fn refused(e: GateError) -> u64 {
    match e {
        BadPointer => BAD_ALLEGATIONS.fetch_add(1, Ordering::Relaxed),
        GateError::Privileged => PRIVILEGED_REFUSED.fetch_add(1, Ordering::Relaxed),
        GateError::NoSuchCall => 0,
    };
    encode(Err(e))
}

/// A call's result as it goes back in RAX: the value, or the refusal counted. Every arm of
/// [`serve`] ends in a plain `u64`, so that the simple calls pass their value in a register.
#[inline(always)]
fn counted(r: GateResult) -> u64 {
    match r {
        Ok(v) => v,
        Err(e) => refused(e),
    }
}

/// Serves gate call `c` with its five argument registers: its result, or its refusal encoded.
fn serve(c: Call, [a0, a1, a2, a3, a4]: [u64; 5]) -> u64 {
    match c {
        Call::FindSelf => number_of(exec::task::find_task(None)),
        Call::TaskAlive => exec::task::task_alive(a0) as u64,
        Call::Wait => exec::signal::wait(a0 as u32) as u64,
        Call::Signal => counted(signal_task(a0, a1 as u32)),
        // A failure (-1) crosses as 0xffff_ffff, below the error codes.
        Call::AllocSignal => exec::signal::alloc_signal(a0 as i32) as u32 as u64,
        Call::FreeSignal => {
            exec::signal::free_signal(a0 as i32);
            0
        }
        Call::SetSignal => exec::signal::set_signal(a0 as u32, a1 as u32) as u64,
        Call::Exit => {
            // SAFETY: null removes the caller itself.
            unsafe { exec::task::rem_task(core::ptr::null_mut()) };
            unreachable!()
        }
        Call::Forbid => {
            if exec::sched::forbid_depth() == 0 {
                exec::sched::start_forbid_watch();
            }
            forbid();
            exec::sched::note_own_forbid(true);
            0
        }
        Call::Permit => {
            // A permit without its forbid would unbalance the count: ignored.
            if exec::sched::forbid_depth() > 0 {
                exec::sched::note_own_forbid(false);
                exec::sched::permit();
            }
            0
        }
        Call::FindTask => counted(find_task(a0, a1)),
        Call::SetTaskPri => counted(set_pri(a0, a1 as i8)),
        Call::AddTask => counted(add_task(a0, a1, a2, a3, a4)),
        Call::AllocMem => alloc_mem(a0),
        Call::FreeMem => counted(free_mem(a0)),
        Call::AvailMem => exec::memory::avail_mem(MemFlags::from_bits_truncate(a0 as u32)) as u64,
        Call::TypeOfMem => exec::memory::type_of_mem(a0 as *const u8).bits() as u64,
        Call::CreatePort => counted(create_port(a0, a1, a2)),
        Call::DeletePort => counted(crate::msg::delete_port(a0)),
        Call::PortSignal => counted(crate::msg::port_signal(a0)),
        Call::RemPort => counted(crate::msg::rem_port(a0)),
        Call::FindPort => counted(with_name(a0, a1, crate::msg::find_port)),
        Call::PutMsg => counted(crate::msg::put(a0, a1, a2)),
        Call::GetMsg => counted(crate::msg::get(a0, crate::msg::Get::Take)),
        Call::WaitPort => {
            let how = if a1 == 1 { crate::msg::Get::WaitTake } else { crate::msg::Get::WaitPeek };
            counted(crate::msg::get(a0, how))
        }
        Call::ReplyMsg => counted(crate::msg::reply(a0)),
        Call::DoMsg => counted(crate::msg::do_msg(a0, a1, a2)),
        Call::ReplyWait => counted(crate::msg::reply_wait(a0, a1)),
        Call::MsgRead => counted(crate::msg::msg_read(a0, a1, a2, a3, a4)),
        Call::MsgWrite => counted(crate::msg::msg_write(a0, a1, a2, a3, a4)),
        Call::InitSemaphore => counted(crate::sem::init(a0)),
        Call::ObtainSemaphore => counted(crate::sem::obtain(a0, a1 == 1)),
        Call::AttemptSemaphore => counted(crate::sem::attempt(a0, a1 == 1)),
        Call::ReleaseSemaphore => counted(crate::sem::release(a0)),
        Call::AddSemaphore => counted(crate::sem::add(a0)),
        Call::FindSemaphore => counted(with_name(a0, a1, crate::sem::find)),
        Call::RemSemaphore => counted(crate::sem::rem(a0)),
        Call::Alert => alert(a0 as u32),
        Call::OpenLibrary => counted(with_name(a0, a1, |n| crate::libs::open(n, a2 as u16))),
        Call::CloseLibrary => counted(crate::libs::close(a0)),
        Call::LibraryVector => counted(crate::libs::vector(a0, a1)),
        Call::OpenDevice => counted(open_device(a0, a1, a2, a3)),
        Call::DoIo => counted(crate::io::do_io(a0)),
        Call::SendIo => counted(crate::io::send_io(a0)),
        Call::CheckIo => counted(crate::io::check_io(a0)),
        Call::WaitIo => counted(crate::io::wait_io(a0)),
        Call::AbortIo => counted(crate::io::abort_io(a0)),
        Call::CloseDevice => counted(crate::io::close(a0)),
        Call::TaskList => counted(task_list(a0, a1)),
        Call::NodeList => counted(node_list(a0, a1, a2)),
        Call::SystemInfo => counted(system_info(a0)),
        Call::Panic => panicked(a0, a1),
        Call::Privileged => refused(GateError::Privileged),
    }
}

/// AllocMem: `len` bytes of whole pages of the caller's own, or 0. Under Forbid: other tasks'
/// puts and replies change this space too (a copy block for it, the loans on its blocks), each
/// under Forbid; and an exec call inside may have turned interrupts on. Out of line, as are
/// the other calls with more than a call or two in them: the gate's own frame stays small.
#[inline(never)]
fn alloc_mem(len: u64) -> u64 {
    // SAFETY: the only reference during this call.
    under_forbid(|| unsafe { my_space() }.and_then(|s| s.alloc(len)).unwrap_or(0))
}

/// FreeMem: a block lent in a message, or pinned by a device request, is refused by the space
/// itself.
#[inline(never)]
fn free_mem(at: u64) -> GateResult {
    // SAFETY: the only reference during this call.
    if !under_forbid(|| unsafe { my_space() }.is_some_and(|s| s.free(at))) {
        return Err(BadPointer);
    }
    Ok(0)
}

/// CreatePort: unnamed (`len` 0), or named by the `len` bytes at `at` with priority `pri`.
#[inline(never)]
fn create_port(at: u64, len: u64, pri: u64) -> GateResult {
    match len {
        0 => crate::msg::create_port(None, 0),
        _ => crate::msg::create_port(Some(&name_arg(at, len).ok_or(BadPointer)?), pri as i8),
    }
}

/// OpenDevice: the device named by the `len` bytes at `at`, `unit`, the task's request at `req`.
#[inline(never)]
fn open_device(at: u64, len: u64, unit: u64, req: u64) -> GateResult {
    crate::io::open(&name_arg(at, len).ok_or(BadPointer)?, unit, req)
}

/// TaskList: up to `n` task records into the caller's memory at `at`; how many there are.
#[inline(never)]
fn task_list(at: u64, n: u64) -> GateResult {
    let to = writable_records::<exec::snapshot::TaskEntry>(at, n)?;
    // SAFETY: a kernel buffer with room for `room` records.
    Ok(records_out(to, n, |buf, room| unsafe { exec::snapshot::task_list(buf, room) }))
}

/// NodeList: up to `n` records of exec's list `kind` into the caller's memory at `at`; how
/// many there are.
#[inline(never)]
fn node_list(kind: u64, at: u64, n: u64) -> GateResult {
    let kind = exec::snapshot::ListKind::from_number(kind).ok_or(BadPointer)?;
    let to = writable_records::<exec::snapshot::ListEntry>(at, n)?;
    // SAFETY: a kernel buffer with room for `room` records.
    Ok(records_out(to, n, |buf, room| unsafe { exec::snapshot::node_list(kind, buf, room) }))
}

/// SystemInfo: the system's figures into the caller's memory at `at`.
#[inline(never)]
fn system_info(at: u64) -> GateResult {
    let to = writable_records::<exec::snapshot::SystemInfo>(at, 1)?;
    // SAFETY: a kernel buffer with room for one record.
    records_out(to, 1, |buf, _| unsafe {
        exec::snapshot::system_info(buf);
        1
    });
    Ok(0)
}

/// FindTask: the number of the task named by the `len` bytes at `at` (0: none), read before
/// the task can end.
#[inline(never)]
fn find_task(at: u64, len: u64) -> GateResult {
    with_name(at, len, |n| Ok(under_forbid(|| number_of(exec::task::find_task(Some(n))))))
}

/// AddTask: the name at `at` (`len` bytes), the priority in the low byte of `pri_stack` and
/// the stack size in KiB above it, the entry and its argument. Result: the child's number,
/// read before it can run (and end).
#[inline(never)]
fn add_task(at: u64, len: u64, pri_stack: u64, entry: u64, arg: u64) -> GateResult {
    let name = name_arg(at, len).ok_or(BadPointer)?;
    under_forbid(|| crate::user::add_task_for_ring3(&name, pri_stack as u8 as i8, (pri_stack >> 8).saturating_mul(1024), entry, arg).map(number_of))
}

/// Signal: the task numbered `id`, found and signalled under one Forbid (it cannot end in
/// between). Out of line, as are the other task calls, to keep the message calls' path lean.
#[inline(never)]
fn signal_task(id: u64, mask: u32) -> GateResult {
    under_forbid(|| {
        let t = reach(id, crate::policy::Reach::Signal)?;
        // SAFETY: a live task (found by `reach`, Forbid held since).
        unsafe { exec::signal::signal(t, mask) };
        Ok(0)
    })
}

/// SetTaskPri: the task numbered `id` to `pri`, held to its ceiling, under one Forbid.
/// Result: its old priority.
#[inline(never)]
fn set_pri(id: u64, pri: i8) -> GateResult {
    under_forbid(|| {
        let target = reach(id, crate::policy::Reach::Priority)?;
        // SAFETY: a live task (found by `reach`, Forbid held since); its policy is the kernel's.
        let ceiling = unsafe { crate::space::policy_of(target) }.map_or(i8::MAX, |p| p.ceiling);
        // SAFETY: as above.
        Ok(unsafe { exec::task::set_task_pri(target, pri.min(ceiling)) } as u8 as u64)
    })
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
    // SAFETY: null removes the caller itself.
    unsafe { exec::task::rem_task(core::ptr::null_mut()) };
    unreachable!()
}

/// A ring-3 task panicked: its Guru Meditation shows the message it passed (what panicked,
/// where; unreadable or overlong text is replaced), and it is removed. Does not return.
fn panicked(at: u64, len: u64) -> ! {
    // SAFETY: the only reference to the caller's space during this check.
    let range = if len <= exec::alert::PANIC_TEXT_MAX as u64 { unsafe { my_space() }.and_then(|s| s.readable(at, len)) } else { None };
    let text = match range {
        Some(r) => {
            let mut bytes = alloc::vec![0u8; len as usize];
            r.read_into(0, &mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        }
        None => String::from("(no readable message)"),
    };
    LAST_FAULT_VECTOR.store(ALERT_VECTOR, Ordering::Relaxed);
    FAULTS_CONTAINED.fetch_add(1, Ordering::Relaxed);
    let mut out = exec::console::Console;
    let me = exec::task::find_task(None);
    let _ = exec::alert::guru_box_at(&mut out, exec::alert::AN_PANIC, me as u64);
    // SAFETY: the running task is live.
    let name = unsafe { (*me).name() };
    let _ = writeln!(out, "Task panicked {text}\nTask: {name}\nThe task is removed; the system goes on.");
    // SAFETY: null removes the caller itself.
    unsafe { exec::task::rem_task(core::ptr::null_mut()) };
    unreachable!()
}

/// Ring-3 tasks removed for holding Forbid (or Disable) past their bound.
pub static FORBID_OVERRUNS: AtomicU64 = AtomicU64::new(0);

/// A ring-3 task held Forbid past `exec::sched::RING3_FORBID_TICKS` (found by the tick, the
/// task interrupted in ring 3 at `frame`): a Guru Meditation names it and it is removed; the
/// others run again. Does not return.
pub fn forbid_overrun(_frame: &mut TrapFrame) {
    FORBID_OVERRUNS.fetch_add(1, Ordering::Relaxed);
    alert(exec::alert::AN_FORBID_HELD);
}

/// A CPU exception in ring 3: the Guru Meditation names the task, which is removed; the
/// system goes on. Does not return.
pub fn user_fault(frame: &mut TrapFrame) {
    let cr2 = if frame.vector == 14 { exec::arch::x86_64::cpu::cr2() } else { 0 };
    let report = exec::alert::Report::of_exception(frame, cr2);
    LAST_FAULT_VECTOR.store(frame.vector, Ordering::Relaxed);
    FAULTS_CONTAINED.fetch_add(1, Ordering::Relaxed);
    let mut out = exec::console::Console;
    let _ = write!(out, "{}", report.as_str());
    let _ = writeln!(out, "The task is removed; the system goes on.");
    // SAFETY: null removes the caller itself.
    unsafe { exec::task::rem_task(core::ptr::null_mut()) };
}

/// Frees a task's address space (task end). Leaves the task's tables first if they are loaded.
///
/// # Safety
/// Disable held; `task` is live and ending.
pub unsafe fn reclaim(task: *mut Task) {
    // SAFETY: `task` is live (the contract); `space` was set by add_user_task.
    unsafe {
        let loaded = (*task).cr3() != 0 && exec::arch::x86_64::cpu::cr3() == (*task).cr3();
        let space = (*task).detach_space();
        // A ring-3 task's family (a ring-0 task has no space, and none).
        let family = (space as *const crate::space::Space).as_ref().map(|s| s.policy.family);
        crate::msg::reclaim(task, (space as *mut crate::space::Space).as_mut());
        crate::io::reclaim(task);
        crate::sem::reclaim(task);
        crate::libs::reclaim(task);
        let Some(family) = family else { return };
        if loaded {
            exec::arch::x86_64::usermode::load_cr3(exec::sched::kernel_cr3());
        }
        drop(alloc::boxed::Box::from_raw(space as *mut crate::space::Space));
        crate::policy::release_task(family);
    }
}
