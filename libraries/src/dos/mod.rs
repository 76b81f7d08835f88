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
//! Every DOS call a program makes is a vector of the library's table ([`DosVectors`]):
//! `libraries::dos::read(fh, buf)`, or `fh.read(buf)`, which is the same call. So set_function
//! can patch any of them, and the implementations (`file::read` and so on) are private to this
//! crate: another crate reaches them only through the table. A program opens dos.library
//! first, as an Amiga program does: in ring 3 (mmu build) each call asks the gate for its
//! entry, which it gives only to a task that has the library open (a call without it ends the
//! task), and that costs a gate call per DOS call. The handlers, part of this crate, call the
//! implementations directly. None of the calls may be called from an interrupt: each sends a
//! packet and waits for its answer (Fault, the patterns and the formatting helpers wait for
//! nothing). The handlers run in ring 3 in the mmu build, and so do the shell's file
//! commands; a process's record is its own (see `process.rs`).

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use exec::global::Global;
use exec::ktest::{Test, TestResult};
use exec::library::Library;
use exec::list::NodeType;
use exec::resident::Resident;
use exec::{ensure, ensure_eq};

use exec::port::{Message, MsgPort};

use crate::dosdefs::{FileInfoBlock, InfoData};
use crate::pattern::{Pattern, PatternError};
use crate::readargs::{ArgError, ArgValue};
use file::FileHandle;
use lock::FileLock;
use packet::StandardPacket;

pub mod assign;
pub mod bench;
pub mod console;
pub mod file;
pub mod lock;
pub mod packet;
pub mod process;
pub mod server;
mod ktests;
mod ktests_vectors;

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
    /// dos.library's entry points: every DOS call a program makes goes through this table, so
    /// set_function can patch any of them. In ring 3 (mmu build) the caller must have
    /// dos.library open, and each call asks the gate for its entry. The implementations
    /// (`file::read` and so on) are crate-private: another crate can reach them only here.
    pub struct DosVectors in DOS_VECTORS;
    // Files (file.rs). FileHandle's methods (`fh.read(buf)`) are these calls.
    safe fn open(name: &str, mode: i64) -> Result<Box<FileHandle>, i64> = file::open;
    safe fn close(fh: Box<FileHandle>) -> Result<(), i64> = file::close;
    safe fn read(fh: &mut FileHandle, buf: &mut [u8]) -> Result<usize, i64> = file::read;
    safe fn write(fh: &mut FileHandle, bytes: &[u8]) -> Result<usize, i64> = file::write;
    safe fn seek(fh: &mut FileHandle, offset: i64, mode: i64) -> Result<u64, i64> = file::seek;
    safe fn set_file_size(fh: &mut FileHandle, offset: i64, mode: i64) -> Result<u64, i64> = file::set_file_size;
    safe fn set_mode(fh: &mut FileHandle, mode: crate::coninput::Mode) -> Result<(), i64> = file::set_mode;
    safe fn flush(fh: &mut FileHandle) -> Result<(), i64> = file::flush;
    safe fn fgetc(fh: &mut FileHandle) -> Result<Option<u8>, i64> = file::fgetc;
    safe fn fputc(fh: &mut FileHandle, c: u8) -> Result<(), i64> = file::fputc;
    safe fn fgets(fh: &mut FileHandle, line: &mut Vec<u8>) -> Result<bool, i64> = file::fgets;
    safe fn fputs(fh: &mut FileHandle, bytes: &[u8]) -> Result<(), i64> = file::fputs;
    // Locks and objects (lock.rs).
    safe fn lock(name: &str, mode: i64) -> Result<FileLock, i64> = lock::lock;
    safe fn unlock(lock: FileLock) -> Result<(), i64> = lock::unlock;
    safe fn dup_lock(lock: &FileLock) -> Result<FileLock, i64> = lock::dup_lock;
    safe fn examine(lock: &FileLock, fib: &mut FileInfoBlock) -> Result<(), i64> = lock::examine;
    safe fn ex_next(lock: &FileLock, fib: &mut FileInfoBlock) -> Result<(), i64> = lock::ex_next;
    safe fn parent_dir(lock: &FileLock) -> Result<Option<FileLock>, i64> = lock::parent_dir;
    safe fn current_dir(lock: Option<FileLock>) -> Option<FileLock> = lock::current_dir;
    safe fn name_from_lock(lock: &FileLock) -> Result<String, i64> = lock::name_from_lock;
    safe fn delete_file(name: &str) -> Result<(), i64> = lock::delete_file;
    safe fn rename(old: &str, new: &str) -> Result<(), i64> = lock::rename;
    safe fn create_dir(name: &str) -> Result<FileLock, i64> = lock::create_dir;
    safe fn set_protection(name: &str, bits: u32) -> Result<(), i64> = lock::set_protection;
    safe fn info(lock: &FileLock, data: &mut InfoData) -> Result<(), i64> = lock::info;
    safe fn get_device_proc(name: &str) -> Result<(*mut MsgPort, u64, Cow<'_, str>), i64> = lock::get_device_proc;
    // The process (process.rs).
    safe fn io_err() -> i64 = process::io_err;
    safe fn set_io_err(code: i64) -> i64 = process::set_io_err;
    safe fn fault(code: i64, header: &str) -> String = process::fault;
    safe fn print_fault(code: i64, header: &str) -> bool = process::print_fault;
    safe fn input() -> *mut FileHandle = process::input;
    safe fn output() -> *mut FileHandle = process::output;
    safe fn select_input(fh: *mut FileHandle) -> *mut FileHandle = process::select_input;
    safe fn select_output(fh: *mut FileHandle) -> *mut FileHandle = process::select_output;
    safe fn end_process() = process::end_process;
    // The DOS list (assign.rs).
    safe fn assign_path(name: &str, target: &str) -> Result<(), i64> = assign::assign_path;
    safe fn assign_lock(name: &str, lock: Option<FileLock>) -> Result<(), i64> = assign::assign_lock;
    safe fn add_volume(name: &str, device: &str) -> Result<(), i64> = assign::add_volume;
    safe fn assigns() -> Vec<(String, String)> = assign::assigns;
    safe fn volumes() -> Vec<(String, String)> = assign::volumes;
    // Packets (packet.rs).
    unsafe fn do_pkt(port: *mut MsgPort, kind: i64, args: &[i64]) -> (i64, i64) = packet::do_pkt;
    unsafe fn send_pkt(sp: &mut StandardPacket, port: *mut MsgPort) = packet::send_pkt;
    safe fn wait_pkt() -> *mut Message = packet::wait_pkt;
    unsafe fn reply_pkt(msg: *mut Message, res1: i64, res2: i64) = packet::reply_pkt;
    // Patterns (ParsePattern and MatchPattern; pattern.rs, host-tested).
    safe fn parse_pattern(source: &str) -> Result<Pattern, PatternError> = Pattern::parse;
    safe fn match_pattern(pattern: &Pattern, name: &str) -> bool = Pattern::matches;
    // ReadArgs and the shell's formatting helpers.
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
