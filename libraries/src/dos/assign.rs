//! Assigns (the DOS list's third kind, beside devices and volumes): a name that stands for a
//! directory, `ASSIGN WORK: RAM:projects` making `WORK:x` mean `RAM:projects/x`.
//!
//! An assign holds the directory's *name*, not a lock (as AmigaDOS's late-binding assigns
//! do): a lock belongs to the process that made it and is freed when that process ends, and
//! the ASSIGN command is a process that ends at once. AssignLock takes the lock's name and
//! frees the lock.
//!
//! Where the list lives: in dos.library's memory, guarded by Forbid. Every DOS client runs in
//! ring 0 for now (see `dos/mod.rs`); when ring-3 clients come, it moves behind a DOS server
//! task, since ring 3 cannot write ring-0 memory.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use exec::global::Global;

use super::lock::{self, FileLock, examine, name_from_lock, unlock};
use super::process::result;
use crate::dosdefs::{FileInfoBlock, SHARED_LOCK, error};

/// (name without the colon, the directory's full name). Forbid.
static ASSIGNS: Global<Vec<(String, String)>> = Global::new(Vec::new());

/// How deep an assign may point through others (`A:` to `B:` to ...).
const MAX_DEPTH: usize = 8;

fn with<R>(f: impl FnOnce(&mut Vec<(String, String)>) -> R) -> R {
    exec::sys::forbid();
    // SAFETY: Forbid held: no other task touches the list meanwhile; `f` gets the only
    // reference, and does not wait.
    let r = f(unsafe { &mut *ASSIGNS.get() });
    exec::sys::permit();
    r
}

fn bare(name: &str) -> &str {
    name.strip_suffix(':').unwrap_or(name)
}

/// Makes `name` stand for the directory `target` names (`AssignPath()`), replacing what it
/// stood for. Errors: OBJECT_NOT_FOUND, OBJECT_WRONG_TYPE (a file), OBJECT_EXISTS (the name of
/// a device), INVALID_COMPONENT_NAME (an empty name, or one with `/` or a second `:`).
pub fn assign_path(name: &str, target: &str) -> Result<(), i64> {
    let l = lock::lock(target, SHARED_LOCK)?;
    assign_lock(name, Some(l))
}

/// Makes `name` stand for the directory `lock` is on, or with `None` removes the assign
/// (`AssignLock()`). The lock is freed in either case.
pub fn assign_lock(name: &str, lock: Option<FileLock>) -> Result<(), i64> {
    let name = bare(name);
    let bad = name.is_empty() || name.contains([':', '/']) || name.len() > 31;
    let Some(lock) = lock else {
        let gone = with(|list| {
            let before = list.len();
            list.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            before != list.len()
        });
        return result(if gone { Ok(()) } else { Err(error::OBJECT_NOT_FOUND) });
    };
    let mut fib = FileInfoBlock::default();
    let target = examine(&lock, &mut fib).and_then(|_| if fib.is_dir() { name_from_lock(&lock) } else { Err(error::OBJECT_WRONG_TYPE) });
    let _ = unlock(lock);
    let target = target?;
    if bad {
        return result(Err(error::INVALID_COMPONENT_NAME));
    }
    let mut upper = String::from(name);
    upper.make_ascii_uppercase();
    if !exec::sys::find_port(&upper).is_null() {
        return result(Err(error::OBJECT_EXISTS));
    }
    with(|list| match list.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        Some(entry) => entry.1 = target,
        None => list.push((String::from(name), target)),
    });
    Ok(())
}

/// Every assign, as (name, directory).
pub fn assigns() -> Vec<(String, String)> {
    with(|list| list.clone())
}

/// `name` with an assign at its front replaced by the directory it stands for (through
/// assigns of assigns, at most 8 deep). Errors: TOO_MANY_LEVELS.
pub(super) fn resolve(name: &str) -> Result<Cow<'_, str>, i64> {
    let mut name = Cow::Borrowed(name);
    for _ in 0..MAX_DEPTH {
        let Some(colon) = name.find(':').filter(|&i| i > 0) else { return Ok(name) };
        let Some(target) = with(|list| list.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name[..colon])).map(|(_, t)| t.clone())) else {
            return Ok(name);
        };
        let rest = &name[colon + 1..];
        name = Cow::Owned(crate::path::add_part(&target, rest));
    }
    Err(error::TOO_MANY_LEVELS)
}
