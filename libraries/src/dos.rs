//! dos.library: the exec library that carries ReadArgs and the formatting helpers.

use alloc::string::String;
use alloc::vec::Vec;

use exec::global::Global;
use exec::ktest::{Test, TestResult};
use exec::library::Library;
use exec::list::NodeType;
use exec::resident::Resident;
use exec::{ensure, ensure_eq};

use crate::readargs::{ArgError, ArgValue};

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
pub static TESTS: &[Test] = &[Test::new("libraries.dos.read_args_through_library", through_library)];

fn through_library() -> TestResult {
    let lib = exec::library::open_library("dos.library", DOS_VERSION);
    ensure!(!lib.is_null(), "dos.library did not open");
    let r = read_args("TASK/A/N,C/S", "5 C");
    // SAFETY: opened above.
    unsafe { exec::library::close_library(lib) };
    ensure_eq!(r, Ok(alloc::vec![ArgValue::Num(5), ArgValue::Switch(true)]));
    ensure_eq!(format_bytes(4096), "4.0 KiB");
    Ok(())
}
