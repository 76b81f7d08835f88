//! Tasks: add_task, rem_task, find_task, set_task_pri, and the life of a task from its first
//! instruction to the reclaiming of everything it owned.

use alloc::boxed::Box;
use core::ptr::null_mut;

use crate::arch::x86_64::switch;
use crate::execbase::{ExecBase, base};
use crate::list::{List, Node, NodeType};
use crate::memory::{self, MemFlags};
use crate::sched::{self, disable, enable};
use crate::signal::SIGNALS_RESERVED;
pub use crate::task_table::{task_alive, task_by_number};

mod end;
pub use end::{notify_on_end, rem_task};
pub(crate) use end::{reap, reclaim};

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum TaskState {
    /// Created, not yet on a list.
    Added,
    Ready,
    Running,
    Waiting,
    /// Ended; its stack is freed by the next task to run.
    Removed,
}

/// Longest task name kept (longer names are cut).
pub const TASK_NAME_MAX: usize = 32;
/// Smallest stack add_task gives a task.
pub const MIN_STACK: usize = 4096;
/// Bytes below every task stack that must stay untouched; checked at each switch.
pub const STACK_GUARD: usize = 4096;
pub(crate) const STACK_CANARY: u64 = 0x5afe_c0de_5afe_c0de;
/// Canary words checked just below the stack's lower bound at each switch (an overflow writes
/// them first; the rest of the guard absorbs what follows until the next switch).
pub(crate) const CANARY_WORDS: usize = 2;
/// Where `Task::stack_alloc` lies in a task (the assembly fast path's stack check reads it).
#[cfg(not(feature = "mmu"))]
pub(crate) const STACK_ALLOC: usize = core::mem::offset_of!(Task, stack_alloc);

/// A task (Exec's `struct Task`). `node` comes first: list nodes are cast to tasks.
#[repr(C)]
pub struct Task {
    /// In the ready list (a waiting task is on no list); kind Task; priority; name.
    pub node: Node,
    /// The task's number (`task_table`): given as it joins the tasks, never given again
    /// (a task that ended and a new one at the same address have different numbers); 0
    /// before. Disable.
    id: u64,
    pub state: TaskState,
    /// Disable and Forbid nesting, saved while the task is not running. Read only by the
    /// switch to the task: a task blocked in the flat build's assembly fast path saves its
    /// Disable count as 0 (`arch::x86_64::fastpath`), and its resume code knows it.
    pub nest: crate::execbase::Nesting,
    /// Signals allocated, waited for (meaningful only while Waiting: a woken task keeps its
    /// last mask), received.
    pub sig_alloc: u32,
    pub sig_wait: u32,
    pub sig_recvd: u32,
    /// Stack bounds `[sp_lower, sp_upper)`, checked at every switch.
    pub sp_lower: usize,
    pub sp_upper: usize,
    /// Stack pointer while not running.
    pub(crate) saved_sp: usize,
    /// The stack's allocation (null for the boot task, whose stack is in the image).
    stack_alloc: *mut u8,
    stack_alloc_size: usize,
    /// Memory the task allocated without MEMF_PUBLIC. Forbid.
    pub(crate) mem_list: List,
    /// Semaphores the task holds exclusively. Forbid.
    pub(crate) held_sems: List,
    /// Semaphores held shared, with their hold counts (more than fit are counted in
    /// `shared_untracked` and cannot be reclaimed). Forbid.
    pub(crate) shared_holds: [(*mut crate::semaphore::SignalSemaphore, u32); 8],
    pub(crate) shared_untracked: u32,
    /// The semaphore the task waits for, and its request (on the task's stack). Forbid.
    pub(crate) sem_waiting: *mut crate::semaphore::SignalSemaphore,
    pub(crate) sem_request: *mut (),
    /// I/O requests the task started that have not completed. Disable.
    pub(crate) io_list: List,
    entry: fn(usize),
    arg: usize,
    name: [u8; TASK_NAME_MAX],
    /// Times this task was switched to.
    pub dispatches: u64,
    /// The chain of every task, from its launch to its end (`ExecBase::all_tasks`). Disable.
    all_prev: *mut Task,
    all_next: *mut Task,
    /// While blocked in `do_msg` or `reply_wait`: the port it receives at and the message it
    /// waits for (null: any). A sender that finds it so, Waiting on an empty port, hands the
    /// message over in `handed` instead of queueing it. Disable.
    pub(crate) recv_port: *mut crate::port::MsgPort,
    pub(crate) recv_want: *mut crate::port::Message,
    pub(crate) handed: *mut crate::port::Message,
    /// Free for the task's own use (Exec's `tc_UserData`).
    pub user_data: usize,
    /// Signalled with `end_mask` when this task ends, however it ends (see notify_on_end).
    /// Forbid.
    end_notify: *mut Task,
    end_mask: u32,
    /// mmu-mode: the task's top-level page table (0: the kernel's), where it starts in ring 3
    /// (0: it runs in ring 0), its user stack top, and mmu-mode's record of its space.
    /// Set once by add_user_task; mmu-mode reads them through [`Task::space`] and friends and
    /// gives them up with [`Task::detach_space`].
    #[cfg(feature = "mmu")]
    pub(crate) cr3: u64,
    #[cfg(feature = "mmu")]
    pub(crate) user_entry: u64,
    #[cfg(feature = "mmu")]
    pub(crate) user_stack: u64,
    #[cfg(feature = "mmu")]
    pub(crate) space: usize,
    /// mmu-mode: the task's user block (its heap's state) in its own memory, where FS points
    /// while it runs in ring 3 (see `user_heap`).
    #[cfg(feature = "mmu")]
    pub(crate) user_block: u64,
    /// mmu-mode: ticks that fell while it ran with Forbid held (its own, or the kernel's for
    /// one of its gate calls) since it last took Forbid itself from none, or since a tick found
    /// it without Forbid (see `sched::RING3_FORBID_TICKS`). Written by the tick and by
    /// `sched::start_forbid_watch`, each with interrupts off.
    #[cfg(feature = "mmu")]
    pub(crate) forbid_ticks: u32,
    /// mmu-mode: the Forbid nesting the task took itself through the gate (not the kernel's
    /// for its calls), and its Forbid debt: ticks it held its own Forbid while others waited,
    /// less the ticks between them (see `sched::RING3_FORBID_DEBT`). Written by the gate's
    /// Forbid and Permit and by the tick, each with interrupts off.
    #[cfg(feature = "mmu")]
    pub(crate) own_forbid: u32,
    #[cfg(feature = "mmu")]
    pub(crate) forbid_debt: crate::sched::ForbidDebt,
    /// mmu-mode: its family's Forbid debt (all its tasks' ticks together: see
    /// `sched::RING3_FORBID_DEBT_FAMILY`), kept by mmu-mode for as long as the family has a
    /// task; null for a ring-0 task. Written by the tick with interrupts off.
    #[cfg(feature = "mmu")]
    pub(crate) family_debt: *mut crate::sched::ForbidDebt,
}

impl Task {
    fn new(name: &str, pri: i8, entry: fn(usize), arg: usize) -> Box<Task> {
        let mut t = Box::new(Task {
            node: Node::new(NodeType::Task, pri),
            id: 0,
            state: TaskState::Added,
            // A new task arrives through a switch, with interrupts off: Disable is held until
            // task_start's enable().
            nest: crate::execbase::Nesting { td_nest_cnt: 0, id_nest_cnt: 1 },
            sig_alloc: SIGNALS_RESERVED,
            sig_wait: 0,
            sig_recvd: 0,
            sp_lower: 0,
            sp_upper: 0,
            saved_sp: 0,
            stack_alloc: null_mut(),
            stack_alloc_size: 0,
            mem_list: List::new(NodeType::Memory),
            held_sems: List::new(NodeType::Semaphore),
            shared_holds: [(null_mut(), 0); 8],
            shared_untracked: 0,
            sem_waiting: null_mut(),
            sem_request: null_mut(),
            io_list: List::new(NodeType::Message),
            entry,
            arg,
            name: [0; TASK_NAME_MAX],
            dispatches: 0,
            all_prev: null_mut(),
            all_next: null_mut(),
            recv_port: null_mut(),
            recv_want: null_mut(),
            handed: null_mut(),
            user_data: 0,
            end_notify: core::ptr::null_mut(),
            end_mask: 0,
            #[cfg(feature = "mmu")]
            cr3: 0,
            #[cfg(feature = "mmu")]
            user_entry: 0,
            #[cfg(feature = "mmu")]
            user_stack: 0,
            #[cfg(feature = "mmu")]
            space: 0,
            #[cfg(feature = "mmu")]
            user_block: 0,
            #[cfg(feature = "mmu")]
            forbid_ticks: 0,
            #[cfg(feature = "mmu")]
            own_forbid: 0,
            #[cfg(feature = "mmu")]
            forbid_debt: crate::sched::ForbidDebt::NONE,
            #[cfg(feature = "mmu")]
            family_debt: null_mut(),
        });
        let mut n = name.len().min(TASK_NAME_MAX);
        while !name.is_char_boundary(n) {
            n -= 1;
        }
        t.name[..n].copy_from_slice(&name.as_bytes()[..n]);
        // SAFETY: the name lives in the task's own (boxed, never moved) memory, as long as the node.
        unsafe { t.node.set_name(core::str::from_utf8_unchecked(&t.name[..n])) };
        t
    }

    /// The task's name.
    pub fn name(&self) -> &str {
        self.node.name()
    }

    /// The task's number (see [`Task`] and `task_table`): what names a task for good, where
    /// its address may be reused once it ends; what ring 3 names it by.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// mmu-mode: mmu-mode's record of the task's address space (0: it has none, a ring-0 task).
    #[cfg(feature = "mmu")]
    pub fn space(&self) -> usize {
        self.space
    }

    /// mmu-mode: the top of the task's ring-3 stack (0 for a ring-0 task).
    #[cfg(feature = "mmu")]
    pub fn user_stack(&self) -> u64 {
        self.user_stack
    }

    /// mmu-mode: the task's top-level page table (0: it runs on the kernel's).
    #[cfg(feature = "mmu")]
    pub fn cr3(&self) -> u64 {
        self.cr3
    }

    /// mmu-mode: takes the task's address space record away (at its end), leaving it on the
    /// kernel's tables; returns the record (0 if it had none).
    #[cfg(feature = "mmu")]
    pub fn detach_space(&mut self) -> usize {
        self.cr3 = 0;
        core::mem::replace(&mut self.space, 0)
    }

    /// Whether the task has I/O requests in flight.
    pub fn io_in_flight(&self) -> bool {
        !self.io_list.is_empty()
    }

    /// Whether the task runs in ring 3 (mmu-mode's tasks with their own address space).
    pub fn runs_in_ring3(&self) -> bool {
        #[cfg(feature = "mmu")]
        return self.user_entry != 0;
        #[cfg(not(feature = "mmu"))]
        false
    }

    /// The task's priority.
    pub fn pri(&self) -> i8 {
        self.node.pri
    }

    /// Whether the stack is intact: the stack pointer `sp` inside the bounds, the canary below
    /// them untouched.
    pub(crate) fn stack_ok(&self, sp: usize) -> bool {
        if sp < self.sp_lower || sp > self.sp_upper {
            return false;
        }
        if self.stack_alloc.is_null() {
            return true;
        }
        let canary = (self.sp_lower - CANARY_WORDS * 8) as *const u64;
        // SAFETY: the canary words lie in the guard area of this task's stack allocation.
        (0..CANARY_WORDS).all(|i| unsafe { canary.add(i).read_volatile() } == STACK_CANARY)
    }
}

/// Creates a task named `name` at priority `pri` that runs `entry(arg)` on a stack of
/// `stack_size` bytes (at least [`MIN_STACK`]), and makes it ready. A task that returns from
/// `entry` ends as if it called `rem_task(null)`.
///
/// Result: the task, or null when there is no memory for its stack.
/// If the new task has a higher priority than the caller, it runs before this returns.
/// Not callable from an interrupt.
pub fn add_task(name: &str, pri: i8, entry: fn(usize), arg: usize, stack_size: usize) -> *mut Task {
    launch(Task::new(name, pri, entry, arg), stack_size)
}

/// Gives `t` a stack of `stack_size` bytes (at least [`MIN_STACK`]) with its guard, prepares
/// its first switch, and makes it ready. Result: the task, or null without memory.
fn launch(mut t: Box<Task>, stack_size: usize) -> *mut Task {
    let size = stack_size.max(MIN_STACK).next_multiple_of(16);
    let stack = memory::alloc_mem(size + STACK_GUARD, MemFlags::PUBLIC);
    if stack.is_null() {
        return null_mut();
    }
    t.stack_alloc = stack;
    t.stack_alloc_size = size + STACK_GUARD;
    t.sp_lower = stack as usize + STACK_GUARD;
    t.sp_upper = t.sp_lower + size;
    let guard = stack as *mut u64;
    for i in 0..STACK_GUARD / 8 {
        // SAFETY: the guard area is the first STACK_GUARD bytes of the stack allocation.
        unsafe { guard.add(i).write(STACK_CANARY) };
    }
    let t = Box::into_raw(t);
    // SAFETY: the stack's top 64 bytes are ours; sp_upper is 16-aligned (alloc_mem blocks are).
    unsafe { (*t).saved_sp = switch::initial_stack((*t).sp_upper, t as usize) };
    disable();
    // SAFETY: Disable held; `t` is live and unlinked.
    unsafe {
        link_all(&mut *base(), t);
        sched::make_ready(&mut *base(), t);
    }
    enable();
    t
}

/// Chains `t` into the list of every task. Disable held.
///
/// # Safety
/// Disable held; `t` is live and not chained.
unsafe fn link_all(eb: &mut ExecBase, t: *mut Task) {
    // SAFETY: per the contract; chained tasks are live.
    unsafe {
        (*t).id = crate::task_table::give_number(t);
        (*t).all_prev = null_mut();
        (*t).all_next = eb.all_tasks;
        if let Some(n) = eb.all_tasks.as_mut() {
            n.all_prev = t;
        }
        eb.all_tasks = t;
    }
}

/// Takes `t` out of the list of every task (at its end). Disable held.
///
/// # Safety
/// Disable held; `t` is live and chained.
pub(crate) unsafe fn unlink_all(eb: &mut ExecBase, t: *mut Task) {
    // SAFETY: per the contract; chained tasks are live.
    unsafe {
        let (prev, next) = ((*t).all_prev, (*t).all_next);
        match prev.as_mut() {
            Some(p) => p.all_next = next,
            None => eb.all_tasks = next,
        }
        if let Some(n) = next.as_mut() {
            n.all_prev = prev;
        }
        (*t).all_prev = null_mut();
        (*t).all_next = null_mut();
        crate::task_table::retire_number((*t).id);
    }
}

/// Calls `f` for every task that has not ended, in the order TASKLIST shows them: the running
/// one, the ready ones by priority, then the waiting ones. Disable held.
///
/// # Safety
/// Disable held; `f` does not reach ExecBase.
unsafe fn walk_tasks(eb: &ExecBase, mut f: impl FnMut(*mut Task)) {
    if !eb.this_task.is_null() {
        f(eb.this_task);
    }
    for n in eb.task_ready.iter() {
        f(n as *mut Task);
    }
    let mut t = eb.all_tasks;
    // SAFETY: chained tasks are live (Disable held).
    while let Some(task) = unsafe { t.as_ref() } {
        if task.state == TaskState::Waiting {
            f(t);
        }
        t = task.all_next;
    }
}

/// How many tasks wait (for ExecBase's counters). Disable held.
pub(crate) fn count_waiting(eb: &ExecBase) -> usize {
    let mut n = 0;
    let mut t = eb.all_tasks;
    // SAFETY: chained tasks are live (Disable held by the caller).
    while let Some(task) = unsafe { t.as_ref() } {
        n += (task.state == TaskState::Waiting) as usize;
        t = task.all_next;
    }
    n
}

/// First Rust code of every new task (called by the switch trampoline, interrupts disabled).
pub(crate) extern "C" fn task_start(task: *mut Task) -> ! {
    // Disable is still in force (we arrived through a switch).
    sched::after_switch();
    enable();
    // SAFETY: `task` is the task that was switched to, live until it ends.
    let (entry, arg) = unsafe { ((*task).entry, (*task).arg) };
    #[cfg(feature = "mmu")]
    // SAFETY: as above; a user task's space maps its entry and stack for ring 3, and the
    // scheduler loaded its CR3 and kernel stack (RSP0).
    unsafe {
        if (*task).user_entry != 0 {
            crate::arch::x86_64::cpu::disable_interrupts();
            crate::arch::x86_64::usermode::enter((*task).user_entry, (*task).user_stack, arg as u64, (*task).cr3);
        }
    }
    entry(arg);
    // SAFETY: null is the caller itself.
    unsafe { rem_task(null_mut()) };
    unreachable!("a removed task ran on");
}

/// Finds a task by name among the ready, waiting and running ones; `None` finds the caller.
/// Result: the task, or null. Callable from an interrupt (then `None` gives the interrupted task).
pub fn find_task(name: Option<&str>) -> *mut Task {
    let Some(name) = name else {
        // One aligned load of a pointer only the scheduler writes: no Disable needed.
        // SAFETY: reading this_task; it is the caller itself (or the interrupted task).
        return unsafe { core::ptr::read_volatile(&(*base()).this_task) };
    };
    let name = Some(name);
    disable();
    // SAFETY: Disable held; nothing below reaches ExecBase.
    let eb = unsafe { &*base() };
    let found = match name {
        None => eb.this_task,
        // SAFETY: this_task is live.
        Some(n) if !eb.this_task.is_null() && unsafe { (*eb.this_task).name() } == n => eb.this_task,
        Some(n) => {
            let mut found: *mut Task = null_mut();
            // SAFETY: Disable held; listed tasks are live.
            unsafe {
                walk_tasks(eb, |t| {
                    if found.is_null() && (*t).name() == n {
                        found = t;
                    }
                })
            };
            found
        }
    };
    enable();
    found
}

/// Sets `task`'s priority (the caller's if null); returns the old one. The task is re-sorted;
/// if that makes a ready task outrank the caller, it runs at once. Not callable from an
/// interrupt.
///
/// # Safety
/// `task` is null or a live task.
pub unsafe fn set_task_pri(task: *mut Task, pri: i8) -> i8 {
    disable();
    // SAFETY: Disable held; `task` is null or live (caller).
    let old = unsafe {
        let eb = &mut *base();
        let task = if task.is_null() { eb.this_task } else { task };
        let old = (*task).node.pri;
        (*task).node.pri = pri;
        if (*task).state == TaskState::Ready {
            eb.task_ready.remove(&mut (*task).node);
            eb.task_ready.enqueue(&mut (*task).node);
        }
        let me = eb.this_task;
        let head = eb.task_ready.head();
        if !head.is_null() && (*head).pri > (*me).node.pri {
            eb.work_due |= crate::execbase::DUE_SWITCH;
        }
        old
    };
    enable();
    old
}

/// Whether `task` is a task that has not ended: its address is checked against the task lists,
/// never dereferenced. Callable from an interrupt.
pub fn is_live(task: *const Task) -> bool {
    let mut found = false;
    for_each_task(|t| found |= core::ptr::eq(t, task));
    found
}

/// Calls `f` for every live task (running, ready, waiting), under Disable: `f` must be short
/// and must not call exec.
pub fn for_each_task(mut f: impl FnMut(&Task)) {
    disable();
    // SAFETY: Disable held; every task walked is live; `f` does not call exec.
    unsafe { walk_tasks(&*base(), |t| f(&*t)) };
    enable();
}

/// Makes the code now running (boot) a task, so that it can wait and be switched like any
/// other. Its stack is `[lower, upper)` (the boot stack). Call once, before interrupts are on.
pub(crate) fn adopt_boot_flow(name: &str, pri: i8, lower: usize, upper: usize) -> *mut Task {
    let mut t = Task::new(name, pri, |_| {}, 0);
    t.nest.id_nest_cnt = 0; // the live count is in ExecBase while it runs
    t.sp_lower = lower;
    t.sp_upper = upper;
    t.state = TaskState::Running;
    let t = Box::into_raw(t);
    // SAFETY: boot runs with interrupts off (Disable); `t` is new.
    unsafe { link_all(&mut *base(), t) };
    t
}

/// mmu-mode: where and how a ring-3 task starts.
#[cfg(feature = "mmu")]
pub struct UserStart {
    /// The code it starts at, in ring 3.
    pub entry: u64,
    /// The top of its user stack.
    pub user_stack: u64,
    /// Its top-level page table.
    pub cr3: u64,
    /// mmu-mode's record of its space, handed back to mmu-mode when the task ends.
    pub space: usize,
    /// Its user block, where its FS base points (see `user_heap`).
    pub user_block: u64,
    /// Its family's Forbid debt (see `sched::RING3_FORBID_DEBT_FAMILY`), which mmu-mode keeps
    /// for as long as the family has a task.
    pub family_debt: *mut crate::sched::ForbidDebt,
}

/// mmu-mode: creates a task that runs `start.entry(arg)` in ring 3 at priority `pri`, in the
/// address space `start` describes. Its kernel stack is an ordinary exec stack. Result: the
/// task, or null without memory. Not from an interrupt.
#[cfg(feature = "mmu")]
pub fn add_user_task(name: &str, pri: i8, arg: usize, start: UserStart) -> *mut Task {
    let mut t = Task::new(name, pri, |_| {}, arg);
    t.user_block = start.user_block;
    t.cr3 = start.cr3;
    t.user_entry = start.entry;
    t.user_stack = start.user_stack;
    t.space = start.space;
    t.family_debt = start.family_debt;
    launch(t, 16 * 1024)
}
