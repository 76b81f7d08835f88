//! mmu-mode's hooks into exec (feature `mmu` only; the flat build has none of this).
//!
//! The mmu-mode crate installs the gate, the ring-3 fault handler and the clean-up of a task's
//! address space; exec calls them from the trap path and at task end.

use crate::arch::x86_64::trap::TrapFrame;
use crate::task::Task;

/// What mmu-mode provides.
pub struct Hooks {
    /// A call through the gate: number in `frame.rax`, result written back there.
    pub gate: fn(&mut TrapFrame),
    /// A CPU exception in ring 3: report and end the task (does not return).
    pub user_fault: fn(&mut TrapFrame),
    /// Frees a task's address space at its end. Disable held.
    pub reclaim: fn(*mut Task),
}

static HOOKS: spin::Once<Hooks> = spin::Once::new();

/// Installs mmu-mode's hooks (once, at boot).
pub fn install(hooks: Hooks) {
    HOOKS.call_once(|| hooks);
}

pub(crate) fn gate(frame: &mut TrapFrame) {
    match HOOKS.get() {
        Some(h) => (h.gate)(frame),
        None => frame.rax = u64::MAX,
    }
}

pub(crate) fn user_fault(frame: &mut TrapFrame) {
    match HOOKS.get() {
        Some(h) => (h.user_fault)(frame),
        None => crate::alert::cpu_exception(frame),
    }
}

pub(crate) fn reclaim(task: *mut Task) {
    if let Some(h) = HOOKS.get() {
        (h.reclaim)(task);
    }
}
