//! mmu-mode's ring 3: entering it, the page-table base, and the gate call tasks make.

use core::arch::{asm, global_asm};

use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::registers::model_specific::{Efer, EferFlags, FsBase, KernelGsBase, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;
use x86_64::structures::gdt::SegmentSelector;
use x86_64::structures::paging::PhysFrame;
use x86_64::{PhysAddr, VirtAddr};

use super::gdt::{KERNEL_CODE, KERNEL_DATA, USER_CODE, USER_DATA};

/// The vector number the syscall entry gives its frame (shaped as an interrupt's, so that a
/// report of it reads as one); the entry calls mmu-mode's gate (`lorraine_mmu_gate`) directly.
pub const SYSCALL_VECTOR: u64 = 0x80;

/// Per-CPU words the entry code finds (through GS after `swapgs` in the syscall entry, by
/// address in the trap entry): the running task's kernel stack top, a scratch slot for the
/// user stack pointer, the kernel's page tables and the running task's. Written by the
/// scheduler under Disable, read by the entry code with interrupts off. The offsets are used
/// by the assembly: do not reorder.
#[repr(C)]
pub(crate) struct PerCpu {
    kernel_rsp: u64,
    user_rsp: u64,
    kernel_cr3: u64,
    user_cr3: u64,
}

pub(crate) static PER_CPU: crate::global::Global<PerCpu> =
    crate::global::Global::new(PerCpu { kernel_rsp: 0, user_rsp: 0, kernel_cr3: 0, user_cr3: 0 });

global_asm!(
    concat!(r#"
    .section .text.trap, "ax"
    .global syscall_entry
/* SYSCALL from ring 3: RCX = user RIP, R11 = user RFLAGS, RSP = user stack, IF cleared by
   SFMASK. Switch to the task's kernel stack, build a trap frame like an interrupt's, call the
   gate (mmu-mode's `lorraine_mmu_gate`, straight: only gate calls come here), interrupts off
   again (the call may have turned them on), and leave with SYSRET. */
syscall_entry:
    swapgs
    mov %rsp, %gs:8
    mov %gs:0, %rsp
    pushq ${user_ss}
    pushq %gs:8
    swapgs                      /* the kernel never uses GS: give the user's back at once */
    push %r11
    pushq ${user_cs}
    push %rcx
    pushq $0
    pushq ${vector}
"#, push_caller_saved!(), r#"    sub $48, %rsp               /* RBX, RBP, R12-R15: kept by the Rust code called */
    mov {percpu}+16(%rip), %rax /* the kernel's page tables */
    mov %rax, %cr3
    incq {cr3_loads}(%rip)
    mov %rsp, %rdi
    cld
    call {gate}
    cli
    mov {percpu}+24(%rip), %rax /* back to the task's page tables */
    mov %rax, %cr3
    incq {cr3_loads}(%rip)
    add $48, %rsp
"#, pop_caller_saved!(), r#"    add $16, %rsp               /* vector, error code */
    pop %rcx                    /* user RIP */
    add $8, %rsp                /* CS */
    pop %r11                    /* user RFLAGS */
    pop %rsp                    /* user RSP (SS is implied by SYSRET) */
    sysretq

    .global enter_user
/* enter_user(rip = rdi, rsp = rsi, arg = rdx, cr3 = rcx): the first entry into ring 3. Runs
   from this page, which stays executable for the kernel in every task's tables. */
enter_user:
    pushq ${user_ss}
    push %rsi
    pushq $0x202
    pushq ${user_cs}
    push %rdi
    mov %rdx, %rdi
    mov %rcx, %cr3
    incq {cr3_loads}(%rip)
    xor %eax, %eax
    xor %ebx, %ebx
    xor %ecx, %ecx
    xor %edx, %edx
    xor %esi, %esi
    xor %ebp, %ebp
    xor %r8d, %r8d
    xor %r9d, %r9d
    xor %r10d, %r10d
    xor %r11d, %r11d
    xor %r12d, %r12d
    xor %r13d, %r13d
    xor %r14d, %r14d
    xor %r15d, %r15d
    iretq
"#),
    user_ss = const (USER_DATA | 3) as u64,
    user_cs = const (USER_CODE | 3) as u64,
    vector = const SYSCALL_VECTOR,
    gate = sym crate::entry::lorraine_mmu_gate,
    percpu = sym PER_CPU,
    cr3_loads = sym crate::events::CR3_LOADS,
    options(att_syntax)
);

unsafe extern "C" {
    fn syscall_entry();
    fn enter_user(rip: u64, rsp: u64, arg: u64, cr3: u64) -> !;
}

/// Turns on SYSCALL/SYSRET: entry point, selectors (SYSCALL takes kernel CS 0x08 and SS
/// 0x10; SYSRET takes user SS 0x18|3 and CS 0x20|3), interrupts off on entry, and the per-CPU
/// words; SMEP, SMAP and global pages (the kernel heap's) where the CPU has them.
pub fn init_syscall() {
    let sel = |s: u16| SegmentSelector(s);
    Star::write(sel(USER_CODE | 3), sel(USER_DATA | 3), sel(KERNEL_CODE), sel(KERNEL_DATA))
        .expect("the GDT's selectors are in SYSCALL/SYSRET order");
    LStar::write(VirtAddr::new(syscall_entry as *const () as u64));
    // Cleared on entry: IF above all (the entry switches stacks by hand), and what must not
    // leak from ring 3 into the kernel (trap, direction, I/O privilege, nested task, AC).
    SFMask::write(
        RFlags::INTERRUPT_FLAG
            | RFlags::TRAP_FLAG
            | RFlags::DIRECTION_FLAG
            | RFlags::IOPL_LOW
            | RFlags::IOPL_HIGH
            | RFlags::NESTED_TASK
            | RFlags::ALIGNMENT_CHECK,
    );
    KernelGsBase::write(VirtAddr::new(PER_CPU.get() as u64));
    // SAFETY: SYSCALL is what every x86_64 CPU has; turning it on changes nothing else. The
    // per-CPU words are written before any task can make a call.
    unsafe {
        Efer::update(|e| e.insert(EferFlags::SYSTEM_CALL_EXTENSIONS));
        (*PER_CPU.get()).kernel_cr3 = super::cpu::cr3();
        // The kernel always runs on its own tables (the entry code switches), where no page
        // is a user page: supervisor-mode execution and access prevention cost it nothing.
        use x86_64::registers::control::{Cr4, Cr4Flags};
        let f = super::cpu::features();
        Cr4::update(|c| {
            if f.smep {
                c.insert(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION);
            }
            if f.smap {
                c.insert(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION);
            }
        });
        // The kernel heap's pages global: the same in every space, so a CR3 load between
        // spaces keeps their translations (on hardware; TCG flushes all on a CR3 load).
        // make_global's contract: boot, interrupts off, on the boot tables; every task's
        // tables map the heap supervisor-only as these do, and never open it to a task
        // (mmu-mode's `Space` refuses to split a global 2 MiB page).
        if f.pge {
            let heap = crate::heap::stats();
            super::paging::make_global(heap.start, heap.start + heap.size);
            Cr4::update(|c| c.insert(Cr4Flags::PAGE_GLOBAL));
        }
        SMAP_ON.store(f.smap, core::sync::atomic::Ordering::Relaxed);
    }
}

/// Whether SMAP is on: set once at boot, before any task runs; read by the user-access window
/// and by the trap entry, which closes the window.
pub(super) static SMAP_ON: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Runs `f` inside the window in which ring 0 may touch user pages (STAC before, CLAC after),
/// where SMAP is on. Only mmu-mode's one door to task memory (`uaccess`) opens it, around
/// each copy. Without SMAP it costs one load and two branches.
#[inline(always)]
pub fn with_user_access<R>(f: impl FnOnce() -> R) -> R {
    let smap = SMAP_ON.load(core::sync::atomic::Ordering::Relaxed);
    if smap {
        // SAFETY: STAC sets RFLAGS.AC only (the CPU has SMAP: checked at boot); no memory is
        // touched, but the asm is a compiler barrier so the copy stays inside the window.
        unsafe { asm!("stac", options(nostack)) };
    }
    let r = f();
    if smap {
        // SAFETY: CLAC clears RFLAGS.AC only; a compiler barrier as above.
        unsafe { asm!("clac", options(nostack)) };
    }
    r
}

/// The page tables the entry code switches to when it returns to ring 3 (the running task's).
/// Disable held.
pub fn set_user_cr3(cr3: u64) {
    // SAFETY: Disable held; the entry code reads it with interrupts off.
    unsafe { (*PER_CPU.get()).user_cr3 = cr3 };
}

/// Points FS at `block` (a ring-3 task's user block): the base a ring-3 task finds its own
/// state through, since it cannot read exec's. Disable held.
pub fn set_user_fs_base(block: u64) {
    // Not checked for canonical form on every switch: the block is one exec allocated.
    FsBase::write(VirtAddr::new_truncate(block));
}

/// Tells the syscall entry which kernel stack to use (the running task's). Disable held.
pub fn set_syscall_stack(top: u64) {
    // SAFETY: Disable held; the entry reads it with interrupts off.
    unsafe { (*PER_CPU.get()).kernel_rsp = top };
}

/// Loads CR3 (switching address spaces; flushes the TLB but for global entries, the kernel
/// heap's where the CPU has global pages).
///
/// # Safety
/// `pml4` is the physical address of a valid top-level table that maps the kernel as the
/// current one does.
pub unsafe fn load_cr3(pml4: u64) {
    // SAFETY: per the contract.
    unsafe { Cr3::write(PhysFrame::containing_address(PhysAddr::new(pml4)), Cr3Flags::empty()) };
    crate::events::count(&crate::events::CR3_LOADS, 1);
}

/// Leaves ring 0 for good: continues at `rip` in ring 3 with stack `rsp`, interrupts on,
/// `arg` in RDI, on the page tables at `cr3`.
///
/// # Safety
/// The tables at `cr3` map `rip` user-executable, `rsp` user-writable and the entry page
/// kernel-executable; TSS.RSP0 holds this task's kernel stack.
pub unsafe fn enter(rip: u64, rsp: u64, arg: u64, cr3: u64) -> ! {
    // SAFETY: per the contract.
    unsafe { enter_user(rip, rsp, arg, cr3) }
}

/// A call through the gate from ring 3: `nr` in RAX, arguments in RDI, RSI, RDX; the result
/// comes back in RAX.
///
/// # Safety
/// Called in ring 3 only: the entry code takes every SYSCALL for one from ring 3 (it swaps GS
/// and takes the task's kernel stack), which from ring 0 would corrupt the kernel's state.
#[inline(always)]
pub unsafe fn gate_call(nr: u64, a0: u64, a1: u64, a2: u64) -> u64 {
    let r: u64;
    // SAFETY: in ring 3 (the contract), SYSCALL enters the gate, which preserves every
    // register but RAX (RCX and R11 are the CPU's, declared clobbered).
    unsafe {
        asm!("syscall", inout("rax") nr => r, in("rdi") a0, in("rsi") a1, in("rdx") a2,
             out("rcx") _, out("r11") _, options(nostack));
    }
    r
}

/// A check for the in-kernel suite: [`gate_call`] of `nr` with `a0`, made with RBX, RBP and
/// R12-R15 holding known values (which the SYSCALL entry does not save: the gate's Rust code
/// keeps them). Result: the call's result, and the bits in which any of the six came back
/// different (0: all kept).
///
/// # Safety
/// As [`gate_call`]'s: ring 3 only.
pub unsafe fn gate_call_keeps_callee_saved(nr: u64, a0: u64) -> (u64, u64) {
    let (r, diff): (u64, u64);
    // SAFETY: as gate_call's; the six registers are saved on the stack around the call and
    // restored before the block ends, and everything else it changes is declared.
    unsafe {
        asm!(
            "push rbx", "push rbp", "push r12", "push r13", "push r14", "push r15",
            "mov ebx, 0x11111111", "mov ebp, 0x22222222", "mov r12d, 0x33333333",
            "mov r13d, 0x44444444", "mov r14d, 0x55555555", "mov r15d, 0x66666666",
            "syscall",
            "xor r9d, r9d",
            "mov r10, rbx", "xor r10, 0x11111111", "or r9, r10",
            "mov r10, rbp", "xor r10, 0x22222222", "or r9, r10",
            "mov r10, r12", "xor r10, 0x33333333", "or r9, r10",
            "mov r10, r13", "xor r10, 0x44444444", "or r9, r10",
            "mov r10, r14", "xor r10, 0x55555555", "or r9, r10",
            "mov r10, r15", "xor r10, 0x66666666", "or r9, r10",
            "pop r15", "pop r14", "pop r13", "pop r12", "pop rbp", "pop rbx",
            inout("rax") nr => r, in("rdi") a0, out("rcx") _, out("r11") _, out("r9") diff, out("r10") _,
        );
    }
    (r, diff)
}

/// [`gate_call`] with two more arguments, in R10 and R8.
///
/// # Safety
/// As [`gate_call`]'s: ring 3 only.
#[inline(always)]
pub unsafe fn gate_call5(nr: u64, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64) -> u64 {
    let r: u64;
    // SAFETY: as gate_call's.
    unsafe {
        asm!("syscall", inout("rax") nr => r, in("rdi") a0, in("rsi") a1, in("rdx") a2,
             in("r10") a3, in("r8") a4, out("rcx") _, out("r11") _, options(nostack));
    }
    r
}
