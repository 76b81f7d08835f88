//! Deliberately provoked CPU exceptions, caught and survived: how the in-kernel tests prove that
//! every exception that can be raised safely reaches the handler and is reported correctly.
//!
//! A probe arms a resume address, executes one faulting instruction, and the exception handler,
//! seeing the armed address, records the fault (and the Guru Meditation it would have printed)
//! and continues there instead of halting.

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

use super::trap::TrapFrame;

/// Where to resume after the provoked fault; 0 when no probe is armed. Written by the probe,
/// cleared by the exception handler; interrupts are disabled in between.
static RESUME: AtomicU64 = AtomicU64::new(0);

/// What the handler saw. Guarded by its spin lock; interrupts are off whenever it is held.
static CAUGHT: spin::Mutex<Option<Caught>> = spin::Mutex::new(None);

/// An unmapped address (64 GiB; the boot tables map the first 4 GiB only).
pub const UNMAPPED: u64 = 0x10_0000_0000;
/// A non-canonical address: any access raises #GP.
pub const NON_CANONICAL: u64 = 0x8000_0000_0000_0000;

/// Exceptions that can be raised and survived at ring 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provoke {
    Breakpoint,
    InvalidOpcode,
    DivideError,
    GeneralProtection,
    PageFaultRead,
    PageFaultWrite,
}

/// A caught exception: the frame's essentials, and the whole frame (to render a report from).
#[derive(Clone)]
pub struct Caught {
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cr2: u64,
    pub frame: TrapFrame,
}

/// Raises `what` and returns what the exception handler recorded (`None` if nothing arrived).
pub fn provoke(what: Provoke) -> Option<Caught> {
    super::cpu::without_interrupts(|| {
        *CAUGHT.lock() = None;
        // SAFETY: each block raises exactly one exception at a known instruction, after arming
        // RESUME with the label that follows it; the handler resumes there (see `recover`).
        // Clobbered registers are declared.
        unsafe {
            match what {
                Provoke::Breakpoint => asm!(
                    "lea {t}, [rip + 2f]", "mov [rip + {r}], {t}", "int3", "2:",
                    t = out(reg) _, r = sym RESUME),
                Provoke::InvalidOpcode => asm!(
                    "lea {t}, [rip + 2f]", "mov [rip + {r}], {t}", "ud2", "2:",
                    t = out(reg) _, r = sym RESUME),
                Provoke::DivideError => asm!(
                    "lea {t}, [rip + 2f]", "mov [rip + {r}], {t}",
                    "xor edx, edx", "mov eax, 1", "div {z:e}", "2:",
                    t = out(reg) _, r = sym RESUME, z = in(reg) 0u32, out("eax") _, out("edx") _),
                Provoke::GeneralProtection => asm!(
                    "lea {t}, [rip + 2f]", "mov [rip + {r}], {t}", "mov {t}, [{a}]", "2:",
                    t = out(reg) _, r = sym RESUME, a = in(reg) NON_CANONICAL),
                Provoke::PageFaultRead => asm!(
                    "lea {t}, [rip + 2f]", "mov [rip + {r}], {t}", "mov {t}, [{a}]", "2:",
                    t = out(reg) _, r = sym RESUME, a = in(reg) UNMAPPED),
                Provoke::PageFaultWrite => asm!(
                    "lea {t}, [rip + 2f]", "mov [rip + {r}], {t}", "mov [{a}], {t}", "2:",
                    t = out(reg) _, r = sym RESUME, a = in(reg) UNMAPPED),
            }
        }
        RESUME.store(0, Ordering::SeqCst);
        CAUGHT.lock().take()
    })
}

/// Called by the exception handler: if a probe is armed, record the fault, resume after it and
/// return true. Otherwise return false and let the fault be a real one.
pub(super) fn recover(frame: &mut TrapFrame) -> bool {
    let resume = RESUME.swap(0, Ordering::SeqCst);
    if resume == 0 {
        return false;
    }
    let cr2 = if frame.vector == 14 { super::cpu::cr2() } else { 0 };
    let caught = Caught {
        vector: frame.vector,
        error_code: frame.error_code,
        rip: frame.rip,
        cr2,
        frame: *frame,
    };
    // Cannot deadlock: `provoke` never holds the lock while the fault is raised.
    *CAUGHT.lock() = Some(caught);
    frame.rip = resume;
    true
}

/// Self-check only: loads an empty IDT and raises a breakpoint. The CPU can deliver neither the
/// breakpoint, nor the #GP that follows, nor the double fault: it triple-faults and QEMU
/// (`-no-reboot`) exits with status 0, which the test harness must count as a failure.
pub fn triple_fault() -> ! {
    let empty = x86_64::structures::DescriptorTablePointer { limit: 0, base: x86_64::VirtAddr::new(0) };
    super::cpu::disable_interrupts();
    // SAFETY: deliberately fatal; nothing runs after this.
    unsafe {
        x86_64::instructions::tables::lidt(&empty);
    }
    x86_64::instructions::interrupts::int3();
    super::cpu::halt_forever()
}

/// `n / d` with the CPU's DIV and no zero check: a zero `d` raises a real divide error (#DE),
/// as CRASHTEST and the containment tests want (Rust's `/` would panic instead).
#[inline(always)]
pub fn raw_divide(n: u64, d: u64) -> u64 {
    let q: u64;
    // SAFETY: DIV of RDX:RAX (RDX zeroed) by `d`; raises #DE if `d` is 0, which is the point.
    unsafe { asm!("xor edx, edx", "div {d}", d = in(reg) d, inout("rax") n => q, out("rdx") _, options(nomem, nostack)) };
    q
}
