//! The IDT: all 256 vectors point at small assembly stubs that push a uniform [`TrapFrame`] and
//! call [`super::trap::dispatch`]. Exceptions without an error code push a zero, so the frame
//! has the same shape for every vector.
//!
//! [`TrapFrame`]: super::trap::TrapFrame

use core::arch::global_asm;
use core::mem::size_of;

use x86_64::VirtAddr;
use x86_64::structures::idt::{Entry, HandlerFunc};

use super::gdt::EMERGENCY_IST;

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

// mmu-mode: first, where the CPU has SMAP, close the user-access window (the CPU does not
// clear RFLAGS.AC on an interrupt or exception, and the window may have been open in the code
// interrupted; its RFLAGS, AC included, come back with iretq). Coming from ring 3 (CS.RPL = 3
// at offset 144 of the frame), switch to the kernel's page tables before any kernel code
// outside this page runs; going back to ring 3, switch to the running task's (PER_CPU: kernel
// CR3 at +16, user CR3 at +24). RAX is saved.
#[cfg(feature = "mmu")]
trap_asm!(
    "    testb $1, {smap_on}(%rip)\n    jz 3f\n    clac\n3:\n    testb $3, 144(%rsp)\n    jz 1f\n    mov {percpu}+16(%rip), %rax\n    mov %rax, %cr3\n    incq {cr3_loads}(%rip)\n1:\n",
    "    testb $3, 144(%rsp)\n    jz 2f\n    mov {percpu}+24(%rip), %rax\n    mov %rax, %cr3\n    incq {cr3_loads}(%rip)\n2:\n",
    percpu = sym super::usermode::PER_CPU,
    cr3_loads = sym crate::events::CR3_LOADS,
    smap_on = sym super::usermode::SMAP_ON
);

unsafe extern "C" {
    static trap_stubs: u8;
}

/// All 256 gates as the CPU reads them. The crate's `InterruptDescriptorTable` cannot serve:
/// its reserved exception vectors are private and cannot point at a stub.
#[repr(C, align(16))]
struct Idt([Entry<HandlerFunc>; 256]);

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
        let mut gates = [const { Entry::missing() }; 256];
        for (v, gate) in gates.iter_mut().enumerate() {
            // SAFETY: the stub for `v` expects exactly the frame the CPU pushes for `v`, on any
            // stack; CS is the kernel's (gdt::init ran first). The emergency stack is used by
            // these three only, which end the system.
            unsafe {
                let options = gate.set_handler_addr(VirtAddr::new(base + v as u64 * STUB_SIZE));
                if matches!(v, 2 | 8 | 18) {
                    options.set_stack_index(EMERGENCY_IST - 1); // the crate counts from 0
                }
                // mmu-mode: breakpoints from ring 3 are faults of that task, not a #GP.
                if cfg!(feature = "mmu") && v == 3 {
                    options.set_privilege_level(x86_64::PrivilegeLevel::Ring3);
                }
            }
        }
        Idt(gates)
    });
    let ptr = x86_64::structures::DescriptorTablePointer {
        limit: (size_of::<Idt>() - 1) as u16,
        base: VirtAddr::new(idt as *const Idt as u64),
    };
    // SAFETY: the IDT is 'static and every gate points at a stub in trap_stubs.
    unsafe { x86_64::instructions::tables::lidt(&ptr) };
}

/// What the loaded IDT says about vector `v`: `(handler, ist)`, for tests.
pub fn gate(v: u8) -> Option<(u64, u8)> {
    IDT.get().map(|idt| {
        let gate = &idt.0[v as usize];
        // The crate keeps the IST index private: read it where the CPU does, byte 4 of the gate.
        // SAFETY: a gate is 16 plain bytes (repr(C)); byte 4 lies inside it.
        let ist = unsafe { (gate as *const Entry<HandlerFunc> as *const u8).add(4).read() } & 7;
        (gate.handler_addr().as_u64(), ist)
    })
}

/// Where the stub for vector `v` starts.
pub fn stub_address(v: u8) -> u64 {
    &raw const trap_stubs as u64 + v as u64 * STUB_SIZE
}

/// The IDT's base address, as it should read back from IDTR.
pub fn idt_base() -> Option<u64> {
    IDT.get().map(|i| i as *const Idt as u64)
}
