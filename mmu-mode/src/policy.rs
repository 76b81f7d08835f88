//! What a ring-3 task may reach and take: its authority over other tasks, its priority
//! ceiling, and its family's quotas. Kept in kernel memory (each task's [`Policy`] lives in
//! its `Space`, the families here), never in memory a task can write.
//!
//! - **Authority.** A ring-3 task may signal itself, its creator (a parent waiting for its
//!   child's word), the ring-0 task that started its family, and its children; it may change the priority of itself and its children;
//!   and of the tasks a ring-0 authority granted it ([`grant`]: the shell's jobs service grants BREAK and
//!   CHANGETASKPRI the tasks of the CLI table, which it keeps in kernel memory). Tasks are
//!   named by their numbers (`Task::id`), so a task that ended and a new one at the same
//!   address are different tasks.
//! - **Priority ceiling.** A ring-3 task never runs above its ceiling: the priority its ring-0
//!   creator gave it, inherited by every task it creates.
//! - **Quotas.** Every ring-3 task belongs to a family: the task a ring-0 creator started and
//!   all it starts, and their children in turn. A family may hold at most [`FAMILY_TASKS`]
//!   tasks, [`FAMILY_BYTES`] of memory from the gate, [`FAMILY_RECORDS`] semaphores and
//!   [`FAMILY_PUBLIC_NAMES`] public ports and semaphores, and
//!   each task at most [`TASK_MESSAGES`] messages in flight, 16 ports, 16 open device requests
//!   and 32 library opens; past any, the call fails. And
//!   whatever ring 3 does, the kernel keeps a reserve of its heap ([`HEAP_RESERVE`]) and of
//!   exec memory ([`MEMORY_RESERVE`]) that no ring-3 request may take. A message's copy is
//!   charged to whoever holds it: its sender's family while it waits in a queue (a flood
//!   spends the flooder's quota), its receiver's once taken or lent (within that quota).
//! - **Devices.** A device's units are shared by every task that opens them, so a ring-3
//!   request may carry only commands that act on that request alone ([`ring3_may_send`]):
//!   CMD_READ and CMD_WRITE, and the nonstandard commands the device lists as such
//!   (`Device::user_commands`: serial.device's SDCMD_QUERY, timer.device's TR_ADDREQUEST and
//!   TR_GETSYSTIME). Commands that
//!   act on the whole unit (CMD_RESET, CMD_UPDATE, CMD_CLEAR, CMD_STOP, CMD_START,
//!   CMD_FLUSH: every task's requests) or change what every task shares (serial.device's
//!   SDCMD_SETPARAMS, timer.device's TR_SETSYSTIME) go to the device as CMD_INVALID, which
//!   answers IOERR_NOCMD.
//!
//! The records are guarded by Forbid.

use alloc::boxed::Box;
use alloc::vec::Vec;

use exec::global::Global;
use exec::memory::MemFlags;
use exec::sched::{ForbidDebt, forbid, permit};
use exec::task::Task;

use crate::records::Records;

/// Most tasks one family may have alive at once.
pub const FAMILY_TASKS: u32 = 32;
/// Most bytes of gate memory one family may hold (its tasks' heaps, messages and blocks).
pub const FAMILY_BYTES: u64 = 24 << 20;
/// Most messages one task may have in flight (each holds a kernel record).
pub const TASK_MESSAGES: u32 = 64;
/// Most other kernel records one family may hold (semaphores' working halves).
pub const FAMILY_RECORDS: u32 = 128;
/// Most public names (ports and semaphores) one family may hold at once: every FindPort, the
/// check of a handler's port on every DOS packet, and every FindSemaphore walk exec's public
/// lists, so a family may not lengthen them by more than this.
pub const FAMILY_PUBLIC_NAMES: u32 = 8;
/// Kernel heap no ring-3 request may take (page tables and records come from it).
pub const HEAP_RESERVE: u64 = 2 << 20;
/// Exec memory no ring-3 request may take.
pub const MEMORY_RESERVE: u64 = 2 << 20;

/// Whether a ring-3 request may carry `command` to a device whose nonstandard commands open
/// to ring 3 are `nonstandard` (its `Device::user_commands`).
pub fn ring3_may_send(nonstandard: &[u16], command: u16) -> bool {
    matches!(command, exec::device::CMD_READ | exec::device::CMD_WRITE) || (command >= exec::device::CMD_NONSTD && nonstandard.contains(&command))
}

/// Calls refused for a quota or the kernel's reserve (tasks, memory, semaphores).
pub static QUOTA_REFUSED: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

fn refused(r: Refusal) -> Refusal {
    QUOTA_REFUSED.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    r
}

/// A ring-3 task's standing, set when it starts.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// The number of the task that created it.
    pub creator: u64,
    /// The number of the ring-0 task that started its family (its creator, or its creator's
    /// origin): the one that waits on the family's work.
    pub origin: u64,
    /// The highest priority it may run at (set_task_pri clamps to it).
    pub ceiling: i8,
    /// Its family's number (see the module's notes).
    pub family: u64,
    /// Tasks a ring-0 authority lets it signal and re-prioritise besides its own.
    pub granted: Vec<u64>,
    /// Ports it holds (at most `msg::PORTS_PER_TASK`).
    pub ports: usize,
}

/// One family's use.
struct Family {
    id: u64,
    tasks: u32,
    bytes: u64,
    records: u32,
    public_names: u32,
    /// Its tasks' Forbid debt together (`exec::sched::RING3_FORBID_DEBT_FAMILY`), which each
    /// of its tasks points at (boxed: the record moves in the table, the debt must not). Freed
    /// with the record, which goes only once the family has no task: the last one's end runs
    /// under Disable until it is switched away for good, so the tick never reads it freed.
    debt: Box<ForbidDebt>,
}

/// Families with a live task, a kernel record, a public name, or memory still charged to them
/// (a block a receiver kept when its sender ended, until it is replied or freed). Forbid.
static FAMILIES: Global<Records<Family>> = Global::new(Records::new());

/// The next family number.
static NEXT_FAMILY: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

/// What [`admit`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The family has [`FAMILY_TASKS`] tasks, or [`FAMILY_BYTES`] of memory, already.
    Quota,
    /// The kernel's own reserve would be touched.
    Reserve,
}

/// Runs `f` on family `id`'s record (made on first use), under Forbid.
fn with_family<R>(id: u64, f: impl FnOnce(&mut Family) -> R) -> R {
    forbid();
    // SAFETY: Forbid held; the only reference to the records meanwhile.
    let families = unsafe { &mut *FAMILIES.get() };
    let i = match families.iter().position(|f| f.id == id) {
        Some(i) => i,
        None => {
            families.push(Family { id, tasks: 0, bytes: 0, records: 0, public_names: 0, debt: Box::new(ForbidDebt::NONE) });
            families.len() - 1
        }
    };
    let r = f(&mut families[i]);
    let f = &families[i];
    if f.tasks == 0 && f.bytes == 0 && f.records == 0 && f.public_names == 0 {
        families.swap_remove(i);
    }
    permit();
    r
}

/// Whether the kernel's reserves allow `bytes` more of exec memory and a new record or a new
/// space's tables in the kernel heap (what a ring-3 request that makes the kernel take memory
/// checks first).
pub(crate) fn reserves_allow(bytes: u64) -> bool {
    let heap_free = exec::heap::stats().free;
    let mem_free = exec::memory::avail_mem(MemFlags::ANY) as u64;
    heap_free >= HEAP_RESERVE && mem_free >= bytes.saturating_add(MEMORY_RESERVE)
}

/// The policy of a task about to be started by the running task at priority `pri`: a ring-0
/// creator starts a new family with its ceiling at `pri`; a ring-3 creator (`parent`, its
/// policy) passes on its family and ceiling, and `pri` is held to that ceiling. Result: the
/// policy and the priority to start at.
pub fn for_child(parent: Option<&Policy>, pri: i8) -> (Policy, i8) {
    let creator = exec::task::find_task(None);
    // SAFETY: the running task is live.
    let creator = unsafe { (*creator).id() };
    match parent {
        None => {
            let family = NEXT_FAMILY.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
            (Policy { creator, origin: creator, ceiling: pri, family, granted: Vec::new(), ports: 0 }, pri)
        }
        Some(p) => {
            let policy = Policy { creator, origin: p.origin, ceiling: p.ceiling, family: p.family, granted: Vec::new(), ports: 0 };
            (policy, pri.min(p.ceiling))
        }
    }
}

/// Counts a new task against `policy`'s family, if its quota and the kernel's reserves allow.
pub fn admit_task(policy: &Policy) -> Result<(), Refusal> {
    if !reserves_allow(0) {
        return Err(refused(Refusal::Reserve));
    }
    with_family(policy.family, |f| {
        if f.tasks >= FAMILY_TASKS {
            return Err(refused(Refusal::Quota));
        }
        f.tasks += 1;
        Ok(())
    })
}

/// Family `family`'s Forbid debt, for a task of it about to start (admitted: the family has
/// a task, so its record, and the debt, stay until that task has ended).
pub fn forbid_debt_of(family: u64) -> *mut ForbidDebt {
    with_family(family, |f| &raw mut *f.debt)
}

/// A task of `family` has ended (or never started).
pub fn release_task(family: u64) {
    with_family(family, |f| f.tasks = f.tasks.saturating_sub(1));
}

/// Charges `bytes` of gate memory to `family`, if its quota and the kernel's reserves allow.
pub fn charge(family: u64, bytes: u64) -> Result<(), Refusal> {
    if !reserves_allow(bytes) {
        return Err(refused(Refusal::Reserve));
    }
    with_family(family, |f| {
        if f.bytes.saturating_add(bytes) > FAMILY_BYTES {
            return Err(refused(Refusal::Quota));
        }
        f.bytes += bytes;
        Ok(())
    })
}

/// Counts a public port or semaphore for `family`; refused past [`FAMILY_PUBLIC_NAMES`].
pub(crate) fn take_public_name(family: u64) -> Result<(), Refusal> {
    with_family(family, |f| {
        if f.public_names >= FAMILY_PUBLIC_NAMES {
            return Err(refused(Refusal::Quota));
        }
        f.public_names += 1;
        Ok(())
    })
}

/// A public port or semaphore of `family`'s is gone, or no longer public.
pub(crate) fn give_back_public_name(family: u64) {
    with_family(family, |f| f.public_names = f.public_names.saturating_sub(1));
}

/// The public ports and semaphores `family` holds now (for tests).
pub(crate) fn family_public_names(family: u64) -> u32 {
    with_family(family, |f| f.public_names)
}

/// The bytes of gate memory charged to `family` now (0 for a family with no record).
pub(crate) fn family_bytes(family: u64) -> u64 {
    with_family(family, |f| f.bytes)
}

/// Gives `bytes` back to `family`.
pub fn uncharge(family: u64, bytes: u64) {
    with_family(family, |f| f.bytes = f.bytes.saturating_sub(bytes));
}

/// Moves a charge of `bytes` from family `from` to family `to` (memory that changes hands,
/// nothing allocated: the reserves are not asked), if `to`'s quota allows.
pub fn move_charge(from: u64, to: u64, bytes: u64) -> Result<(), Refusal> {
    if from == to {
        return Ok(());
    }
    with_family(to, |f| {
        if f.bytes.saturating_add(bytes) > FAMILY_BYTES {
            return Err(refused(Refusal::Quota));
        }
        f.bytes += bytes;
        Ok(())
    })?;
    uncharge(from, bytes);
    Ok(())
}

/// Counts a kernel record (a semaphore's working half) against `family`, if its quota and the
/// kernel heap's reserve allow.
pub fn admit_record(family: u64) -> Result<(), Refusal> {
    if !reserves_allow(0) {
        return Err(refused(Refusal::Reserve));
    }
    with_family(family, |f| {
        if f.records >= FAMILY_RECORDS {
            return Err(refused(Refusal::Quota));
        }
        f.records += 1;
        Ok(())
    })
}

/// A record of `family` is gone.
pub fn release_record(family: u64) {
    with_family(family, |f| f.records = f.records.saturating_sub(1));
}

/// What a call may do to another task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// signal: itself, its creator, its family's origin, its children, granted tasks.
    Signal,
    /// set_task_pri: itself, its children, granted tasks.
    Priority,
}

/// Whether the running ring-3 task (`me`, with `policy`) may do `what` to `target` (a live
/// task). Never follows anything a task could have written: task numbers and policies are the
/// kernel's.
///
/// # Safety
/// `target` is a live task; `me` is the running task.
pub unsafe fn may_reach(me: *mut Task, policy: &Policy, target: *mut Task, what: Reach) -> bool {
    // SAFETY: both are live tasks (the contract); their policies live in their spaces.
    unsafe {
        let (my_id, target_id) = ((*me).id(), (*target).id());
        if my_id == target_id || policy.granted.contains(&target_id) {
            return true;
        }
        if what == Reach::Signal && (target_id == policy.creator || target_id == policy.origin) {
            return true;
        }
        crate::space::policy_of(target).is_some_and(|p| p.creator == my_id)
    }
}

/// Lets the ring-3 task `task` reach `tasks` too (signal and priority), as a ring-0 authority
/// decides: the shell's jobs service grants BREAK and CHANGETASKPRI the tasks of its CLI table. Call before
/// the task can run (under Forbid, right after starting it).
///
/// # Safety
/// `task` is a live task.
pub unsafe fn grant(task: *mut Task, tasks: &[u64]) {
    // SAFETY: per the contract; the policy lives in the task's space.
    if let Some(p) = unsafe { crate::space::policy_of_mut(task) } {
        p.granted.extend_from_slice(tasks);
    }
}
