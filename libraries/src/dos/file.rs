//! Files: Open, Close, Read, Write, Seek, Flush, and the buffered FGetC, FPutC, FGets, FPuts
//! and a printf (`core::fmt::Write`, so `write!(fh, ...)` is VFPrintf). Each unbuffered call
//! is one packet; the buffered ones gather bytes and send a packet per buffer.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use exec::port::MsgPort;

use super::lock::{call, call_with, get_device_proc};
use super::packet::Attach;
use super::process::{note_closed, note_open, result};
use crate::dosdefs::{OFFSET_CURRENT, action, error};

/// Bytes the buffered calls gather before a packet.
const BUFFER: usize = 512;

/// An open file (`BPTR` to `struct FileHandle`): the handler's port and its handle, and the
/// buffer of the buffered calls (bytes read ahead, or bytes not yet written; never both).
pub struct FileHandle {
    pub(super) port: *mut MsgPort,
    pub(super) key: u64,
    buf: Vec<u8>,
    /// Read ahead: the next byte of `buf` to give. Unused while `buf` holds bytes to write.
    at: usize,
    writing: bool,
}

/// Opens `name` (`Open()`), `mode` MODE_OLDFILE (it must exist), MODE_NEWFILE (made or
/// emptied; no one else may use it while open) or MODE_READWRITE (opened or made). Errors
/// (also in IoErr): OBJECT_NOT_FOUND, OBJECT_IN_USE, OBJECT_WRONG_TYPE (a directory),
/// DISK_FULL, DEVICE_NOT_MOUNTED, INVALID_COMPONENT_NAME. Close it with [`close`].
pub(crate) fn open(name: &str, mode: i64) -> Result<Box<FileHandle>, i64> {
    result((|| {
        let (port, dir, name) = get_device_proc(name)?;
        let key = call_with(port, mode, &[0, dir as i64, 0, name.len() as i64], &mut [(2, Attach::In(name.as_bytes()))])? as u64;
        note_open(port, key, true);
        Ok(Box::new(FileHandle { port, key, buf: Vec::new(), at: 0, writing: false }))
    })())
}

/// Closes the file (`Close()`), writing what the buffer holds first. Errors: what that write
/// met (DISK_FULL), INVALID_LOCK.
#[allow(clippy::boxed_local)] // handles live in boxes so that Input()/Output() can point at them
pub(crate) fn close(mut fh: Box<FileHandle>) -> Result<(), i64> {
    let r = fh.close_inner();
    // Closed: Drop has nothing left to do.
    fh.key = 0;
    r
}

impl FileHandle {
    /// A handle that is no file (closing or dropping it does nothing): what is left where a
    /// handle was taken out.
    pub(super) fn closed() -> Box<FileHandle> {
        Box::new(FileHandle { port: core::ptr::null_mut(), key: 0, buf: Vec::new(), at: 0, writing: false })
    }

    /// Sends one READ (into `buf`) or WRITE (of `buf`) packet.
    fn transfer(&self, kind: i64, buf: Attach<'_>) -> Result<usize, i64> {
        let len = buf.len();
        // SAFETY: the handler's port; the buffer is an attachment, borrowed until the answer.
        let (res1, res2) = unsafe { super::packet::do_pkt_with(self.port, kind, &[self.key as i64, 0, len as i64], &mut [(1, buf)]) };
        if res1 < 0 || (res1 == 0 && res2 != 0 && len > 0) { result(Err(res2)) } else { Ok(res1 as usize) }
    }

    /// Read(): see [`read`]; through dos.library's vector table.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, i64> {
        super::read(self, buf)
    }

    /// Write(): see [`write`]; through dos.library's vector table.
    pub fn write(&mut self, bytes: &[u8]) -> Result<usize, i64> {
        super::write(self, bytes)
    }

    /// Seek(): see [`seek`]; through dos.library's vector table.
    pub fn seek(&mut self, offset: i64, mode: i64) -> Result<u64, i64> {
        super::seek(self, offset, mode)
    }

    /// SetFileSize(): see [`set_file_size`]; through dos.library's vector table.
    pub fn set_size(&mut self, offset: i64, mode: i64) -> Result<u64, i64> {
        super::set_file_size(self, offset, mode)
    }

    /// SetMode(): see [`set_mode`]; through dos.library's vector table.
    pub fn set_mode(&mut self, mode: crate::coninput::Mode) -> Result<(), i64> {
        super::set_mode(self, mode)
    }

    /// Flush(): see [`flush`]; through dos.library's vector table.
    pub fn flush(&mut self) -> Result<(), i64> {
        super::flush(self)
    }

    /// FGetC(): see [`fgetc`]; through dos.library's vector table.
    pub fn get_c(&mut self) -> Result<Option<u8>, i64> {
        super::fgetc(self)
    }

    /// FPutC(): see [`fputc`]; through dos.library's vector table.
    pub fn put_c(&mut self, c: u8) -> Result<(), i64> {
        super::fputc(self, c)
    }

    /// FPuts(): see [`fputs`]; through dos.library's vector table.
    pub fn put_s(&mut self, bytes: &[u8]) -> Result<(), i64> {
        super::fputs(self, bytes)
    }

    /// FGets(): see [`fgets`]; through dos.library's vector table.
    pub fn get_s(&mut self, line: &mut Vec<u8>) -> Result<bool, i64> {
        super::fgets(self, line)
    }

    fn close_inner(&mut self) -> Result<(), i64> {
        // Bytes read ahead need not go back: nothing reads at the position after a close (and
        // a console cannot seek).
        if !self.writing {
            self.buf.clear();
            self.at = 0;
        }
        let flushed = flush(self);
        note_closed(self.port, self.key);
        let closed = result(call(self.port, action::END, &[self.key as i64]).map(|_| ()));
        flushed.and(closed)
    }
}

// The implementations of the vector table's file calls (`super::read` and so on; the methods
// above are the same calls). None may be called from an interrupt: each may send a packet and
// wait for its answer.

/// Reads up to `buf.len()` bytes (`Read()`); 0 at the end of the file. Errors:
/// INVALID_LOCK, READ_PROTECTED.
pub(crate) fn read(fh: &mut FileHandle, buf: &mut [u8]) -> Result<usize, i64> {
    flush(fh)?;
    // Bytes read ahead by FGetC go first.
    let ahead = (fh.buf.len() - fh.at).min(buf.len());
    buf[..ahead].copy_from_slice(&fh.buf[fh.at..fh.at + ahead]);
    fh.at += ahead;
    if ahead > 0 {
        return Ok(ahead);
    }
    fh.transfer(action::READ, Attach::LentOut(buf))
}

/// Writes `bytes` (`Write()`). Result: how many were written, fewer when the disk filled
/// (IoErr says DISK_FULL then). Errors: DISK_FULL (none written), INVALID_LOCK,
/// WRITE_PROTECTED.
pub(crate) fn write(fh: &mut FileHandle, bytes: &[u8]) -> Result<usize, i64> {
    flush(fh)?;
    let n = fh.transfer(action::WRITE, Attach::LentIn(bytes))?;
    if n < bytes.len() {
        super::process::set_io_err(error::DISK_FULL);
    }
    Ok(n)
}

/// Moves the position (`Seek()`), `mode` OFFSET_BEGINNING, OFFSET_CURRENT or OFFSET_END;
/// result: the old position. Errors: SEEK_ERROR, INVALID_LOCK.
pub(crate) fn seek(fh: &mut FileHandle, offset: i64, mode: i64) -> Result<u64, i64> {
    flush(fh)?;
    let (res1, res2) = unsafe_pkt(fh.port, action::SEEK, &[fh.key as i64, offset, mode]);
    if res1 < 0 { result(Err(res2)) } else { Ok(res1 as u64) }
}

/// Sets the file's size (`SetFileSize()`), `offset` from where `mode` says (as Seek); result:
/// the new size. Errors: SEEK_ERROR, DISK_FULL, INVALID_LOCK.
pub(crate) fn set_file_size(fh: &mut FileHandle, offset: i64, mode: i64) -> Result<u64, i64> {
    flush(fh)?;
    let (res1, res2) = unsafe_pkt(fh.port, action::SET_FILE_SIZE, &[fh.key as i64, offset, mode]);
    if res1 < 0 { result(Err(res2)) } else { Ok(res1 as u64) }
}

/// Sets a console handle's mode, as `SetMode()`: cooked (CON: edits a line and echoes it),
/// raw (bytes as typed, no echo) or breaks (only Ctrl-C); see `coninput.rs`. Errors:
/// ACTION_NOT_KNOWN (not a console), INVALID_LOCK.
pub(crate) fn set_mode(fh: &mut FileHandle, mode: crate::coninput::Mode) -> Result<(), i64> {
    let (res1, res2) = unsafe_pkt(fh.port, action::SCREEN_MODE, &[fh.key as i64, mode.arg()]);
    if res1 == 0 { result(Err(res2)) } else { Ok(()) }
}

/// Writes what the buffer holds, or gives back what it read ahead (`Flush()`). Errors: what
/// the write or seek met.
pub(crate) fn flush(fh: &mut FileHandle) -> Result<(), i64> {
    if fh.writing {
        fh.writing = false;
        let pending = core::mem::take(&mut fh.buf);
        let n = fh.transfer(action::WRITE, Attach::LentIn(&pending))?;
        if n < pending.len() {
            return result(Err(error::DISK_FULL));
        }
    } else if fh.at < fh.buf.len() {
        let back = (fh.buf.len() - fh.at) as i64;
        fh.buf.clear();
        fh.at = 0;
        let (res1, res2) = unsafe_pkt(fh.port, action::SEEK, &[fh.key as i64, -back, OFFSET_CURRENT]);
        if res1 < 0 {
            return result(Err(res2));
        }
    } else {
        fh.buf.clear();
        fh.at = 0;
    }
    Ok(())
}

/// The next byte, buffered (`FGetC()`); `Ok(None)` at the end of the file. Errors: as Read.
pub(crate) fn fgetc(fh: &mut FileHandle) -> Result<Option<u8>, i64> {
    if fh.writing {
        flush(fh)?;
    }
    if fh.at == fh.buf.len() {
        fh.buf.resize(BUFFER, 0);
        let mut buf = core::mem::take(&mut fh.buf);
        let n = fh.transfer(action::READ, Attach::LentOut(&mut buf[..BUFFER]));
        buf.truncate(*n.as_ref().unwrap_or(&0));
        fh.buf = buf;
        fh.at = 0;
        n?;
    }
    let c = fh.buf.get(fh.at).copied();
    fh.at += c.is_some() as usize;
    Ok(c)
}

/// Writes one byte, buffered (`FPutC()`). Errors: as Write, when the buffer fills.
pub(crate) fn fputc(fh: &mut FileHandle, c: u8) -> Result<(), i64> {
    fputs(fh, &[c])
}

/// Writes bytes, buffered (`FPuts()`, `FWrite()`). Errors: as Write, when the buffer fills.
pub(crate) fn fputs(fh: &mut FileHandle, bytes: &[u8]) -> Result<(), i64> {
    if !fh.writing {
        flush(fh)?;
        fh.writing = true;
    }
    fh.buf.extend_from_slice(bytes);
    if fh.buf.len() >= BUFFER {
        flush(fh)?;
        fh.writing = true;
    }
    Ok(())
}

/// Reads a line into `line`, its newline included (`FGets()`); `Ok(false)` at the end of
/// the file with nothing read. Errors: as Read.
pub(crate) fn fgets(fh: &mut FileHandle, line: &mut Vec<u8>) -> Result<bool, i64> {
    line.clear();
    while let Some(c) = fgetc(fh)? {
        line.push(c);
        if c == b'\n' {
            break;
        }
    }
    Ok(!line.is_empty())
}

fn unsafe_pkt(port: *mut MsgPort, kind: i64, args: &[i64]) -> (i64, i64) {
    // SAFETY: a handler's port; the arguments carry no pointers.
    unsafe { super::packet::do_pkt(port, kind, args) }
}

/// `write!(fh, ...)`: formatted output through the buffer (`VFPrintf()`).
impl fmt::Write for FileHandle {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        super::fputs(self, s.as_bytes()).map_err(|_| fmt::Error)
    }
}

impl Drop for FileHandle {
    /// A handle dropped without [`close`] is closed all the same (what it buffered is written).
    fn drop(&mut self) {
        if self.key != 0 {
            let _ = self.close_inner();
        }
    }
}

