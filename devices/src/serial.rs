//! serial.device: COM1, interrupt-driven, with receive and transmit ring buffers.
//!
//! - CMD_READ reads `length` bytes, or up to and including the terminator set with
//!   SDCMD_SETPARAMS; a read that cannot be satisfied waits, filled by the receive interrupt
//!   as bytes arrive. Aborting it returns what had arrived (`actual`).
//! - CMD_WRITE writes `length` bytes (`usize::MAX`: up to a NUL) through the transmit ring;
//!   it completes when every byte is in the ring.
//! - SDCMD_QUERY: `actual` = bytes waiting, `offset` = bytes lost to overflow so far.
//! - CMD_CLEAR empties the receive ring; CMD_FLUSH aborts every pending request; CMD_RESET
//!   does both and forgets the terminator; CMD_UPDATE waits until the transmit ring is empty;
//!   CMD_STOP / CMD_START pause and resume delivery; anything else is IOERR_NOCMD.
//!
//! No byte is lost while a reader is slow: when the receive ring (4 KiB) is full the device
//! stops draining the UART and deasserts RTS, so that the sender holds back (as a 7-wire
//! serial.device does; under QEMU the bytes wait on the host side) until reads make room.
//! Bytes that hardware loses all the same (a UART overrun) are counted (SDCMD_QUERY). The kernel console (kprint, Guru
//! Meditations) still writes to the UART directly, between the device's bytes.

use exec::arch::x86_64::serial as uart;
use exec::device::*;
use exec::global::Global;
use exec::interrupts::Interrupt;
use exec::list::{List, Node, NodeType};
use exec::sched::{disable, enable};

use crate::ring::Ring;

/// Bytes waiting and overflow count.
pub const SDCMD_QUERY: u16 = CMD_NONSTD;
/// Sets the read terminator: `offset` = 0x100 | byte, or 0 for none.
pub const SDCMD_SETPARAMS: u16 = CMD_NONSTD + 2;
/// `offset` flag for SDCMD_SETPARAMS: a terminator is given in the low byte.
pub const SER_TERMINATOR: usize = 0x100;

pub const SERIAL_VERSION: u16 = 1;
const RING: usize = 4096;

/// The unit's state. Disable.
struct Unit {
    rx: Ring<RING>,
    tx: Ring<RING>,
    /// Bytes dropped because the receive ring was full (or the UART overran).
    overflows: usize,
    /// The receive ring was full: the UART is left undrained, RTS off, receive interrupt off.
    held: bool,
    terminator: Option<u8>,
    stopped: bool,
    /// Waiting reads, writes and updates, in arrival order.
    reads: List,
    writes: List,
}

static UNIT: Global<Unit> = Global::new(Unit {
    rx: Ring::new(),
    tx: Ring::new(),
    overflows: 0,
    held: false,
    terminator: None,
    stopped: false,
    reads: List::new(NodeType::Message),
    writes: List::new(NodeType::Message),
});

/// The unit's state.
///
/// # Safety
/// Disable held (the unit's guard) for as long as the result is used, and no other reference
/// from this function alive meanwhile.
unsafe fn unit<'a>() -> &'a mut Unit {
    // SAFETY: per the contract.
    unsafe { &mut *UNIT.get() }
}

/// Moves received bytes into `io` until it is satisfied; returns whether it is. Disable held.
///
/// # Safety
/// Disable held; `io` is a live read request whose `data` holds `length` bytes.
unsafe fn fill_read(u: &mut Unit, io: *mut IoRequest) -> bool {
    // SAFETY: `io` is a live read request whose data holds `length` bytes.
    unsafe {
        let r = &mut *io;
        while r.actual < r.length {
            let Some(b) = u.rx.pop() else { return false };
            r.data.add(r.actual).write(b);
            r.actual += 1;
            if u.terminator == Some(b) {
                return true;
            }
        }
        true
    }
}

/// Moves bytes of `io` into the transmit ring; returns whether all are in. Disable held.
///
/// # Safety
/// Disable held; `io` is a live write request whose `data` holds `length` bytes (or a NUL).
unsafe fn fill_write(u: &mut Unit, io: *mut IoRequest) -> bool {
    // SAFETY: `io` is a live write request whose data holds `length` bytes (or a NUL).
    unsafe {
        let r = &mut *io;
        while r.actual < r.length {
            let b = r.data.add(r.actual).read();
            if r.length == usize::MAX && b == 0 {
                r.length = r.actual;
                break;
            }
            if !u.tx.push(b) {
                return false;
            }
            r.actual += 1;
        }
        true
    }
}

/// Pushes transmit-ring bytes into the UART; enables the transmit interrupt while bytes wait.
fn kick_tx(u: &mut Unit) {
    if u.stopped {
        return;
    }
    loop {
        let (a, _) = u.tx.peek();
        if a.is_empty() {
            break;
        }
        let n = uart::send_some(a);
        u.tx.consume(n);
        if n == 0 {
            break;
        }
    }
    uart::set_interrupts(!u.held, !u.tx.is_empty());
}

/// Bytes the receive ring must have free before a held-back sender may go on (a UART FIFO).
const RESUME_ROOM: usize = 16;

/// Takes what the UART received into the receive ring, as far as it has room; when it is
/// full, holds the sender back until reads have made room again. Disable held.
fn receive(u: &mut Unit) {
    let room = RING - u.rx.len();
    if u.held && room < RESUME_ROOM {
        return;
    }
    let (overrun, more) = uart::drain_rx(room, |b| {
        if !u.rx.push(b) {
            u.overflows += 1;
        }
    });
    if overrun {
        u.overflows += 1;
    }
    if more != u.held {
        u.held = more;
        uart::set_rts(!more);
        uart::set_interrupts(!more, !u.tx.is_empty());
    }
}

/// Completes the waiting reads that the receive ring satisfies. Disable held.
///
/// # Safety
/// Disable held; the read queue holds live requests only.
unsafe fn serve_reads(u: &mut Unit) {
    // SAFETY: queued nodes are live requests (IoRequest starts with its message node).
    unsafe {
        while let Some(io) = (u.reads.head() as *mut IoRequest).as_mut() {
            if !fill_read(u, io) {
                break;
            }
            u.reads.rem_head();
            term_io(io);
        }
    }
}

/// Serves waiting requests as far as the rings allow. Disable held.
///
/// # Safety
/// Disable held; the unit's queues hold live requests only.
unsafe fn service(u: &mut Unit) {
    if u.stopped {
        return;
    }
    // SAFETY: queued nodes are live requests (IoRequest starts with its message node).
    unsafe {
        serve_reads(u);
        // Reads made room: let a held-back sender go on, and serve what it sends.
        if u.held {
            receive(u);
            serve_reads(u);
        }
        while let Some(io) = (u.writes.head() as *mut IoRequest).as_mut() {
            let done = if io.command == CMD_UPDATE { u.tx.is_empty() } else { fill_write(u, io) };
            if !done {
                break;
            }
            u.writes.rem_head();
            term_io(io);
        }
    }
    kick_tx(u);
}

/// COM1's interrupt: receive into the ring, feed the transmitter, serve waiting requests.
fn interrupt(_: *mut ()) -> bool {
    // SAFETY: interrupt context (interrupts off); the only reference.
    let u = unsafe { unit() };
    receive(u);
    // SAFETY: interrupt context holds Disable.
    unsafe { service(u) };
    true
}

static SERVER: Global<Interrupt> = Global::new(Interrupt::new("serial.device", 0, interrupt, core::ptr::null_mut()));

/// # Safety
/// As `Device::open`: `req` is a live request not open on any device.
unsafe fn open(_: *mut Device, unit: u32, req: *mut IoRequest, _: u32) -> i8 {
    if unit != 0 {
        return IOERR_OPENFAIL;
    }
    // SAFETY: `req` live (open_device's contract).
    unsafe { (*req).unit = 0 };
    0
}

/// # Safety
/// As `Device::close`: `req` was opened on this device and is idle.
unsafe fn close(_: *mut IoRequest) {}

fn abort_all(list: &mut List) {
    // SAFETY: Disable held by the caller; queued nodes are live requests.
    unsafe {
        loop {
            let io = list.rem_head() as *mut IoRequest;
            if io.is_null() {
                break;
            }
            (*io).error = IOERR_ABORTED;
            term_io(io);
        }
    }
}

/// # Safety
/// As `Device::begin_io`: `io` is a live, open, idle request whose data pointer and length are valid for its command.
unsafe fn begin_io(io: *mut IoRequest) {
    disable();
    // SAFETY: Disable held until the end; the only reference.
    let u = unsafe { unit() };
    // SAFETY: Disable held; `io` is a live request (send_io/do_io's contract).
    unsafe {
        let r = &mut *io;
        r.error = 0;
        let done = match r.command {
            CMD_READ | CMD_WRITE | CMD_UPDATE => {
                r.actual = 0;
                let ready = match r.command {
                    CMD_READ => !u.stopped && u.reads.is_empty() && fill_read(u, io),
                    CMD_WRITE => !u.stopped && u.writes.is_empty() && fill_write(u, io),
                    _ => u.writes.is_empty() && u.tx.is_empty(),
                };
                if r.command == CMD_WRITE {
                    kick_tx(u);
                }
                if !ready {
                    r.flags &= !IOF_QUICK;
                    let list = if r.command == CMD_READ { &mut u.reads } else { &mut u.writes };
                    list.add_tail(io as *mut Node);
                }
                ready
            }
            SDCMD_QUERY => {
                r.actual = u.rx.len();
                r.offset = u.overflows;
                true
            }
            SDCMD_SETPARAMS => {
                u.terminator = (r.offset & SER_TERMINATOR != 0).then_some(r.offset as u8);
                true
            }
            CMD_CLEAR => {
                u.rx.clear();
                true
            }
            CMD_FLUSH => {
                abort_all(&mut u.reads);
                abort_all(&mut u.writes);
                true
            }
            CMD_RESET => {
                abort_all(&mut u.reads);
                abort_all(&mut u.writes);
                u.rx.clear();
                u.terminator = None;
                u.stopped = false;
                true
            }
            CMD_STOP => {
                u.stopped = true;
                true
            }
            CMD_START => {
                u.stopped = false;
                service(u);
                true
            }
            _ => {
                r.error = IOERR_NOCMD;
                true
            }
        };
        if done {
            term_io(io);
        }
        // A read (or CMD_CLEAR) made room for a held-back sender.
        if u.held {
            service(u);
        }
    }
    enable();
}

/// # Safety
/// As `Device::abort_io`: `io` is a live request opened on this device.
unsafe fn abort_io(io: *mut IoRequest) {
    disable();
    // SAFETY: Disable held until the end; the only reference.
    let u = unsafe { unit() };
    // SAFETY: Disable held; `io` live; if queued, it is on one of our lists.
    unsafe {
        for list in [&mut u.reads, &mut u.writes] {
            if list.contains(io as *mut Node) {
                list.remove(io as *mut Node);
                (*io).error = IOERR_ABORTED;
                term_io(io);
            }
        }
    }
    enable();
}

/// The device base. Forbid.
pub static SERIAL_DEVICE: Global<Device> =
    Global::new(Device::new("serial.device", SERIAL_VERSION, 0, "serial.device 1.0 (23.11.2026)", open, close, begin_io, abort_io).with_user_commands(&[SDCMD_QUERY]));

/// Resident init: takes over COM1's interrupts and adds the device.
pub fn init() {
    // SAFETY: statics, added once at boot.
    unsafe {
        exec::interrupts::add_int_server(uart::COM1_IRQ, SERVER.get());
        exec::device::add_device(SERIAL_DEVICE.get());
    }
    uart::set_interrupts(true, false);
}
