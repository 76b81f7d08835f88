//! The task switch: pushes a resume address (and RBX and RBP, which Rust may not name as
//! clobbered) on the old task's stack, stores its stack pointer, loads the new one and returns
//! to the address on top of it. Every other register is declared clobbered, so the compiler
//! keeps across a switch only what is live there, where a called switch saved all six
//! callee-saved registers every time. Everything else a task owns is either on its stack
//! already (a preempted task's full trap frame sits below) or saved by the compiler.
//!
//! A stored stack pointer always points at a resume address: the label after a switch, or
//! the trampoline a new task starts at ([`initial_stack`]).
//!
//! SSE/x87 state is not saved: all Lorraine code is built for `x86_64-unknown-none`, whose
//! code generation uses neither (soft-float), so there is no such state to lose. A task that
//! used SSE anyway would have it clobbered; a later change can set CR0.TS and save lazily.

use core::arch::global_asm;

global_asm!(
    r#"
    .section .text.switch, "ax"
/* A new task's first switch returns here, its argument for task_start next on the stack. */
    .global task_trampoline
task_trampoline:
    pop %rdi
    and $-16, %rsp
    call {start}
    ud2
"#,
    start = sym crate::entry::task_start,
    options(att_syntax)
);

unsafe extern "C" {
    fn task_trampoline();
}

/// Saves the running task's context, storing its stack pointer in `*save_sp`, and resumes the
/// task whose stack pointer is `load_sp`. Returns when some task switches back to `save_sp`'s.
///
/// # Safety
/// Interrupts are disabled; `load_sp` was stored by a previous `switch` or made by
/// [`initial_stack`]; `save_sp` stays valid until the saved context is resumed.
#[inline(always)]
pub unsafe fn switch(save_sp: *mut usize, load_sp: usize) {
    // SAFETY: per the contract. RBX and RBP are saved and restored here; every other
    // register is declared clobbered (the C ABI's caller-saved ones and R12 to R15), so
    // nothing the compiler keeps in one outlives the switch. The kernel is built without a
    // red zone, so the pushes below the stack pointer overwrite nothing live.
    unsafe {
        core::arch::asm!(
            "push rbp",
            "push rbx",
            "lea rax, [rip + 2f]",
            "push rax",
            "mov [rdi], rsp",
            "mov rsp, rsi",
            "ret",
            "2:",
            "pop rbx",
            "pop rbp",
            in("rdi") save_sp,
            in("rsi") load_sp,
            out("r12") _,
            out("r13") _,
            out("r14") _,
            out("r15") _,
            clobber_abi("C"),
        )
    }
}

/// Prepares a new task's stack so that the first [`switch`] to it calls
/// `task_start(arg)`; returns the stack pointer to store for it.
///
/// # Safety
/// `[top - 64, top)` is writable memory of the new task's stack; `top` is 16-byte aligned.
pub unsafe fn initial_stack(top: usize, arg: usize) -> usize {
    let frame = (top - 8 * 8) as *mut usize;
    // The switch returns to the trampoline, which pops the argument; the rest is padding.
    let words = [task_trampoline as *const () as usize, arg, 0, 0, 0, 0, 0, 0];
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
