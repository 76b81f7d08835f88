//! The CON: handler: the console, over serial.device, reached only by DOS packets like every
//! handler. The shell's and every command's output goes through it (`workbench-shell`'s
//! `Con` writes to a CON: file handle), so a command's output, a background RUN's and the
//! shell's own take the same path; `>` sends a command's output to another handler instead.
//! Input comes through it too: the shell reads its keys with READ packets, and so does a
//! command that reads Input() without `<`.
//!
//! Where line editing lives: both places, as on AmigaOS 3.x. CON: edits a line for a *cooked*
//! handle (each handle starts cooked; `SetMode()`, ACTION_SCREEN_MODE, makes it raw): echo,
//! Backspace, Ctrl-X, Return, Ctrl-\ for end of file, Ctrl-C for a break (the rules are in
//! `coninput.rs`). The shell reads *raw* and edits its own line, with history and completion
//! on top; while its command runs it reads a *breaks* handle, which gets only Ctrl-C, so that
//! other typing waits here for the command or the shell's next line. Writes are raw either way: the bytes as given (the shell and `Con` have already
//! turned `\n` into CR LF and drawn the prompt).
//!
//! A handle is its opener's: another task that names it (a guessed number) is refused, as a
//! bad handle. A READ that finds nothing typed waits in the handler (one per handle, at most
//! `coninput::WAITING_MAX` in all; when they are all taken, the handles of clients that have
//! ended are closed first, and their reads answered) while the handler goes on serving writes: it keeps one read of serial.device in
//! flight while any READ waits, and sleeps on all its signals at once (the simplest wait that
//! covers its port and its read: any wake-up only makes it look at both).

use alloc::vec::Vec;

use devices::serial::SDCMD_QUERY;
use exec::device::{CMD_READ, CMD_WRITE, IoRequest};
use exec::handles::HandleTable;
use exec::port::Message;

use crate::coninput::{Answer, ConInput, Mode, Waiting};
use crate::dos::packet::{Data, data, is_packet, packet_of};
use crate::dosdefs::{DOSFALSE, DOSTRUE, action, error};

/// The handler's port name (`CON:` finds it).
pub const PORT_NAME: &str = "CON";

/// Bytes read from serial.device at a time.
const CHUNK: usize = 256;

/// Most handles open at once (a client that opens without end is refused, after the handles
/// of ended clients are swept).
const HANDLES_MAX: usize = 64;

/// Starts the CON: handler task in ring 0 (the flat build). Result: the task, or null.
#[cfg(not(feature = "mmu"))]
pub fn start() -> *mut exec::task::Task {
    exec::task::add_task("CON", 0, |_| serve(), 0, 16 * 1024)
}

/// The CON: handler as a ring-3 task (mmu build).
#[cfg(feature = "mmu")]
pub extern "C" fn entry_ring3(_: u64) -> ! {
    serve();
    super::end_ring3()
}

/// A waiting READ: its packet and its handle.
type Token = (usize, u64);

/// An open handle: its mode, and the task number of the client that opened it (0: unknown).
struct Handle {
    mode: Mode,
    owner: u64,
}

/// The handler's state: its two requests on serial.device (writes, done one at a time, and
/// the read in flight), its open handles (each with its mode), and the input.
struct Console {
    out: IoRequest,
    inp: IoRequest,
    /// `inp` is in flight.
    reading: bool,
    byte: u8,
    open: HandleTable<Handle>,
    input: ConInput<Token>,
}

/// A request on serial.device, with a reply port of its own; not yet open (a ring-3 task's
/// request is known to the kernel by its address, so it is opened where it stays: `open`).
fn serial_request() -> Option<IoRequest> {
    let reply = exec::sys::create_msg_port();
    (!reply.is_null()).then(|| IoRequest::new(reply, size_of::<IoRequest>()))
}

/// Opens `req` (in its final place) on serial.device. Result: whether it opened.
fn open(req: &mut IoRequest) -> bool {
    // SAFETY: the request is ours and stays at this address while the handler serves.
    unsafe { exec::sys::open_device("serial.device", 0, req, 0) == 0 }
}

fn serve() {
    let (Some(out), Some(inp)) = (serial_request(), serial_request()) else { return };
    let mut con = Console { out, inp, reading: false, byte: 0, open: HandleTable::new(), input: ConInput::new() };
    if !open(&mut con.out) || !open(&mut con.inp) {
        return;
    }
    let port = exec::sys::create_port(Some(PORT_NAME), 0);
    if port.is_null() {
        return;
    }
    loop {
        loop {
            // SAFETY: our own port.
            let msg = unsafe { exec::sys::get_msg(port) };
            if msg.is_null() {
                break;
            }
            con.packet(msg);
        }
        con.collect();
        con.pump();
        // Any signal: a packet, the read done, or one that means nothing (looked at, slept on).
        exec::sys::wait(!0);
    }
}

/// Answers a packet with `res1` and `res2`.
fn reply(msg: *mut Message, res1: i64, res2: i64) {
    // SAFETY: a packet the handler holds and has not answered.
    unsafe {
        let pkt = packet_of(msg);
        pkt.res1 = res1;
        pkt.res2 = res2;
        exec::sys::reply_msg(msg);
    }
}

impl Console {
    /// Serves one packet: answered now, or (a READ that must wait) queued.
    fn packet(&mut self, msg: *mut Message) {
        // SAFETY: the message we hold; one too short for a packet goes back untouched.
        if !unsafe { is_packet(msg) } {
            // SAFETY: as above.
            unsafe { exec::sys::reply_msg(msg) };
            return;
        }
        // SAFETY: only packets come to a handler's port (dos.library's contract).
        let (kind, a) = unsafe { (packet_of(msg).kind, packet_of(msg).args) };
        let key = a[0] as u64;
        // SAFETY: the packet we hold.
        let sender = unsafe { super::sender_of(msg) };
        // The handle named, if the sender may use it.
        let mine = |open: &HandleTable<Handle>| open.get(key).filter(|h| h.owner == 0 || h.owner == sender).map(|h| h.mode);
        let (res1, res2) = match kind {
            action::FINDINPUT | action::FINDOUTPUT | action::FINDUPDATE => {
                if self.open.len() >= HANDLES_MAX {
                    self.sweep();
                }
                if self.open.len() >= HANDLES_MAX {
                    (DOSFALSE, error::OBJECT_IN_USE)
                } else {
                    (self.open.insert(Handle { mode: Mode::Cooked, owner: sender }) as i64, 0)
                }
            }
            action::WRITE => match (mine(&self.open), a[2]) {
                (None, _) => (-1, error::INVALID_LOCK),
                (Some(_), len) if len < 0 => (-1, error::BAD_NUMBER),
                // SAFETY: the packet we hold; its data is valid (or lent) until the answer.
                (Some(_), len) => match unsafe { data(msg, a[1], len as usize) }.and_then(|d| self.write_data(&d)) {
                    None => (-1, error::REQUIRED_ARG_MISSING),
                    Some(()) => (len, 0),
                },
            },
            action::READ => match (mine(&self.open), a[2]) {
                (None, _) => (-1, error::INVALID_LOCK),
                (Some(_), len) if len < 0 => (-1, error::BAD_NUMBER),
                (Some(_), 0) => (0, 0),
                (Some(_), _) if self.input.is_waiting(|w| w.token.1 == key) => (-1, error::OBJECT_IN_USE),
                // SAFETY: as above.
                (Some(mode), len) => match unsafe { data(msg, a[1], len as usize) } {
                    None => (-1, error::REQUIRED_ARG_MISSING),
                    Some(_) => {
                        let w = Waiting { token: (msg as usize, key), len: len as usize, mode };
                        if self.input.wait(w) || (self.sweep() && self.input.wait(w)) {
                            return;
                        }
                        (-1, error::OBJECT_IN_USE)
                    }
                },
            },
            action::SCREEN_MODE => match mine(&self.open).and_then(|_| self.open.get_mut(key)) {
                Some(h) => {
                    h.mode = Mode::from_arg(a[1]);
                    (DOSTRUE, 0)
                }
                None => (DOSFALSE, error::INVALID_LOCK),
            },
            action::END => match mine(&self.open) {
                Some(_) => {
                    self.close(key, true);
                    (DOSTRUE, 0)
                }
                None => (DOSFALSE, error::INVALID_LOCK),
            },
            action::IS_FILESYSTEM => (DOSFALSE, 0),
            _ => (DOSFALSE, error::ACTION_NOT_KNOWN),
        };
        reply(msg, res1, res2);
    }

    /// Closes handle `key`; a read still waiting on it ends with it (answered if `answer`).
    fn close(&mut self, key: u64, answer: bool) {
        self.open.remove(key);
        for (m, _) in self.input.cancel(|w| w.token.1 == key) {
            if answer {
                reply(m as *mut Message, -1, error::INVALID_LOCK);
            }
        }
    }

    /// Closes the handles of clients that have ended (their reads would hold places for
    /// good). Result: whether any was closed. Their reads are answered in the mmu build, where
    /// the kernel lets the answer to an ended sender go; in the flat build they are dropped
    /// (the message was in the ended client's memory).
    fn sweep(&mut self) -> bool {
        let dead: Vec<u64> = self.open.iter().filter(|(_, h)| h.owner != 0 && !exec::sys::task_alive(h.owner)).map(|(k, _)| k).collect();
        for &k in &dead {
            self.close(k, cfg!(feature = "mmu"));
        }
        !dead.is_empty()
    }

    /// Writes `bytes` to the console and waits until serial.device has them.
    fn write(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.out.command = CMD_WRITE;
        self.out.data = bytes.as_ptr() as *mut u8;
        self.out.length = bytes.len();
        // SAFETY: our open request; the bytes stay put until the (synchronous) write is done.
        unsafe { exec::sys::do_io(&mut self.out) };
    }

    /// Writes a WRITE's data: from where it is, or (lent) copied in a piece at a time. `None`
    /// if a lent copy was refused (what came before it is written).
    fn write_data(&mut self, d: &Data<'_>) -> Option<()> {
        if let Some(bytes) = d.here() {
            self.write(bytes);
            return Some(());
        }
        let mut piece = [0u8; 256];
        let mut at = 0;
        while at < d.len() {
            let n = d.read_into(at, &mut piece)?;
            if n == 0 {
                break;
            }
            self.write(&piece[..n]);
            at += n;
        }
        Some(())
    }

    /// Takes the byte of the serial read in flight, if it has come.
    fn collect(&mut self) {
        // SAFETY: our open request; `byte` lives in `self`, which does not move while it is
        // in flight (the frame of `serve`).
        unsafe {
            if !self.reading || !exec::sys::check_io(&mut self.inp) {
                return;
            }
            exec::sys::wait_io(&mut self.inp);
        }
        self.reading = false;
        if self.inp.error == 0 && self.inp.actual == 1 {
            self.typed(&[self.byte]);
        }
    }

    /// Typed bytes: first the reads of clients that have ended go (a cooked one would take the
    /// line the user types for someone else), at most one check per waiting read.
    fn typed(&mut self, bytes: &[u8]) {
        let keys: Vec<u64> = self.input.waiting_tokens().map(|(_, k)| k).collect();
        for k in keys {
            let owner = self.open.get(k).map_or(0, |h| h.owner);
            if owner != 0 && !exec::sys::task_alive(owner) {
                self.close(k, cfg!(feature = "mmu"));
            }
        }
        self.input.typed(bytes);
    }

    /// Answers the reads that can be answered, and reads serial.device while any read still
    /// waits: what it has at once, else one byte in flight.
    fn pump(&mut self) {
        loop {
            let mut echo = Vec::new();
            let answers = self.input.answer(&mut echo);
            self.write(&echo);
            for a in answers {
                let (m, res1, res2, bytes) = match a {
                    Answer::Bytes((m, _), b) => (m, b.len() as i64, 0, b),
                    Answer::Break((m, _)) => (m, -1, error::BREAK, Vec::new()),
                };
                let msg = m as *mut Message;
                let mut answer = (res1, res2);
                if !bytes.is_empty() {
                    // SAFETY: a READ we hold; its buffer was checked when it came (the length
                    // asked, which the answer does not exceed).
                    let given = unsafe { data(msg, packet_of(msg).args[1], bytes.len()) }.and_then(|mut d| d.write_from(0, &bytes));
                    // A lent buffer the kernel refused (its client has gone, or lent it the
                    // wrong way): the bytes did not reach it, and the answer says so.
                    if given != Some(bytes.len()) {
                        answer = (-1, error::REQUIRED_ARG_MISSING);
                    }
                }
                reply(msg, answer.0, answer.1);
            }
            if self.reading || !self.input.wants_input() {
                return;
            }
            let r = &mut self.inp;
            r.command = SDCMD_QUERY;
            // SAFETY: our open, idle request.
            unsafe { exec::sys::do_io(r) };
            let waiting = r.actual.min(CHUNK);
            if waiting == 0 {
                r.command = CMD_READ;
                r.data = &mut self.byte;
                r.length = 1;
                // SAFETY: as in `collect`: the byte outlives the read, which `collect` takes.
                unsafe { exec::sys::send_io(r) };
                self.reading = true;
                return;
            }
            let mut chunk = [0u8; CHUNK];
            r.command = CMD_READ;
            r.data = chunk.as_mut_ptr();
            r.length = waiting;
            // SAFETY: our open request; the chunk outlives the (synchronous) read.
            unsafe { exec::sys::do_io(r) };
            let got = r.actual.min(waiting);
            self.typed(&chunk[..got]);
        }
    }
}
