//! Libraries for ring-3 tasks: opened and closed through the gate, which remembers who has
//! what open; a call into a library asks the gate for the vector (only of a library the caller
//! has open, only code the caller may run) and runs the library's code in the caller's ring,
//! on the caller's stack and heap. The records are guarded by Forbid; a task's libraries are
//! closed when it ends.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use exec::global::Global;
use exec::library::Library;
use exec::sched::{forbid, permit};
use exec::task::Task;

use exec::sys_gate::GateError::BadPointer;
use exec::sys_gate::GateResult;

/// The most opens one task may hold (a library opened twice counts twice).
pub const OPENS_PER_TASK: u32 = 32;

/// Every open a ring-3 task holds, by (task, library): how many times. A library call looks up
/// only the caller's few (O(log n)), never everybody's. Forbid.
static OPENS: Global<Opens> = Global::new(Opens(BTreeMap::new()));

struct Opens(BTreeMap<(usize, usize), u32>);

// SAFETY: the kernel's own records, touched only under Forbid on the one CPU; the libraries
// they name are exec's, shared by design.
unsafe impl Send for Opens {}

/// The caller's part of the records.
fn of(task: *mut Task) -> core::ops::RangeInclusive<(usize, usize)> {
    (task as usize, 0)..=(task as usize, usize::MAX)
}

fn me() -> *mut Task {
    exec::task::find_task(None)
}

/// open_library for the caller. Result: the library base (a handle to the caller), or 0
/// (none such, too old, or the caller holds [`OPENS_PER_TASK`] opens, or the kernel heap is at
/// its reserve).
pub fn open(name: &str, min_version: u16) -> GateResult {
    let me = me();
    forbid();
    // SAFETY: Forbid held.
    let held: u32 = unsafe { (*OPENS.get()).0.range(of(me)).map(|(_, &n)| n).sum() };
    let room = held < OPENS_PER_TASK && exec::heap::stats().free >= crate::policy::HEAP_RESERVE;
    let lib = if room { exec::library::open_library(name, min_version) } else { core::ptr::null_mut() };
    if !lib.is_null() {
        // SAFETY: Forbid held.
        unsafe { *(*OPENS.get()).0.entry((me as usize, lib as usize)).or_insert(0) += 1 };
    }
    permit();
    Ok(lib as u64)
}

/// close_library for one of the caller's opens. Result: 0 or BadPointer.
pub fn close(lib: u64) -> GateResult {
    let key = (me() as usize, lib as usize);
    forbid();
    // SAFETY: Forbid held.
    let opens = unsafe { &mut (*OPENS.get()).0 };
    let r = match opens.get_mut(&key) {
        Some(n) => {
            *n -= 1;
            if *n == 0 {
                opens.remove(&key);
            }
            // SAFETY: an open library (recorded), closed once for this open.
            unsafe { exec::library::close_library(lib as *mut Library) };
            Ok(0)
        }
        None => Err(BadPointer),
    };
    permit();
    r
}

/// Entry `index` of the table at `table`, of a library the caller has open, if it is code
/// the caller may run. Result: the entry, or BadPointer.
pub fn vector(table: u64, index: u64) -> GateResult {
    let me = me();
    forbid();
    // SAFETY: Forbid held; recorded libraries are open, so live.
    let entry = unsafe {
        (*OPENS.get())
            .0
            .range(of(me))
            .map(|(&(_, l), _)| l as *mut Library)
            .find(|&l| (*l).table_addr() as u64 == table)
            .and_then(|l| (*l).vector(index as usize))
    };
    permit();
    // SAFETY: the only reference to the caller's space during this call.
    match (entry, unsafe { crate::gate::my_space() }) {
        (Some(f), Some(s)) if s.user_executable(f as u64) => Ok(f as u64),
        _ => Err(BadPointer),
    }
}

/// Task end: closes what it left open.
pub fn reclaim(task: *mut Task) {
    forbid();
    // SAFETY: Forbid held.
    let opens = unsafe { &mut (*OPENS.get()).0 };
    let mine: Vec<((usize, usize), u32)> = opens.range(of(task)).map(|(&k, &n)| (k, n)).collect();
    for (key, n) in mine {
        opens.remove(&key);
        for _ in 0..n {
            // SAFETY: an open library, closed once for each open.
            unsafe { exec::library::close_library(key.1 as *mut Library) };
        }
    }
    permit();
}
