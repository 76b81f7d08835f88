//! Task numbers: how a task is named for good. A task's number ([`Task::id`]) is a handle
//! (a slot index and the slot's generation, see `handles`) into the table of tasks that have
//! not ended, so the task behind a number is found in O(1), and a number whose task ended is
//! refused even after its slot is used again. Ring-3 tasks name tasks by these numbers (the
//! gate never takes a task's address from them); the shell's CLI table and the DOS handlers'
//! records keep them too.

use crate::global::Global;
use crate::handles::HandleTable;
use crate::sched::{disable, enable};
use crate::task::Task;

/// Every task that has not ended (its address), by number. Disable.
static TASKS: Global<HandleTable<usize>> = Global::new(HandleTable::new());

/// Room the table takes at the first task: enough for every task a usual system runs, so
/// that starting and ending tasks leaves the kernel heap as it was (a table grows past it,
/// and then keeps its size).
const TASKS_RESERVED: usize = 256;

/// Gives `t` its number as it joins the tasks (the table may grow: an allocation).
///
/// # Safety
/// Disable held; `t` is live and has no number yet.
pub(crate) unsafe fn give_number(t: *mut Task) -> u64 {
    // SAFETY: Disable held (the contract) guards the table.
    let table = unsafe { &mut *TASKS.get() };
    table.reserve_once(TASKS_RESERVED);
    table.insert(t as usize)
}

/// Takes back the number of a task that ends: from now on it names no task.
///
/// Kept out of line: the scheduler's stack-overflow path calls it, and inlined there it cost
/// every switch instructions.
///
/// # Safety
/// Disable held.
#[inline(never)]
pub(crate) unsafe fn retire_number(id: u64) {
    // SAFETY: Disable held (the contract) guards the table.
    unsafe { (*TASKS.get()).remove(id) };
}

/// The task numbered `id` ([`Task::id`]), if it has not ended. Inputs: any number (a stale,
/// forged or zero one finds nothing). Result: the task's address, or null. O(1). Callable
/// from an interrupt.
pub fn task_by_number(id: u64) -> *mut Task {
    disable();
    // SAFETY: Disable held guards the table.
    let t = unsafe { (*TASKS.get()).get(id).copied().unwrap_or(0) };
    enable();
    t as *mut Task
}

/// Whether the task numbered `id` has not ended: how a server that keeps records for its
/// clients (a DOS handler's open files) learns that one has gone. O(1). From ring 3 through
/// the gate: it tells only whether a number is in use. Callable from an interrupt.
pub fn task_alive(id: u64) -> bool {
    !task_by_number(id).is_null()
}

/// The number of `task` (the caller's own if null): how ring-0 code turns the address it
/// names a task by into the number ring 3 and shared records name it by. Result: the number.
/// Callable from an interrupt (null then gives the interrupted task's).
///
/// # Safety
/// `task` is null or a live task.
pub unsafe fn task_number(task: *mut Task) -> u64 {
    let t = if task.is_null() { crate::task::find_task(None) } else { task };
    // SAFETY: `t` is live (the contract, or the running task).
    unsafe { (*t).id() }
}
