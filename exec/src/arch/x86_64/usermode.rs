//! mmu-mode's ring 3: entering it, the page-table base, and the gate call tasks make.

use core::arch::asm;

use super::gdt::{USER_CODE, USER_DATA};

/// Loads CR3 (switching address spaces; flushes the TLB).
///
/// # Safety
/// `pml4` is the physical address of a valid top-level table that maps the kernel as the
/// current one does.
pub unsafe fn load_cr3(pml4: u64) {
    // SAFETY: per the contract.
    unsafe { asm!("mov cr3, {}", in(reg) pml4, options(nostack, preserves_flags)) };
}

/// Leaves ring 0 for good: continues at `rip` in ring 3 with stack `rsp`, interrupts on,
/// `arg` in RDI.
///
/// # Safety
/// The current page tables map `rip` user-executable and `rsp` user-writable; TSS.RSP0 holds
/// this task's kernel stack.
pub unsafe fn enter(rip: u64, rsp: u64, arg: u64) -> ! {
    // SAFETY: builds the iretq frame SS, RSP, RFLAGS (IF), CS, RIP for ring 3.
    unsafe {
        asm!(
            "push {ss}",
            "push {rsp}",
            "push 0x202",
            "push {cs}",
            "push {rip}",
            "xor eax, eax", "xor ebx, ebx", "xor ecx, ecx", "xor edx, edx", "xor esi, esi",
            "xor ebp, ebp", "xor r8d, r8d", "xor r9d, r9d", "xor r10d, r10d", "xor r11d, r11d",
            "xor r12d, r12d", "xor r13d, r13d", "xor r14d, r14d", "xor r15d, r15d",
            "iretq",
            ss = in(reg) (USER_DATA | 3) as u64,
            rsp = in(reg) rsp,
            cs = in(reg) (USER_CODE | 3) as u64,
            rip = in(reg) rip,
            in("rdi") arg,
            options(noreturn)
        )
    }
}

/// A call through the gate from ring 3: `nr` in RAX, arguments in RDI, RSI, RDX; the result
/// comes back in RAX.
#[inline(always)]
pub fn gate_call(nr: u64, a0: u64, a1: u64, a2: u64) -> u64 {
    let r: u64;
    // SAFETY: `int 0x80` enters the gate, which preserves every register but RAX.
    unsafe {
        asm!("int 0x80", inout("rax") nr => r, in("rdi") a0, in("rsi") a1, in("rdx") a2, options(nostack));
    }
    r
}

/// Drops the TLB entry for the page holding `addr` (after its page-table entry changed).
pub fn invalidate_page(addr: u64) {
    // SAFETY: INVLPG only drops a cached translation.
    unsafe { asm!("invlpg [{}]", in(reg) addr, options(nostack, preserves_flags)) };
}
