//! Signal semaphores: exclusive (nesting for the owner) and shared locks between tasks.
//! Waiters are served in FIFO order: a release hands the semaphore straight to the first
//! waiter (or to every shared waiter at the head of the queue), so nobody can barge in.
//!
//! Semaphore state is guarded by Forbid; waiting uses SIGB_SINGLE. Not for interrupts.

use core::mem::offset_of;
use core::ptr::null_mut;

use crate::alert::{AN_SEM_CORRUPT, alert};
use crate::execbase::base;
use crate::list::{List, Node, NodeType};
use crate::sched::{forbid, permit};
use crate::signal::{SIGF_SINGLE, set_signal, signal, wait};
use crate::task::Task;

/// A semaphore (Exec's `struct SignalSemaphore`).
#[repr(C)]
pub struct SignalSemaphore {
    /// In the public semaphore list when added; kind Semaphore; name.
    pub node: Node,
    /// Exclusive nesting of the owner, or the number of shared holds.
    nest_count: i32,
    /// The exclusive owner, or null (free, or held shared).
    owner: *mut Task,
    /// Waiting requests, FIFO.
    wait_queue: List,
    /// In the owner's `held_sems` list while held exclusively.
    held_link: Node,
    /// mmu-mode: in a ring-3 task's own structure, the handle of the kernel's semaphore for it
    /// (written by init_semaphore through the gate; the task may rewrite it, which only makes
    /// its own calls refused). Exec itself never reads it.
    #[cfg(feature = "mmu")]
    pub ring3_handle: u64,
}

/// One waiting task's request, on its own stack while it waits.
#[repr(C)]
struct Request {
    node: Node,
    task: *mut Task,
    shared: bool,
    granted: bool,
}

impl SignalSemaphore {
    /// A free semaphore (InitSemaphore).
    pub const fn new() -> Self {
        SignalSemaphore {
            node: Node::new(NodeType::Semaphore, 0),
            nest_count: 0,
            owner: null_mut(),
            wait_queue: List::new(NodeType::Unknown),
            held_link: Node::new(NodeType::Semaphore, 0),
            #[cfg(feature = "mmu")]
            ring3_handle: 0,
        }
    }

    /// Whether the calling task holds this semaphore, exclusively or shared (so that a
    /// release would be accepted). Forbid if the answer is to stay true.
    pub fn held_by_caller(&self) -> bool {
        let me = me();
        if !self.owner.is_null() {
            return self.owner == me;
        }
        // SAFETY: the running task is live.
        let t = unsafe { &*me };
        self.nest_count > 0 && (t.shared_holds.iter().any(|&(s, _)| core::ptr::eq(s, self)) || t.shared_untracked > 0)
    }

    /// Whether the calling task holds this semaphore on its own books: as its exclusive owner,
    /// or shared in one of its slots. A shared hold past the slots is counted but not named
    /// (see `Task::shared_holds`): it cannot say which semaphore it is of, so a release that
    /// must be sure (one from ring 3) asks this, not [`SignalSemaphore::held_by_caller`].
    /// Forbid if the answer is to stay true. Not callable from an interrupt (it asks about
    /// the running task). mmu build only: what ring 3's calls are checked with.
    #[cfg(feature = "mmu")]
    pub fn held_by_caller_on_record(&self) -> bool {
        let me = me();
        if !self.owner.is_null() {
            return self.owner == me;
        }
        // SAFETY: the running task is live.
        let t = unsafe { &*me };
        self.nest_count > 0 && t.shared_holds.iter().any(|&(s, _)| core::ptr::eq(s, self))
    }

    /// Whether a shared hold of this semaphore by the calling task would be on its books (it
    /// holds it shared already, or has a free slot). Forbid if the answer is to stay true. Not
    /// callable from an interrupt. mmu build only.
    #[cfg(feature = "mmu")]
    pub fn shared_hold_fits(&self) -> bool {
        // SAFETY: the running task is live.
        let t = unsafe { &*me() };
        t.shared_holds.iter().any(|&(s, _)| s.is_null() || core::ptr::eq(s, self))
    }

    /// Whether nobody holds or waits for this semaphore. Forbid.
    pub fn is_idle(&self) -> bool {
        self.nest_count == 0 && self.wait_queue.is_empty()
    }

    /// The exclusive owner (null if free or shared).
    pub fn owner(&self) -> *mut Task {
        self.owner
    }

    /// Exclusive nesting depth, or the number of shared holds.
    pub fn nest_count(&self) -> i32 {
        self.nest_count
    }
}

impl Default for SignalSemaphore {
    fn default() -> Self {
        Self::new()
    }
}

fn me() -> *mut Task {
    // SAFETY: reading the running task's pointer; it cannot change under us (it is us).
    unsafe { (*base()).this_task }
}

/// Resets `sem` to free with no waiters (InitSemaphore).
///
/// # Safety
/// `sem` is live and nobody holds or waits for it.
pub unsafe fn init_semaphore(sem: *mut SignalSemaphore) {
    // SAFETY: per the contract; the node keeps its name and links.
    unsafe {
        (*sem).nest_count = 0;
        (*sem).owner = null_mut();
        (*sem).wait_queue = List::new(NodeType::Unknown);
        (*sem).node.kind = NodeType::Semaphore;
    }
}

/// # Safety
/// Forbid held; `sem` is live and free; `task` is live.
unsafe fn take_exclusive(sem: *mut SignalSemaphore, task: *mut Task) {
    // SAFETY: Forbid held; both live.
    unsafe {
        (*sem).owner = task;
        (*sem).nest_count = 1;
        (*task).held_sems.add_tail(&mut (*sem).held_link);
    }
}

/// Notes one shared hold of `sem` by `task`. Forbid held.
///
/// # Safety
/// Forbid held; `task` is live.
unsafe fn add_shared(task: *mut Task, sem: *mut SignalSemaphore) {
    // SAFETY: `task` live (callers).
    let t = unsafe { &mut *task };
    if let Some(slot) = t.shared_holds.iter_mut().find(|(s, _)| *s == sem) {
        slot.1 += 1;
    } else if let Some(slot) = t.shared_holds.iter_mut().find(|(s, _)| s.is_null()) {
        *slot = (sem, 1);
    } else {
        t.shared_untracked += 1;
    }
}

/// Forgets one shared hold of `sem` by `task`; false if it holds none. Forbid held.
///
/// # Safety
/// Forbid held; `task` is live.
unsafe fn remove_shared(task: *mut Task, sem: *mut SignalSemaphore) -> bool {
    // SAFETY: `task` live (callers).
    let t = unsafe { &mut *task };
    if let Some(slot) = t.shared_holds.iter_mut().find(|(s, _)| *s == sem) {
        slot.1 -= 1;
        if slot.1 == 0 {
            *slot = (null_mut(), 0);
        }
        true
    } else if t.shared_untracked > 0 {
        t.shared_untracked -= 1;
        true
    } else {
        false
    }
}

/// Queues a request and waits until a release grants it. Forbid held.
///
/// # Safety
/// Forbid held; `sem` is live and initialised; called by the task that will wait.
unsafe fn wait_for(sem: *mut SignalSemaphore, shared: bool) {
    let mut req = Request { node: Node::new(NodeType::Unknown, 0), task: me(), shared, granted: false };
    set_signal(0, SIGF_SINGLE);
    // SAFETY: Forbid held; the request lives on this stack until granted (we wait for that).
    unsafe {
        (*sem).wait_queue.add_tail(&mut req.node);
        // Recorded so that the request is unlinked if the task ends while it waits.
        let me = &mut *req.task;
        me.sem_waiting = sem;
        me.sem_request = &mut req as *mut Request as *mut ();
        while !core::ptr::read_volatile(&req.granted) {
            wait(SIGF_SINGLE);
        }
        me.sem_waiting = null_mut();
        me.sem_request = null_mut();
    }
}

/// Hands a free semaphore to the head of its queue. Forbid held.
///
/// # Safety
/// Forbid held; `sem` is live and free; its queue holds requests of live waiting tasks.
unsafe fn grant_next(sem: *mut SignalSemaphore) {
    // SAFETY: Forbid held; requests on the queue live on their waiting tasks' stacks.
    unsafe {
        let head = (*sem).wait_queue.head() as *mut Request;
        let Some(first) = head.as_mut() else { return };
        if !first.shared {
            (*sem).wait_queue.remove(head as *mut Node);
            take_exclusive(sem, first.task);
            first.granted = true;
            signal(first.task, SIGF_SINGLE);
            return;
        }
        while let Some(r) = ((*sem).wait_queue.head() as *mut Request).as_mut() {
            if !r.shared {
                break;
            }
            (*sem).wait_queue.remove(r as *mut Request as *mut Node);
            (*sem).nest_count += 1;
            add_shared(r.task, sem);
            r.granted = true;
            signal(r.task, SIGF_SINGLE);
        }
    }
}

/// Obtains `sem` exclusively, waiting if another task holds it. The owner may obtain it again
/// (nesting); each obtain needs a release. Not callable from an interrupt.
///
/// # Safety
/// `sem` is a live, initialised semaphore.
pub unsafe fn obtain_semaphore(sem: *mut SignalSemaphore) {
    forbid();
    // SAFETY: Forbid held; `sem` live.
    unsafe {
        if !try_take(sem, false) {
            wait_for(sem, false);
        }
    }
    permit();
}

/// Takes `sem` (shared or exclusive) if that needs no waiting: the owner nests; a free
/// semaphore is taken; a shared one is joined while no exclusive request waits (FIFO).
/// Forbid held.
///
/// # Safety
/// Forbid held; `sem` is live and initialised.
unsafe fn try_take(sem: *mut SignalSemaphore, shared: bool) -> bool {
    // SAFETY: Forbid held; `sem` live (callers).
    unsafe {
        let me = me();
        let s = &mut *sem;
        if s.owner == me {
            s.nest_count += 1;
        } else if !s.owner.is_null() {
            return false;
        } else if !shared && s.nest_count == 0 {
            take_exclusive(sem, me);
        } else if shared && s.wait_queue.is_empty() {
            s.nest_count += 1;
            add_shared(me, sem);
        } else {
            return false;
        }
        true
    }
}

/// Obtains `sem` exclusively if that is possible without waiting. Result: true if obtained.
///
/// # Safety
/// `sem` is a live, initialised semaphore.
pub unsafe fn attempt_semaphore(sem: *mut SignalSemaphore) -> bool {
    forbid();
    // SAFETY: Forbid held; `sem` live.
    let ok = unsafe { try_take(sem, false) };
    permit();
    ok
}

/// Obtains `sem` shared, waiting while it is held exclusively or an exclusive request waits
/// (FIFO). The exclusive owner obtaining it shared just nests.
///
/// # Safety
/// `sem` is a live, initialised semaphore.
pub unsafe fn obtain_semaphore_shared(sem: *mut SignalSemaphore) {
    forbid();
    // SAFETY: Forbid held; `sem` live.
    unsafe {
        if !try_take(sem, true) {
            wait_for(sem, true);
        }
    }
    permit();
}

/// Obtains `sem` shared if that is possible without waiting. Result: true if obtained.
///
/// # Safety
/// `sem` is a live, initialised semaphore.
pub unsafe fn attempt_semaphore_shared(sem: *mut SignalSemaphore) -> bool {
    forbid();
    // SAFETY: Forbid held; `sem` live.
    let ok = unsafe { try_take(sem, true) };
    permit();
    ok
}

/// Releases one obtain (exclusive or shared) of `sem`. When the last hold goes, the first
/// waiter gets it (or all shared waiters at the head of the queue). Releasing a semaphore the
/// caller does not hold raises a recoverable alert (`AN_SEM_CORRUPT`) and changes nothing.
///
/// # Safety
/// `sem` is a live, initialised semaphore.
pub unsafe fn release_semaphore(sem: *mut SignalSemaphore) {
    forbid();
    // SAFETY: Forbid held; `sem` live.
    unsafe {
        let me = me();
        let holds = if (*sem).owner.is_null() {
            (*sem).nest_count > 0 && remove_shared(me, sem)
        } else {
            (*sem).owner == me
        };
        if !holds {
            permit();
            return alert(AN_SEM_CORRUPT);
        }
        (*sem).nest_count -= 1;
        if (*sem).nest_count == 0 {
            if !(*sem).owner.is_null() {
                (*me).held_sems.remove(&mut (*sem).held_link);
                (*sem).owner = null_mut();
            }
            grant_next(sem);
        }
    }
    permit();
}

/// Makes `sem` public under its node's name (and initialises it).
///
/// # Safety
/// `sem` is live, not public, not in use, and outlives its public life.
pub unsafe fn add_semaphore(sem: *mut SignalSemaphore) {
    forbid();
    // SAFETY: Forbid held; `sem` live.
    unsafe {
        init_semaphore(sem);
        (*base()).sem_list.enqueue(&mut (*sem).node);
    }
    permit();
}

/// The public semaphore named `name`, or null. Not callable from an interrupt. In ring 3 (mmu
/// build) the answer is the semaphore's handle, tagged so that it is never an address: it is
/// passed to the semaphore calls as the semaphore, never read through.
pub fn find_semaphore(name: &str) -> *mut SignalSemaphore {
    forbid();
    // SAFETY: Forbid held.
    let s = unsafe { (*base()).sem_list.find_name(name) } as *mut SignalSemaphore;
    permit();
    s
}

/// Takes `sem` off the public list.
///
/// # Safety
/// `sem` is a live public semaphore.
pub unsafe fn rem_semaphore(sem: *mut SignalSemaphore) {
    forbid();
    // SAFETY: Forbid held; `sem` is on the public list (caller).
    unsafe { (*base()).sem_list.remove(&mut (*sem).node) };
    permit();
}

/// Cleans up `task`'s semaphores at its end: unlinks a request it is waiting with, releases
/// what it holds exclusively or shared, and passes each freed semaphore to its next waiter.
/// Disable held (task end).
///
/// # Safety
/// Disable held; `task` is live and ending; its records point at live semaphores.
pub(crate) unsafe fn reclaim_task(task: *mut Task) {
    // SAFETY: `task` live; its records point at live semaphores (and a request on its stack,
    // which is freed only after this).
    unsafe {
        let t = &mut *task;
        let sem = core::mem::replace(&mut t.sem_waiting, null_mut());
        if !sem.is_null() {
            let req = t.sem_request as *mut Request;
            if !(*req).granted {
                (*sem).wait_queue.remove(req as *mut Node);
                if (*sem).owner.is_null() && (*sem).nest_count == 0 {
                    grant_next(sem);
                }
            }
            t.sem_request = null_mut();
            left(sem);
        }
        loop {
            let link = t.held_sems.rem_head();
            if link.is_null() {
                break;
            }
            let sem = (link as *mut u8).sub(offset_of!(SignalSemaphore, held_link)) as *mut SignalSemaphore;
            (*sem).owner = null_mut();
            (*sem).nest_count = 0;
            grant_next(sem);
            left(sem);
        }
        for slot in t.shared_holds.iter_mut() {
            let (sem, n) = core::mem::replace(slot, (null_mut(), 0));
            if let Some(s) = sem.as_mut() {
                s.nest_count -= n as i32;
                if s.nest_count <= 0 && s.owner.is_null() {
                    s.nest_count = 0;
                    grant_next(sem);
                }
                left(sem);
            }
        }
    }
}

/// An ending task has let go of `sem` (a hold or a wait): in the mmu build, if nobody holds
/// or waits for it now, mmu-mode hears of it (a ring-3 semaphore whose owner ended is freed
/// then, and `sem` must not be touched after). Nothing in the flat build. Disable held.
///
/// # Safety
/// Disable held; `sem` is live.
#[inline(always)]
unsafe fn left(sem: *mut SignalSemaphore) {
    #[cfg(feature = "mmu")]
    // SAFETY: per the contract; checked idle first.
    unsafe {
        if (*sem).is_idle() {
            crate::entry::semaphore_idle(sem);
        }
    }
    #[cfg(not(feature = "mmu"))]
    let _ = sem;
}
