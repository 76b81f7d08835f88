//! The x86_64 PC: boot trampoline, descriptor tables, trap entry, interrupt controllers, timers,
//! the COM1 UART, and QEMU's debug-exit port.
//!
//! All assembly and all port I/O of Lorraine lives below this directory.

/// Saves the fifteen general registers in the order of [`trap::TrapFrame`] (AT&T syntax),
/// for the assembly entry paths (trap stubs, syscall entry).
macro_rules! push_gprs {
    () => {
        concat!(push_caller_saved!(), "    push %rbx\n    push %rbp\n    push %r12\n    push %r13\n    push %r14\n    push %r15\n")
    };
}

/// Restores what [`push_gprs`] saved.
macro_rules! pop_gprs {
    () => {
        concat!("    pop %r15\n    pop %r14\n    pop %r13\n    pop %r12\n    pop %rbp\n    pop %rbx\n", pop_caller_saved!())
    };
}

/// The registers the C ABI lets a call clobber, in [`TrapFrame`](trap::TrapFrame) order: all
/// the SYSCALL entry saves (the gate's Rust code keeps the callee-saved ones itself, and
/// restoring these gives the task back its own values, never the kernel's).
macro_rules! push_caller_saved {
    () => {
        "    push %rax\n    push %rcx\n    push %rdx\n    push %rsi\n    push %rdi\n    push %r8\n    push %r9\n    push %r10\n    push %r11\n"
    };
}

/// Restores what [`push_caller_saved`] saved.
macro_rules! pop_caller_saved {
    () => {
        "    pop %r11\n    pop %r10\n    pop %r9\n    pop %r8\n    pop %rdi\n    pop %rsi\n    pop %rdx\n    pop %rcx\n    pop %rax\n"
    };
}

pub mod cpu;
#[cfg(not(feature = "mmu"))]
pub mod fastpath;
pub mod gdt;
pub mod idt;
pub mod lapic;
pub mod paging;
pub mod pic;
pub mod pit;
pub mod probe;
pub mod pvh;
pub mod qemu;
pub mod rtc;
pub mod serial;
pub mod switch;
pub mod trap;
#[cfg(feature = "mmu")]
pub mod usermode;

mod boot;

pub use boot::{boot_stack, boot_stack_guard, entry_text, kernel_image, ring3_readable_data, text_and_rodata};
