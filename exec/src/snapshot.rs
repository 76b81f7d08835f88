//! Copies of exec's lists and figures, for programs that list them (TASKLIST, LIBLIST, AVAIL
//! ...). On the Amiga such a program walks ExecBase's lists under Forbid; a task in ring 3
//! (mmu-mode) cannot read them, so exec copies what a listing needs into the caller's own
//! memory: fixed-size records, names cut at [`NAME_MAX`] bytes. The calls work the same in
//! both builds and from either ring.

use crate::task::{Task, TaskState};

/// Bytes of a name or id string kept in a record.
pub const NAME_MAX: usize = 40;

/// A name as a record keeps it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Name {
    bytes: [u8; NAME_MAX],
    len: u8,
}

impl Name {
    /// `s`, cut at [`NAME_MAX`] bytes (at a character boundary).
    pub fn new(s: &str) -> Name {
        let mut n = Name { bytes: [0; NAME_MAX], len: 0 };
        let mut end = s.len().min(NAME_MAX);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        n.bytes[..end].copy_from_slice(&s.as_bytes()[..end]);
        n.len = end as u8;
        n
    }

    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..(self.len as usize).min(NAME_MAX)]).unwrap_or("?")
    }
}

/// One task, as TASKLIST shows it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct TaskEntry {
    /// Its number (`task_table`): how ring 3 and the shell's records name it. (No address: a
    /// kernel address is nothing ring 3 may know.)
    pub id: u64,
    pub name: Name,
    pub pri: i8,
    pub state: TaskState,
    /// 3 for a ring-3 task (mmu build), else 0.
    pub ring: u8,
    pub sig_alloc: u32,
    pub sig_wait: u32,
    pub sig_recvd: u32,
    pub dispatches: u64,
}

/// Which list [`node_list`] copies.
#[repr(u64)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Libraries = 0,
    Devices = 1,
    /// Public message ports.
    Ports = 2,
    /// Resident modules, in the order they started.
    Residents = 3,
}

impl ListKind {
    /// The kind numbered `n` (the gate's argument), if any.
    pub fn from_number(n: u64) -> Option<ListKind> {
        [ListKind::Libraries, ListKind::Devices, ListKind::Ports, ListKind::Residents].into_iter().find(|k| *k as u64 == n)
    }
}

/// One library, device, public port or resident.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ListEntry {
    pub name: Name,
    pub pri: i8,
    pub version: u16,
    pub revision: u16,
    /// Opens (library, device), messages waiting (port); 0 for a resident.
    pub count: u32,
    /// The id string (library, device, resident) or the owner task's name (port).
    pub detail: Name,
}

/// Figures for AVAIL, VERSION, UPTIME and TASKLIST's summary.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct SystemInfo {
    pub uptime_ns: u64,
    /// Task switches, and times the idle task woke.
    pub dispatches: u64,
    pub idle_wakes: u64,
    /// The kernel heap: size, used, free.
    pub heap_size: u64,
    pub heap_used: u64,
    pub heap_free: u64,
    /// Usable RAM the boot memory map reported.
    pub ram_usable: u64,
}

/// Copies up to `max` tasks into `buf`. Result: how many tasks there are (more than `max` if
/// `buf` was too short). Not callable from an interrupt.
///
/// # Safety
/// `buf` is writable for `max` records.
pub unsafe fn task_list(buf: *mut TaskEntry, max: usize) -> usize {
    let mut n = 0;
    crate::task::for_each_task(|t: &Task| {
        if n < max {
            let e = TaskEntry {
                id: t.id(),
                name: Name::new(t.name()),
                pri: t.pri(),
                state: t.state,
                ring: if t.runs_in_ring3() { 3 } else { 0 },
                sig_alloc: t.sig_alloc,
                // Exec leaves a woken task's last mask behind: only a waiting task waits.
                sig_wait: if t.state == crate::task::TaskState::Waiting { t.sig_wait } else { 0 },
                sig_recvd: t.sig_recvd,
                dispatches: t.dispatches,
            };
            // SAFETY: n < max: inside the caller's buffer.
            unsafe { buf.add(n).write(e) };
        }
        n += 1;
    });
    n
}

/// Copies up to `max` entries of the list `kind` into `buf`. Result: how many there are.
/// Not callable from an interrupt.
///
/// # Safety
/// `buf` is writable for `max` records.
pub unsafe fn node_list(kind: ListKind, buf: *mut ListEntry, max: usize) -> usize {
    let mut n = 0;
    let mut push = |e: ListEntry| {
        if n < max {
            // SAFETY: n < max: inside the caller's buffer.
            unsafe { buf.add(n).write(e) };
        }
        n += 1;
    };
    let library = |l: &crate::library::Library| ListEntry {
        name: Name::new(l.node.name()),
        pri: l.node.pri,
        version: l.version,
        revision: l.revision,
        count: l.open_cnt as u32,
        detail: Name::new(l.id_string),
    };
    match kind {
        ListKind::Libraries => crate::library::for_each_library(|l| push(library(l))),
        ListKind::Devices => crate::device::for_each_device(|d| push(library(&d.lib))),
        ListKind::Ports => crate::port::for_each_port(|p| {
            // SAFETY: a public port's owner task is live while the port is listed.
            let owner = unsafe { p.sig_task.as_ref() }.map_or("-", |t| t.name());
            push(ListEntry {
                name: Name::new(p.node.name()),
                pri: p.node.pri,
                version: 0,
                revision: 0,
                count: p.msg_list.len() as u32,
                detail: Name::new(owner),
            });
        }),
        ListKind::Residents => {
            for r in crate::resident::residents() {
                push(ListEntry {
                    name: Name::new(r.name),
                    pri: r.pri,
                    version: r.version,
                    revision: 0,
                    count: 0,
                    detail: Name::new(r.id_string),
                });
            }
        }
    }
    n
}

/// Fills `info` with the current figures. Not callable from an interrupt.
///
/// # Safety
/// `info` is writable.
pub unsafe fn system_info(info: *mut SystemInfo) {
    let c = crate::execbase::counters();
    let h = crate::heap::stats();
    let i = SystemInfo {
        uptime_ns: crate::time::uptime_ns(),
        dispatches: c.disp_count,
        idle_wakes: c.idle_count,
        heap_size: h.size,
        heap_used: h.used,
        heap_free: h.free,
        ram_usable: crate::boot::memory_map().map_or(0, |m| m.usable_bytes()),
    };
    // SAFETY: per the contract.
    unsafe { info.write(i) };
}
