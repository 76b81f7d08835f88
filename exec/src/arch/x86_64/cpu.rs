//! Interrupt flag, halting, the TSC, CPUID feature bits and control registers.

use core::arch::x86_64::{__cpuid, _rdtsc};

use x86_64::registers::control::{Cr2, Cr3};

/// Enables maskable interrupts.
pub fn enable_interrupts() {
    x86_64::instructions::interrupts::enable();
}

/// Disables maskable interrupts.
pub fn disable_interrupts() {
    x86_64::instructions::interrupts::disable();
}

/// Whether maskable interrupts are enabled.
pub fn interrupts_enabled() -> bool {
    x86_64::instructions::interrupts::are_enabled()
}

/// Lets a pending interrupt in and turns interrupts off again: STI, then one instruction (the
/// STI shadow ends after it, so an interrupt waiting is taken there), then CLI. Like
/// [`enable_interrupts`], for callers that know no `without_interrupts` section (a spin lock
/// taken with interrupts off) is around them: `exec::sched::let_interrupts_in` checks exec's
/// own state first.
pub fn interrupt_window() {
    // SAFETY: only RFLAGS.IF changes, and back; an interrupt taken in between returns here with
    // every register as it was. Not `nomem`: a handler may write memory the caller reads.
    unsafe { core::arch::asm!("sti", "nop", "cli", options(nostack)) };
}

/// Runs `f` with interrupts disabled, restoring the previous state after.
pub fn without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    x86_64::instructions::interrupts::without_interrupts(f)
}

/// Waits for the next interrupt (interrupts must be enabled, or this never returns).
pub fn wait_for_interrupt() {
    x86_64::instructions::hlt();
}

/// Stops this CPU for good: interrupts off, halt, forever.
pub fn halt_forever() -> ! {
    loop {
        disable_interrupts();
        x86_64::instructions::hlt();
    }
}

/// Whether the code calling runs in ring 3 (mmu-mode's ring-3 tasks). Always false in the
/// flat build, where it compiles to nothing.
#[inline(always)]
pub fn in_ring3() -> bool {
    #[cfg(feature = "mmu")]
    {
        use x86_64::instructions::segmentation::{CS, Segment};
        // Any nonzero privilege level is ring 3: Lorraine never uses rings 1 and 2 (one test
        // instruction fewer on every gate stub).
        CS::get_reg().0 & 3 != 0
    }
    #[cfg(not(feature = "mmu"))]
    false
}

/// mmu-mode: the first word at the FS base, which in ring 3 is the address of the running
/// task's user block (see `crate::user_heap`; the switch sets FS for each ring-3 task).
#[cfg(feature = "mmu")]
#[inline(always)]
pub fn fs_first_word() -> u64 {
    let word: u64;
    // SAFETY: reads one word through FS; in ring 3 FS always points at the task's user block
    // (the switch sets it before the task runs).
    unsafe { core::arch::asm!("mov {}, fs:[0]", out(reg) word, options(nostack, readonly, preserves_flags)) };
    word
}

/// Raises an invalid-opcode exception (#UD) on purpose, for the tests that check how one is
/// reported or contained. Returns only if the handler resumes past it (none does).
pub fn invalid_opcode() {
    // SAFETY: UD2 only raises #UD, which the exception path handles.
    unsafe { core::arch::asm!("ud2", options(nomem, nostack)) };
}

/// The time-stamp counter.
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects; every x86_64 CPU has it.
    unsafe { _rdtsc() }
}

/// CPU features Lorraine cares about, read once by [`init`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Features {
    pub apic: bool,
    pub nx: bool,
    /// Global pages (CR4.PGE): translations a CR3 load keeps.
    pub pge: bool,
    pub smep: bool,
    pub smap: bool,
    pub invariant_tsc: bool,
}

static FEATURES: spin::Once<Features> = spin::Once::new();

/// The brand string, e.g. "QEMU Virtual CPU version 2.5+", trimmed.
pub fn brand(buf: &mut [u8; 48]) -> &str {
    // CPUID leaves 0x80000000.. exist on every x86_64 CPU (long mode needs them).
    let max_ext = __cpuid(0x8000_0000).eax;
    if max_ext < 0x8000_0004 {
        return "unknown CPU";
    }
    for (i, leaf) in (0x8000_0002u32..=0x8000_0004).enumerate() {
        let r = __cpuid(leaf); // leaf checked against the maximum above

        for (j, reg) in [r.eax, r.ebx, r.ecx, r.edx].into_iter().enumerate() {
            buf[i * 16 + j * 4..i * 16 + j * 4 + 4].copy_from_slice(&reg.to_le_bytes());
        }
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(48);
    core::str::from_utf8(&buf[..end]).unwrap_or("unknown CPU").trim()
}

/// Reads CPUID and turns on no-execute support where the CPU has it.
pub fn init() {
    // CPUID is always available in long mode; leaves are checked against their maxima.
    let f = {
        let max = __cpuid(0).eax;
        let max_ext = __cpuid(0x8000_0000).eax;
        let l1 = __cpuid(1);
        let l7 = if max >= 7 { __cpuid(7) } else { __cpuid(0) };
        let e1 = __cpuid(0x8000_0001);
        let e7 = if max_ext >= 0x8000_0007 { __cpuid(0x8000_0007).edx } else { 0 };
        Features {
            apic: l1.edx & (1 << 9) != 0,
            nx: e1.edx & (1 << 20) != 0,
            pge: l1.edx & (1 << 13) != 0,
            smep: max >= 7 && l7.ebx & (1 << 7) != 0,
            smap: max >= 7 && l7.ebx & (1 << 20) != 0,
            invariant_tsc: e7 & (1 << 8) != 0,
        }
    };
    if f.nx {
        use x86_64::registers::model_specific::{Efer, EferFlags};
        // SAFETY: NXE is supported (checked above); the boot page tables set no NX bits yet.
        unsafe { Efer::update(|e| e.insert(EferFlags::NO_EXECUTE_ENABLE)) };
    }
    FEATURES.call_once(|| f);
}

/// The features found by [`init`] (all false before it ran).
pub fn features() -> Features {
    FEATURES.get().copied().unwrap_or_default()
}

/// CR2: the address of the last page fault.
pub fn cr2() -> u64 {
    Cr2::read_raw()
}

/// CR3: the physical address of the current top-level page table (Lorraine sets no CR3 flags).
pub fn cr3() -> u64 {
    Cr3::read().0.start_address().as_u64()
}

/// Enables interrupts and halts until the next one, atomically (STI's one-instruction shadow
/// covers the HLT, so an interrupt cannot slip in between and be missed).
pub fn enable_and_wait() {
    x86_64::instructions::interrupts::enable_and_hlt();
}

/// Resets the machine through the keyboard controller (and, should that fail, a triple fault).
pub fn reboot() -> ! {
    disable_interrupts();
    // SAFETY: 0xFE on the 8042's command port pulses the CPU reset line; nothing runs after.
    unsafe { x86_64::instructions::port::Port::<u8>::new(0x64).write(0xfe) };
    super::probe::triple_fault()
}
