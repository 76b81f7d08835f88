//! Processes: what DOS keeps for a task beside exec's `Task`: its packet port, IoErr, its
//! current directory, its Input() and Output(), and the files and locks it has open (closed
//! for it when it ends through [`end_process`]).
//!
//! Where this lives: in a record the task's own user-data word points to (AmigaDOS keeps these
//! fields in `struct Process`, which extends the Task; Lorraine's Task is exec's, so DOS hangs
//! its part off `tc_UserData`; a ring-3 task, which cannot reach its Task, keeps the word in
//! its user block). The record is the process's own, in its own memory: only the process reads
//! or writes it.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ptr::null_mut;

use exec::port::MsgPort;

use super::file::FileHandle;
use super::lock::FileLock;

/// DOS's part of a task.
pub struct Process {
    /// Where the answers to this process's packets come back; made by the task itself on
    /// its first packet (a port signals the task that made it).
    port: *mut MsgPort,
    /// The last error (`IoErr()`).
    pub io_err: i64,
    /// The current directory; `None` is the root of RAM:.
    pub(super) current_dir: Option<FileLock>,
    /// Input() and Output(): null is the console (the shell's serial line).
    pub(super) input: *mut FileHandle,
    pub(super) output: *mut FileHandle,
    /// Files and locks opened and not yet closed: (handler port, handle, is a file).
    pub(super) open: Vec<(*mut MsgPort, u64, bool)>,
}

/// The calling task's user-data word: its Task's `user_data` in ring 0, its user block's in
/// ring 3.
fn user_data() -> *mut usize {
    #[cfg(feature = "mmu")]
    if exec::arch::x86_64::cpu::in_ring3() {
        // SAFETY: in ring 3 (checked); DOS is the word's one user.
        return unsafe { exec::user_heap::user_data() };
    }
    let me = exec::sys::find_task(None);
    // SAFETY: the caller's own task, live while it runs; only the field's address is taken.
    unsafe { &raw mut (*me).user_data }
}

/// The calling task's process record, made on first use. Not callable from an interrupt.
pub(crate) fn process() -> &'static mut Process {
    // SAFETY: the caller's own word; only the task itself touches it (DOS's convention, said
    // above).
    let slot = unsafe { &mut *user_data() };
    if *slot == 0 {
        let p = Box::new(Process { port: null_mut(), io_err: 0, current_dir: None, input: null_mut(), output: null_mut(), open: Vec::new() });
        *slot = Box::into_raw(p) as usize;
    }
    // SAFETY: set above or by an earlier call of this task: a leaked Box<Process>, the task's
    // alone, freed only by end_process (called by the task itself).
    unsafe { &mut *(*slot as *mut Process) }
}

/// The calling process's packet port (null if no signal bit or memory was left).
pub(crate) fn packet_port() -> *mut MsgPort {
    let p = process();
    if p.port.is_null() {
        p.port = exec::sys::create_msg_port();
    }
    p.port
}

/// Ends the calling task's life as a process: closes the files and frees the locks it left
/// open (each with its packet, so the handlers know), and frees the record. Call it from the
/// task itself, last; a later DOS call makes a fresh record. A task that ends by a fault never
/// calls it: its handles stay with the handler (see `handlers/ram.rs`, which frees the handles
/// of ended tasks).
pub(crate) fn end_process() {
    let word = user_data();
    // SAFETY: the caller's own word.
    let raw = unsafe { *word };
    if raw == 0 {
        return;
    }
    let p = process();
    let open = core::mem::take(&mut p.open);
    for (port, key, is_file) in open {
        let action = if is_file { crate::dosdefs::action::END } else { crate::dosdefs::action::FREE_LOCK };
        // SAFETY: a handler port this process used; handlers live for good (they are
        // residents), and the packet carries no pointer.
        unsafe { super::packet::do_pkt(port, action, &[key as i64]) };
    }
    let port = p.port;
    // SAFETY: the record made by `process` for this task; nothing refers to it any more.
    unsafe {
        *word = 0;
        drop(Box::from_raw(raw as *mut Process));
        if !port.is_null() {
            exec::sys::delete_msg_port(port);
        }
    }
}

/// Records that `key` at `port` is open for the calling process.
pub(super) fn note_open(port: *mut MsgPort, key: u64, is_file: bool) {
    process().open.push((port, key, is_file));
}

/// Records that `key` at `port` is closed.
pub(super) fn note_closed(port: *mut MsgPort, key: u64) {
    let open = &mut process().open;
    if let Some(i) = open.iter().position(|&(p, k, _)| p == port && k == key) {
        open.swap_remove(i);
    }
}

/// The last error of the calling process (`IoErr()`).
pub(crate) fn io_err() -> i64 {
    process().io_err
}

/// Sets the calling process's last error; result: the one before (`SetIoErr()`).
pub(crate) fn set_io_err(code: i64) -> i64 {
    core::mem::replace(&mut process().io_err, code)
}

/// Sets the error from a packet's answer and passes the answer on.
pub(super) fn result<T>(r: Result<T, i64>) -> Result<T, i64> {
    if let Err(e) = r {
        process().io_err = e;
    }
    r
}

/// The process's input (`Input()`): null for the console.
pub(crate) fn input() -> *mut FileHandle {
    process().input
}

/// The process's output (`Output()`): null for the console.
pub(crate) fn output() -> *mut FileHandle {
    process().output
}

/// Sets the input; result: the one before (`SelectInput()`).
pub(crate) fn select_input(fh: *mut FileHandle) -> *mut FileHandle {
    core::mem::replace(&mut process().input, fh)
}

/// Sets the output; result: the one before (`SelectOutput()`).
pub(crate) fn select_output(fh: *mut FileHandle) -> *mut FileHandle {
    core::mem::replace(&mut process().output, fh)
}

/// The words for `code` after `header` (`Fault()`): `header: Object not found`, or
/// `Error 999` for a code DOS does not know.
pub(crate) fn fault(code: i64, header: &str) -> alloc::string::String {
    let words = match crate::dosdefs::fault_text(code) {
        Some(t) => alloc::string::String::from(t),
        None => alloc::format!("Error {code}"),
    };
    if header.is_empty() { words } else { alloc::format!("{header}: {words}") }
}

/// Writes `header: words for code` and a newline to the process's Output() (`PrintFault()`).
/// Result: whether it was written: false when Output() is the console (which dos.library does
/// not drive: the shell's commands print through their own console) or the write failed.
pub(crate) fn print_fault(code: i64, header: &str) -> bool {
    let out = output();
    if out.is_null() {
        return false;
    }
    let line = alloc::format!("{}\n", fault(code, header));
    // SAFETY: Output() is a handle the process selected and keeps open while it is selected.
    unsafe { (*out).write(line.as_bytes()) }.is_ok_and(|n| n == line.len())
}
