//! Locks and names: Lock, UnLock, DupLock, Examine, ExNext, ParentDir, CurrentDir,
//! NameFromLock, DeleteFile, Rename, CreateDir, SetProtection, Info, and GetDeviceProc, which
//! finds the handler a name goes to. Each is one packet (NameFromLock a few).
//!
//! A lock is the handler's port and the handler's handle for it: the client never sees the
//! handler's memory. Locks are freed explicitly (`unlock`), as on the Amiga.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use exec::port::MsgPort;

use super::packet::{Attach, PacketData, do_pkt_with};
use super::process::{self, note_closed, note_open, result};
use crate::dosdefs::{DOSFALSE, FileInfoBlock, InfoData, action, error};

/// A lock on a file or directory (`BPTR` to `struct FileLock`): the handler's port and its
/// handle. Not `Clone`: copy it with [`dup_lock`], free it with [`unlock`].
#[derive(Debug, PartialEq, Eq)]
pub struct FileLock {
    pub(super) port: *mut MsgPort,
    pub(super) key: u64,
}

impl FileLock {
    /// The handler it belongs to.
    pub fn port(&self) -> *mut MsgPort {
        self.port
    }
}

/// Where a name goes (`GetDeviceProc()`): the handler's port, the directory the rest of the
/// name is relative to (0: the handler's root), and the name to send it (an assign at its
/// front replaced by the directory it stands for). `RAM:x` goes to RAM:'s root; `x` and `:x`
/// to the current directory's handler. Errors: DEVICE_NOT_MOUNTED (no handler or assign by
/// that name), TOO_MANY_LEVELS (assigns pointing through each other too deep).
pub(crate) fn get_device_proc(name: &str) -> Result<(*mut MsgPort, u64, Cow<'_, str>), i64> {
    let name = super::assign::resolve(name)?;
    let (port, dir) = match name.find(':') {
        Some(0) | None => {
            let p = process::process();
            match &p.current_dir {
                Some(l) => (l.port, if name.starts_with(':') { 0 } else { l.key }),
                None => (exec::sys::find_port("RAM"), 0),
            }
        }
        Some(i) => (device_port(&name[..i]), 0),
    };
    if port.is_null() { Err(error::DEVICE_NOT_MOUNTED) } else { Ok((port, dir, name)) }
}

/// The port of the handler for device `name` (without its colon, any case: a handler's port
/// is named in capitals), or null.
pub(super) fn device_port(name: &str) -> *mut MsgPort {
    let mut upper = [0u8; 32];
    if name.is_empty() || name.len() > upper.len() {
        return core::ptr::null_mut();
    }
    upper[..name.len()].copy_from_slice(name.as_bytes());
    upper[..name.len()].make_ascii_uppercase();
    core::str::from_utf8(&upper[..name.len()]).map_or(core::ptr::null_mut(), exec::sys::find_port)
}

/// Sends `kind` with `args` (no pointers among them) to `port`; `Ok(res1)` when res1 is not
/// DOSFALSE, else the error.
pub(super) fn call(port: *mut MsgPort, kind: i64, args: &[i64]) -> Result<i64, i64> {
    call_with(port, kind, args, &mut [])
}

/// [`call`] with attachments (see `packet::do_pkt_with`).
pub(super) fn call_with(port: *mut MsgPort, kind: i64, args: &[i64], attach: &mut [(usize, Attach<'_>)]) -> Result<i64, i64> {
    // SAFETY: a handler's port (found by name); every pointer the packet carries is an
    // attachment, borrowed until the answer.
    let (res1, res2) = unsafe { do_pkt_with(port, kind, args, attach) };
    if res1 == DOSFALSE && res2 != 0 { Err(res2) } else { Ok(res1) }
}

/// A name as a packet's attachment at `index`, its length in the argument after.
fn named(index: usize, name: &str) -> (usize, Attach<'_>) {
    (index, Attach::In(name.as_bytes()))
}

/// Locks `name` (`Lock()`), `mode` SHARED_LOCK or EXCLUSIVE_LOCK. Errors (also in IoErr):
/// OBJECT_NOT_FOUND, OBJECT_IN_USE, OBJECT_WRONG_TYPE, DEVICE_NOT_MOUNTED,
/// INVALID_COMPONENT_NAME.
pub(crate) fn lock(name: &str, mode: i64) -> Result<FileLock, i64> {
    result((|| {
        let (port, dir, name) = get_device_proc(name)?;
        let key = call_with(port, action::LOCATE_OBJECT, &[dir as i64, 0, name.len() as i64, mode], &mut [named(1, &name)])? as u64;
        note_open(port, key, false);
        Ok(FileLock { port, key })
    })())
}

/// Frees a lock (`UnLock()`). Errors: INVALID_LOCK.
pub(crate) fn unlock(lock: FileLock) -> Result<(), i64> {
    note_closed(lock.port, lock.key);
    result(call(lock.port, action::FREE_LOCK, &[lock.key as i64]).map(|_| ()))
}

/// A second, shared lock on what `lock` names (`DupLock()`). Errors: OBJECT_IN_USE (an
/// exclusive lock), INVALID_LOCK.
pub(crate) fn dup_lock(lock: &FileLock) -> Result<FileLock, i64> {
    result(call(lock.port, action::COPY_DIR, &[lock.key as i64]).map(|k| {
        note_open(lock.port, k as u64, false);
        FileLock { port: lock.port, key: k as u64 }
    }))
}

/// Fills `fib` with what `lock` names (`Examine()`), ready for [`ex_next`].
pub(crate) fn examine(lock: &FileLock, fib: &mut FileInfoBlock) -> Result<(), i64> {
    result(call_with(lock.port, action::EXAMINE_OBJECT, &[lock.key as i64], &mut [(1, Attach::InOut(fib.bytes_mut()))]).map(|_| ()))
}

/// Fills `fib` with the next entry of the directory `lock` names (`ExNext()`). Errors:
/// NO_MORE_ENTRIES after the last; OBJECT_WRONG_TYPE for a file.
pub(crate) fn ex_next(lock: &FileLock, fib: &mut FileInfoBlock) -> Result<(), i64> {
    result(call_with(lock.port, action::EXAMINE_NEXT, &[lock.key as i64], &mut [(1, Attach::InOut(fib.bytes_mut()))]).map(|_| ()))
}

/// Every entry of the directory `lock` names (Examine and ExNext, through the vector table,
/// until the end). Errors: OBJECT_WRONG_TYPE (a file), what Examine or ExNext met.
pub fn entries(lock: &FileLock) -> Result<Vec<FileInfoBlock>, i64> {
    let mut fib = FileInfoBlock::default();
    super::examine(lock, &mut fib)?;
    if !fib.is_dir() {
        return result(Err(error::OBJECT_WRONG_TYPE));
    }
    let mut out = Vec::new();
    loop {
        match super::ex_next(lock, &mut fib) {
            Ok(()) => out.push(fib),
            Err(error::NO_MORE_ENTRIES) => return Ok(out),
            Err(e) => return Err(e),
        }
    }
}

/// A lock on the directory holding what `lock` names (`ParentDir()`); `Ok(None)` for a root.
pub(crate) fn parent_dir(lock: &FileLock) -> Result<Option<FileLock>, i64> {
    result(call(lock.port, action::PARENT, &[lock.key as i64])).map(|k| {
        (k != 0).then(|| {
            note_open(lock.port, k as u64, false);
            FileLock { port: lock.port, key: k as u64 }
        })
    })
}

/// Makes `lock` the current directory (`None`: RAM:'s root); result: the one before, which
/// the caller now owns (`CurrentDir()`).
pub(crate) fn current_dir(lock: Option<FileLock>) -> Option<FileLock> {
    core::mem::replace(&mut process::process().current_dir, lock)
}

/// The full name of what `lock` names (`NameFromLock()`): `RAM:a/b`, the root's name (a
/// handler names its root after its device; Lorraine has no volume names yet) first.
pub(crate) fn name_from_lock(lock: &FileLock) -> Result<String, i64> {
    let mut parts = Vec::new();
    let mut fib = FileInfoBlock::default();
    let mut at = dup_lock(lock)?;
    loop {
        let r = examine(&at, &mut fib).and_then(|_| parent_dir(&at));
        match r {
            Ok(Some(parent)) => {
                parts.push(String::from(fib.name()));
                let _ = unlock(core::mem::replace(&mut at, parent));
            }
            Ok(None) => break,
            Err(e) => {
                let _ = unlock(at);
                return Err(e);
            }
        }
    }
    let _ = unlock(at);
    parts.reverse();
    Ok(alloc::format!("{}:{}", fib.name(), parts.join("/")))
}

/// Deletes `name` (`DeleteFile()`). Errors: OBJECT_NOT_FOUND, OBJECT_IN_USE,
/// DIRECTORY_NOT_EMPTY, DELETE_PROTECTED.
pub(crate) fn delete_file(name: &str) -> Result<(), i64> {
    result((|| {
        let (port, dir, name) = get_device_proc(name)?;
        call_with(port, action::DELETE_OBJECT, &[dir as i64, 0, name.len() as i64], &mut [named(1, &name)]).map(|_| ())
    })())
}

/// Renames or moves `old` to `new` on one device (`Rename()`). Errors: OBJECT_EXISTS,
/// OBJECT_NOT_FOUND, OBJECT_IN_USE (a directory into itself), RENAME_ACROSS_DEVICES.
pub(crate) fn rename(old: &str, new: &str) -> Result<(), i64> {
    result((|| {
        let (port, dir, old) = get_device_proc(old)?;
        let (port2, dir2, new) = get_device_proc(new)?;
        if port != port2 {
            return Err(error::RENAME_ACROSS_DEVICES);
        }
        let args = [dir as i64, 0, old.len() as i64, dir2 as i64, 0, new.len() as i64];
        call_with(port, action::RENAME_OBJECT, &args, &mut [named(1, &old), named(4, &new)]).map(|_| ())
    })())
}

/// Makes a directory; result: an exclusive lock on it (`CreateDir()`). Errors: OBJECT_EXISTS,
/// OBJECT_NOT_FOUND, DISK_FULL.
pub(crate) fn create_dir(name: &str) -> Result<FileLock, i64> {
    result((|| {
        let (port, dir, name) = get_device_proc(name)?;
        let key = call_with(port, action::CREATE_DIR, &[dir as i64, 0, name.len() as i64], &mut [named(1, &name)])? as u64;
        note_open(port, key, false);
        Ok(FileLock { port, key })
    })())
}

/// Sets `name`'s protection bits (`SetProtection()`).
pub(crate) fn set_protection(name: &str, bits: u32) -> Result<(), i64> {
    result((|| {
        let (port, dir, name) = get_device_proc(name)?;
        call_with(port, action::SET_PROTECT, &[0, dir as i64, 0, name.len() as i64, bits as i64], &mut [named(2, &name)]).map(|_| ())
    })())
}

/// What the disk `lock` is on holds (`Info()`).
pub(crate) fn info(lock: &FileLock, data: &mut InfoData) -> Result<(), i64> {
    result(call_with(lock.port, action::INFO, &[lock.key as i64], &mut [(1, Attach::InOut(data.bytes_mut()))]).map(|_| ()))
}
