//! Semaphores for ring-3 tasks.
//!
//! A SignalSemaphore links the tasks waiting for it, so exec must not keep one in memory a
//! task can write (a task could bend the links and make exec write where it likes). A ring-3
//! task's semaphore therefore has two halves: the structure in its own memory, which its
//! calls name by address (as on the Amiga), and exec's semaphore, kept here in kernel memory,
//! that does the work. Names (add_semaphore) are copied from the task's structure.
//!
//! The kernel names its semaphores by handles (slot and generation, found in O(1), a stale one
//! refused). init_semaphore writes the handle into the structure's `ring3_handle`; a call on
//! the structure reads it back through the door and takes it only if its record is the one
//! made for that very structure, so a task that rewrites it (to another semaphore's handle,
//! say) gets its own calls refused and nothing else. FindSemaphore answers the handle itself,
//! tagged with [`HANDLE_TAG`] (never a ring-3 address), which any task may use as the
//! structure's address, since it cannot read the owner's memory; a handle alone names only a
//! semaphore that was made public (handles are dense: a guessed one reaches no private
//! semaphore). The address of a structure is looked up in a tree (O(log n)) only when it is
//! initialised.
//!
//! A ring-3 task's shared holds must be on its own books (exec's `Task::shared_holds` has 8
//! slots; a hold past them is counted, not named): a shared obtain that would not fit is
//! refused, and a release must name a hold on the books. Otherwise a task with an unnamed hold
//! could release any semaphore held shared by others, and leave it to be freed under them.
//!
//! When the owner ends, its semaphores leave the public list and are freed, except one that
//! another task still holds or waits for: that one lives on (its handle still works) until it
//! is idle. Exec already gave back what the ending task held. The records are guarded by
//! Forbid.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use exec::global::Global;
use exec::handles::HandleTable;
use exec::sched::{forbid, permit};
use exec::semaphore::SignalSemaphore;
use exec::task::Task;

use exec::sys_gate::GateError::BadPointer;
use exec::sys_gate::GateResult;

/// Marks a handle given out as a semaphore's address (bit 63: ring-3 memory lies below 4 GiB,
/// and generations use bits 32-62).
pub const HANDLE_TAG: u64 = 1 << 63;

/// Room the table of semaphores takes at boot ([`reserve`]), so that it does not grow the
/// kernel heap under a task's calls while it holds fewer.
const SEMAPHORES_RESERVED: usize = 256;

struct Record {
    /// Null once the owner ended.
    owner: *mut Task,
    /// The address of the owner's structure.
    user: u64,
    sem: Box<SignalSemaphore>,
    /// The name the semaphore is public under, which its node points at.
    name: Option<String>,
    public: bool,
    /// Whether it was ever public: only such a semaphore may be named by its handle alone
    /// (what FindSemaphore gave), so a guessed handle reaches no private one.
    published: bool,
    /// The owner's family, charged for the record.
    family: u64,
}

/// The ring-3 semaphores' records. Forbid.
struct Semaphores {
    /// Every one, by handle (O(1)).
    records: HandleTable<Record>,
    /// Every one, by the address of its owner's structure: looked up by init only.
    by_user: BTreeMap<u64, u64>,
    /// The public ones, by the address of their working half (what exec's find_semaphore
    /// gives), to their handle.
    public: BTreeMap<usize, u64>,
    /// (owner, handle) of every one with an owner: a task's end finds its own by a range, not
    /// a walk of every task's.
    by_owner: BTreeSet<(usize, u64)>,
    /// The orphans (owner ended while others held or waited for them), by the address of their
    /// working half: freed at a release that leaves one idle, or when an ending task's hold
    /// or wait was the last (exec says which: [`orphan_idle`]), never by a walk of them all.
    orphans: BTreeMap<usize, u64>,
}

// SAFETY: the records are the kernel's own, touched only under Forbid on the one CPU; the tasks
// they name are exec's, shared between tasks by design.
unsafe impl Send for Semaphores {}

static RECORDS: Global<Semaphores> =
    Global::new(Semaphores { records: HandleTable::new(), by_user: BTreeMap::new(), public: BTreeMap::new(), by_owner: BTreeSet::new(), orphans: BTreeMap::new() });

/// Makes the table's room at boot (see [`SEMAPHORES_RESERVED`]). Not callable from an
/// interrupt.
pub fn reserve() {
    forbid();
    // SAFETY: Forbid held.
    unsafe { (*RECORDS.get()).records.reserve_once(SEMAPHORES_RESERVED) };
    permit();
}

/// How many ring-3 semaphores the kernel keeps (orphans included), for tests.
pub(crate) fn count() -> usize {
    forbid();
    // SAFETY: Forbid held.
    let n = unsafe { (*RECORDS.get()).records.len() };
    permit();
    n
}

fn me() -> *mut Task {
    exec::task::find_task(None)
}

/// The handle a call names its semaphore by, from what the caller passed: a handle
/// FindSemaphore gave (tagged), or the address of its structure, whose `ring3_handle` word is
/// read through the door (it must be the caller's readable memory). `None` if neither.
fn handle_of(named: u64) -> Option<(u64, u64)> {
    if named & HANDLE_TAG != 0 {
        return Some((named & !HANDLE_TAG, named));
    }
    let at = named.checked_add(core::mem::offset_of!(SignalSemaphore, ring3_handle) as u64)?;
    // SAFETY: the only reference to the caller's space during this call.
    let s = unsafe { crate::gate::my_space() }?;
    let h: u64 = s.readable(at, 8)?.read(0);
    Some((h & !HANDLE_TAG, named))
}

/// The record `named` names (see [`handle_of`]): the handle's record, if the name was that
/// handle, or the structure the record was made for. Forbid held.
fn record_of(records: &mut HandleTable<Record>, named: Option<(u64, u64)>) -> Option<(u64, &mut Record)> {
    let (handle, named) = named?;
    let rec = records.get_mut(handle)?;
    // An orphan's structure went with its owner: whoever has memory at its address now is
    // another task, which reaches it only if it holds it already (a pages-sharing holder).
    let ok = if named & HANDLE_TAG != 0 {
        rec.published
    } else {
        rec.user == named && (!rec.owner.is_null() || rec.sem.held_by_caller_on_record())
    };
    ok.then_some((handle, rec))
}

/// Runs `f` on the record `named` names under Forbid; BadPointer if there is none.
fn with(named: u64, f: impl FnOnce(&mut Record) -> GateResult) -> GateResult {
    let h = handle_of(named);
    forbid();
    // SAFETY: Forbid held.
    let r = match record_of(unsafe { &mut (*RECORDS.get()).records }, h) {
        Some((_, rec)) => f(rec),
        None => Err(BadPointer),
    };
    permit();
    r
}

/// init_semaphore: the structure at `addr` must be the caller's writable memory. A structure
/// whose semaphore is in use (held or waited for), or another task's (pages shared writable
/// between two tasks), is refused. The new semaphore's handle is written into the structure's
/// `ring3_handle`. Result: the handle, tagged ([`HANDLE_TAG`]), or BadPointer.
pub fn init(addr: u64) -> GateResult {
    // SAFETY: the only reference to the caller's space during this call.
    let Some(s) = (unsafe { crate::gate::my_space() }) else { return Err(BadPointer) };
    let user = s.writable(addr, size_of::<SignalSemaphore>() as u64).ok_or(BadPointer)?;
    let me = me();
    forbid();
    // SAFETY: Forbid held.
    let all = unsafe { &mut *RECORDS.get() };
    let old = all.by_user.get(&addr).copied();
    let r = match old.and_then(|h| all.records.get(h)) {
        // Another task's record (pages shared writable), or one in use, stays. (An orphan is
        // no longer listed by address: its structure went with its owner.)
        Some(o) if !o.sem.is_idle() || o.owner != me => Err(BadPointer),
        _ => {
            if let Some(h) = old {
                all.forget(h);
            }
            // SAFETY: the running task is live; its policy is the kernel's.
            let family = unsafe { crate::space::policy_of(me) }.map_or(0, |p| p.family);
            if crate::policy::admit_record(family).is_ok() {
                let mut sem = Box::new(SignalSemaphore::new());
                // SAFETY: a fresh semaphore in its box.
                unsafe { exec::semaphore::init_semaphore(&mut *sem) };
                let h = all.records.insert(Record { owner: me, user: addr, sem, name: None, public: false, published: false, family });
                all.by_user.insert(addr, h);
                all.by_owner.insert((me as usize, h));
                user.write(core::mem::offset_of!(SignalSemaphore, ring3_handle) as u64, h | HANDLE_TAG);
                Ok(h | HANDLE_TAG)
            } else {
                Err(BadPointer)
            }
        }
    };
    permit();
    r
}

impl Semaphores {
    /// Takes the record `h` out of every index and drops it (its public name given back, its
    /// family's count too). Forbid held.
    fn forget(&mut self, h: u64) {
        if let Some(old) = self.records.remove(h) {
            self.orphans.remove(&(&*old.sem as *const SignalSemaphore as usize));
            self.by_owner.remove(&(old.owner as usize, h));
            if self.by_user.get(&old.user) == Some(&h) {
                self.by_user.remove(&old.user);
            }
            drop_record(old, &mut self.public);
        }
    }
}

/// obtain_semaphore(_shared): may wait. Result: 0 or BadPointer.
pub fn obtain(named: u64, shared: bool) -> GateResult {
    // Found and obtained under one Forbid, so that no other task's call (init on pages two
    // tasks share) can drop the record in between; once the caller holds it or waits for it,
    // the box stays put (see the module's note), and exec's wait breaks the Forbid as usual.
    forbid();
    let sem = with(named, |r| {
        if shared && !r.sem.shared_hold_fits() {
            return Err(BadPointer);
        }
        Ok(&mut *r.sem as *mut SignalSemaphore as u64)
    });
    if let Ok(sem) = sem {
        let sem = sem as *mut SignalSemaphore;
        // SAFETY: a live semaphore (its record holds it), initialised; Forbid held since it
        // was found.
        unsafe {
            if shared {
                exec::semaphore::obtain_semaphore_shared(sem);
            } else {
                exec::semaphore::obtain_semaphore(sem);
            }
        }
    }
    permit();
    sem.map(|_| 0)
}

/// attempt_semaphore(_shared). Result: 1 (obtained), 0, or BadPointer.
pub fn attempt(named: u64, shared: bool) -> GateResult {
    with(named, |r| {
        if shared && !r.sem.shared_hold_fits() {
            return Err(BadPointer);
        }
        // SAFETY: a live semaphore, Forbid held.
        let got = unsafe {
            if shared {
                exec::semaphore::attempt_semaphore_shared(&mut *r.sem)
            } else {
                exec::semaphore::attempt_semaphore(&mut *r.sem)
            }
        };
        Ok(got as u64)
    })
}

/// release_semaphore. Releasing one the caller does not hold is refused (BadPointer),
/// where exec would raise an alert for a ring-0 caller.
pub fn release(named: u64) -> GateResult {
    let named = handle_of(named);
    forbid();
    // SAFETY: Forbid held.
    let all = unsafe { &mut *RECORDS.get() };
    let r = match record_of(&mut all.records, named) {
        Some((h, rec)) if rec.sem.held_by_caller_on_record() => {
            // SAFETY: a live semaphore the caller holds.
            unsafe { exec::semaphore::release_semaphore(&mut *rec.sem) };
            if rec.owner.is_null() && rec.sem.is_idle() {
                all.forget(h);
            }
            Ok(0)
        }
        _ => Err(BadPointer),
    };
    permit();
    r
}

/// add_semaphore: the caller's semaphore (initialised here, as exec's add_semaphore does)
/// becomes public under the name its structure's node carries (checked and copied). Result:
/// the handle, tagged, or BadPointer (also once its family holds
/// `policy::FAMILY_PUBLIC_NAMES` public names).
pub fn add(addr: u64) -> GateResult {
    let tagged = init(addr)?;
    // SAFETY: the only reference to the caller's space during this call.
    let Some(s) = (unsafe { crate::gate::my_space() }) else { return Err(BadPointer) };
    let sem = s.writable(addr, size_of::<SignalSemaphore>() as u64).ok_or(BadPointer)?;
    // Only the name's address and length (plain words) are read from it.
    let node = core::mem::offset_of!(SignalSemaphore, node);
    let at: u64 = sem.read((node + exec::list::Node::NAME_AT) as u64);
    let len: u64 = sem.read((node + exec::list::Node::NAME_LEN_AT) as u64);
    let Some(name) = crate::gate::name_arg(at, len) else { return Err(BadPointer) };
    let me = me();
    let handle = tagged & !HANDLE_TAG;
    forbid();
    // SAFETY: Forbid held.
    let Semaphores { records, public, .. } = unsafe { &mut *RECORDS.get() };
    let r = match records.get_mut(handle) {
        Some(r) if r.owner == me && !r.public && r.sem.is_idle() && crate::policy::take_public_name(r.family).is_ok() => {
            let name = r.name.insert(name);
            // SAFETY: the name lives in the record as long as the semaphore; Forbid held.
            unsafe {
                r.sem.node.set_name(name.as_str());
                exec::semaphore::add_semaphore(&mut *r.sem);
            }
            r.public = true;
            r.published = true;
            public.insert(&*r.sem as *const SignalSemaphore as usize, handle);
            Ok(tagged)
        }
        _ => Err(BadPointer),
    };
    permit();
    r
}

/// find_semaphore: the handle of the public ring-3 semaphore `name`, tagged ([`HANDLE_TAG`]:
/// what a task passes as the semaphore's address), or 0.
pub fn find(name: &str) -> GateResult {
    forbid();
    let sem = exec::semaphore::find_semaphore(name);
    // SAFETY: Forbid held.
    let h = unsafe { (*RECORDS.get()).public.get(&(sem as usize)).map_or(0, |&h| h | HANDLE_TAG) };
    permit();
    Ok(h)
}

/// rem_semaphore: the caller's own public semaphore leaves the list.
pub fn rem(named: u64) -> GateResult {
    let named = handle_of(named);
    let me = me();
    forbid();
    // SAFETY: Forbid held.
    let Semaphores { records, public, .. } = unsafe { &mut *RECORDS.get() };
    let r = match record_of(records, named) {
        Some((_, r)) if r.owner == me && r.public => {
            unpublish(r, public);
            Ok(0)
        }
        _ => Err(BadPointer),
    };
    permit();
    r
}

/// `r` leaves exec's public list (if it is on it), its family's count of public names and
/// `public` (the public ones by address). Forbid held.
fn unpublish(r: &mut Record, public: &mut BTreeMap<usize, u64>) {
    if r.public {
        // SAFETY: on the public list (its flag says so); Forbid held by the callers.
        unsafe { exec::semaphore::rem_semaphore(&mut *r.sem) };
        r.public = false;
        public.remove(&(&*r.sem as *const SignalSemaphore as usize));
        crate::policy::give_back_public_name(r.family);
    }
}

fn drop_record(mut r: Record, public: &mut BTreeMap<usize, u64>) {
    unpublish(&mut r, public);
    crate::policy::release_record(r.family);
}

/// Exec's task end let go of `sem`: if it is an orphan and idle now, it goes. Disable held
/// (exec's task end); exec touches `sem` no more after this.
pub fn orphan_idle(sem: *mut SignalSemaphore) {
    forbid();
    // SAFETY: Forbid held (and Disable).
    let all = unsafe { &mut *RECORDS.get() };
    if let Some(h) = all.orphans.get(&(sem as usize)).copied()
        && all.records.get(h).is_some_and(|r| r.sem.is_idle())
    {
        all.forget(h);
    }
    permit();
}

/// Task end (after exec gave back what the task held and dropped its wait): its semaphores
/// go; one still in use by others stays, an orphan, until it is idle.
pub fn reclaim(task: *mut Task) {
    forbid();
    // SAFETY: Forbid held.
    let all = unsafe { &mut *RECORDS.get() };
    let t = task as usize;
    let mine: Vec<u64> = all.by_owner.range((t, 0)..=(t, u64::MAX)).map(|&(_, h)| h).collect();
    for h in mine {
        all.by_owner.remove(&(t, h));
        let Some(r) = all.records.get_mut(h) else { continue };
        if r.sem.is_idle() {
            all.forget(h);
        } else {
            // Still in use by others: it stays until it is idle, an orphan's. Its structure
            // went with its owner: the address may be another task's structure next.
            r.owner = core::ptr::null_mut();
            unpublish(r, &mut all.public);
            if all.by_user.get(&r.user) == Some(&h) {
                all.by_user.remove(&r.user);
            }
            all.orphans.insert(&*r.sem as *const SignalSemaphore as usize, h);
        }
    }
    if all.records.is_empty() {
        // An empty tree still holds its root node: give it back to the kernel heap too (the
        // table keeps its room: its generations must go on).
        all.by_user = BTreeMap::new();
        all.public = BTreeMap::new();
        all.by_owner = BTreeSet::new();
        all.orphans = BTreeMap::new();
    }
    permit();
}
