//! The task switch: saves the callee-saved registers on the old task's stack, stores its stack
//! pointer, loads the new one and pops that task's registers. Everything else a task owns is
//! either on its stack already (a preempted task's full trap frame sits below) or saved by the
//! compiler around the call (caller-saved registers).
//!
//! SSE/x87 state is not saved: all Lorraine code is built for `x86_64-unknown-none`, whose
//! code generation uses neither (soft-float), so there is no such state to lose. A task that
//! used SSE anyway would have it clobbered; a later change can set CR0.TS and save lazily.

use core::arch::global_asm;

global_asm!(
    r#"
    .section .text.switch, "ax"
    .global switch_context
/* switch_context(save_sp: *mut usize [rdi], load_sp: usize [rsi]) */
switch_context:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

/* A new task's first return lands here, with r12 = argument for task_start. */
    .global task_trampoline
task_trampoline:
    mov %r12, %rdi
    and $-16, %rsp
    call {start}
    ud2
"#,
    start = sym crate::entry::task_start,
    options(att_syntax)
);

unsafe extern "C" {
    fn switch_context(save_sp: *mut usize, load_sp: usize);
    fn task_trampoline();
}

/// Saves the running task's registers, storing its stack pointer in `*save_sp`, and resumes the
/// task whose stack pointer is `load_sp`. Returns when some task switches back to `save_sp`'s.
///
/// # Safety
/// Interrupts are disabled; `load_sp` was stored by a previous `switch` or made by
/// [`initial_stack`]; `save_sp` stays valid until the saved context is resumed.
pub unsafe fn switch(save_sp: *mut usize, load_sp: usize) {
    // SAFETY: per the contract; the assembly follows the C ABI (callee-saved registers kept).
    unsafe { switch_context(save_sp, load_sp) }
}

/// Prepares a new task's stack so that the first [`switch`] to it calls
/// `task_start(arg)`; returns the stack pointer to store for it.
///
/// # Safety
/// `[top - 64, top)` is writable memory of the new task's stack; `top` is 16-byte aligned.
pub unsafe fn initial_stack(top: usize, arg: usize) -> usize {
    let frame = (top - 8 * 8) as *mut usize;
    // Popped by switch_context: r15, r14, r13, r12 (= arg), rbx, rbp; then `ret` to the
    // trampoline. The last slot is padding.
    let words = [0, 0, 0, arg, 0, 0, task_trampoline as *const () as usize, 0];
    // SAFETY: the caller gave us these 64 bytes.
    unsafe { core::ptr::copy_nonoverlapping(words.as_ptr(), frame, words.len()) };
    frame as usize
}

/// The current stack pointer.
#[inline(always)]
pub fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads RSP only.
    unsafe { core::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    sp
}
