//! A task's handle on the console: output and input through DOS's CON: handler (input raw:
//! the shell edits its own lines), opened by the task itself; serial.device directly only if
//! CON: is not there. It calls exec through its vector table
//! (`exec::sys`), so it works the same in a ring-3 command task of the mmu build.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use devices::serial::SDCMD_QUERY;
use exec::device::{CMD_READ, CMD_WRITE, IoRequest};
use exec::port::MsgPort;
use libraries::coninput::Mode;
use libraries::dos::console::ConsoleReader;
use libraries::dos::file::FileHandle;
use exec::sys::{check_io, close_device, create_msg_port, delete_msg_port, do_io, open_device, send_io, wait_io};

/// One open request on serial.device, with its own reply port.
struct Channel {
    req: IoRequest,
    port: *mut MsgPort,
}

impl Channel {
    fn open() -> Option<Box<Channel>> {
        let port = create_msg_port();
        if port.is_null() {
            return None;
        }
        let mut ch = Box::new(Channel { req: IoRequest::new(port, size_of::<IoRequest>()), port });
        // SAFETY: the request lives in the box; the port is ours.
        if unsafe { open_device("serial.device", 0, &mut ch.req, 0) } != 0 {
            // SAFETY: our port, unused.
            unsafe { delete_msg_port(port) };
            return None;
        }
        Some(ch)
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        // SAFETY: our request (idle: Con aborts a pending read first) and port.
        unsafe {
            close_device(&mut self.req);
            delete_msg_port(self.port);
        }
    }
}

/// Where a Con's output goes: a CON: file handle (DOS's console handler), or, if CON: is not
/// there (before the handlers start, or after its handler ended), serial.device directly.
enum Out {
    Con(Box<FileHandle>),
    Serial(Box<Channel>),
}

/// Where a Con's input comes from: a raw CON: handle with a READ kept out, or serial.device
/// (with a one-byte read started with send_io and not yet collected) if CON: is not there.
enum In {
    /// The raw handle for keys, and (opened when first watched) the breaks handle.
    Con(ConsoleReader, Option<ConsoleReader>),
    Serial { ch: Box<Channel>, pending: bool, byte: u8 },
}

/// Bytes one console READ asks for.
const READ_CHUNK: usize = 64;

/// A CON: handle in `mode`, read `len` bytes at a time.
fn console(mode: Mode, len: usize) -> Option<ConsoleReader> {
    let mut fh = libraries::dos::open("CON:", libraries::dosdefs::MODE_OLDFILE).ok()?;
    fh.set_mode(mode).ok()?;
    ConsoleReader::new(fh, len)
}

impl In {
    fn open() -> Option<In> {
        match console(Mode::Raw, READ_CHUNK) {
            Some(r) => Some(In::Con(r, None)),
            None => Some(In::Serial { ch: Channel::open()?, pending: false, byte: 0 }),
        }
    }
}

/// A task's console: its output and input through CON: (every command's and the shell's take
/// that one path; the shell reads raw and edits its lines itself: see
/// `libraries/src/handlers/con.rs`).
pub struct Con {
    out: Out,
    inp: Option<In>,
    /// ANSI colour for errors and headers.
    color: bool,
    /// A background job's: its output goes above the shell's prompt and line, which it redraws.
    above: Option<crate::jobs::StateView>,
    /// A background job's output not yet printed: the end of a line.
    partial: Vec<u8>,
    /// `>file`: where output goes instead of the console (errors still go to the console).
    file: Option<Box<FileHandle>>,
}

impl Con {
    /// Opens serial.device unit 0 for the calling task, with colour or without; `None` if it
    /// cannot.
    pub fn open(color: bool) -> Option<Box<Con>> {
        let out = match libraries::dos::open("CON:", libraries::dosdefs::MODE_NEWFILE) {
            Ok(f) => Out::Con(f),
            Err(_) => Out::Serial(Channel::open()?),
        };
        Some(Box::new(Con { out, inp: None, color, above: None, partial: Vec::new(), file: None }))
    }

    /// Turns colour on or off for this Con.
    pub fn set_color(&mut self, color: bool) {
        self.color = color;
    }

    /// The signal a pending read completes with (0 before the first read).
    pub fn read_mask(&self) -> u32 {
        match &self.inp {
            None => 0,
            Some(In::Con(r, _)) => r.signal_mask(),
            // The device's reply signals its reply port (in ring 3 too: the kernel's shadow of
            // the request signals the port's bit).
            // SAFETY: the input port lives as long as the Con.
            Some(In::Serial { ch, .. }) => unsafe { exec::sys::port_signal(ch.port) },
        }
    }

    /// Sends the output to `file` from now on (`>` and `>>`): through DOS, as it is written,
    /// with no colour and no CR before LF. Errors still go to the console.
    pub fn redirect(&mut self, file: Box<FileHandle>) {
        self.file = Some(file);
        self.color = false;
    }

    /// Ends the redirection, closing the file. Result: what closing it met (a full disk).
    pub fn end_redirect(&mut self) -> Result<(), i64> {
        self.file.take().map_or(Ok(()), libraries::dos::close)
    }

    /// Writes `s`, turning `\n` into CR LF.
    pub fn write(&mut self, s: &str) {
        if let Some(f) = self.file.as_mut() {
            let _ = f.put_s(s.as_bytes());
            return;
        }
        let mut bytes = Vec::with_capacity(s.len() + 8);
        for b in s.bytes() {
            if b == b'\n' {
                bytes.push(b'\r');
            }
            bytes.push(b);
        }
        self.write_raw(&bytes);
    }

    /// Prints a background job's output above the shell's prompt and line (as readline does),
    /// which are redrawn after it.
    pub fn above_prompt(&mut self, state: crate::jobs::StateView) {
        self.above = Some(state);
    }

    /// Writes bytes as they are (a background job's above the prompt, see `above_prompt`).
    /// A background job's output goes out in whole lines (the rest when the Con closes).
    pub fn write_raw(&mut self, bytes: &[u8]) {
        if let Some(f) = self.file.as_mut() {
            let _ = f.put_s(bytes);
            return;
        }
        if self.above.is_none() {
            return self.send(bytes);
        }
        self.partial.extend_from_slice(bytes);
        if let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') {
            let lines: Vec<u8> = self.partial.drain(..=end).collect();
            self.send_above(&lines);
        }
    }

    /// Sends `bytes` above the shell's prompt and line, and redraws them.
    fn send_above(&mut self, bytes: &[u8]) {
        let Some(state) = self.above else { return };
        // Under Forbid, the state read and the write queued in one piece: the shell's own
        // output cannot come between.
        state.read(|s| {
            let redraw = s.redraw.as_str();
            if redraw.is_empty() {
                return self.send(bytes);
            }
            let mut out = Vec::with_capacity(bytes.len() + redraw.len() + 8);
            out.extend_from_slice(b"\r\x1b[K");
            out.extend_from_slice(bytes);
            if !bytes.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(redraw.as_bytes());
            self.send(&out);
        });
    }

    fn send(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let ch = match &mut self.out {
            Out::Con(f) => {
                let _ = f.write(bytes);
                return;
            }
            Out::Serial(ch) => ch,
        };
        let r = &mut ch.req;
        r.command = CMD_WRITE;
        r.data = bytes.as_ptr() as *mut u8;
        r.length = bytes.len();
        // SAFETY: open request; the data outlives the (synchronous) write.
        unsafe { do_io(r) };
    }

    /// Writes `s` in red (an error), or plain without colour.
    pub fn error(&mut self, s: &str) {
        // Errors go to the console even when the output is redirected.
        let file = self.file.take();
        if self.color {
            self.write(&alloc::format!("\x1b[31m{s}\x1b[0m\n"));
        } else {
            self.write(&alloc::format!("{s}\n"));
        }
        self.file = file;
    }

    /// Writes `s` in bold (a table header), or plain without colour.
    pub fn header(&mut self, s: &str) {
        if self.color {
            self.write(&alloc::format!("\x1b[1m{s}\x1b[0m\n"));
        } else {
            self.write(&alloc::format!("{s}\n"));
        }
    }

    /// Takes every byte waiting, or starts a read and returns nothing (its answer signals
    /// [`Con::read_mask`]).
    pub fn poll_input(&mut self, out: &mut Vec<u8>) {
        if self.inp.is_none() {
            self.inp = In::open();
        }
        let gone = match self.inp.as_mut() {
            None => return,
            Some(In::Con(r, _)) => match poll_console(r, out) {
                Polled::Read => false,
                Polled::Gone => true,
                // Our handle was refused (closed under us): a new one at the next poll.
                Polled::Reopen => {
                    self.inp = None;
                    false
                }
            },
            Some(In::Serial { ch, pending, byte }) => {
                poll_serial(ch, pending, byte, out);
                false
            }
        };
        if gone {
            self.lost_console();
        }
    }

    /// While a command runs: takes Ctrl-C if it was typed (into `out`), or starts watching for
    /// it and returns nothing (the answer signals [`Con::breaks_mask`]). Other typing waits in
    /// CON: for the command or the shell's next line. Without CON:, as [`Con::poll_input`].
    pub fn poll_breaks(&mut self, out: &mut Vec<u8>) {
        let polled = match self.inp.as_mut() {
            Some(In::Con(_, breaks)) => {
                if breaks.is_none() {
                    *breaks = console(Mode::Breaks, 1);
                }
                // Without a breaks handle (no memory for it), the keys as at the prompt.
                match breaks.as_mut() {
                    Some(b) => poll_console(b, out),
                    None => return self.poll_input(out),
                }
            }
            _ => return self.poll_input(out),
        };
        match polled {
            Polled::Read => {}
            Polled::Gone => self.lost_console(),
            Polled::Reopen => self.end_breaks(),
        }
    }

    /// Stops watching for Ctrl-C (the command has ended): the breaks handle closes, and its
    /// READ with it, so that a Ctrl-C typed at the prompt reaches the shell's line.
    pub fn end_breaks(&mut self) {
        if let Some(In::Con(_, breaks)) = self.inp.as_mut() {
            *breaks = None;
        }
    }

    /// The signal [`Con::poll_breaks`]'s answer comes with.
    pub fn breaks_mask(&self) -> u32 {
        match &self.inp {
            Some(In::Con(_, Some(b))) => b.signal_mask(),
            _ => self.read_mask(),
        }
    }

    /// CON: went (its handler ended): input from serial.device from now on.
    fn lost_console(&mut self) {
        self.write("CON: has gone: reading the serial line directly\n");
        self.inp = Channel::open().map(|ch| In::Serial { ch, pending: false, byte: 0 });
    }
}

/// What [`poll_console`] found.
enum Polled {
    /// Bytes, or a READ out (or sent again).
    Read,
    /// CON: went (its handler ended).
    Gone,
    /// The handle is refused: open a new one.
    Reopen,
}

/// [`Con::poll_input`] from CON:.
fn poll_console(r: &mut ConsoleReader, out: &mut Vec<u8>) -> Polled {
    use libraries::dosdefs::error::{DEVICE_NOT_MOUNTED, INVALID_LOCK, OBJECT_IN_USE};
    let resend = |r: &mut ConsoleReader| if r.send().is_err() { Polled::Gone } else { Polled::Read };
    match r.take(out) {
        // The end of file (Ctrl-\ means nothing raw): nothing read.
        Some(Ok(_)) | None if out.is_empty() => resend(r),
        Some(Ok(_)) | None => Polled::Read,
        Some(Err(DEVICE_NOT_MOUNTED)) => Polled::Gone,
        Some(Err(INVALID_LOCK)) => Polled::Reopen,
        Some(Err(e)) => {
            // Refused for now (CON:'s waiting reads all taken): again 20 ms later, so that a
            // full queue cannot leave the shell waiting for an answer that never comes (a
            // timer.device request: from either ring).
            if e == OBJECT_IN_USE {
                devices::timer_sleep_ms(20);
            }
            resend(r)
        }
    }
}

/// [`Con::poll_input`] from serial.device.
fn poll_serial(ch: &mut Channel, pending: &mut bool, byte: &mut u8, out: &mut Vec<u8>) {
    let r = &mut ch.req;
    // SAFETY: the request is open; the byte buffer lives in the Con with it.
    unsafe {
        if *pending {
            if !check_io(r) {
                return;
            }
            wait_io(r);
            *pending = false;
            if r.actual == 1 {
                out.push(*byte);
            }
        }
        // A query moves no data: none named (the last read's buffer may be gone).
        (r.command, r.data, r.length) = (SDCMD_QUERY, core::ptr::null_mut(), 0);
        do_io(r);
        let waiting = r.actual;
        if waiting > 0 {
            let start = out.len();
            out.resize(start + waiting, 0);
            r.command = CMD_READ;
            r.data = out[start..].as_mut_ptr();
            r.length = waiting;
            do_io(r);
            out.truncate(start + r.actual);
            return;
        }
        if out.is_empty() {
            r.command = CMD_READ;
            r.data = byte;
            r.length = 1;
            send_io(r);
            *pending = true;
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
        if !self.partial.is_empty() {
            let rest = core::mem::take(&mut self.partial);
            self.send_above(&rest);
        }
        if let Some(In::Serial { ch, pending: true, .. }) = self.inp.as_mut() {
            // SAFETY: our pending read; it must be off the device before the request goes.
            unsafe {
                exec::sys::abort_io(&mut ch.req);
                wait_io(&mut ch.req);
            }
        }
        // A ConsoleReader closes its handle and waits for its READ as it drops.
    }
}
