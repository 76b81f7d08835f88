//! The DOS handlers (AmigaDOS's DOS devices): RAM:, NIL: and CON:, each an Exec task with a public
//! port named after it, reached only by DOS packets. The boot order starts them
//! (`src/main.rs`): in ring 0 in the flat build ([`start`]), in ring 3 in the mmu build, each in
//! an address space of its own (`mmu_mode::dos::start_handlers`, which runs
//! `ram::entry_ring3` and `nil::entry_ring3`).
//!
//! CON: (`con.rs`) is the console over serial.device: every command's output and input and the
//! shell's go through it.
//!
//! Handler code runs in ring 3 in the mmu build: it calls exec only through `exec::sys`, keeps
//! its state in its own memory (no statics), and prints nothing.

pub mod con;
pub mod nil;
pub mod ram;

/// Starts RAM:, NIL:, CON: and the DOS server in ring 0 (the flat build).
#[cfg(not(feature = "mmu"))]
pub fn start() {
    if ram::start().is_null() || nil::start().is_null() || con::start().is_null() || crate::dos::server::start().is_null() {
        exec::kprintln!("DOS: a handler did not start");
    }
}

/// RAM:'s volume name, as on the Amiga.
pub const RAM_VOLUME: &str = "Ram Disk";

/// Waits (at most two seconds) until every handler has its port, so that what runs after the
/// boot finds RAM: and NIL:, then names RAM:'s volume ([`RAM_VOLUME`]) in the DOS list.
/// Result: whether they all did.
pub fn await_ports() -> bool {
    for _ in 0..2 * exec::time::TICK_HZ {
        let up = |name| !exec::sys::find_port(name).is_null();
        if up(ram::PORT_NAME) && up(nil::PORT_NAME) && up(con::PORT_NAME) && up(crate::dos::server::PORT_NAME) {
            let named = crate::dos::assign::add_volume(RAM_VOLUME, ram::PORT_NAME);
            // The boot task was a DOS process for that packet only.
            crate::dos::process::end_process();
            if let Err(e) = named {
                exec::kprintln!("DOS: RAM:'s volume was not named ({e})");
            }
            return true;
        }
        exec::time::wait_ticks(1);
    }
    exec::kprintln!("DOS: the handlers did not open their ports");
    false
}

/// Ends the calling ring-3 handler (mmu build: a handler whose port could not be made, or
/// that was mounted without a name).
#[cfg(feature = "mmu")]
pub(crate) fn end_ring3() -> ! {
    // SAFETY: ends the calling task (ring 3: rem_task of null is its own end).
    unsafe { exec::sys::rem_task(core::ptr::null_mut()) };
    unreachable!("rem_task of the running task returns to nobody")
}

/// The task number of the client that sent `msg` (0 if unknown). Flat build: its reply
/// port's owner. mmu build: the handler sees only its copy of the packet, whose header the
/// kernel wrote with the sender's number in `pred` (`mmu-mode/src/msg`).
///
/// # Safety
/// `msg` is a live message the caller holds.
pub(crate) unsafe fn sender_of(msg: *mut exec::port::Message) -> u64 {
    #[cfg(not(feature = "mmu"))]
    // SAFETY: per the contract; the reply port and its owner live while the message is out.
    unsafe {
        let reply = (*msg).reply_port;
        if reply.is_null() || (*reply).sig_task.is_null() { 0 } else { (*(*reply).sig_task).id() }
    }
    #[cfg(feature = "mmu")]
    // SAFETY: per the contract: the handler's own copy.
    unsafe {
        (*msg).node.pred as u64
    }
}

/// A handler's clock: timer.device opened once, asked for the date when something changes.
struct Clock {
    req: devices::timer::TimeRequest,
    open: bool,
}

impl Clock {
    fn open() -> Clock {
        let port = exec::sys::create_msg_port();
        let mut c = Clock { req: devices::timer::TimeRequest::new(port), open: false };
        // SAFETY: the request lives in the Clock, which the handler keeps for good (it never
        // ends while it serves, so the request is never dropped open).
        c.open = !port.is_null() && unsafe { exec::sys::open_device("timer.device", devices::timer::UNIT_MICROHZ, &mut c.req.io, 0) } == 0;
        c
    }

    /// Seconds since 1978-01-01 (0 if timer.device did not open).
    fn now(&mut self) -> u64 {
        if !self.open {
            return 0;
        }
        self.req.io.command = devices::timer::TR_GETSYSTIME;
        // SAFETY: our open request; do_io waits for it.
        unsafe { exec::sys::do_io(&mut self.req.io) };
        self.req.time.secs
    }
}
