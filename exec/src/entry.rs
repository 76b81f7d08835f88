//! The one door from the architecture layer up into exec.
//!
//! `arch/x86_64` sits below exec: it saves registers, talks to the PIC and the CPU, and knows
//! nothing of tasks. Whatever it cannot finish itself it hands up here, by name (no function
//! pointers, no hooks looked up on the trap path): [`trap`] for every interrupt and exception
//! that exec must see, and [`task_start`] for a new task's first instruction. In the mmu
//! build exec reaches mmu-mode the same way: functions mmu-mode defines under fixed symbol
//! names, bound by the linker (see the `extern` blocks below). A gate call (SYSCALL) is the
//! one thing arch hands to mmu-mode itself: the syscall entry calls `lorraine_mmu_gate`
//! straight, since nothing but gate calls comes that way (7 instructions fewer per call).

use crate::arch::x86_64::trap::TrapFrame;
use crate::arch::x86_64::{cpu, pic};

/// What arch hands up, already classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trap {
    /// A CPU exception in ring 0 that no probe expected: a Guru Meditation.
    Exception,
    /// An interrupt request from the PIC (not spurious): run its servers, then EOI.
    Irq(u8),
    /// mmu-mode: a CPU exception in ring 3.
    #[cfg(feature = "mmu")]
    UserException,
}

/// Serves what arch handed up. Interrupts are off, and are off again when this returns.
pub(crate) fn trap(kind: Trap, frame: &mut TrapFrame) {
    match kind {
        Trap::Exception => crate::alert::cpu_exception(frame),
        Trap::Irq(irq) => {
            crate::sched::irq_enter();
            crate::interrupts::dispatch_irq(irq);
            pic::end_of_interrupt(irq);
            // May switch tasks; this frame is resumed when this task runs again.
            crate::sched::irq_exit();
            // A ring-3 task that kept Forbid past its bound goes, as a fault would.
            #[cfg(feature = "mmu")]
            if frame.cs & 3 == 3 && crate::sched::forbid_overrun() {
                lorraine_mmu_forbid_overrun(frame);
            }
        }
        #[cfg(feature = "mmu")]
        Trap::UserException => lorraine_mmu_user_fault(frame),
    }
    debug_assert!(!cpu::interrupts_enabled());
}

/// A new task's first Rust code: see [`crate::task::task_start`].
pub(crate) use crate::task::task_start;

// mmu-mode's half of the gate, defined in the mmu-mode crate under these names
// (`#[unsafe(no_mangle)]`) and bound by the linker: a call is a direct call.
#[cfg(feature = "mmu")]
unsafe extern "C" {
    /// Serves one gate call: number in `frame.rax`, result written back there. The syscall
    /// entry (`arch::x86_64::usermode`) calls it straight, with interrupts off; it may turn
    /// them on.
    pub(crate) fn lorraine_mmu_gate(frame: &mut TrapFrame);
}

#[cfg(feature = "mmu")]
unsafe extern "Rust" {
    /// A CPU exception in ring 3: report and end the task.
    safe fn lorraine_mmu_user_fault(frame: &mut TrapFrame);
    /// A ring-3 task held Forbid past its bound (interrupted in ring 3 at `frame`): report and
    /// end the task.
    safe fn lorraine_mmu_forbid_overrun(frame: &mut TrapFrame);
    /// Frees a task's address space at its end. Disable held; `task` is live and ending.
    unsafe fn lorraine_mmu_reclaim(task: *mut crate::task::Task);
    /// A port is being deleted: mmu-mode drops the handle it gave ring 3 for it, if any.
    unsafe fn lorraine_mmu_port_gone(port: *mut crate::port::MsgPort);
    /// An ending task's hold or wait was the last on a semaphore: mmu-mode frees it if it is
    /// an orphan (a ring-3 semaphore whose owner ended). Disable held.
    unsafe fn lorraine_mmu_semaphore_idle(sem: *mut crate::semaphore::SignalSemaphore);
}

/// mmu-mode: `port` is being deleted.
///
/// # Safety
/// `port` is live until this returns.
#[cfg(feature = "mmu")]
pub(crate) unsafe fn port_gone(port: *mut crate::port::MsgPort) {
    // SAFETY: per the contract.
    unsafe { lorraine_mmu_port_gone(port) };
}

/// mmu-mode: `sem`, given back by an ending task, is idle now (see
/// `lorraine_mmu_semaphore_idle`). Exec does not touch it after this.
///
/// # Safety
/// Disable held; `sem` is live and idle.
#[cfg(feature = "mmu")]
pub(crate) unsafe fn semaphore_idle(sem: *mut crate::semaphore::SignalSemaphore) {
    // SAFETY: per the contract.
    unsafe { lorraine_mmu_semaphore_idle(sem) };
}

/// mmu-mode: frees `task`'s address space and what the gate kept for it.
///
/// # Safety
/// Disable held; `task` is live and ending.
#[cfg(feature = "mmu")]
pub(crate) unsafe fn reclaim_space(task: *mut crate::task::Task) {
    // SAFETY: per the contract.
    unsafe { lorraine_mmu_reclaim(task) };
}
