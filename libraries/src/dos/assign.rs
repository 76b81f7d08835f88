//! Assigns (the DOS list's third kind, beside devices and volumes): a name that stands for a
//! directory, `ASSIGN WORK: RAM:projects` making `WORK:x` mean `RAM:projects/x`. Volumes
//! (`Ram Disk:x` for `RAM:x`) are names of the same kind for a device's root, which the handler's
//! mounting adds ([`add_volume`]) and ASSIGN cannot change.
//!
//! An assign holds the directory's *name*, not a lock (as AmigaDOS's late-binding assigns
//! do): a lock belongs to the process that made it and is freed when that process ends, and
//! the ASSIGN command is a process that ends at once. AssignLock takes the lock's name and
//! frees the lock.
//!
//! The list lives in the DOS server (`server.rs`), reached by packets, so that ring-0 and
//! ring-3 clients share it without writing each other's memory.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use super::lock::{self, FileLock, call_with, examine, name_from_lock, unlock};
use super::packet::Attach;
use super::process::result;
use super::server::{ACTION_ASSIGN_FIND, ACTION_ASSIGN_LIST, ACTION_ASSIGN_REMOVE, ACTION_ASSIGN_SET, ACTION_VOLUME_ADD, ACTION_VOLUME_LIST, NAME_MAX, PORT_NAME, TARGET_MAX};
use crate::dosdefs::{FileInfoBlock, SHARED_LOCK, error};

/// How deep an assign may point through others (`A:` to `B:` to ...).
const MAX_DEPTH: usize = 8;

fn server() -> Result<*mut exec::port::MsgPort, i64> {
    let p = exec::sys::find_port(PORT_NAME);
    if p.is_null() { Err(error::DEVICE_NOT_MOUNTED) } else { Ok(p) }
}

fn bare(name: &str) -> &str {
    name.strip_suffix(':').unwrap_or(name)
}

/// Whether a handler answers to the device `name` (without its colon).
fn is_device(name: &str) -> bool {
    !super::lock::device_port(name).is_null()
}

/// Makes `name` stand for the directory `target` names (`AssignPath()`), replacing what it
/// stood for. Errors: OBJECT_NOT_FOUND, OBJECT_WRONG_TYPE (a file), OBJECT_EXISTS (the name of
/// a device), INVALID_COMPONENT_NAME (an empty name, or one with `/` or a second `:`).
pub(crate) fn assign_path(name: &str, target: &str) -> Result<(), i64> {
    let l = lock::lock(target, SHARED_LOCK)?;
    assign_lock(name, Some(l))
}

/// Makes `name` stand for the directory `lock` is on, or with `None` removes the assign
/// (`AssignLock()`). The lock is freed in either case.
pub(crate) fn assign_lock(name: &str, lock: Option<FileLock>) -> Result<(), i64> {
    let name = bare(name);
    let bad = name.is_empty() || name.contains([':', '/']) || name.len() > NAME_MAX;
    let Some(lock) = lock else {
        if bad {
            return result(Err(error::INVALID_COMPONENT_NAME));
        }
        return result(server().and_then(|s| call_with(s, ACTION_ASSIGN_REMOVE, &[0, name.len() as i64], &mut [(0, Attach::In(name.as_bytes()))])).map(|_| ()));
    };
    let mut fib = FileInfoBlock::default();
    let target = examine(&lock, &mut fib).and_then(|_| if fib.is_dir() { name_from_lock(&lock) } else { Err(error::OBJECT_WRONG_TYPE) });
    let _ = unlock(lock);
    let target = target?;
    if bad || target.len() > TARGET_MAX {
        return result(Err(error::INVALID_COMPONENT_NAME));
    }
    if is_device(name) {
        return result(Err(error::OBJECT_EXISTS));
    }
    let args = [0, name.len() as i64, 0, target.len() as i64];
    result(server().and_then(|s| call_with(s, ACTION_ASSIGN_SET, &args, &mut [(0, Attach::In(name.as_bytes())), (2, Attach::In(target.as_bytes()))])).map(|_| ()))
}

/// Names the volume on `device` (its root) `name` (AmigaDOS: the handler makes its volume node
/// when it mounts a disk). Errors: OBJECT_EXISTS (the name of an assign, a volume or a
/// device), INVALID_COMPONENT_NAME, DEVICE_NOT_MOUNTED (no such device, or no DOS server).
pub(crate) fn add_volume(name: &str, device: &str) -> Result<(), i64> {
    let (name, device) = (bare(name), bare(device));
    if name.is_empty() || name.len() > NAME_MAX || device.len() >= NAME_MAX {
        return result(Err(error::INVALID_COMPONENT_NAME));
    }
    // The DOS server checks the rest (the name, the device), where the list is kept.
    let root = alloc::format!("{device}:");
    let args = [0, name.len() as i64, 0, root.len() as i64];
    result(server().and_then(|s| call_with(s, ACTION_VOLUME_ADD, &args, &mut [(0, Attach::In(name.as_bytes())), (2, Attach::In(root.as_bytes()))])).map(|_| ()))
}

/// Every assign, as (name, directory).
pub(crate) fn assigns() -> Vec<(String, String)> {
    list(ACTION_ASSIGN_LIST)
}

/// Every volume, as (name, device).
pub(crate) fn volumes() -> Vec<(String, String)> {
    list(ACTION_VOLUME_LIST)
}

fn list(action: i64) -> Vec<(String, String)> {
    let mut buf = alloc::vec![0u8; 4096];
    let n = server().and_then(|s| call_with(s, action, &[0, 4096], &mut [(0, Attach::Out(&mut buf))])).unwrap_or(0) as usize;
    let mut words = buf[..n.min(buf.len())].split(|&b| b == 0).map(|w| String::from_utf8_lossy(w).into_owned());
    let mut out = Vec::new();
    while let (Some(n), Some(t)) = (words.next(), words.next()) {
        if !n.is_empty() {
            out.push((n, t));
        }
    }
    out
}

/// The directory the assign `name` stands for, if there is one.
fn find(name: &str) -> Option<String> {
    if name.len() > NAME_MAX {
        return None;
    }
    let mut buf = [0u8; TARGET_MAX];
    let s = server().ok()?;
    let n = call_with(s, ACTION_ASSIGN_FIND, &[0, name.len() as i64, 0, TARGET_MAX as i64], &mut [(0, Attach::In(name.as_bytes())), (2, Attach::Out(&mut buf))]).ok()?;
    core::str::from_utf8(&buf[..(n as usize).min(TARGET_MAX)]).ok().map(String::from)
}

/// `name` with an assign at its front replaced by the directory it stands for (through
/// assigns of assigns, at most 8 deep). A device's name is never looked up as an assign.
/// Errors: TOO_MANY_LEVELS.
pub(super) fn resolve(name: &str) -> Result<Cow<'_, str>, i64> {
    let mut name = Cow::Borrowed(name);
    for _ in 0..MAX_DEPTH {
        let Some(colon) = name.find(':').filter(|&i| i > 0) else { return Ok(name) };
        if is_device(&name[..colon]) {
            return Ok(name);
        }
        let Some(target) = find(&name[..colon]) else { return Ok(name) };
        name = Cow::Owned(crate::path::add_part(&target, &name[colon + 1..]));
    }
    Err(error::TOO_MANY_LEVELS)
}
