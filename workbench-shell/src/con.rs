//! A task's handle on the console: serial.device, opened by the task itself.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use devices::serial::SDCMD_QUERY;
use exec::device::{CMD_READ, CMD_WRITE, IoRequest, check_io, close_device, do_io, open_device, send_io, wait_io};
use exec::port::{MsgPort, create_msg_port, delete_msg_port};

/// Whether output uses ANSI colour (the COLOR command turns it off and on).
pub static COLOR: AtomicBool = AtomicBool::new(true);

/// serial.device, opened for one task.
pub struct Con {
    req: IoRequest,
    port: *mut MsgPort,
    /// A read started with send_io and not yet collected.
    pending: bool,
    byte: u8,
}

impl Con {
    /// Opens serial.device unit 0 for the calling task; `None` if it cannot.
    pub fn open() -> Option<Box<Con>> {
        let port = create_msg_port();
        if port.is_null() {
            return None;
        }
        let mut con = Box::new(Con { req: IoRequest::new(port, size_of::<IoRequest>()), port, pending: false, byte: 0 });
        // SAFETY: the request lives in the box; the port is ours.
        if unsafe { open_device("serial.device", 0, &mut con.req, 0) } != 0 {
            // SAFETY: our port, unused.
            unsafe { delete_msg_port(port) };
            return None;
        }
        Some(con)
    }

    /// The signal a pending read completes with.
    pub fn read_mask(&self) -> u32 {
        // SAFETY: our port lives as long as the Con.
        1 << unsafe { (*self.port).sig_bit }
    }

    /// Writes `s`, turning `\n` into CR LF.
    pub fn write(&mut self, s: &str) {
        let mut bytes = Vec::with_capacity(s.len() + 8);
        for b in s.bytes() {
            if b == b'\n' {
                bytes.push(b'\r');
            }
            bytes.push(b);
        }
        self.write_raw(&bytes);
    }

    /// Writes bytes as they are.
    pub fn write_raw(&mut self, bytes: &[u8]) {
        if bytes.is_empty() || self.pending {
            // One request does one thing at a time; a Con with a read pending is the shell's
            // input, which never writes.
            return;
        }
        self.req.command = CMD_WRITE;
        self.req.data = bytes.as_ptr() as *mut u8;
        self.req.length = bytes.len();
        // SAFETY: open request; the data outlives the (synchronous) write.
        unsafe { do_io(&mut self.req) };
    }

    /// Writes `s` in red (an error), or plain without colour.
    pub fn error(&mut self, s: &str) {
        if COLOR.load(Ordering::Relaxed) {
            self.write(&alloc::format!("\x1b[31m{s}\x1b[0m\n"));
        } else {
            self.write(&alloc::format!("{s}\n"));
        }
    }

    /// Writes `s` in bold (a table header), or plain without colour.
    pub fn header(&mut self, s: &str) {
        if COLOR.load(Ordering::Relaxed) {
            self.write(&alloc::format!("\x1b[1m{s}\x1b[0m\n"));
        } else {
            self.write(&alloc::format!("{s}\n"));
        }
    }

    /// Takes every byte waiting, or starts a one-byte read and returns nothing (its completion
    /// signals [`Con::read_mask`]).
    pub fn poll_input(&mut self, out: &mut Vec<u8>) {
        // SAFETY: the request is open; the byte buffer lives in the box with it.
        unsafe {
            if self.pending {
                if !check_io(&mut self.req) {
                    return;
                }
                wait_io(&mut self.req);
                self.pending = false;
                if self.req.actual == 1 {
                    out.push(self.byte);
                }
            }
            self.req.command = SDCMD_QUERY;
            do_io(&mut self.req);
            let waiting = self.req.actual;
            if waiting > 0 {
                let start = out.len();
                out.resize(start + waiting, 0);
                self.req.command = CMD_READ;
                self.req.data = out[start..].as_mut_ptr();
                self.req.length = waiting;
                do_io(&mut self.req);
                out.truncate(start + self.req.actual);
                return;
            }
            if out.is_empty() {
                self.req.command = CMD_READ;
                self.req.data = &mut self.byte;
                self.req.length = 1;
                send_io(&mut self.req);
                self.pending = true;
            }
        }
    }
}

impl fmt::Write for Con {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        Con::write(self, s);
        Ok(())
    }
}

impl Drop for Con {
    fn drop(&mut self) {
        // SAFETY: our request and port; a pending read is aborted first.
        unsafe {
            if self.pending {
                exec::device::abort_io(&mut self.req);
                wait_io(&mut self.req);
            }
            close_device(&mut self.req);
            delete_msg_port(self.port);
        }
    }
}
