//! The DOS handlers (AmigaDOS's DOS devices): RAM: and NIL:, each an Exec task with a public
//! port named after it, reached only by DOS packets. The boot order starts them
//! (`src/main.rs`): in ring 0 in the flat build ([`start`]), in ring 3 in the mmu build, each in
//! an address space of its own (`mmu_mode::dos::start_handlers`, which runs
//! `ram::entry_ring3` and `nil::entry_ring3`).
//!
//! CON: (the console handler over serial.device) is not built yet: the shell and its commands
//! still reach the console through serial.device (`workbench-shell/src/con.rs`).
//!
//! Handler code runs in ring 3 in the mmu build: it calls exec only through `exec::sys`, keeps
//! its state in its own memory (no statics), and prints nothing.

pub mod nil;
pub mod ram;

/// Starts RAM:, NIL: and the DOS server in ring 0 (the flat build).
#[cfg(not(feature = "mmu"))]
pub fn start() {
    if ram::start().is_null() || nil::start().is_null() || crate::dos::server::start().is_null() {
        exec::kprintln!("DOS: a handler did not start");
    }
}

/// Waits (at most two seconds) until every handler has its port, so that what runs after the
/// boot finds RAM: and NIL:. Result: whether they all did.
pub fn await_ports() -> bool {
    for _ in 0..2 * exec::time::TICK_HZ {
        let up = |name| !exec::sys::find_port(name).is_null();
        if up(ram::PORT_NAME) && up(nil::PORT_NAME) && up(crate::dos::server::PORT_NAME) {
            return true;
        }
        exec::time::wait_ticks(1);
    }
    exec::kprintln!("DOS: the handlers did not open their ports");
    false
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
