//! Libraries for ring-3 tasks: opened and closed through the gate, which remembers who has
//! what open; a call into a library asks the gate for the vector (only of a library the caller
//! has open, only code the caller may run) and runs the library's code in the caller's ring,
//! on the caller's stack and heap. The records are guarded by Forbid; a task's libraries are
//! closed when it ends.

use exec::global::Global;
use exec::library::Library;
use exec::sched::{forbid, permit};
use exec::task::Task;

use exec::sys_gate::GateError::BadPointer;
use exec::sys_gate::GateResult;
use crate::records::Records;

/// (task, library) for every open a ring-3 task made. Forbid.
static OPENS: Global<Records<(*mut Task, *mut Library)>> = Global::new(Records::new());

fn me() -> *mut Task {
    exec::task::find_task(None)
}

/// open_library for the caller. Result: the library base (a handle to the caller), or 0.
pub fn open(name: &str, min_version: u16) -> GateResult {
    let lib = exec::library::open_library(name, min_version);
    if !lib.is_null() {
        forbid();
        // SAFETY: Forbid held.
        unsafe { (*OPENS.get()).push((me(), lib)) };
        permit();
    }
    Ok(lib as u64)
}

/// close_library for one of the caller's opens. Result: 0 or BadPointer.
pub fn close(lib: u64) -> GateResult {
    let me = me();
    forbid();
    // SAFETY: Forbid held.
    let opens = unsafe { &mut *OPENS.get() };
    let r = match opens.iter().position(|&(t, l)| t == me && l as u64 == lib) {
        Some(i) => {
            opens.swap_remove(i);
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
            .iter()
            .find(|&&(t, l)| t == me && (*l).table_addr() as u64 == table)
            .and_then(|&(_, l)| (*l).vector(index as usize))
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
    let opens = unsafe { &mut *OPENS.get() };
    opens.retain(|&(t, l)| {
        if t == task {
            // SAFETY: an open library, closed once for this open.
            unsafe { exec::library::close_library(l) };
        }
        t != task
    });
    permit();
}
