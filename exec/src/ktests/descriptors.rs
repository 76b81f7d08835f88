use x86_64::instructions::segmentation::{CS, DS, SS, Segment};
use x86_64::instructions::tables::{sgdt, sidt};

use crate::arch::x86_64::{gdt, idt};
use crate::ktest::TestResult;
use crate::{ensure, ensure_eq};

pub fn gdt_loaded() -> TestResult {
    let gdtr = sgdt();
    ensure_eq!(Some(gdtr.base.as_u64()), gdt::gdt_base());
    // null, kernel code, kernel data, user data, user code, TSS (two slots)
    ensure_eq!(gdtr.limit, 7 * 8 - 1);
    Ok(())
}

pub fn segments() -> TestResult {
    ensure_eq!(CS::get_reg().0, gdt::KERNEL_CODE);
    ensure_eq!(SS::get_reg().0, gdt::KERNEL_DATA);
    // Long mode ignores DS; once a ring-3 task has run (mmu-mode's DOS handlers do at boot),
    // a task may come back to ring 0 with the null selector in it, which is as good.
    let ds = DS::get_reg().0;
    ensure!(ds == gdt::KERNEL_DATA || (cfg!(feature = "mmu") && ds == 0), "DS is {ds:#x}");
    Ok(())
}

pub fn tss_loaded() -> TestResult {
    ensure_eq!(gdt::task_register(), gdt::TSS_SELECTOR);
    let tss = gdt::tss().ok_or("no TSS")?;
    let ist = tss.interrupt_stack_table[(gdt::EMERGENCY_IST - 1) as usize].as_u64();
    ensure_eq!(ist, gdt::emergency_stack().1);
    ensure!(ist % 16 == 0, "emergency stack top {ist:#x} is not 16-byte aligned");
    Ok(())
}

pub fn idt_loaded() -> TestResult {
    let idtr = sidt();
    ensure_eq!(Some(idtr.base.as_u64()), idt::idt_base());
    ensure_eq!(idtr.limit, 256 * 16 - 1);
    Ok(())
}

pub fn idt_gates() -> TestResult {
    for v in 0..=255u8 {
        let (handler, ist) = idt::gate(v).ok_or("no IDT")?;
        ensure_eq!(handler, idt::stub_address(v));
        let want = if matches!(v, 2 | 8 | 18) { gdt::EMERGENCY_IST as u8 } else { 0 };
        ensure!(ist == want, "vector {v} uses IST {ist}, expected {want}");
    }
    ensure!(idt::has_error_code(14) && idt::has_error_code(8) && !idt::has_error_code(6));
    Ok(())
}
