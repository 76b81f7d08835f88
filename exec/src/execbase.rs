//! ExecBase: exec's global state, as on the Amiga (`SysBase`).
//!
//! There is one CPU and one ExecBase. Its fields are guarded by Exec's own discipline rather
//! than locks: the scheduler fields and the interrupt lists by Disable (interrupts off), the
//! public lists (ports, semaphores, memory) by Forbid (no task switch). Each field says which.
//!
//! Guard order: Disable covers Forbid (a holder of Disable may touch Forbid's fields too); a
//! task takes Forbid before Disable when it needs both, never the other way round.
//!
//! ExecBase is reached through [`base`], a raw pointer: each access makes a reference to the one
//! field it touches, for that expression only. No `&mut ExecBase` lives across a call that may
//! switch tasks (the next task takes its own), so two live `&mut` to ExecBase never exist.

use crate::global::Global;
use crate::list::{List, NodeType};
use crate::memheader::MemHeader;
use crate::task::Task;

/// [`ExecBase::work_due`]: a task switch is due.
pub const DUE_SWITCH: u8 = 1;
/// [`ExecBase::work_due`]: software interrupts are queued.
pub const DUE_SOFT_INTS: u8 = 2;

/// How many memory regions exec manages at most (usable RAM ranges below 4 GiB).
pub const MAX_MEM_REGIONS: usize = 8;

/// A task's Disable and Forbid nesting, kept together so that a switch saves and restores
/// them in one 8-byte move (unaligned in ExecBase, within one cache line).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Nesting {
    /// Forbid nesting (0 = switching allowed).
    pub td_nest_cnt: i32,
    /// Disable nesting (0 = interrupts enabled). Second, so that in ExecBase it is followed
    /// by `work_due` (see [`disable_word`]).
    pub id_nest_cnt: i32,
}

/// Exec's global state. `repr(C)` for one reason: Enable reads `work_due` and
/// `nest.id_nest_cnt` as one word ([`disable_word`]).
#[repr(C)]
pub struct ExecBase {
    /// The running task. Disable.
    pub this_task: *mut Task,
    /// Tasks ready to run, by priority. Disable.
    pub task_ready: List,
    /// Every task from its launch to its end, chained through the tasks themselves
    /// (`Task::all_next`): a waiting task is on no list, so this is how exec still finds it.
    /// Changed only when a task starts or ends, off the message path. Disable.
    pub all_tasks: *mut Task,
    /// Removed tasks whose stacks are freed by the next task to run. Disable.
    pub zombies: List,
    /// A task whose stack overflowed, to be reported and ended by the next task. Disable.
    pub doomed: *mut Task,
    /// Interrupt nesting: > 0 while an interrupt handler runs (which also counts once in
    /// `nest.id_nest_cnt`, so that an Enable inside a handler never turns interrupts on). Disable.
    pub int_depth: i32,
    /// The running task's Disable and Forbid nesting, saved to it and restored from the next
    /// one at each switch (one 8-byte move). `id_nest_cnt`: Disable; `td_nest_cnt`: written only by
    /// the running task.
    pub nest: Nesting,
    /// Work the outermost Enable must do: [`DUE_SWITCH`] (a task switch as soon as Forbid and
    /// Disable allow) and [`DUE_SOFT_INTS`] (software interrupts queued). One test on the way
    /// out of every Disable: it follows `nest.id_nest_cnt` in the same aligned word. Disable.
    pub work_due: u8,
    /// Always zero: part of the word [`disable_word`] points at.
    due_pad: [u8; 3],
    /// Ticks a task may run before an equal-priority task gets its turn.
    pub quantum: u32,
    /// Ticks the running task has used of its quantum. Disable.
    pub elapsed: u32,
    /// Task switches so far.
    pub disp_count: u64,
    /// Times the idle task woke from HLT.
    pub idle_count: u64,
    /// The idle task (always ready or running).
    pub idle_task: *mut Task,
    /// Public message ports. Forbid.
    pub port_list: List,
    /// Public semaphores. Forbid.
    pub sem_list: List,
    /// Libraries that open_library can find. Forbid.
    pub lib_list: List,
    /// Devices that open_device can find. Forbid.
    pub device_list: List,
    /// Memory regions handed out by alloc_mem. Forbid.
    pub mem: [MemHeader; MAX_MEM_REGIONS],
    /// Number of regions in `mem`.
    pub mem_count: usize,
    /// The regions' bounds `[start, end)`, kept apart from the headers so that
    /// type_of_mem can read them from anywhere (an interrupt included) while an allocation
    /// holds the headers. Written once at boot.
    pub mem_bounds: [(usize, usize); MAX_MEM_REGIONS],
    /// Alerts raised so far (recoverable ones included), and the last code.
    pub alert_count: u64,
    pub last_alert: u32,
    /// mmu-mode: the boot page tables, which kernel tasks run on.
    #[cfg(feature = "mmu")]
    pub kernel_cr3: u64,
}

// The word Enable reads: `nest.id_nest_cnt` (low half), `work_due`, three zeros; 8-aligned.
const _: () = {
    let at = core::mem::offset_of!(ExecBase, nest) + core::mem::offset_of!(Nesting, id_nest_cnt);
    assert!(at % 8 == 0 && core::mem::align_of::<ExecBase>() >= 8);
    assert!(core::mem::offset_of!(ExecBase, work_due) == at + 4);
    assert!(core::mem::offset_of!(ExecBase, due_pad) == at + 5);
};

/// `nest.id_nest_cnt` and `work_due` as one word: exactly 1 when the running task holds one
/// Disable and no work is due, the outermost Enable's common case, told by one compare.
/// Disable adds 1 to the word and that Enable stores 0 in it, so that on hardware each access
/// of the fast path is the same aligned 8 bytes (a narrower store followed by this wider load
/// could not be forwarded from the store buffer). The count is never negative (Enable never
/// counts below 0), so the add never carries into `work_due`.
///
/// Use only with interrupts off (Disable's guard): a pointer into the live ExecBase, to the
/// two fields and the always-zero pad, which fill one 8-aligned word (asserted above).
#[inline(always)]
pub(crate) fn disable_word() -> *mut u64 {
    // SAFETY: only the address is taken here; the live ExecBase outlives every caller.
    unsafe { (&raw mut (*base()).nest.id_nest_cnt).cast::<u64>() }
}

// SAFETY: ExecBase is the kernel's shared state, passed from task to task by design; each field
// names its guard (Disable or Forbid), and the task pointers it holds are exec's own.
unsafe impl Send for ExecBase {}

/// The one ExecBase. See each field for its guard. Crate-visible for the assembly fast path
/// (`arch::x86_64::fastpath`), which addresses its fields from the symbol.
pub(crate) static SYS_BASE: Global<ExecBase> = Global::new(ExecBase {
    this_task: core::ptr::null_mut(),
    // Boot runs under Disable; the boot flow's `sched::enable()` turns interrupts on.
    task_ready: List::new(NodeType::Task),
    all_tasks: core::ptr::null_mut(),
    zombies: List::new(NodeType::Task),
    doomed: core::ptr::null_mut(),
    int_depth: 0,
    nest: Nesting { td_nest_cnt: 0, id_nest_cnt: 1 },
    work_due: 0,
    due_pad: [0; 3],
    quantum: 4,
    elapsed: 0,
    disp_count: 0,
    idle_count: 0,
    idle_task: core::ptr::null_mut(),
    port_list: List::new(NodeType::MsgPort),
    sem_list: List::new(NodeType::Semaphore),
    lib_list: List::new(NodeType::Library),
    device_list: List::new(NodeType::Device),
    mem: [const { MemHeader::empty() }; MAX_MEM_REGIONS],
    mem_count: 0,
    mem_bounds: [(0, 0); MAX_MEM_REGIONS],
    alert_count: 0,
    last_alert: 0,
    #[cfg(feature = "mmu")]
    kernel_cr3: 0,
});

/// ExecBase, for exec's own modules: a raw pointer. Dereference it only under the guard of the
/// field touched (see [`ExecBase`]), one field per expression, and keep no reference made from
/// it across a call that may switch tasks or reach ExecBase itself.
#[inline(always)]
pub(crate) fn base() -> *mut ExecBase {
    SYS_BASE.get()
}

/// A copy of ExecBase's counters, for STATUS-like reports and tests. May be called anywhere.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExecCounters {
    pub disp_count: u64,
    pub idle_count: u64,
    pub quantum: u32,
    pub ready: usize,
    pub waiting: usize,
    pub alert_count: u64,
    pub last_alert: u32,
}

/// Reads ExecBase's counters.
pub fn counters() -> ExecCounters {
    crate::sched::disable();
    // SAFETY: Disable is held for the whole read; nothing in it switches.
    let eb = unsafe { &*base() };
    let c = ExecCounters {
        disp_count: eb.disp_count,
        idle_count: eb.idle_count,
        quantum: eb.quantum,
        ready: eb.task_ready.len(),
        waiting: crate::task::count_waiting(eb),
        alert_count: eb.alert_count,
        last_alert: eb.last_alert,
    };
    crate::sched::enable();
    c
}
