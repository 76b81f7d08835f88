//! Every interrupt and exception arrives here, as a [`TrapFrame`] on the interrupted stack.

use super::{cpu, pic, probe};

/// The registers saved by the trap stubs (`idt.rs`), lowest address first, followed by what the
/// CPU pushed. `repr(C)` because the assembly builds it. The callee-saved registers come first
/// (pushed last), so that the SYSCALL entry, which leaves them to the gate's Rust code, only
/// steps over their slots: in a gate call's frame they hold stale kernel stack, never read
/// (never copy or print a gate call's frame whole).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rax: u64,
    /// The vector number, pushed by the stub.
    pub vector: u64,
    /// The CPU's error code, or 0 for vectors without one.
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// First vector of the (remapped) PIC interrupts.
pub const IRQ_BASE: u8 = 32;
/// The LAPIC's spurious-interrupt vector.
pub const SPURIOUS_VECTOR: u8 = 0xff;

/// The exception's name and mnemonic, as the Guru Meditation prints it.
pub fn exception_name(vector: u64) -> (&'static str, &'static str) {
    match vector {
        0 => ("Divide Error", "#DE"),
        1 => ("Debug", "#DB"),
        2 => ("Non-Maskable Interrupt", "NMI"),
        3 => ("Breakpoint", "#BP"),
        4 => ("Overflow", "#OF"),
        5 => ("Bound Range Exceeded", "#BR"),
        6 => ("Invalid Opcode", "#UD"),
        7 => ("Device Not Available", "#NM"),
        8 => ("Double Fault", "#DF"),
        9 => ("Coprocessor Segment Overrun", "#MF9"),
        10 => ("Invalid TSS", "#TS"),
        11 => ("Segment Not Present", "#NP"),
        12 => ("Stack-Segment Fault", "#SS"),
        13 => ("General Protection", "#GP"),
        14 => ("Page Fault", "#PF"),
        16 => ("x87 Floating-Point Error", "#MF"),
        17 => ("Alignment Check", "#AC"),
        18 => ("Machine Check", "#MC"),
        19 => ("SIMD Floating-Point", "#XM"),
        20 => ("Virtualization", "#VE"),
        21 => ("Control Protection", "#CP"),
        28 => ("Hypervisor Injection", "#HV"),
        29 => ("VMM Communication", "#VC"),
        30 => ("Security", "#SX"),
        15 | 22..=27 | 31 => ("Reserved Exception", "#??"),
        _ => ("Unexpected Interrupt", "INT"),
    }
}

/// Called by `trap_common` with interrupts disabled. Returns the frame to resume. What arch
/// finishes itself (a probed exception, a spurious interrupt) ends here; everything else goes
/// up through exec's one entry, [`crate::entry::trap`].
pub(super) extern "C" fn dispatch(frame: &mut TrapFrame) -> *mut TrapFrame {
    use crate::entry::{Trap, trap};
    match frame.vector {
        #[cfg(feature = "mmu")]
        0..=31 if frame.cs & 3 == 3 => trap(Trap::UserException, frame),
        0..=31 => {
            if !probe::recover(frame) {
                trap(Trap::Exception, frame);
            }
        }
        v if (IRQ_BASE as u64..IRQ_BASE as u64 + 16).contains(&v) => {
            let irq = (v - IRQ_BASE as u64) as u8;
            if !pic::is_spurious(irq) {
                trap(Trap::Irq(irq), frame);
            }
        }
        v if v == SPURIOUS_VECTOR as u64 => {} // LAPIC spurious: no EOI, by definition
        _ => trap(Trap::Exception, frame),
    }
    debug_assert!(!cpu::interrupts_enabled());
    frame
}
