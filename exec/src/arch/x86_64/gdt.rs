//! The GDT and the TSS. The TSS gives the double-fault handler its own stack (IST 1), so that a
//! kernel stack overflow still ends in a Guru Meditation instead of a triple fault.
//!
//! Selector layout, fixed because SYSCALL/SYSRET derive selectors from STAR:
//! 0x08 kernel code, 0x10 kernel data, 0x18 user data, 0x20 user code, 0x28 TSS.

use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

/// IST slot (1-based, as in the IDT) of the double-fault, NMI and machine-check stack.
pub const EMERGENCY_IST: u16 = 1;
const EMERGENCY_STACK_SIZE: usize = 16 * 1024;

pub const KERNEL_CODE: u16 = 0x08;
pub const KERNEL_DATA: u16 = 0x10;
pub const USER_DATA: u16 = 0x18;
pub const USER_CODE: u16 = 0x20;
pub const TSS_SELECTOR: u16 = 0x28;

#[repr(C, align(16))]
struct Stack([u8; EMERGENCY_STACK_SIZE]);

/// The emergency stack. Guarded by nothing: only the CPU uses it, on a double fault, NMI or
/// machine check, and those handlers end the system.
static mut EMERGENCY_STACK: Stack = Stack([0; EMERGENCY_STACK_SIZE]);

/// Written in [`init`] before it is loaded; read by the CPU from then on. In mmu-mode the
/// scheduler also writes RSP0 (the kernel stack of the task it switches to), under Disable.
static TSS: crate::global::Global<TaskStateSegment> = crate::global::Global::new(TaskStateSegment::new());
static TSS_READY: spin::Once<()> = spin::Once::new();
static GDT: spin::Once<GlobalDescriptorTable> = spin::Once::new();

/// Loads the GDT and TSS and reloads every segment register. Call once, at boot.
pub fn init() {
    TSS_READY.call_once(|| {
        let top = &raw const EMERGENCY_STACK as u64 + EMERGENCY_STACK_SIZE as u64;
        // SAFETY: boot, before the TSS is loaded: nothing else reads it yet.
        unsafe { (*TSS.get()).interrupt_stack_table[(EMERGENCY_IST - 1) as usize] = VirtAddr::new(top) };
    });
    // SAFETY: the TSS is a static; from here on only RSP0 changes (set_kernel_stack).
    let tss: &'static TaskStateSegment = unsafe { &*TSS.get() };
    let gdt = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        gdt.append(Descriptor::kernel_code_segment());
        gdt.append(Descriptor::kernel_data_segment());
        gdt.append(Descriptor::user_data_segment());
        gdt.append(Descriptor::user_code_segment());
        gdt.append(Descriptor::tss_segment(tss));
        gdt
    });
    gdt.load();
    // SAFETY: the selectors index the descriptors appended above, in that order.
    unsafe {
        CS::set_reg(SegmentSelector(KERNEL_CODE));
        for set in [DS::set_reg, ES::set_reg, SS::set_reg] {
            set(SegmentSelector(KERNEL_DATA));
        }
        load_tss(SegmentSelector(TSS_SELECTOR));
    }
}

/// The loaded TSS, for tests.
pub fn tss() -> Option<&'static TaskStateSegment> {
    // SAFETY: read-only view of a static; RSP0 may change under it, which tests do not read.
    TSS_READY.get().map(|_| unsafe { &*TSS.get() })
}

/// Sets the stack the CPU switches to when an interrupt or the gate enters ring 0 from ring 3
/// (TSS.RSP0). mmu-mode only; Disable held.
#[cfg(feature = "mmu")]
pub fn set_kernel_stack(top: u64) {
    // Not checked for canonical form on every switch: `top` is a kernel stack's end, made by
    // exec, never a task's value.
    // SAFETY: Disable held; the CPU reads RSP0 only on a ring change, which cannot happen now.
    unsafe { (*TSS.get()).privilege_stack_table[0] = VirtAddr::new_truncate(top) };
}

/// The emergency stack's `[bottom, top)`.
pub fn emergency_stack() -> (u64, u64) {
    let bottom = &raw const EMERGENCY_STACK as u64;
    (bottom, bottom + EMERGENCY_STACK_SIZE as u64)
}

/// The GDT's base address as loaded into GDTR.
pub fn gdt_base() -> Option<u64> {
    GDT.get().map(|g| g as *const _ as u64)
}

/// The task register's selector (STR), for tests.
pub fn task_register() -> u16 {
    let tr: u16;
    // Hand-written: the crate has `load_tss` but nothing that reads the task register back.
    // SAFETY: STR only reads the task register.
    unsafe { core::arch::asm!("str {0:x}", out(reg) tr, options(nomem, nostack, preserves_flags)) };
    tr
}
