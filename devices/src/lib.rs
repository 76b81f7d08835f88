//! # devices: Lorraine's Exec devices
//!
//! serial.device and timer.device, each an Exec device opened by name and driven by
//! IORequests, started at boot as residents.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod ring;
pub mod timerqueue;

#[cfg(target_os = "none")]
pub mod bench;
#[cfg(target_os = "none")]
pub mod serial;
#[cfg(target_os = "none")]
pub mod timer;
#[cfg(target_os = "none")]
mod ktests;

#[cfg(target_os = "none")]
pub use resident::*;
#[cfg(target_os = "none")]
pub use ktests::TESTS;

#[cfg(target_os = "none")]
mod resident {
    use exec::list::NodeType;
    use exec::resident::Resident;

    /// timer.device: started early, others use it.
    pub static TIMER_RESIDENT: Resident = Resident {
        name: "timer.device",
        version: crate::timer::TIMER_VERSION,
        pri: 50,
        kind: NodeType::Device,
        id_string: "timer.device 1.0 (23.11.2026)",
        init: crate::timer::init,
    };

    /// serial.device.
    pub static SERIAL_RESIDENT: Resident = Resident {
        name: "serial.device",
        version: crate::serial::SERIAL_VERSION,
        pri: 0,
        kind: NodeType::Device,
        id_string: "serial.device 1.0 (23.11.2026)",
        init: crate::serial::init,
    };
}

/// Sleeps the calling task for `ms` milliseconds with timer.device (a convenience for
/// tasks and tests; opens and closes the device each time). Through exec's vector table, so
/// from either ring. Not callable from an interrupt.
#[cfg(target_os = "none")]
pub fn timer_sleep_ms(ms: u64) {
    use exec::sys::{close_device, create_msg_port, delete_msg_port, do_io, open_device};
    let port = create_msg_port();
    if port.is_null() {
        return;
    }
    let mut req = timer::TimeRequest::new(port);
    // SAFETY: the request and port live on this frame until closed and deleted.
    unsafe {
        if open_device("timer.device", timer::UNIT_MICROHZ, &mut req.io, 0) == 0 {
            req.io.command = timer::TR_ADDREQUEST;
            req.time = timer::TimeVal::from_nanos(ms * 1_000_000);
            do_io(&mut req.io);
            close_device(&mut req.io);
        }
        delete_msg_port(port);
    }
}
