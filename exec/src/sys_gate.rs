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
//! Tasks: in ring 3 a `*mut Task` is the task's number (`crate::task_table`), never its
//! address: `find_task` and `add_task` give numbers, `signal`, `set_task_pri` and `rem_task`
//! take them, and the gate finds the task in O(1), refusing a number whose task has ended.
//! `task_by_number`/`task_number` convert between the two names where ring 0 and ring 3 share
//! records (the shell's CLI table keeps numbers).
//!
//! A refusal comes back as a [`GateError`] (a refused allegation, a call ring 3 may not make,
//! no such call), encoded once by the gate and decoded once here ([`call`]); each stub turns it
//! into its typed call's "nothing" (null, false, -1), as its doc says.

use crate::arch::x86_64::usermode::{gate_call, gate_call5};
use crate::device::IoRequest;
use crate::interrupts::Interrupt;
use crate::library::Library;
use crate::memory::MemFlags;
use crate::pool::Pool;
use crate::port::{Message, MsgPort};
use crate::semaphore::SignalSemaphore;
use crate::snapshot::{ListEntry, ListKind, SystemInfo, TaskEntry};
use crate::task::Task;

/// The gate's call numbers, shared by the stubs here and the gate in mmu-mode. Numbers never
/// change once given: a call is added at the end. The first ones follow exec's vector table
/// ([`crate::sys::ExecVectors`]) as it first was; later table calls (`TaskAlive`, `DoMsg`,
/// `ReplyWait`, `PortSignal`) sit among the calls only the gate has (`FindSelf`, `Exit`,
/// `LibraryVector`, `MsgRead`, `MsgWrite`, `Privileged`) in the order they came. A number
/// arrives from ring 3 as a plain `u64` and is converted once, with [`Call::try_from`], so
/// that the gate's `match` is exhaustive: a call no arm serves does not compile.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Forbid,
    Permit,
    AddTask,
    FindTask,
    SetTaskPri,
    AllocSignal,
    FreeSignal,
    Signal,
    Wait,
    SetSignal,
    /// create_port, and create_msg_port (a name of length 0).
    CreatePort,
    DeletePort,
    RemPort,
    FindPort,
    PutMsg,
    GetMsg,
    ReplyMsg,
    /// wait_port (second argument 0: look, do not take) and the bare wait-and-get (1).
    WaitPort,
    InitSemaphore,
    /// obtain_semaphore (second argument 0) and obtain_semaphore_shared (1).
    ObtainSemaphore,
    /// attempt_semaphore (second argument 0) and attempt_semaphore_shared (1).
    AttemptSemaphore,
    ReleaseSemaphore,
    AddSemaphore,
    FindSemaphore,
    RemSemaphore,
    AllocMem,
    FreeMem,
    AvailMem,
    TypeOfMem,
    Alert,
    OpenLibrary,
    CloseLibrary,
    OpenDevice,
    CloseDevice,
    DoIo,
    SendIo,
    CheckIo,
    WaitIo,
    AbortIo,
    TaskList,
    NodeList,
    SystemInfo,
    /// A ring-3 panic: its message (address, length), shown in the task's Guru Meditation.
    Panic,
    /// find_task(None): the caller's own address.
    FindSelf,
    /// rem_task of the caller itself: the task ends.
    Exit,
    /// The vector of a library the caller has open ([`library_vector`]).
    LibraryVector,
    TaskAlive,
    /// do_msg in one call: put (as PutMsg: port, message, how), then wait at the message's
    /// reply port (as the put read it from the header) and take.
    DoMsg,
    /// reply_wait in one call: reply (unless the first argument is 0), then wait at the port
    /// and take.
    ReplyWait,
    /// msg_read: from a buffer the held message lends (view, index, offset, buffer, length).
    MsgRead,
    /// msg_write: into a buffer the held message lends (view, index, offset, buffer, length).
    MsgWrite,
    /// A call ring 3 may not make (the argument is its name's address, for the record).
    Privileged,
    /// port_signal of the caller's own port.
    PortSignal,
}

impl Call {
    /// Every call, in number order.
    pub const ALL: [Call; 53] = {
        use Call::*;
        [
            Forbid, Permit, AddTask, FindTask, SetTaskPri, AllocSignal, FreeSignal, Signal, Wait, SetSignal,
            CreatePort, DeletePort, RemPort, FindPort, PutMsg, GetMsg, ReplyMsg, WaitPort, InitSemaphore,
            ObtainSemaphore, AttemptSemaphore, ReleaseSemaphore, AddSemaphore, FindSemaphore, RemSemaphore,
            AllocMem, FreeMem, AvailMem, TypeOfMem, Alert, OpenLibrary, CloseLibrary, OpenDevice, CloseDevice,
            DoIo, SendIo, CheckIo, WaitIo, AbortIo, TaskList, NodeList, SystemInfo, Panic, FindSelf,
            Exit, LibraryVector, TaskAlive, DoMsg, ReplyWait, MsgRead, MsgWrite, Privileged, PortSignal,
        ]
    };
}

// Each call's number is its place in `ALL` (checked when the crate builds).
const _: () = {
    let mut i = 0;
    while i < Call::ALL.len() {
        assert!(Call::ALL[i] as usize == i);
        i += 1;
    }
};

impl TryFrom<u64> for Call {
    type Error = GateError;

    /// The call numbered `nr`, or [`GateError::NoSuchCall`].
    fn try_from(nr: u64) -> Result<Call, GateError> {
        if nr >= Call::ALL.len() as u64 {
            return Err(GateError::NoSuchCall);
        }
        // SAFETY: `Call` is `repr(u64)` and its discriminants are exactly 0..ALL.len() (checked
        // when the crate builds, above), so `nr` is one of them. No table load on the gate path.
        Ok(unsafe { core::mem::transmute::<u64, Call>(nr) })
    }
}

/// Why the gate refused a call. Crosses the boundary encoded as one of the three highest
/// `u64` values (no valid result is that large: addresses, counts and small numbers are all
/// below), encoded once by the gate ([`encode`]) and decoded once by the stubs ([`decode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GateError {
    /// A pointer or handle the caller passed did not hold (an allegation refused).
    BadPointer,
    /// The call is not open to ring 3.
    Privileged,
    /// There is no call with that number.
    NoSuchCall,
}

/// What a gate call returns: a value, or why it was refused.
pub type GateResult = Result<u64, GateError>;

/// [`GateError::BadPointer`] as it crosses the boundary.
pub const ERR_BAD_POINTER: u64 = u64::MAX - 1;
/// [`GateError::Privileged`] as it crosses the boundary.
pub const ERR_PRIVILEGED: u64 = u64::MAX - 2;
/// [`GateError::NoSuchCall`] as it crosses the boundary.
pub const ERR_NO_SUCH_CALL: u64 = u64::MAX;

/// A result as it goes back to ring 3 in RAX (the gate's one conversion).
pub fn encode(r: GateResult) -> u64 {
    match r {
        Ok(v) => v,
        Err(GateError::BadPointer) => ERR_BAD_POINTER,
        Err(GateError::Privileged) => ERR_PRIVILEGED,
        Err(GateError::NoSuchCall) => ERR_NO_SUCH_CALL,
    }
}

/// RAX as it came back from the gate (the stubs' one conversion).
pub fn decode(raw: u64) -> GateResult {
    match raw {
        ERR_BAD_POINTER => Err(GateError::BadPointer),
        ERR_PRIVILEGED => Err(GateError::Privileged),
        ERR_NO_SUCH_CALL => Err(GateError::NoSuchCall),
        v => Ok(v),
    }
}

/// Makes gate call `c` with up to three arguments, as the bare call: the result as it
/// crossed, errors encoded. For the benchmarks and the tests of the encoding; exec's own calls
/// use [`call`]. Outside ring 3 it makes no call and answers [`ERR_PRIVILEGED`].
#[inline(always)]
pub fn raw_call(c: Call, a0: u64, a1: u64, a2: u64) -> u64 {
    if !in_ring3() {
        return ERR_PRIVILEGED;
    }
    // SAFETY: in ring 3 (checked above).
    unsafe { gate_call(c as u64, a0, a1, a2) }
}

/// [`raw_call`] with five arguments.
#[inline(always)]
pub fn raw_call5(c: Call, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64) -> u64 {
    if !in_ring3() {
        return ERR_PRIVILEGED;
    }
    // SAFETY: in ring 3 (checked above).
    unsafe { gate_call5(c as u64, a0, a1, a2, a3, a4) }
}

/// Makes gate call `c` with up to five arguments. Reached only through exec's vector table,
/// which takes the stubs only in ring 3.
#[inline(always)]
fn call(c: Call, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64) -> GateResult {
    debug_assert!(in_ring3());
    // SAFETY: the stubs (this module's only callers) are reached only from ring 3: through
    // exec's vector table after its ring check, from the ring-3 heap, from a ring-3 panic, or
    // from `try_put_msg` after its own ring check.
    decode(unsafe { gate_call5(c as u64, a0, a1, a2, a3, a4) })
}

fn ptr<T>(r: GateResult) -> *mut T {
    r.map_or(core::ptr::null_mut(), |v| v as *mut T)
}

fn name(s: &str) -> (u64, u64) {
    (s.as_ptr() as u64, s.len() as u64)
}

fn refused(call_name: &'static str) {
    let _ = call(Call::Privileged, call_name.as_ptr() as u64, call_name.len() as u64, 0, 0, 0);
}

/// Whether the caller runs in ring 3 (the one test every exec call makes in the mmu build).
#[inline(always)]
fn in_ring3() -> bool {
    crate::arch::x86_64::cpu::in_ring3()
}

/// The vector `index` of the library whose table is at `table`, for a ring-3 caller that has
/// the library open; a call through an unopened library is a dead-end alert (the task is
/// removed).
pub(crate) fn library_vector(table: usize, index: usize) -> usize {
    match call(Call::LibraryVector, table as u64, index as u64, 0, 0, 0) {
        Ok(f) => f as usize,
        Err(_) => {
            alert(crate::alert::AN_LIB_NOT_OPEN);
            unreachable!("a dead-end alert ends the task")
        }
    }
}

// The stubs, in the table's order. Each has the contract of the implementation it stands for;
// where its behaviour in ring 3 differs, its doc says how.

/// In ring 3 this nests a Forbid the gate keeps for the task.
pub(crate) fn forbid() {
    let _ = call(Call::Forbid, 0, 0, 0, 0, 0);
}
/// A permit without its forbid is ignored in ring 3 (it would unbalance the count).
pub(crate) fn permit() {
    let _ = call(Call::Permit, 0, 0, 0, 0, 0);
}
/// A ring-3 task cannot mask interrupts: in ring 3 `disable` acts as [`forbid`] (task switches
/// stop; interrupts go on being served).
pub(crate) fn disable() {
    forbid();
}
/// In ring 3 `enable` acts as [`permit`] (see [`disable`]).
pub(crate) fn enable() {
    permit();
}
/// In ring 3 the child runs in ring 3 too, in a space of its own, with a user stack of
/// `stack_size` bytes held between mmu-mode's standard 16 KiB and 1 MiB.
pub(crate) fn add_task(n: &str, pri: i8, entry: fn(usize), arg: usize, stack_size: usize) -> *mut Task {
    let (p, l) = name(n);
    // Five words only: the priority in the low byte, the stack size in KiB above it.
    let pri_stack = (pri as u8 as u64) | ((stack_size.div_ceil(1024) as u64) << 8);
    ptr(call(Call::AddTask, p, l, pri_stack, entry as usize as u64, arg as u64))
}
/// In ring 3 a task may remove only itself (null, or its own number): any other task is
/// refused, counted, and the call returns.
pub(crate) fn rem_task(task: *mut Task) {
    if task.is_null() || Ok(task as u64) == call(Call::FindSelf, 0, 0, 0, 0, 0) {
        let _ = call(Call::Exit, 0, 0, 0, 0, 0);
    }
    refused("rem_task");
}
pub(crate) fn task_alive(id: u64) -> bool {
    call(Call::TaskAlive, id, 0, 0, 0, 0) == Ok(1)
}
/// In ring 3 a task's name is its number: the number itself while its task lives, else null.
pub(crate) fn task_by_number(id: u64) -> *mut Task {
    if task_alive(id) { id as *mut Task } else { core::ptr::null_mut() }
}
/// In ring 3 a task's name is its number already (null: the caller's own).
pub(crate) fn task_number(task: *mut Task) -> u64 {
    if task.is_null() { call(Call::FindSelf, 0, 0, 0, 0, 0).unwrap_or(0) } else { task as u64 }
}
pub(crate) fn find_task(n: Option<&str>) -> *mut Task {
    match n {
        None => ptr(call(Call::FindSelf, 0, 0, 0, 0, 0)),
        Some(n) => {
            let (p, l) = name(n);
            ptr(call(Call::FindTask, p, l, 0, 0, 0))
        }
    }
}
/// In ring 3 a task the gate refuses (not a live task) changes nothing and the call returns 0.
pub(crate) fn set_task_pri(task: *mut Task, pri: i8) -> i8 {
    call(Call::SetTaskPri, task as u64, pri as u8 as u64, 0, 0, 0).map_or(0, |old| old as u8 as i8)
}
pub(crate) fn alloc_signal(wanted: i32) -> i32 {
    call(Call::AllocSignal, wanted as u64, 0, 0, 0, 0).map_or(-1, |bit| bit as i32)
}
pub(crate) fn free_signal(bit: i32) {
    let _ = call(Call::FreeSignal, bit as u64, 0, 0, 0, 0);
}
/// In ring 3 a task that is not live is refused (counted); nothing is signalled.
pub(crate) fn signal(task: *mut Task, mask: u32) {
    let _ = call(Call::Signal, task as u64, mask as u64, 0, 0, 0);
}
pub(crate) fn wait(mask: u32) -> u32 {
    call(Call::Wait, mask as u64, 0, 0, 0, 0).map_or(0, |got| got as u32)
}
pub(crate) fn set_signal(new: u32, mask: u32) -> u32 {
    call(Call::SetSignal, new as u64, mask as u64, 0, 0, 0).map_or(0, |old| old as u32)
}
pub(crate) fn create_msg_port() -> *mut MsgPort {
    ptr(call(Call::CreatePort, 0, 0, 0, 0, 0))
}
pub(crate) fn create_port(n: Option<&str>, pri: i8) -> *mut MsgPort {
    let (p, l) = n.map_or((0, 0), name);
    ptr(call(Call::CreatePort, p, l, pri as u64, 0, 0))
}
pub(crate) fn delete_msg_port(port: *mut MsgPort) {
    let _ = call(Call::DeletePort, port as u64, 0, 0, 0, 0);
}
/// In ring 3 a port's name cannot be set in the port (the port is exec's, not the task's):
/// a ring-3 task names its port with `create_port`; add_port is refused.
pub(crate) fn add_port(_port: *mut MsgPort) {
    refused("add_port");
}
pub(crate) fn rem_port(port: *mut MsgPort) {
    let _ = call(Call::RemPort, port as u64, 0, 0, 0, 0);
}
pub(crate) fn find_port(n: &str) -> *mut MsgPort {
    let (p, l) = name(n);
    ptr(call(Call::FindPort, p, l, 0, 0, 0))
}
/// In ring 3 the message is sent by transfer when it is a whole block from alloc_mem, else by
/// copy; a refused port or message is counted and nothing is sent.
pub(crate) fn put_msg(port: *mut MsgPort, msg: *mut Message) {
    let _ = call(Call::PutMsg, port as u64, msg as u64, PUT_AUTO, 0, 0);
}
pub(crate) fn get_msg(port: *mut MsgPort) -> *mut Message {
    ptr(call(Call::GetMsg, port as u64, 0, 0, 0, 0))
}
pub(crate) fn reply_msg(msg: *mut Message) {
    let _ = call(Call::ReplyMsg, msg as u64, 0, 0, 0, 0);
}
/// In ring 3 only the caller's own port answers; any other value gets 0.
pub(crate) fn port_signal(port: *mut MsgPort) -> u32 {
    call(Call::PortSignal, port as u64, 0, 0, 0, 0).map_or(0, |m| m as u32)
}
/// put_msg that says whether the gate took the message: a refused port (its owner gone, or
/// never one) or message is `false`, and nothing was sent. Ring 3 only: called in ring 0 it
/// sends nothing and returns `false` (ring 0 checks a port itself, under Forbid).
pub fn try_put_msg(port: *mut MsgPort, msg: *mut Message) -> bool {
    in_ring3() && call(Call::PutMsg, port as u64, msg as u64, PUT_AUTO, 0, 0).is_ok()
}
/// In ring 3 a refused port returns null at once instead of waiting.
pub(crate) fn wait_port(port: *mut MsgPort) -> *mut Message {
    // exec's wait_port leaves the message queued; so does the gate's (second argument 0:
    // look, do not take).
    ptr(call(Call::WaitPort, port as u64, 0, 0, 0, 0))
}
/// One gate call: the put, then the wait at the reply port and the take. In ring 3 it takes
/// the first message at the reply port, not necessarily `msg` (a task that waits for one
/// message at a time, as do_msg's callers do, gets its own); a refused put or reply port
/// returns null at once.
pub(crate) fn do_msg(port: *mut MsgPort, msg: *mut Message) -> *mut Message {
    ptr(call(Call::DoMsg, port as u64, msg as u64, PUT_AUTO, 0, 0))
}
/// [`do_msg`] of a message that ends with a [`Lends`] table ([`PUT_LENDS`]). Ring 3 only
/// (`exec::lend::do_msg_lending` serves both rings).
pub(crate) fn do_msg_lending(port: *mut MsgPort, msg: *mut Message) -> *mut Message {
    ptr(call(Call::DoMsg, port as u64, msg as u64, PUT_AUTO | PUT_LENDS, 0, 0))
}
/// One gate call: the reply (unless `msg` is null), then the wait and the take; a refused
/// reply or port returns null at once.
pub(crate) fn reply_wait(msg: *mut Message, port: *mut MsgPort) -> *mut Message {
    ptr(call(Call::ReplyWait, msg as u64, port as u64, 0, 0, 0))
}
pub(crate) fn init_semaphore(sem: *mut SignalSemaphore) {
    let _ = call(Call::InitSemaphore, sem as u64, 0, 0, 0, 0);
}
/// In ring 3 a refused semaphore returns at once, not obtained.
pub(crate) fn obtain_semaphore(sem: *mut SignalSemaphore) {
    let _ = call(Call::ObtainSemaphore, sem as u64, 0, 0, 0, 0);
}
pub(crate) fn attempt_semaphore(sem: *mut SignalSemaphore) -> bool {
    call(Call::AttemptSemaphore, sem as u64, 0, 0, 0, 0) == Ok(1)
}
pub(crate) fn release_semaphore(sem: *mut SignalSemaphore) {
    let _ = call(Call::ReleaseSemaphore, sem as u64, 0, 0, 0, 0);
}
/// In ring 3 a refused semaphore returns at once, not obtained.
pub(crate) fn obtain_semaphore_shared(sem: *mut SignalSemaphore) {
    let _ = call(Call::ObtainSemaphore, sem as u64, 1, 0, 0, 0);
}
pub(crate) fn attempt_semaphore_shared(sem: *mut SignalSemaphore) -> bool {
    call(Call::AttemptSemaphore, sem as u64, 1, 0, 0, 0) == Ok(1)
}
pub(crate) fn add_semaphore(sem: *mut SignalSemaphore) {
    let _ = call(Call::AddSemaphore, sem as u64, 0, 0, 0, 0);
}
/// The public semaphore's handle (tagged, not an address: pass it, never read through it).
pub(crate) fn find_semaphore(n: &str) -> *mut SignalSemaphore {
    let (p, l) = name(n);
    ptr(call(Call::FindSemaphore, p, l, 0, 0, 0))
}
pub(crate) fn rem_semaphore(sem: *mut SignalSemaphore) {
    let _ = call(Call::RemSemaphore, sem as u64, 0, 0, 0, 0);
}
/// In ring 3 `flags` are not honoured: gate memory is always whole pages of the caller's own,
/// cleared, private to it (never PUBLIC), page-aligned.
pub(crate) fn alloc_mem(size: usize, _flags: MemFlags) -> *mut u8 {
    ptr(call(Call::AllocMem, size as u64, 0, 0, 0, 0))
}
/// In ring 3 `size` is not checked: the gate frees the whole block it handed out at `p`.
/// A block that is lent out (a message in flight, an I/O request pending) is refused.
pub(crate) fn free_mem(p: *mut u8, _size: usize) {
    let _ = call(Call::FreeMem, p as u64, 0, 0, 0, 0);
}
pub(crate) fn avail_mem(flags: MemFlags) -> usize {
    call(Call::AvailMem, flags.bits() as u64, 0, 0, 0, 0).map_or(0, |n| n as usize)
}
/// As [`alloc_mem`] in ring 3.
pub(crate) fn alloc_vec(size: usize, flags: MemFlags) -> *mut u8 {
    alloc_mem(size, flags)
}
pub(crate) fn free_vec(p: *mut u8) {
    free_mem(p, 0);
}
pub(crate) fn type_of_mem(p: *const u8) -> MemFlags {
    call(Call::TypeOfMem, p as u64, 0, 0, 0, 0).map_or(MemFlags::empty(), |f| MemFlags::from_bits_truncate(f as u32))
}
/// Pools are not available in ring 3: refused, returns null.
pub(crate) fn create_pool(_flags: MemFlags, _puddle_size: usize, _threshold: usize) -> *mut Pool {
    refused("create_pool");
    core::ptr::null_mut()
}
/// Refused in ring 3.
pub(crate) fn delete_pool(_pool: *mut Pool) {
    refused("delete_pool");
}
/// Refused in ring 3; returns null.
pub(crate) fn alloc_pooled(_pool: *mut Pool, _size: usize) -> *mut u8 {
    refused("alloc_pooled");
    core::ptr::null_mut()
}
/// Refused in ring 3.
pub(crate) fn free_pooled(_pool: *mut Pool, _mem: *mut u8, _size: usize) {
    refused("free_pooled");
}
/// Refused in ring 3.
pub(crate) fn add_int_server(_irq: u8, _int: *mut Interrupt) {
    refused("add_int_server");
}
/// Refused in ring 3.
pub(crate) fn rem_int_server(_irq: u8, _int: *mut Interrupt) {
    refused("rem_int_server");
}
/// Refused in ring 3.
pub(crate) fn cause(_int: *mut Interrupt) {
    refused("cause");
}
/// In ring 3 a dead-end code ends the calling task alone (a contained Guru); a recoverable one
/// is reported.
pub(crate) fn alert(code: u32) {
    let _ = call(Call::Alert, code as u64, 0, 0, 0, 0);
}
/// Refused in ring 3.
pub(crate) fn add_library(_lib: *mut Library) {
    refused("add_library");
}
pub(crate) fn open_library(n: &str, min_version: u16) -> *mut Library {
    let (p, l) = name(n);
    ptr(call(Call::OpenLibrary, p, l, min_version as u64, 0, 0))
}
pub(crate) fn close_library(lib: *mut Library) {
    let _ = call(Call::CloseLibrary, lib as u64, 0, 0, 0, 0);
}
/// Refused in ring 3; returns false.
pub(crate) fn rem_library(_lib: *mut Library) -> bool {
    refused("rem_library");
    false
}
/// Refused in ring 3; returns null.
pub(crate) fn set_function(_lib: *mut Library, _index: usize, _new: *const ()) -> *const () {
    refused("set_function");
    core::ptr::null()
}
/// Refused in ring 3.
pub(crate) fn add_device(_dev: *mut crate::device::Device) {
    refused("add_device");
}
/// Refused in ring 3; returns false.
pub(crate) fn rem_device(_dev: *mut crate::device::Device) -> bool {
    refused("rem_device");
    false
}
/// The request lives in the caller's memory; the gate keeps exec's own copy of it and copies
/// the caller's fields in and the results out at each call. In ring 3 `flags` are not passed
/// to the device.
pub(crate) fn open_device(n: &str, unit: u32, req: *mut IoRequest, _flags: u32) -> i8 {
    let (p, l) = name(n);
    call(Call::OpenDevice, p, l, unit as u64, req as u64, 0).map_or(crate::device::IOERR_OPENFAIL, |e| e as u8 as i8)
}
pub(crate) fn close_device(req: *mut IoRequest) {
    let _ = call(Call::CloseDevice, req as u64, 0, 0, 0, 0);
}
/// In ring 3 a request the gate refuses returns IOERR_BADADDRESS.
pub(crate) fn do_io(req: *mut IoRequest) -> i8 {
    call(Call::DoIo, req as u64, 0, 0, 0, 0).map_or(crate::device::IOERR_BADADDRESS, |e| e as u8 as i8)
}
pub(crate) fn send_io(req: *mut IoRequest) {
    let _ = call(Call::SendIo, req as u64, 0, 0, 0, 0);
}
/// In ring 3 a request the gate refuses reads as not done.
pub(crate) fn check_io(req: *mut IoRequest) -> bool {
    call(Call::CheckIo, req as u64, 0, 0, 0, 0) == Ok(1)
}
/// In ring 3 a request the gate refuses returns IOERR_BADADDRESS.
pub(crate) fn wait_io(req: *mut IoRequest) -> i8 {
    call(Call::WaitIo, req as u64, 0, 0, 0, 0).map_or(crate::device::IOERR_BADADDRESS, |e| e as u8 as i8)
}
pub(crate) fn abort_io(req: *mut IoRequest) {
    let _ = call(Call::AbortIo, req as u64, 0, 0, 0, 0);
}
/// In ring 3 a buffer the gate refuses gives 0 entries.
pub(crate) fn task_list(buf: *mut TaskEntry, max: usize) -> usize {
    call(Call::TaskList, buf as u64, max as u64, 0, 0, 0).map_or(0, |n| n as usize)
}
/// In ring 3 a buffer the gate refuses gives 0 entries.
pub(crate) fn node_list(kind: ListKind, buf: *mut ListEntry, max: usize) -> usize {
    call(Call::NodeList, kind as u64, buf as u64, max as u64, 0, 0).map_or(0, |n| n as usize)
}
/// Left as it was when the gate refuses `info`.
pub(crate) fn system_info(info: *mut SystemInfo) {
    let _ = call(Call::SystemInfo, info as u64, 0, 0, 0, 0);
}

/// A ring-3 panic: `message` (what panicked, where) goes into the task's Guru Meditation,
/// and the task is removed.
pub(crate) fn panic(message: &str) -> ! {
    let _ = call(Call::Panic, message.as_ptr() as u64, message.len() as u64, 0, 0, 0);
    unreachable!("the gate ends a task that panicked")
}

/// put_msg's ways: by copy, by page transfer, or transfer when the message is a whole block
/// the caller allocated (else copy).
pub const PUT_COPY: u64 = 0;
pub const PUT_TRANSFER: u64 = 1;
pub const PUT_AUTO: u64 = 2;
/// A flag to put_msg's and do_msg's way: the message lends buffers. It ends with a [`Lends`]
/// table (its last bytes), which the gate reads once at the put.
pub const PUT_LENDS: u64 = 1 << 8;

pub use crate::lend::{LEND_READ, LEND_WRITE, LENDS_MAX, Lend, Lends};

/// msg_read's gate call, for `exec::lend::msg_read` in ring 3 (its doc says the rest).
pub(crate) fn msg_read(view: *const Message, index: usize, offset: usize, buf: &mut [u8]) -> Result<usize, GateError> {
    call(Call::MsgRead, view as u64, index as u64, offset as u64, buf.as_mut_ptr() as u64, buf.len() as u64).map(|n| n as usize)
}

/// msg_write's gate call, for `exec::lend::msg_write` in ring 3.
pub(crate) fn msg_write(view: *const Message, index: usize, offset: usize, buf: &[u8]) -> Result<usize, GateError> {
    call(Call::MsgWrite, view as u64, index as u64, offset as u64, buf.as_ptr() as u64, buf.len() as u64).map(|n| n as usize)
}
