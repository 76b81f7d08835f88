//! The scheduler: Forbid/Permit, Disable/Enable, the ready list, preemption and the switch.
//!
//! Rules, as in Exec:
//! - the ready list is sorted by priority; the highest-priority ready task runs;
//! - a task that becomes ready with a higher priority than the running one runs at once (from
//!   an interrupt: on the way out of the interrupt);
//! - equal priorities take turns every `quantum` ticks;
//! - Forbid stops task switching, Disable also stops interrupts; both nest, both are saved per
//!   task, and waiting breaks them until the task runs again;
//! - the idle task (priority -128) halts the CPU until the next interrupt.

use core::sync::atomic::{Ordering, compiler_fence};

use crate::arch::x86_64::{cpu, switch};
use crate::execbase::{DUE_SWITCH, ExecBase, base};
use crate::task::{Task, TaskState};

/// Stops task switching until the matching [`permit`]. Nests. A task that waits while
/// forbidden lets others run and is forbidden again when it continues.
/// Not for interrupts (they never switch anyway).
#[inline]
pub fn forbid() {
    // SAFETY: td_nest_cnt is written only by the running task (see ExecBase).
    unsafe { (*base()).nest.td_nest_cnt += 1 };
    compiler_fence(Ordering::SeqCst);
}

/// Undoes one [`forbid`]; at the outermost one, a switch that became due meanwhile happens now.
#[inline]
pub fn permit() {
    compiler_fence(Ordering::SeqCst);
    // SAFETY: as in `forbid`; need_resched is only read here. The reference ends before
    // the switch below.
    let due = unsafe {
        let eb = &mut *base();
        eb.nest.td_nest_cnt -= 1;
        // Inside an interrupt handler id_nest_cnt is at least 1 (see irq_enter).
        eb.nest.td_nest_cnt == 0 && eb.work_due & DUE_SWITCH != 0 && eb.nest.id_nest_cnt == 0
    };
    if due {
        disable();
        enable(); // performs the due switch
    }
}

/// Lets pending interrupts in, in the middle of long kernel work (a copy of megabytes)
/// that runs with interrupts off but no Disable held: a gate call before its first exec
/// Enable. Only under Forbid, so that no task switch can happen in the window (the work is
/// not left half-done under another task); elsewhere it does nothing: interrupts are on
/// already, a Disable holds them off on purpose, or an interrupt handler runs.
/// Harmless from an interrupt: it does nothing there. What runs in the window (interrupt
/// handlers, and software interrupts at their exit) must not reach the state the interrupted
/// kernel work holds references to; none reaches mmu-mode's records or a task's space.
pub fn let_interrupts_in() {
    if cpu::interrupts_enabled() {
        return;
    }
    // SAFETY: interrupts are off; these are written only by the running task and by
    // interrupt handlers, which cannot run now.
    let (id, td, depth) = unsafe { ((*base()).nest.id_nest_cnt, (*base()).nest.td_nest_cnt, (*base()).int_depth) };
    if id == 0 && td > 0 && depth == 0 {
        cpu::interrupt_window();
    }
}

/// How deep the running task's Forbid nests (0: switching allowed).
pub fn forbid_depth() -> i32 {
    // SAFETY: td_nest_cnt is written only by the running task (see ExecBase).
    unsafe { (*base()).nest.td_nest_cnt }
}

/// Disables interrupts (and so task switching) until the matching [`enable`]. Nests.
/// Callable from an interrupt.
#[inline]
pub fn disable() {
    cpu::disable_interrupts();
    compiler_fence(Ordering::SeqCst);
    // SAFETY: interrupts are now off: we hold Disable. Adds 1 to `id_nest_cnt`, the word's
    // low half, which is never negative: no carry into `work_due` (see `disable_word`).
    unsafe { *crate::execbase::disable_word() += 1 };
    // Keeps the count in memory: the compiler would otherwise carry it to the Enable in a
    // register (three instructions here instead of one increment of memory).
    compiler_fence(Ordering::SeqCst);
}

/// Undoes one [`disable`]. At the outermost one (outside interrupts) pending software
/// interrupts run, a due task switch happens, and interrupts come back on.
/// Callable from an interrupt (interrupts then stay off until the handler returns: a handler
/// runs with the count raised by one, see [`irq_enter`]).
#[inline]
pub fn enable() {
    // The common case, the outermost Enable with no work due, in one compare.
    let word = crate::execbase::disable_word();
    // SAFETY: interrupts are off (we hold Disable): the word's guard.
    if unsafe { *word } == 1 {
        // SAFETY: as above. The count to 0; `work_due` and the pad were 0 already.
        unsafe { *word = 0 };
        compiler_fence(Ordering::SeqCst);
        cpu::enable_interrupts();
    } else {
        enable_nested_or_due();
    }
}

/// [`enable`]'s other cases: a nested Enable only counts down; the outermost one with work due
/// does it while still counted as disabled, so that nothing the work calls can turn interrupts
/// on early (a switch in between restores this task's count, 1), then turns them on.
#[cold]
#[inline(never)]
fn enable_nested_or_due() {
    let eb = base();
    // SAFETY: interrupts are off (we hold Disable); no reference outlives its expression, so
    // none spans the possible switch below.
    unsafe {
        if (*eb).nest.id_nest_cnt > 1 {
            (*eb).nest.id_nest_cnt -= 1;
            return;
        }
    }
    leave_disabled_section();
    // SAFETY: as above.
    unsafe { (*eb).nest.id_nest_cnt = 0 };
    compiler_fence(Ordering::SeqCst);
    cpu::enable_interrupts();
}

/// Runs pending software interrupts and a due switch. Disable held with a count of 1, outside
/// interrupt handlers.
#[cold]
fn leave_disabled_section() {
    if crate::interrupts::soft_ints_pending() {
        crate::interrupts::run_soft_ints();
    }
    // SAFETY: Disable held.
    if unsafe { (*base()).work_due & DUE_SWITCH != 0 && (*base()).nest.td_nest_cnt == 0 } {
        preempt();
    }
}

/// Puts `t` on the ready list and notes a switch if it outranks the running task.
///
/// # Safety
/// Disable held; `t` is live and on no scheduler list.
pub(crate) unsafe fn make_ready(eb: &mut ExecBase, t: *mut Task) {
    // SAFETY: per the contract.
    unsafe {
        (*t).state = TaskState::Ready;
        // From the head: the idle task and other low priorities sit at the tail.
        eb.task_ready.enqueue_from_head(&mut (*t).node);
        // There is a running task from sched::init on, before the first task is added.
        debug_assert!(!eb.this_task.is_null(), "a task made ready before sched::init");
        if (*t).node.pri > (*eb.this_task).node.pri {
            eb.work_due |= DUE_SWITCH;
        }
    }
}

/// Moves the running task to the ready list (behind its equals) and switches. Disable held.
fn preempt() {
    let eb = base();
    // SAFETY: Disable held; the running task is live and on no list.
    unsafe {
        let me = (*eb).this_task;
        (*me).state = TaskState::Ready;
        (*eb).task_ready.enqueue_from_head(&mut (*me).node);
    }
    schedule();
}

/// Switches to the first ready task. The running task must already be where it belongs
/// (ready list, waiting on no list, or zombies). Returns when the caller's task runs again.
/// Disable held. The outgoing stack is checked first: a task that overran it is removed with a
/// stack-probe alert instead of being resumed.
pub(crate) fn schedule() {
    let base = base();
    // SAFETY: Disable held; tasks on the lists and the running one are live. The reference to
    // ExecBase ends before the switch (the next task takes its own).
    unsafe {
        let eb = &mut *base;
        let me = eb.this_task;
        if (*me).state != TaskState::Removed && !(*me).stack_ok(switch::stack_pointer()) {
            doom(eb, me);
        }
        let next = take_first_ready(eb);
        if next == me {
            return;
        }
        switch_to(base, me, next);
    }
}

/// The first ready task, taken off the ready list and marked Running: the one to switch to
/// (whatever switch was due, this is it). Disable held.
///
/// # Safety
/// Disable held.
#[inline(always)]
unsafe fn take_first_ready(eb: &mut ExecBase) -> *mut Task {
    eb.work_due &= !DUE_SWITCH;
    let next = eb.task_ready.rem_head() as *mut Task;
    debug_assert!(!next.is_null(), "no ready task: the idle task is missing");
    // SAFETY: tasks on the ready list are live (Disable held); the idle task is always there.
    unsafe { (*next).state = TaskState::Running };
    next
}

/// The running task `me` has just blocked (Waiting, on no list): switches to the first ready
/// task. [`schedule`] for a caller that knows it is neither removed nor on the ready list (so
/// the first ready task is another). Returns when `me` runs again. Disable held.
///
/// # Safety
/// Disable held; `me` is the running task, Waiting and on no list.
#[inline(always)]
pub(crate) unsafe fn block(me: *mut Task) {
    let base = base();
    // SAFETY: per the contract; the reference to ExecBase ends before the switch.
    unsafe {
        let eb = &mut *base;
        if !(*me).stack_ok(switch::stack_pointer()) {
            doom(eb, me);
        }
        let next = take_first_ready(eb);
        switch_to(base, me, next);
    }
}

/// The running task `me` has just blocked (Waiting, on no list) and has woken `woken` (on no
/// list, not yet Ready): switches straight to `woken` when it is what [`schedule`] would pick
/// anyway, without queueing it, else queues it and schedules. seL4's fastpath shape: every
/// precondition is checked before anything is changed, and any failure takes the general path.
/// Returns when `me` runs again. Disable held.
///
/// Preconditions: no ready task ranks with or above `woken` (FIFO among equals, and a higher
/// priority is never overtaken), and `me`'s stack is intact (else the general path removes it).
///
/// # Safety
/// Disable held; `me` is the running task, Waiting; `woken` is live, Waiting and on no list.
#[inline(always)]
pub(crate) unsafe fn block_and_run(me: *mut Task, woken: *mut Task) {
    let base = base();
    // SAFETY: per the contract; the reference to ExecBase ends before the switch.
    unsafe {
        let eb = &mut *base;
        let head = eb.task_ready.head();
        let direct = (head.is_null() || (*head).pri < (*woken).node.pri) && (*me).stack_ok(switch::stack_pointer());
        if !direct {
            make_ready(eb, woken);
            return schedule();
        }
        // `woken` outranks every ready task: whatever switch was due is this one.
        eb.work_due &= !DUE_SWITCH;
        (*woken).state = TaskState::Running;
        switch_to(base, me, woken);
    }
}

/// Switches from `me` (already where it belongs) to `next` (Running, on no list): saves the
/// nesting counts, switches the address space (mmu), the running task and the stack. Every
/// switch, general or direct, goes through here. Returns when `me` runs again. Disable held.
///
/// # Safety
/// Disable held; `me` is the running task and its stack was checked; `next` is live.
#[inline(always)]
unsafe fn switch_to(base: *mut ExecBase, me: *mut Task, next: *mut Task) {
    // SAFETY: per the contract. The reference to ExecBase ends before the switch (the next
    // task takes its own).
    unsafe {
        let eb = &mut *base;
        (*me).nest = eb.nest;
        #[cfg(feature = "mmu")]
        switch_space(eb, next);
        eb.this_task = next;
        eb.nest = (*next).nest;
        eb.elapsed = 0;
        eb.disp_count += 1;
        (*next).dispatches += 1;
        switch::switch(&mut (*me).saved_sp, (*next).saved_sp);
    }
    // Running again as `me`.
    after_switch();
}

/// mmu-mode: the boot page tables, on which kernel tasks run.
#[cfg(feature = "mmu")]
pub fn kernel_cr3() -> u64 {
    // SAFETY: written once at init, read-only after.
    unsafe { (*base()).kernel_cr3 }
}

/// mmu-mode: the next task's page tables and the kernel stack ring 3 enters on. Disable held.
///
/// # Safety
/// Disable held; `next` is a live task whose `cr3`, if set, maps the kernel as the boot tables do.
#[cfg(feature = "mmu")]
#[inline]
unsafe fn switch_space(eb: &mut ExecBase, next: *mut Task) {
    // SAFETY: per the caller; user tasks' tables map the kernel as the boot tables do.
    // The kernel itself always runs on its own tables; the entry code loads the task's on the
    // way out to ring 3.
    unsafe {
        let cr3 = if (*next).cr3 != 0 { (*next).cr3 } else { eb.kernel_cr3 };
        crate::arch::x86_64::usermode::set_user_cr3(cr3);
        crate::arch::x86_64::gdt::set_kernel_stack((*next).sp_upper as u64);
        crate::arch::x86_64::usermode::set_syscall_stack((*next).sp_upper as u64);
        if (*next).cr3 != 0 {
            crate::arch::x86_64::usermode::set_user_fs_base((*next).user_block);
        }
    }
}

/// Work for whichever task just got the CPU: report and end a task whose stack overflowed,
/// and free the stacks of ended tasks (a doomed task is among them). Runs on the new task's
/// stack. Disable held. One test on every switch.
#[inline]
pub(crate) fn after_switch() {
    // SAFETY: Disable held; the read ends before the call it guards.
    if unsafe { !(*base()).zombies.is_empty() } {
        crate::task::reap();
    }
}

/// [`after_switch`] for the assembly fast path, which calls it when ended tasks wait to be
/// reaped. Disable held.
#[cfg(not(feature = "mmu"))]
pub(crate) extern "C" fn after_switch_extern() {
    after_switch();
}

/// [`enable`] for the assembly fast path: its cases other than the outermost one with no work
/// due. Disable held.
#[cfg(not(feature = "mmu"))]
pub(crate) extern "C" fn enable_extern() {
    enable();
}

/// The running task overran its stack: take it off its list so it never runs again, and leave
/// the alert and the clean-up to the next task, on a stack that is intact. Disable held.
///
/// # Safety
/// Disable held; `me` is the running task.
unsafe fn doom(eb: &mut ExecBase, me: *mut Task) {
    if me == eb.idle_task {
        crate::alert::dead_end_alert(crate::alert::AT_DEAD_END | crate::alert::AN_STACK_PROBE, format_args!("The idle task overran its stack."));
    }
    // SAFETY: per the contract.
    unsafe {
        if (*me).state == TaskState::Ready {
            eb.task_ready.remove(&mut (*me).node);
        }
        crate::task::unlink_all(eb, me);
        (*me).state = TaskState::Removed;
        // Among the ended tasks, so that the next task's after_switch sees it; reap buries it
        // (alert, reclaim) before it frees it.
        eb.zombies.add_tail(&mut (*me).node);
    }
    eb.doomed = me;
}

/// Reports the task whose stack overflowed and reclaims what it held; [`crate::task::reap`]
/// then frees it with the other ended tasks. Disable held, on another task's stack.
#[cold]
pub(crate) fn bury_doomed() {
    // SAFETY: Disable held; the doomed task is off every list but the ended tasks' and no
    // longer running; nothing below reaps.
    unsafe {
        let t = core::mem::replace(&mut (*base()).doomed, core::ptr::null_mut());
        crate::alert::alert_for_task(crate::alert::AN_STACK_PROBE, (*t).name(), t as u64);
        crate::task::reclaim(t);
    }
}

/// Called by the tick: counts down the quantum and asks for a switch when an equal (or
/// higher) priority task is waiting for its turn. Interrupt context.
pub(crate) fn tick() {
    // SAFETY: interrupt context: interrupts are off; nothing below reaches ExecBase.
    let eb = unsafe { &mut *base() };
    eb.elapsed += 1;
    #[cfg(feature = "mmu")]
    // SAFETY: the running task is live.
    unsafe {
        let head = eb.task_ready.head();
        let others_wait = !head.is_null() && (*head).pri >= (*eb.this_task).node.pri;
        forbid_watch(&mut *eb.this_task, eb.nest.td_nest_cnt, others_wait);
    }
    if eb.elapsed >= eb.quantum {
        let head = eb.task_ready.head();
        // SAFETY: ready tasks and the running one are live.
        if !head.is_null() && unsafe { (*head).pri >= (*eb.this_task).node.pri } {
            eb.work_due |= DUE_SWITCH;
        }
    }
}

/// mmu-mode: how long a ring-3 task may hold Forbid (or Disable, which acts as Forbid in
/// ring 3) before it is removed: no ring-3 task can stop the others for longer.
#[cfg(feature = "mmu")]
pub const RING3_FORBID_TICKS: u32 = 20;

/// mmu-mode: the Forbid debt past which a ring-3 task is removed: the ticks at which it held
/// its own Forbid while another task of its priority or above was ready (kept waiting), less
/// one for each tick between them. A task that takes Forbid again and again, each time for
/// less than [`RING3_FORBID_TICKS`], would otherwise keep the others waiting most of the time
/// (each new Forbid starts the bound afresh); one that keeps nobody waiting, or holds Forbid
/// for less than half of any stretch of time, never gets near it.
#[cfg(feature = "mmu")]
pub const RING3_FORBID_DEBT: u64 = 2 * RING3_FORBID_TICKS as u64;

/// mmu-mode: the Forbid debt of a ring-3 family past which a task of it that holds its own
/// Forbid, and owes some debt itself (it kept someone waiting within its last ticks), is
/// removed: tasks of one family that take Forbid in turns, each Waiting while it holds it and
/// waking the next, keep their own debts low while together they keep the others waiting.
/// Each family's own: a family can run up no debt but its own, so it cannot have another
/// family's task removed (a debt of all ring-3 tasks together let it). Not paid off by a
/// removal: a family past it must keep Forbid for less than half of the time until it is
/// below again.
#[cfg(feature = "mmu")]
pub const RING3_FORBID_DEBT_FAMILY: u64 = 2 * RING3_FORBID_DEBT;

/// mmu-mode: a Forbid debt: ticks at which a ring-3 Forbid kept others waiting, less one for
/// each tick between them (see [`RING3_FORBID_DEBT`]). A task's own, and its family's.
#[cfg(feature = "mmu")]
#[derive(Clone, Copy, Debug)]
pub struct ForbidDebt {
    owed: u64,
    /// The tick of the last charge.
    at: u64,
}

#[cfg(feature = "mmu")]
impl ForbidDebt {
    /// No debt.
    pub const NONE: ForbidDebt = ForbidDebt { owed: 0, at: 0 };

    /// One more tick at `now`: the ticks since the last charge pay off as much first.
    fn charge(&mut self, now: u64) {
        let free = now.saturating_sub(self.at).saturating_sub(1);
        self.owed = self.owed.saturating_sub(free) + 1;
        self.at = now;
    }

    /// The debt as of tick `now` (less what the ticks since the last charge paid off).
    fn at(&self, now: u64) -> u64 {
        self.owed.saturating_sub(now.saturating_sub(self.at))
    }
}

/// mmu-mode: counts the ticks the running ring-3 task has held Forbid without a break, and its
/// and its family's Forbid debts (`others_wait`: a ready task ranks with or above it).
#[cfg(feature = "mmu")]
fn forbid_watch(me: &mut Task, td_nest_cnt: i32, others_wait: bool) {
    if me.runs_in_ring3() && td_nest_cnt > 0 {
        me.forbid_ticks = me.forbid_ticks.saturating_add(1);
    } else {
        me.forbid_ticks = 0;
    }
    if me.runs_in_ring3() && me.own_forbid > 0 && others_wait {
        let now = crate::time::ticks();
        me.forbid_debt.charge(now);
        // SAFETY: the tick (interrupts off): mmu-mode keeps the family's debt while the family
        // has a task, and frees it only with interrupts off (under Disable, at a task's end).
        if let Some(family) = unsafe { me.family_debt.as_mut() } {
            family.charge(now);
        }
    }
}

/// mmu-mode: the running ring-3 task took Forbid (`taken`) or gave one back through the gate:
/// its own nesting, which its Forbid debt counts. Not for interrupts.
#[cfg(feature = "mmu")]
pub fn note_own_forbid(taken: bool) {
    // SAFETY: the running task is live; the tick reads the count with interrupts off, and a
    // gate call runs with them off until its first Enable (one word: never torn).
    unsafe {
        let me = &mut *(*base()).this_task;
        me.own_forbid = if taken { me.own_forbid.saturating_add(1) } else { me.own_forbid.saturating_sub(1) };
    }
}

/// mmu-mode: whether the running task is a ring-3 task that holds Forbid now and has held it
/// past [`RING3_FORBID_TICKS`], or is past its Forbid debt [`RING3_FORBID_DEBT`], or owes some
/// while its family is past [`RING3_FORBID_DEBT_FAMILY`] (the trap path, and the gate on its
/// way back to ring 3, then remove it). Callable with interrupts on or off.
#[cfg(feature = "mmu")]
pub fn forbid_overrun() -> bool {
    // Read with interrupts off: the tick writes these counts (the gate asks on its way back,
    // where interrupts may be on).
    cpu::without_interrupts(|| {
        // SAFETY: interrupts off; the running task is live, and so is its family's debt (see
        // `forbid_watch`).
        unsafe {
            let me = &*(*base()).this_task;
            if (*base()).nest.td_nest_cnt <= 0 {
                return false;
            }
            let now = crate::time::ticks();
            let own = me.forbid_debt.at(now);
            let family = me.family_debt.as_ref().map_or(0, |f| f.at(now));
            me.forbid_ticks > RING3_FORBID_TICKS || own > RING3_FORBID_DEBT || (own > 0 && family > RING3_FORBID_DEBT_FAMILY)
        }
    })
}

/// mmu-mode: the running ring-3 task takes Forbid (or Disable, its Forbid) holding none: its
/// watch starts again from 0. The ticks counted meanwhile include those that fell while the
/// kernel held Forbid for one of its calls (a long copy lets interrupts in), which were not
/// the task's own doing. Call before that [`forbid`]. Not for interrupts (the running task's
/// own call, from the gate).
#[cfg(feature = "mmu")]
pub fn start_forbid_watch() {
    // SAFETY: the running task is live; its counter is written by the tick (interrupts are
    // off in a gate call until its first Enable, and a torn count is impossible: one word).
    unsafe { (*(*base()).this_task).forbid_ticks = 0 };
}

/// Entered by the trap handler before it runs an interrupt handler. The handler counts as one
/// more Disable, so that [`enable`] needs a single test to know it is not the outermost.
pub(crate) fn irq_enter() {
    // SAFETY: interrupts are off in the trap handler.
    unsafe {
        (*base()).int_depth += 1;
        (*base()).nest.id_nest_cnt += 1;
    }
}

/// Left by the trap handler after the handler and EOI: runs software interrupts and makes a
/// switch that became due, as the interrupted task had interrupts enabled.
pub(crate) fn irq_exit() {
    let eb = base();
    // SAFETY: interrupts are off in the trap handler; the reference ends before any switch.
    let due = unsafe {
        let eb = &mut *eb;
        eb.int_depth -= 1;
        eb.nest.id_nest_cnt -= 1;
        if eb.int_depth > 0 || eb.this_task.is_null() || eb.nest.id_nest_cnt > 0 {
            return;
        }
        eb.work_due != 0
    };
    if due {
        // Count the hardware's disabled state while switching (see `enable`).
        // SAFETY: as above. `iretq` turns interrupts back on.
        unsafe { (*eb).nest.id_nest_cnt = 1 };
        leave_disabled_section();
        // SAFETY: as above.
        unsafe { (*eb).nest.id_nest_cnt = 0 };
    }
}

fn idle_entry(_: usize) {
    loop {
        // SAFETY: only the idle task writes idle_count; a torn read elsewhere is harmless.
        unsafe { (*base()).idle_count += 1 };
        cpu::enable_and_wait();
    }
}

/// Starts multitasking: the boot flow becomes the task `boot` (priority 0) on the boot stack,
/// and the idle task is created. Call once, interrupts still off.
pub fn init() {
    let (lower, upper) = crate::arch::x86_64::boot_stack();
    let boot = crate::task::adopt_boot_flow("boot", 0, lower as usize, upper as usize);
    // SAFETY: interrupts are off during boot; nothing else touches ExecBase yet.
    unsafe { (*base()).this_task = boot };
    #[cfg(feature = "mmu")]
    {
        // SAFETY: as above.
        unsafe { (*base()).kernel_cr3 = crate::arch::x86_64::cpu::cr3() };
        crate::arch::x86_64::usermode::init_syscall();
    }
    let idle = crate::task::add_task("idle", -128, idle_entry, 0, 8192);
    assert!(!idle.is_null(), "no memory for the idle task");
    // SAFETY: as above.
    unsafe { (*base()).idle_task = idle };
}
