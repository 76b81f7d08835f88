//! Semaphores for ring-3 tasks.
//!
//! A SignalSemaphore links the tasks waiting for it, so exec must not keep one in memory a
//! task can write (a task could bend the links and make exec write where it likes). A ring-3
//! task's semaphore therefore has two halves: the structure in its own memory, whose address
//! is the handle every task uses (as on the Amiga), and exec's semaphore, kept here in kernel
//! memory, that does the work. Names (add_semaphore) are copied from the task's structure.
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
use exec::sched::{forbid, permit};
use exec::semaphore::SignalSemaphore;
use exec::task::Task;

use exec::sys_gate::GateError::BadPointer;
use exec::sys_gate::GateResult;

struct Record {
    /// Null once the owner ended.
    owner: *mut Task,
    sem: Box<SignalSemaphore>,
    /// The name the semaphore is public under, which its node points at.
    name: Option<String>,
    public: bool,
    /// The owner's family, charged for the record.
    family: u64,
}

/// The ring-3 semaphores' records. Forbid.
struct Semaphores {
    /// Every one, by handle (found in O(log n), whatever the number).
    records: BTreeMap<u64, Record>,
    /// The public ones, by the address of their working half (what exec's find_semaphore
    /// gives), to their handle.
    public: BTreeMap<usize, u64>,
    /// (owner, handle) of every one with an owner: a task's end finds its own by a range, not
    /// a walk of every task's.
    by_owner: BTreeSet<(usize, u64)>,
}

// SAFETY: the records are the kernel's own, touched only under Forbid on the one CPU; the tasks
// they name are exec's, shared between tasks by design.
unsafe impl Send for Semaphores {}

static RECORDS: Global<Semaphores> = Global::new(Semaphores { records: BTreeMap::new(), public: BTreeMap::new(), by_owner: BTreeSet::new() });

fn me() -> *mut Task {
    exec::task::find_task(None)
}

/// Runs `f` on the record of `handle` under Forbid; BadPointer if there is none.
fn with(handle: u64, f: impl FnOnce(&mut Record) -> GateResult) -> GateResult {
    forbid();
    // SAFETY: Forbid held.
    let r = match unsafe { (*RECORDS.get()).records.get_mut(&handle) } {
        Some(rec) => f(rec),
        None => Err(BadPointer),
    };
    permit();
    r
}

/// init_semaphore: the structure at `handle` must be the caller's writable memory. A handle
/// in use (held or waited for), or another task's (pages shared writable between two tasks),
/// is refused. Result: 0 or BadPointer.
pub fn init(handle: u64) -> GateResult {
    // SAFETY: the only reference to the caller's space during this call.
    let Some(s) = (unsafe { crate::gate::my_space() }) else { return Err(BadPointer) };
    s.writable(handle, size_of::<SignalSemaphore>() as u64).ok_or(BadPointer)?;
    forbid();
    // SAFETY: Forbid held.
    let Semaphores { records, public, by_owner } = unsafe { &mut *RECORDS.get() };
    let r = match records.get(&handle) {
        // An orphan's record (its owner ended: null) may be taken over once idle.
        Some(old) if !old.sem.is_idle() || (!old.owner.is_null() && old.owner != me()) => Err(BadPointer),
        _ => {
            if let Some(old) = records.remove(&handle) {
                by_owner.remove(&(old.owner as usize, handle));
                drop_record(old, public);
            }
            // SAFETY: the running task is live; its policy is the kernel's.
            let family = unsafe { crate::space::policy_of(me()) }.map_or(0, |p| p.family);
            if crate::policy::admit_record(family).is_ok() {
                let mut sem = Box::new(SignalSemaphore::new());
                // SAFETY: a fresh semaphore in its box.
                unsafe { exec::semaphore::init_semaphore(&mut *sem) };
                records.insert(handle, Record { owner: me(), sem, name: None, public: false, family });
                by_owner.insert((me() as usize, handle));
                Ok(0)
            } else {
                Err(BadPointer)
            }
        }
    };
    permit();
    r
}

/// obtain_semaphore(_shared): may wait. Result: 0 or BadPointer.
pub fn obtain(handle: u64, shared: bool) -> GateResult {
    // Found and obtained under one Forbid, so that no other task's call (init on pages two
    // tasks share) can drop the record in between; once the caller holds it or waits for it,
    // the box stays put (see the module's note), and exec's wait breaks the Forbid as usual.
    forbid();
    let sem = with(handle, |r| Ok(&mut *r.sem as *mut SignalSemaphore as u64));
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
pub fn attempt(handle: u64, shared: bool) -> GateResult {
    with(handle, |r| {
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
pub fn release(handle: u64) -> GateResult {
    forbid();
    // SAFETY: Forbid held.
    let Semaphores { records, public, .. } = unsafe { &mut *RECORDS.get() };
    let r = match records.get_mut(&handle) {
        Some(rec) if rec.sem.held_by_caller() => {
            // SAFETY: a live semaphore the caller holds.
            unsafe { exec::semaphore::release_semaphore(&mut *rec.sem) };
            if rec.owner.is_null()
                && rec.sem.is_idle()
                && let Some(old) = records.remove(&handle)
            {
                drop_record(old, public);
            }
            Ok(0)
        }
        _ => Err(BadPointer),
    };
    permit();
    r
}

/// add_semaphore: the caller's semaphore (initialised here, as exec's add_semaphore does)
/// becomes public under the name its structure's node carries (checked and copied). Result: 0
/// or BadPointer (also once its family holds `policy::FAMILY_PUBLIC_NAMES` public names).
pub fn add(handle: u64) -> GateResult {
    init(handle)?;
    // SAFETY: the only reference to the caller's space during this call.
    let Some(s) = (unsafe { crate::gate::my_space() }) else { return Err(BadPointer) };
    let sem = s.writable(handle, size_of::<SignalSemaphore>() as u64).ok_or(BadPointer)?;
    // Only the name's address and length (plain words) are read from it.
    let node = core::mem::offset_of!(SignalSemaphore, node);
    let at: u64 = sem.read((node + exec::list::Node::NAME_AT) as u64);
    let len: u64 = sem.read((node + exec::list::Node::NAME_LEN_AT) as u64);
    let Some(name) = crate::gate::name_arg(at, len) else { return Err(BadPointer) };
    let me = me();
    forbid();
    // SAFETY: Forbid held.
    let Semaphores { records, public, .. } = unsafe { &mut *RECORDS.get() };
    let r = match records.get_mut(&handle) {
        Some(r) if r.owner == me && !r.public && r.sem.is_idle() && crate::policy::take_public_name(r.family).is_ok() => {
            let name = r.name.insert(name);
            // SAFETY: the name lives in the record as long as the semaphore; Forbid held.
            unsafe {
                r.sem.node.set_name(name.as_str());
                exec::semaphore::add_semaphore(&mut *r.sem);
            }
            r.public = true;
            public.insert(&*r.sem as *const SignalSemaphore as usize, handle);
            Ok(0)
        }
        _ => Err(BadPointer),
    };
    permit();
    r
}

/// find_semaphore: the handle of the public ring-3 semaphore `name`, or 0.
pub fn find(name: &str) -> GateResult {
    forbid();
    let sem = exec::semaphore::find_semaphore(name);
    // SAFETY: Forbid held.
    let h = unsafe { (*RECORDS.get()).public.get(&(sem as usize)).copied().unwrap_or(0) };
    permit();
    Ok(h)
}

/// rem_semaphore: the caller's own public semaphore leaves the list.
pub fn rem(handle: u64) -> GateResult {
    let me = me();
    forbid();
    // SAFETY: Forbid held.
    let Semaphores { records, public, .. } = unsafe { &mut *RECORDS.get() };
    let r = match records.get_mut(&handle) {
        Some(r) if r.owner == me && r.public => {
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

/// Task end (after exec gave back what the task held and dropped its wait): its semaphores
/// go; one still in use by others stays until it is idle.
pub fn reclaim(task: *mut Task) {
    forbid();
    // SAFETY: Forbid held.
    let Semaphores { records, public, by_owner } = unsafe { &mut *RECORDS.get() };
    let t = task as usize;
    let mine: Vec<u64> = by_owner.range((t, 0)..=(t, u64::MAX)).map(|&(_, h)| h).collect();
    for h in mine {
        by_owner.remove(&(t, h));
        let Some(r) = records.get_mut(&h) else { continue };
        if r.sem.is_idle() {
            if let Some(old) = records.remove(&h) {
                drop_record(old, public);
            }
        } else {
            // Still in use by others: it stays until it is idle, an orphan's.
            r.owner = core::ptr::null_mut();
            unpublish(r, public);
        }
    }
    if records.is_empty() {
        // An empty tree still holds its root node: give it back to the kernel heap too.
        *records = BTreeMap::new();
        *public = BTreeMap::new();
        *by_owner = BTreeSet::new();
    }
    permit();
}
