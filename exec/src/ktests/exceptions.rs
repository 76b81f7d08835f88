use alloc::format;

use crate::arch::x86_64::probe::{self, Caught, Provoke, UNMAPPED};
use crate::ktest::TestResult;
use crate::{ensure, ensure_eq};

fn caught(what: Provoke) -> Result<Caught, alloc::string::String> {
    probe::provoke(what).ok_or_else(|| format!("{what:?}: the handler never saw the exception"))
}

/// The report must name the exception and carry the Guru line with its vector as alert code.
fn check_report(c: &Caught, name: &str) -> TestResult {
    let report = crate::alert::Report::of_exception(&c.frame, c.cr2);
    let text = report.as_str();
    let guru = format!("Guru Meditation #{:08X}.", c.vector);
    ensure!(text.contains(&guru), "report lacks '{guru}':\n{text}");
    ensure!(text.contains(name), "report lacks '{name}':\n{text}");
    Ok(())
}

pub fn breakpoint() -> TestResult {
    let c = caught(Provoke::Breakpoint)?;
    ensure_eq!(c.vector, 3);
    check_report(&c, "Breakpoint (#BP)")
}

pub fn invalid_opcode() -> TestResult {
    let c = caught(Provoke::InvalidOpcode)?;
    ensure_eq!(c.vector, 6);
    check_report(&c, "Invalid Opcode (#UD)")
}

pub fn divide_error() -> TestResult {
    let c = caught(Provoke::DivideError)?;
    ensure_eq!(c.vector, 0);
    check_report(&c, "Divide Error (#DE)")
}

pub fn general_protection() -> TestResult {
    let c = caught(Provoke::GeneralProtection)?;
    ensure_eq!(c.vector, 13);
    ensure_eq!(c.error_code, 0);
    check_report(&c, "General Protection (#GP)")
}

pub fn page_fault_read() -> TestResult {
    let c = caught(Provoke::PageFaultRead)?;
    ensure_eq!(c.vector, 14);
    ensure_eq!(c.cr2, UNMAPPED);
    ensure_eq!(c.error_code & 0b11, 0); // not present, read
    check_report(&c, "read of a page not present")
}

pub fn page_fault_write() -> TestResult {
    let c = caught(Provoke::PageFaultWrite)?;
    ensure_eq!(c.vector, 14);
    ensure_eq!(c.cr2, UNMAPPED);
    ensure_eq!(c.error_code & 0b11, 0b10); // not present, write
    check_report(&c, "write to a page not present")
}

/// Everything the issue asks the Guru Meditation to show: code, name, error code, RIP, CR2 for
/// page faults, and all general registers.
pub fn guru_report() -> TestResult {
    let c = caught(Provoke::PageFaultWrite)?;
    let report = crate::alert::Report::of_exception(&c.frame, c.cr2);
    let text = report.as_str();
    let rip = format!("RIP {:016x}", c.rip);
    let cr2 = format!("CR2 {UNMAPPED:016x}");
    let me = crate::task::find_task(None);
    let guru = format!("Guru Meditation #0000000E.{:08X}", me as usize);
    // SAFETY: the running task is live.
    let task = format!("Task: {}", unsafe { (*me).name() });
    for want in [
        "Software Failure.", &guru, "Page Fault (#PF), vector 14, error code 0x2",
        &rip, &cr2, &task, "CS  0008", "RFLAGS", "RSP", "RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP",
        "R8 ", "R9 ", "R10", "R11", "R12", "R13", "R14", "R15",
    ] {
        ensure!(text.contains(want), "report lacks '{want}':\n{text}");
    }
    Ok(())
}

/// After a round of caught exceptions the tick still runs and interrupts are back on.
pub fn system_goes_on() -> TestResult {
    for what in [Provoke::Breakpoint, Provoke::InvalidOpcode, Provoke::PageFaultRead] {
        caught(what)?;
    }
    ensure!(crate::arch::x86_64::cpu::interrupts_enabled());
    let t = crate::time::ticks();
    crate::time::wait_ticks(2);
    ensure!(crate::time::ticks() >= t + 2);
    Ok(())
}
