//! Copies of exec's lists and figures, made by exec into the command's memory (through the
//! gate from ring 3), for the commands that show them.

use alloc::vec::Vec;

use exec::memory::MemFlags;
use exec::snapshot::{ListEntry, ListKind, SystemInfo, TaskEntry};

/// exec's avail_mem (works in either ring).
pub(super) fn free_memory(flags: MemFlags) -> usize {
    exec::sys::avail_mem(flags)
}

/// What `fetch(buffer, room)` copies, growing the buffer until it all fits (`fetch` returns
/// how many records there are).
fn copied<T>(fetch: impl Fn(*mut T, usize) -> usize) -> Vec<T> {
    let mut v: Vec<T> = Vec::new();
    let mut want = 16;
    loop {
        v.reserve(want);
        let n = fetch(v.as_mut_ptr(), want);
        if n <= want {
            // SAFETY: `fetch` wrote `n` records into the buffer.
            unsafe { v.set_len(n) };
            return v;
        }
        want = n + 4;
    }
}

/// Every task, copied by exec (works in either ring).
pub(super) fn tasks() -> Vec<TaskEntry> {
    // SAFETY: the buffer has room for `max` records.
    copied(|buf, max| unsafe { exec::sys::task_list(buf, max) })
}

/// The list `kind`, copied by exec.
pub(super) fn nodes(kind: ListKind) -> Vec<ListEntry> {
    // SAFETY: the buffer has room for `max` records.
    copied(|buf, max| unsafe { exec::sys::node_list(kind, buf, max) })
}

pub(super) fn system_info() -> SystemInfo {
    let mut info = SystemInfo::default();
    // SAFETY: a writable record on this frame.
    unsafe { exec::sys::system_info(&mut info) };
    info
}
