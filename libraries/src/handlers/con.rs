//! The CON: handler: the console, over serial.device, reached only by DOS packets like every
//! handler. The shell's and every command's output goes through it (`workbench-shell`'s
//! `Con` writes to a CON: file handle), so a command's output, a background RUN's and the
//! shell's own take the same path; `>` sends a command's output to another handler instead.
//!
//! Where line editing lives: in the shell, as AmigaOS 3.x's shell adds history and completion
//! on top of CON:'s editing. Here CON: is raw (as AmigaDOS's RAW:): it writes the bytes it is
//! given as they are (the shell and `Con` have already turned `\n` into CR LF and drawn the
//! prompt), and the shell reads its keys from serial.device itself, to edit lines. So CON:
//! gives no input yet: READ gets ERROR_ACTION_NOT_KNOWN (no command reads Input(), and `<`
//! is refused).

use exec::device::{CMD_WRITE, IoRequest};
use exec::handles::HandleTable;
use exec::port::Message;

use crate::dos::packet::{attached, packet_of};
use crate::dosdefs::{DOSFALSE, DOSTRUE, action, error};

/// The handler's port name (`CON:` finds it).
pub const PORT_NAME: &str = "CON";

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

fn serve() {
    let reply = exec::sys::create_msg_port();
    if reply.is_null() {
        return;
    }
    let mut serial = IoRequest::new(reply, size_of::<IoRequest>());
    // SAFETY: the request lives on this frame, which serves for good.
    if unsafe { exec::sys::open_device("serial.device", 0, &mut serial, 0) } != 0 {
        return;
    }
    let port = exec::sys::create_port(Some(PORT_NAME), 0);
    if port.is_null() {
        return;
    }
    let mut open: HandleTable<()> = HandleTable::new();
    let mut msg: *mut Message = core::ptr::null_mut();
    loop {
        // SAFETY: our own port; `msg` is null or the packet answered below.
        msg = unsafe { exec::sys::reply_wait(msg, port) };
        if msg.is_null() {
            continue;
        }
        // SAFETY: only packets come to a handler's port (dos.library's contract).
        let (kind, a) = unsafe { (packet_of(msg).kind, packet_of(msg).args) };
        let (res1, res2) = match kind {
            action::FINDINPUT | action::FINDOUTPUT | action::FINDUPDATE => (open.insert(()) as i64, 0),
            action::WRITE => match (open.get(a[0] as u64), a[2]) {
                (None, _) => (-1, error::INVALID_LOCK),
                (Some(()), len) if len < 0 => (-1, error::BAD_NUMBER),
                // SAFETY: the packet we hold; its attachment is valid until the answer.
                (Some(()), len) => match unsafe { attached(msg, a[1], len as usize) } {
                    None => (-1, error::REQUIRED_ARG_MISSING),
                    Some(bytes) => {
                        serial.command = CMD_WRITE;
                        serial.data = bytes.as_mut_ptr();
                        serial.length = bytes.len();
                        // SAFETY: our open request; the bytes stay put until the (synchronous)
                        // write is done.
                        unsafe { exec::sys::do_io(&mut serial) };
                        (len, 0)
                    }
                },
            },
            action::END => match open.remove(a[0] as u64) {
                Some(()) => (DOSTRUE, 0),
                None => (DOSFALSE, error::INVALID_LOCK),
            },
            action::IS_FILESYSTEM => (DOSFALSE, 0),
            _ => (DOSFALSE, error::ACTION_NOT_KNOWN),
        };
        // SAFETY: as above.
        let pkt = unsafe { packet_of(msg) };
        pkt.res1 = res1;
        pkt.res2 = res2;
    }
}
