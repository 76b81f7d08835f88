//! The NIL: handler: swallows what is written and reads as the end of a file. An Exec task
//! with a public port named `NIL`, reached only by DOS packets, like RAM:. It has no
//! directories: lock and name actions get ACTION_NOT_KNOWN.

use exec::port::Message;
#[cfg(not(feature = "mmu"))]
use exec::task::Task;

use crate::dos::packet::packet_of;
use crate::dosdefs::{DOSFALSE, DOSTRUE, action, error};

/// The handler's port name (`NIL:` finds it).
pub const PORT_NAME: &str = "NIL";

/// Starts the NIL: handler task in ring 0 (the flat build). Result: the task, or null.
#[cfg(not(feature = "mmu"))]
pub fn start() -> *mut Task {
    exec::task::add_task("NIL", 0, |_| serve(), 0, 8 * 1024)
}

/// The NIL: handler as a ring-3 task (mmu build).
#[cfg(feature = "mmu")]
pub extern "C" fn entry_ring3(_: u64) -> ! {
    serve();
    super::end_ring3()
}

/// Serves packets at a new public port `NIL` for good (returns only when it cannot start).
fn serve() {
    let port = exec::sys::create_port(Some(PORT_NAME), 0);
    if port.is_null() {
        return;
    }
    let mut msg: *mut Message = core::ptr::null_mut();
    loop {
        // SAFETY: our own port; `msg` is null or the packet answered below.
        msg = unsafe { exec::sys::reply_wait(msg, port) };
        // SAFETY: the message we hold (a short one goes back untouched at the next wait).
        if msg.is_null() || !unsafe { crate::dos::packet::is_packet(msg) } {
            continue;
        }
        // SAFETY: only packets are sent to a handler's port (dos.library's contract).
        let pkt = unsafe { packet_of(msg) };
        let (res1, res2) = match pkt.kind {
            // Every open succeeds, with one handle that means nothing.
            action::FINDINPUT | action::FINDOUTPUT | action::FINDUPDATE => (1, 0),
            action::READ => (0, 0),
            action::WRITE if pkt.args[2] >= 0 => (pkt.args[2], 0),
            action::WRITE => (-1, error::BAD_NUMBER),
            action::SEEK | action::SET_FILE_SIZE => (0, 0),
            action::END => (DOSTRUE, 0),
            action::IS_FILESYSTEM => (DOSFALSE, 0),
            _ => (DOSFALSE, error::ACTION_NOT_KNOWN),
        };
        pkt.res1 = res1;
        pkt.res2 = res2;
    }
}
