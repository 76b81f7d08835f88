//! Alerts: the Guru Meditation.
//!
//! An alert code reads as on the Amiga: bit 31 set means a dead end (the system stops), the next
//! seven bits name the subsystem, then a general and a specific error. CPU exceptions use their
//! vector number as the code, as the 68000 traps did (`#00000004` was an illegal instruction
//! there; here `#00000006` is an invalid opcode). The number after the dot is the address of the
//! task that was running, 0 during boot.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};

use crate::arch::x86_64::trap::{TrapFrame, exception_name};
use crate::arch::x86_64::{cpu, qemu};

/// Bit 31: the alert is a dead end.
pub const AT_DEAD_END: u32 = 0x8000_0000;
/// Subsystem: exec.library.
pub const AO_EXEC: u32 = 0x0100_0000;
/// Boot: the boot loader gave no usable memory map.
pub const AN_BOOT_NO_MEMORY_MAP: u32 = AT_DEAD_END | AO_EXEC | 0x0001_0001;
/// Boot: not started through PVH, or its start info is unreadable.
pub const AN_BOOT_NO_START_INFO: u32 = AT_DEAD_END | AO_EXEC | 0x0001_0002;
/// Boot: no memory left for the kernel heap.
pub const AN_BOOT_NO_HEAP: u32 = AT_DEAD_END | AO_EXEC | 0x0001_0003;
/// A Rust panic in the kernel ("software failure").
pub const AN_PANIC: u32 = AT_DEAD_END | AO_EXEC | 0x0000_0F00;
/// A semaphore released by a task that does not hold it (Amiga: AN_SemCorrupt).
pub const AN_SEM_CORRUPT: u32 = AO_EXEC | 0x0000_0008;
/// Memory freed twice, or with the wrong size (Amiga: AN_FreeTwice).
pub const AN_FREE_TWICE: u32 = AO_EXEC | 0x0000_0009;
/// A task overran its stack; the task is removed (Amiga: AN_StackProbe).
pub const AN_STACK_PROBE: u32 = AO_EXEC | 0x0000_000E;
/// Memory freed that exec never handed out (Amiga: AN_BadFreeAddr).
pub const AN_BAD_FREE_ADDR: u32 = AO_EXEC | 0x0000_000F;
/// A message put while it is still queued at a port (Lorraine).
pub const AN_MSG_PUT_TWICE: u32 = AO_EXEC | 0x0000_0011;
/// A message replied twice, or replied while still queued (Lorraine).
pub const AN_MSG_REPLY_TWICE: u32 = AO_EXEC | 0x0000_0012;
/// A library called through that the caller has not opened (Lorraine, mmu-mode: the task is
/// removed).
pub const AN_LIB_NOT_OPEN: u32 = AT_DEAD_END | AO_EXEC | 0x0000_0013;
/// mmu-mode: a ring-3 task held Forbid (or Disable) past its bound; it is removed.
pub const AN_FORBID_HELD: u32 = AT_DEAD_END | AO_EXEC | 0x0000_0014;

/// A rendered alert: fixed size, so it can be built in an exception handler without the heap.
#[derive(Clone)]
pub struct Report {
    buf: [u8; 2048],
    len: usize,
}

impl Write for Report {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

impl Default for Report {
    fn default() -> Self {
        Report::new()
    }
}

impl Report {
    /// An empty report, to write any text into without the heap (messages of a dying system).
    pub fn new() -> Self {
        Report { buf: [0; 2048], len: 0 }
    }

    /// The text; a report cut in the middle of a character ends before it.
    pub fn as_str(&self) -> &str {
        match core::str::from_utf8(&self.buf[..self.len]) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&self.buf[..e.valid_up_to()]).unwrap_or(""),
        }
    }

    /// The Guru Meditation for CPU exception `frame` (with `cr2` for page faults).
    pub fn of_exception(frame: &TrapFrame, cr2: u64) -> Self {
        let mut r = Report::new();
        let (name, mnemonic) = exception_name(frame.vector);
        let _ = guru_box(&mut r, frame.vector as u32);
        let f = frame;
        let _ = write!(
            r,
            "{name} ({mnemonic}), vector {}, error code {:#x}\n\
             Task: {}\n\
             RIP {:016x}  CS  {:04x}  RFLAGS {:016x}\n\
             RSP {:016x}  SS  {:04x}  CR3    {:016x}\n",
            f.vector, f.error_code, current_task_name(), f.rip, f.cs, f.rflags, f.rsp, f.ss, cpu::cr3()
        );
        if f.vector == 14 {
            let _ = writeln!(r, "CR2 {cr2:016x}  ({})", page_fault_cause(f.error_code));
        }
        let regs = [
            ("RAX", f.rax), ("RBX", f.rbx), ("RCX", f.rcx), ("RDX", f.rdx),
            ("RSI", f.rsi), ("RDI", f.rdi), ("RBP", f.rbp), ("R8 ", f.r8),
            ("R9 ", f.r9), ("R10", f.r10), ("R11", f.r11), ("R12", f.r12),
            ("R13", f.r13), ("R14", f.r14), ("R15", f.r15),
        ];
        for (i, (n, v)) in regs.iter().enumerate() {
            let sep = if i % 4 == 3 || i == regs.len() - 1 { "\n" } else { "  " };
            let _ = write!(r, "{n} {v:016x}{sep}");
        }
        r
    }

    /// The Guru Meditation for a Rust panic.
    pub fn of_panic(info: &core::panic::PanicInfo) -> Self {
        let mut r = Report::new();
        let _ = guru_box(&mut r, AN_PANIC);
        let _ = write!(r, "Kernel panic");
        if let Some(loc) = info.location() {
            let _ = write!(r, " at {}:{}:{}", loc.file(), loc.line(), loc.column());
        }
        let _ = writeln!(r, ": {}\nTask: {}", info.message(), current_task_name());
        r
    }

    /// A Guru Meditation for alert `code` with a message.
    pub fn of_alert(code: u32, message: fmt::Arguments) -> Self {
        let mut r = Report::new();
        let _ = guru_box(&mut r, code);
        let _ = writeln!(r, "{message}\nTask: {}", current_task_name());
        r
    }
}

fn guru_box(w: &mut impl Write, code: u32) -> fmt::Result {
    guru_box_at(w, code, current_task_address())
}

pub fn guru_box_at(w: &mut impl Write, code: u32, addr: u64) -> fmt::Result {
    const RULE: &str = "****************************************************************";
    let what = if code & AT_DEAD_END != 0 || code < 0x100 { "Software Failure." } else { "Recoverable Alert." };
    write!(w, "\n{RULE}\n*  {what:<59} *\n*  Guru Meditation #{code:08X}.{addr:08X}{:26}*\n{RULE}\n", "")
}

fn page_fault_cause(code: u64) -> &'static str {
    match (code & 1 != 0, code & 2 != 0, code & 0x10 != 0) {
        (_, _, true) => "instruction fetch",
        (false, false, _) => "read of a page not present",
        (false, true, _) => "write to a page not present",
        (true, false, _) => "read refused by protection",
        (true, true, _) => "write refused by protection",
    }
}

/// The running task's address, for the number after the dot (0 before exec runs).
fn current_task_address() -> u64 {
    // SAFETY: reading one pointer; alerts may come from anywhere, and a stale value only
    // misnames the task in a report.
    unsafe { (*crate::execbase::base()).this_task as u64 }
}

fn current_task_name() -> &'static str {
    // SAFETY: as above; tasks are freed only after they stop running, never while current.
    match unsafe { (*crate::execbase::base()).this_task.as_ref() } {
        Some(t) => t.name(),
        None => "(boot)",
    }
}

/// Raises alert `code`. A dead-end alert (bit 31) prints its Guru Meditation and stops the
/// system; any other prints a recoverable alert naming the running task and returns.
/// Counted in ExecBase either way. Callable from an interrupt.
pub fn alert(code: u32) {
    alert_for_task(code, current_task_name(), current_task_address());
}

/// [`alert`] on behalf of another task (`name` at `address`), for exec reporting a task it has
/// stopped.
pub fn alert_for_task(code: u32, name: &str, address: u64) {
    if code & AT_DEAD_END != 0 {
        dead_end(&Report::of_alert(code, format_args!("{}", alert_text(code))));
    }
    cpu::without_interrupts(|| {
        // SAFETY: interrupts off: we hold Disable.
        unsafe {
            (*crate::execbase::base()).alert_count += 1;
            (*crate::execbase::base()).last_alert = code;
        }
        // Printed piece by piece: no large buffer on the stack.
        let mut out = crate::console::Console;
        let _ = guru_box_at(&mut out, code, address);
        let _ = writeln!(out, "{}\nTask: {name}", alert_text(code));
    });
}

/// What an alert code means, in a few words.
pub fn alert_text(code: u32) -> &'static str {
    match code & !AT_DEAD_END {
        c if c == AN_SEM_CORRUPT => "Semaphore released by a task that does not hold it",
        c if c == AN_FREE_TWICE => "Memory freed twice, or with the wrong size",
        c if c == AN_STACK_PROBE => "Stack overflow: the task is removed",
        c if c == AN_BAD_FREE_ADDR => "Memory freed that exec never allocated",
        c if c == AN_MSG_PUT_TWICE => "Message put while still queued at a port",
        c if c == AN_MSG_REPLY_TWICE => "Message replied twice",
        c if c == AN_LIB_NOT_OPEN & !AT_DEAD_END => "Library called that the task has not opened",
        c if c == AN_FORBID_HELD & !AT_DEAD_END => "Forbid held too long by a ring-3 task",
        c if c == AN_PANIC & !AT_DEAD_END => "Software failure (panic)",
        _ => "Alert",
    }
}

/// Set while a dead-end alert is being reported, so that a fault during the report ends the
/// system instead of recursing.
static DYING: AtomicBool = AtomicBool::new(false);

/// Prints `report` and stops the system: in a test run, QEMU exits with failure after the
/// test runner has named the test; otherwise the CPU halts, as the Amiga waited for a reboot.
fn dead_end(report: &Report) -> ! {
    cpu::disable_interrupts();
    if DYING.swap(true, Ordering::SeqCst) {
        crate::console::print_emergency("\nAlert while reporting an alert: halting.\n");
        qemu::exit(qemu::ExitCode::Failure);
    }
    crate::console::print_emergency(report.as_str());
    crate::ktest::on_dead_end(report.as_str().lines().find(|l| l.contains("Guru")).unwrap_or(""));
    crate::console::print_emergency("Dead-end alert: the system has halted.\n");
    cpu::halt_forever()
}

/// Raises dead-end alert `code` with an explanation. Never returns. May be called from an
/// interrupt.
pub fn dead_end_alert(code: u32, message: fmt::Arguments) -> ! {
    dead_end(&Report::of_alert(code, message))
}

/// An unrecovered CPU exception. Called from the trap handler with interrupts off.
pub(crate) fn cpu_exception(frame: &TrapFrame) -> ! {
    let cr2 = if frame.vector == 14 { cpu::cr2() } else { 0 };
    dead_end(&Report::of_exception(frame, cr2))
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    // A ring-3 task cannot print or stop the machine: its panic is a dead-end alert through
    // the gate, which reports it and removes the task.
    #[cfg(feature = "mmu")]
    if cpu::in_ring3() {
        let mut text = PanicText::default();
        if let Some(loc) = info.location() {
            let _ = write!(text, "at {}:{}:{}: ", loc.file(), loc.line(), loc.column());
        }
        let _ = write!(text, "{}", info.message());
        crate::sys_gate::panic(text.as_str());
    }
    dead_end(&Report::of_panic(info))
}

/// A ring-3 panic's message, on the task's stack (no heap: it may be what failed), cut at
/// [`PANIC_TEXT_MAX`] bytes.
#[cfg(feature = "mmu")]
struct PanicText {
    buf: [u8; PANIC_TEXT_MAX],
    len: usize,
}

/// The longest panic message a ring-3 task passes to its Guru Meditation.
pub const PANIC_TEXT_MAX: usize = 240;

#[cfg(feature = "mmu")]
impl Default for PanicText {
    fn default() -> Self {
        PanicText { buf: [0; PANIC_TEXT_MAX], len: 0 }
    }
}

#[cfg(feature = "mmu")]
impl PanicText {
    fn as_str(&self) -> &str {
        // Cut at a character boundary by `write_str`.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("(unreadable)")
    }
}

#[cfg(feature = "mmu")]
impl Write for PanicText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut n = s.len().min(PANIC_TEXT_MAX - self.len);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}
