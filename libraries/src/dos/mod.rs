//! dos.library: AmigaDOS's half of the system, where every file operation is a message.
//! `Read(fh, buf, n)` becomes a DOS packet sent to a handler task's port; the handler does
//! the work and replies. The library also carries ReadArgs and the shell's formatting helpers.
//!
//! - [`packet`]: DosPacket, DoPkt, SendPkt, WaitPkt, ReplyPkt, and each action's arguments.
//! - [`process`]: a task's DOS record (packet port, IoErr, current directory, Input/Output),
//!   Fault, PrintFault.
//! - [`file`]: Open, Close, Read, Write, Seek, Flush, FGetC/FPutC/FGets/FPuts, printf.
//! - [`lock`]: Lock, UnLock, DupLock, Examine, ExNext, ParentDir, CurrentDir, NameFromLock,
//!   DeleteFile, Rename, CreateDir, SetProtection, Info, GetDeviceProc.
//! - [`assign`]: AssignPath, AssignLock, the list of assigns.
//! - The handlers, RAM:, NIL: and CON:, are in `crate::handlers`; the boot order starts them.
//!
//! Where DOS's shared state lives: the DOS list's devices are exec's list of public ports (a
//! handler's port is named after its device, `RAM` for `RAM:`); its assigns are kept by the
//! DOS server task (`server.rs`, reached by packets; in ring 3 in the mmu build); a process's
//! state is its own (`process.rs`). RAM:'s volume is `Ram Disk` (`assign.rs`).
//!
//! The calls are plain functions (`libraries::dos::file::open`), not vectors of the library's
//! table. None of them may be called from an interrupt: each sends a packet and waits for
//! its answer (Fault alone waits for nothing). Every DOS client runs in ring 0 for now (the shell's file commands included, in
//! both builds): a ring-3 task cannot yet message a ring-0 port, and a process's record hangs
//! off its Task (kernel memory). The handlers themselves run in ring 3 in the mmu build.

use alloc::string::String;
use alloc::vec::Vec;

use exec::global::Global;
use exec::ktest::{Test, TestResult};
use exec::library::Library;
use exec::list::NodeType;
use exec::resident::Resident;
use exec::{ensure, ensure_eq};

use crate::readargs::{ArgError, ArgValue};

pub mod assign;
pub mod bench;
pub mod console;
pub mod file;
pub mod lock;
pub mod packet;
pub mod process;
pub mod server;
mod ktests;

pub const DOS_VERSION: u16 = 1;

fn read_args_impl(template: &str, line: &str) -> Result<Vec<ArgValue>, ArgError> {
    crate::readargs::read_args(template, line)
}

fn format_bytes_impl(n: u64) -> String {
    crate::format::bytes(n)
}

fn format_duration_impl(secs: u64) -> String {
    crate::format::duration(secs)
}

exec::vector_table! {
    /// dos.library's entry points.
    pub struct DosVectors in DOS_VECTORS;
    safe fn read_args(template: &str, line: &str) -> Result<Vec<ArgValue>, ArgError> = read_args_impl;
    safe fn format_bytes(n: u64) -> String = format_bytes_impl;
    safe fn format_duration(secs: u64) -> String = format_duration_impl;
}

/// The library base. Forbid.
pub static DOS_LIBRARY: Global<Library> =
    Global::new(Library::new("dos.library", DOS_VERSION, 0, "dos 1.0 (23.11.2026)", &DOS_VECTORS));

fn init() {
    // SAFETY: a static base, added once at boot.
    unsafe { exec::library::add_library(DOS_LIBRARY.get()) };
}

/// dos.library as a resident.
pub static DOS_RESIDENT: Resident = Resident {
    name: "dos.library",
    version: DOS_VERSION,
    pri: 0,
    kind: NodeType::Library,
    id_string: "dos 1.0 (23.11.2026)",
    init,
};

/// In-kernel tests of dos.library.
pub static TESTS: &[Test] = ktests::TESTS;

pub(crate) fn through_library() -> TestResult {
    let lib = exec::library::open_library("dos.library", DOS_VERSION);
    ensure!(!lib.is_null(), "dos.library did not open");
    let r = read_args("TASK/A/N,C/S", "5 C");
    // SAFETY: opened above.
    unsafe { exec::library::close_library(lib) };
    ensure_eq!(r, Ok(alloc::vec![ArgValue::Num(5), ArgValue::Switch(true)]));
    ensure_eq!(format_bytes(4096), "4.0 KiB");
    Ok(())
}
