//! A console read that does not wait (AmigaDOS programs do it with SendPkt and WaitPkt on
//! their console's handler): the shell keeps one READ out at CON: while it waits for a key, a
//! command's end and a background job's signals all at once.

use alloc::boxed::Box;
use alloc::vec::Vec;

use exec::port::{Message, MsgPort};

use super::file::FileHandle;
use super::packet::{StandardPacket, put_live};
use crate::dosdefs::{action, error};

/// An open console handle and its READ packet, out at the handler or not.
pub struct ConsoleReader {
    fh: Box<FileHandle>,
    /// The packet and then the buffer, in one block (in the mmu build the buffer travels
    /// inside the message: see `packet.rs`).
    block: Vec<u64>,
    len: usize,
    reply: *mut MsgPort,
    out: bool,
}

impl ConsoleReader {
    /// Reads of up to `len` bytes at a time from `fh` (a console handle, raw or cooked as the
    /// caller set it), from either ring. `None` without memory or a port. Not callable from an
    /// interrupt.
    pub fn new(fh: Box<FileHandle>, len: usize) -> Option<ConsoleReader> {
        let words = (size_of::<StandardPacket>() + len).div_ceil(8);
        let mut block = Vec::new();
        block.try_reserve_exact(words).ok()?;
        block.resize(words, 0);
        let reply = exec::sys::create_msg_port();
        if reply.is_null() {
            return None;
        }
        Some(ConsoleReader { fh, block, len, reply, out: false })
    }

    /// The handler's number for the console handle (for tests of the handler's checks).
    pub(super) fn key(&self) -> u64 {
        self.fh.key
    }

    /// The signal the answer comes with: the reply port's.
    pub fn signal_mask(&self) -> u32 {
        // SAFETY: our own port, live as long as the reader (in ring 3 the gate checks it).
        unsafe { exec::sys::port_signal(self.reply) }
    }

    /// Sends the READ unless it is out already. Errors: DEVICE_NOT_MOUNTED (the handler went).
    pub fn send(&mut self) -> Result<(), i64> {
        if self.out {
            return Ok(());
        }
        let base = self.block.as_mut_ptr() as *mut u8;
        let buffer = size_of::<StandardPacket>();
        // Flat: the buffer's address; mmu: its offset in the message.
        let at = if cfg!(feature = "mmu") { buffer as i64 } else { base as i64 + buffer as i64 };
        let mut sp = StandardPacket::new(self.reply, action::READ, &[self.fh.key as i64, at, self.len as i64]);
        sp.msg.length = self.block.len() * 8;
        let msg = base as *mut Message;
        // SAFETY: the block holds a StandardPacket at its (8-aligned) start; it stays put and
        // ours until the packet is back (`take`, or Drop waits for it).
        unsafe {
            (base as *mut StandardPacket).write(sp);
            if !put_live(self.fh.port, msg) {
                return Err(error::DEVICE_NOT_MOUNTED);
            }
        }
        self.out = true;
        Ok(())
    }

    /// The answer, if it has come: the bytes read appended to `bytes` and their count (0: the
    /// end of file). `None` while the READ is out (or was never sent). Errors: BREAK (Ctrl-C
    /// on a cooked line), DEVICE_NOT_MOUNTED (the handler went).
    pub fn take(&mut self, bytes: &mut Vec<u8>) -> Option<Result<usize, i64>> {
        if !self.out {
            return None;
        }
        // SAFETY: our own port.
        let msg = unsafe { exec::sys::get_msg(self.reply) };
        if msg.is_null() {
            return None;
        }
        self.out = false;
        let sp = self.block.as_ptr() as *const StandardPacket;
        // SAFETY: back with us (the only packet that comes to this port): ours to read.
        let (err, res1, res2) = unsafe { ((*sp).msg.error, (*sp).pkt.res1, (*sp).pkt.res2) };
        if err != 0 {
            return Some(Err(error::DEVICE_NOT_MOUNTED));
        }
        if res1 < 0 {
            return Some(Err(res2));
        }
        let n = (res1 as usize).min(self.len);
        // SAFETY: the buffer follows the packet in the block, `len` bytes long.
        let got = unsafe { core::slice::from_raw_parts((sp as *const u8).add(size_of::<StandardPacket>()), n) };
        bytes.extend_from_slice(got);
        Some(Ok(n))
    }
}

impl Drop for ConsoleReader {
    /// Closes the handle, which ends a READ still out (CON: answers it), and waits for that
    /// answer before the block goes.
    fn drop(&mut self) {
        let fh = core::mem::replace(&mut self.fh, FileHandle::closed());
        let _ = super::file::close(fh);
        while self.out {
            // SAFETY: our own port; the READ comes back to it (answered, or bounced when the
            // handler went).
            unsafe { exec::sys::wait_port(self.reply) };
            let mut sink = Vec::new();
            let _ = self.take(&mut sink);
        }
        // SAFETY: our port, with nothing left on it.
        unsafe { exec::sys::delete_msg_port(self.reply) };
    }
}
