//! The IDT: all 256 vectors point at small assembly stubs that push a uniform [`TrapFrame`] and
//! call [`super::trap::dispatch`]. Exceptions without an error code push a zero, so the frame
//! has the same shape for every vector.
//!
//! [`TrapFrame`]: super::trap::TrapFrame

use core::arch::global_asm;
use core::mem::size_of;

use super::gdt::{EMERGENCY_IST, KERNEL_CODE};

/// Vectors whose exception pushes an error code: 8, 10-14, 17, 21, 29, 30.
const ERROR_CODE_VECTORS: u32 = 0x6022_7d00;
/// Bytes per stub in `trap_stubs`; the stub for vector `v` starts at `trap_stubs + v * 16`.
const STUB_SIZE: u64 = 16;

/// The trap entry code; mmu-mode adds the address-space switch on the way in from and out to
/// ring 3 (`$entry`, `$exit`), the flat build has none of it.
macro_rules! trap_asm {
    ($entry:literal, $exit:literal $(, $name:ident = $kind:ident $val:path)*) => {
        global_asm!(
            concat!(r#"
    .section .text.trap, "ax"
    .balign 16
    .global trap_stubs
trap_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if vec < 32
    .if ((({errmask}) >> vec) & 1) == 0
    pushq $0
    .endif
    .else
    pushq $0
    .endif
    pushq $vec
    jmp trap_common
    .set vec, vec + 1
    .endr

trap_common:
"#, push_gprs!(), r#""#, $entry, r#"    mov %rsp, %rdi
    cld
    call {dispatch}
    /* dispatch returns the frame to resume: the same one, or another task's. */
    mov %rax, %rsp
"#, $exit, r#""#, pop_gprs!(), r#"    add $16, %rsp
    iretq
"#),
            errmask = const ERROR_CODE_VECTORS,
            dispatch = sym super::trap::dispatch
            $(, $name = $kind $val)*,
            options(att_syntax)
        );
    };
}

#[cfg(not(feature = "mmu"))]
trap_asm!("", "");

// mmu-mode: coming from ring 3 (CS.RPL = 3 at offset 144 of the frame), switch to the
// kernel's page tables before any kernel code outside this page runs; going back to ring 3,
// switch to the running task's (PER_CPU: kernel CR3 at +16, user CR3 at +24). RAX is saved.
#[cfg(feature = "mmu")]
trap_asm!(
    "    testb $3, 144(%rsp)\n    jz 1f\n    mov {percpu}+16(%rip), %rax\n    mov %rax, %cr3\n1:\n",
    "    testb $3, 144(%rsp)\n    jz 2f\n    mov {percpu}+24(%rip), %rax\n    mov %rax, %cr3\n2:\n",
    percpu = sym super::usermode::PER_CPU
);

unsafe extern "C" {
    static trap_stubs: u8;
}

/// One 16-byte interrupt gate.
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    attributes: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

const INTERRUPT_GATE: u8 = 0x8e; // present, DPL 0, 64-bit interrupt gate
/// mmu-mode: interrupt gates ring 3 may raise with `int` (the breakpoint only).
#[cfg(feature = "mmu")]
const USER_INTERRUPT_GATE: u8 = 0xee; // present, DPL 3

impl Gate {
    fn new(handler: u64, ist: u16) -> Self {
        Gate {
            offset_low: handler as u16,
            selector: KERNEL_CODE,
            ist: ist as u8,
            attributes: INTERRUPT_GATE,
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
    fn handler(&self) -> u64 {
        self.offset_low as u64 | (self.offset_mid as u64) << 16 | (self.offset_high as u64) << 32
    }
}

#[repr(C, align(16))]
struct Idt([Gate; 256]);

/// Written once in [`init`] before `lidt`; read only by the CPU after.
static IDT: spin::Once<Idt> = spin::Once::new();

/// Does vector `v` push an error code?
pub fn has_error_code(v: u8) -> bool {
    v < 32 && ERROR_CODE_VECTORS & (1 << v) != 0
}

/// Fills and loads the IDT. Double fault, NMI and machine check run on the emergency stack.
pub fn init() {
    let base = &raw const trap_stubs as u64;
    let idt = IDT.call_once(|| {
        let mut gates = [Gate::default(); 256];
        for (v, gate) in gates.iter_mut().enumerate() {
            let ist = if matches!(v, 2 | 8 | 18) { EMERGENCY_IST } else { 0 };
            *gate = Gate::new(base + v as u64 * STUB_SIZE, ist);
        }
        #[cfg(feature = "mmu")]
        {
            // Breakpoints from ring 3 are faults of that task, not a #GP.
            gates[3].attributes = USER_INTERRUPT_GATE;
        }
        Idt(gates)
    });
    let ptr = x86_64::structures::DescriptorTablePointer {
        limit: (size_of::<Idt>() - 1) as u16,
        base: x86_64::VirtAddr::new(idt as *const Idt as u64),
    };
    // SAFETY: the IDT is 'static and every gate points at a stub in trap_stubs.
    unsafe { x86_64::instructions::tables::lidt(&ptr) };
}

/// What the loaded IDT says about vector `v`: `(handler, ist)`, for tests.
pub fn gate(v: u8) -> Option<(u64, u8)> {
    IDT.get().map(|idt| (idt.0[v as usize].handler(), idt.0[v as usize].ist))
}

/// Where the stub for vector `v` starts.
pub fn stub_address(v: u8) -> u64 {
    &raw const trap_stubs as u64 + v as u64 * STUB_SIZE
}

/// The IDT's base address, as it should read back from IDTR.
pub fn idt_base() -> Option<u64> {
    IDT.get().map(|i| i as *const Idt as u64)
}
