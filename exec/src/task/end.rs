//! A task's end: rem_task, the notice its parent asked for (notify_on_end), the reclaiming
//! of everything it owned, and the freeing of its stack and body once another task runs.

use alloc::boxed::Box;

use super::{Task, TaskState, is_live, unlink_all};
use crate::execbase::base;
use crate::memory;
use crate::sched::{self, disable, enable};

/// Ends `task` (the caller itself if null): takes it off its list, frees the memory it
/// allocated without MEMF_PUBLIC, takes its public ports off the port list, releases the
/// semaphores it holds. Its stack is freed once another task runs.
///
/// Removing oneself does not return. Not callable from an interrupt.
///
/// # Safety
/// `task` is null or a live task, and whoever removes another task knows it holds nothing
/// that others still need (as in Exec, RemTask of another task is for its parent).
pub unsafe fn rem_task(task: *mut Task) {
    disable();
    let eb = base();
    // SAFETY: Disable held; `task` is null or a live task (caller). Each reference to
    // ExecBase ends within its expression (reclaim and schedule reach it too).
    unsafe {
        let me = (*eb).this_task;
        let task = if task.is_null() { me } else { task };
        match (*task).state {
            TaskState::Ready => (*eb).task_ready.remove(&mut (*task).node),
            // A waiting task is on no list.
            TaskState::Waiting | TaskState::Running | TaskState::Added => {}
            TaskState::Removed => {
                enable();
                return;
            }
        }
        unlink_all(&mut *eb, task);
        // Removed before its reclaim: aborting its I/O replies to its ports, and a signal
        // must not make a Waiting task ready again on its way out.
        (*task).state = TaskState::Removed;
        reclaim(task);
        (*eb).zombies.add_tail(&mut (*task).node);
        if task == me {
            sched::schedule();
            unreachable!("a removed task was scheduled");
        }
        // Another task: it is not running, so it can go at once.
        reap();
    }
    enable();
}

/// Asks exec to signal `who` with `mask` when `task` ends, however it ends (a fault that
/// removes a ring-3 task included): how a parent learns that a child it waits for is gone.
/// Call under Forbid right after starting `task`, so that it cannot have ended yet; a `who`
/// that has ended by then is not signalled. Not callable from an interrupt.
///
/// # Safety
/// `task` is a live task.
pub unsafe fn notify_on_end(task: *mut Task, who: *mut Task, mask: u32) {
    crate::sched::forbid();
    // SAFETY: `task` live (caller); Forbid guards the fields.
    unsafe {
        (*task).end_notify = who;
        (*task).end_mask = mask;
    }
    crate::sched::permit();
}

/// Signals the task that asked to hear of `task`'s end, if it is still there. Disable held.
///
/// # Safety
/// Disable held; `task` is live and ending.
unsafe fn notify_end(task: *mut Task) {
    // SAFETY: per the caller.
    let (who, mask) = unsafe { ((*task).end_notify, (*task).end_mask) };
    if who.is_null() || who == task {
        return;
    }
    if is_live(who) {
        // SAFETY: a live task (just found); Disable held.
        unsafe { crate::signal::signal(who, mask) };
    }
}

/// Frees what `task` owned. Disable held.
///
/// # Safety
/// Disable held; `task` is live and off every scheduler list.
pub(crate) unsafe fn reclaim(task: *mut Task) {
    // SAFETY: per the caller: `task` is live and off every scheduler list. Order matters: its
    // I/O is aborted and its semaphores given back before mmu-mode closes its devices and
    // frees its semaphore records; its ports go after mmu-mode returned their messages.
    unsafe {
        notify_end(task);
        crate::device::reclaim_task(task);
        crate::semaphore::reclaim_task(task);
        #[cfg(feature = "mmu")]
        crate::entry::reclaim_space(task);
        crate::port::reclaim_task(task);
        memory::reclaim_task(task);
    }
}

/// Frees the stacks and bodies of ended tasks, first reporting and reclaiming one whose stack
/// overflowed (`sched::bury_doomed`). Disable held, on a stack that is not theirs.
pub(crate) fn reap() {
    // SAFETY: Disable held; the read ends with the expression.
    if unsafe { !(*base()).doomed.is_null() } {
        crate::sched::bury_doomed();
    }
    loop {
        // SAFETY: Disable held; the reference ends with the expression (free_mem reaches
        // ExecBase's memory lists).
        let n = unsafe { (*base()).zombies.rem_head() };
        if n.is_null() {
            break;
        }
        let t = n as *mut Task;
        // SAFETY: zombies are removed tasks no list references any more; none is running.
        unsafe {
            if !(*t).stack_alloc.is_null() {
                memory::free_mem((*t).stack_alloc, (*t).stack_alloc_size);
            }
            drop(Box::from_raw(t));
        }
    }
}
