//! DOS packets: an Exec message with a `DosPacket` behind it (AmigaDOS's StandardPacket).
//! Every file operation is one: dos.library fills a packet, sends it to the handler's port
//! with [`do_pkt`] (exec's `do_msg`: put, wait for that message, take it back), and the
//! handler answers with `reply_wait` (reply, and wait for the next).
//!
//! The arguments of each action (Lorraine's layout; AmigaDOS passes BSTRs and BPTRs, here a
//! name is a pointer and a length, and a lock or file is the handler's handle):
//!
//! | action | arg1 | arg2 | arg3 | arg4 | res1 |
//! |---|---|---|---|---|---|
//! | FINDINPUT/FINDOUTPUT/FINDUPDATE | — | dir lock | name ptr | name len | file handle, 0 on failure |
//! | READ / WRITE | file | buffer | length | — | bytes moved, -1 on failure |
//! | SEEK | file | offset | mode | — | old position, -1 on failure |
//! | SET_FILE_SIZE | file | offset | mode | — | new size, -1 on failure |
//! | END | file | — | — | — | DOSTRUE |
//! | LOCATE_OBJECT | dir lock | name ptr | name len | SHARED/EXCLUSIVE | lock, 0 on failure |
//! | FREE_LOCK, COPY_DIR, PARENT | lock | — | — | — | DOSTRUE / lock (0: none) |
//! | EXAMINE_OBJECT / EXAMINE_NEXT | lock | `*mut FileInfoBlock` | — | — | DOSTRUE |
//! | DELETE_OBJECT / CREATE_DIR | dir lock | name ptr | name len | — | DOSTRUE / lock |
//! | RENAME_OBJECT | from dir | from ptr | from len | to dir, to ptr, to len (arg4..6) | DOSTRUE |
//! | SET_PROTECT | — | dir lock | name ptr | name len, bits (arg5) | DOSTRUE |
//! | INFO / DISK_INFO | lock (INFO) | `*mut InfoData` | — | — | DOSTRUE |
//! | IS_FILESYSTEM | — | — | — | — | DOSTRUE or DOSFALSE |
//!
//! On failure res1 is as shown and res2 holds the error code (`dosdefs::error`).
//!
//! How a packet's data crosses: in the flat build the handler reads and writes the client's
//! buffer by pointer, as on the Amiga. In the mmu build the handlers run in ring 0 for now, so
//! the same holds; handlers in ring 3 need messages across rings and lent buffers
//! (`msg_read`/`msg_write`, issue 12's item 2), not built yet.

use exec::port::{Message, MsgPort};

/// A packet's body (`struct DosPacket`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct DosPacket {
    /// The action (`dosdefs::action`).
    pub kind: i64,
    pub res1: i64,
    pub res2: i64,
    pub args: [i64; 7],
}

/// A message and its packet in one block (`struct StandardPacket`): the handler receives the
/// message and finds the packet behind it.
#[repr(C)]
pub struct StandardPacket {
    pub msg: Message,
    pub pkt: DosPacket,
}

impl StandardPacket {
    /// A packet of `kind` with `args`, replied to `reply`.
    pub fn new(reply: *mut MsgPort, kind: i64, args: &[i64]) -> StandardPacket {
        let mut pkt = DosPacket { kind, ..DosPacket::default() };
        pkt.args[..args.len()].copy_from_slice(args);
        StandardPacket { msg: Message::new(reply, size_of::<StandardPacket>()), pkt }
    }
}

/// The packet a handler received.
///
/// # Safety
/// `msg` came to a DOS handler's port, which only packets reach: it is the first field of a
/// live [`StandardPacket`], held by the caller until it replies.
pub unsafe fn packet_of<'a>(msg: *mut Message) -> &'a mut DosPacket {
    // SAFETY: per the contract; `msg` is the first field of a repr(C) StandardPacket.
    unsafe { &mut (*(msg as *mut StandardPacket)).pkt }
}

/// Sends a packet of `kind` with `args` to `port` and waits for its answer (`DoPkt()`).
/// Result: (res1, res2); `(0, ERROR_NO_FREE_STORE)` when the caller has no packet port, and
/// `(0, ERROR_DEVICE_NOT_MOUNTED)` when the handler ended before answering. Not callable from an
/// interrupt (it waits).
///
/// # Safety
/// `port` is a live DOS handler's port, and every pointer in `args` is valid for what the
/// action does with it until the call returns.
pub unsafe fn do_pkt(port: *mut MsgPort, kind: i64, args: &[i64]) -> (i64, i64) {
    let reply = super::process::packet_port();
    if reply.is_null() {
        return (0, crate::dosdefs::error::NO_FREE_STORE);
    }
    let mut sp = StandardPacket::new(reply, kind, args);
    // SAFETY: the handler's port (caller) and our own reply port; the packet lives on this
    // frame until do_msg gives it back.
    let back = unsafe { exec::sys::do_msg(port, &mut sp.msg) };
    if back.is_null() || sp.msg.error != 0 {
        return (0, crate::dosdefs::error::DEVICE_NOT_MOUNTED);
    }
    (sp.pkt.res1, sp.pkt.res2)
}

/// Sends `sp` to `port` without waiting (`SendPkt()`); collect it with [`wait_pkt`].
///
/// # Safety
/// `port` is a live DOS handler's port; `sp` and the pointers in its arguments stay valid
/// until it is back; its reply port signals the caller.
pub unsafe fn send_pkt(sp: &mut StandardPacket, port: *mut MsgPort) {
    // SAFETY: per the contract.
    unsafe { exec::sys::put_msg(port, &mut sp.msg) };
}

/// Waits for the next packet at the caller's packet port and takes it (`WaitPkt()`).
/// Result: the packet's message, null if the caller has no packet port.
pub fn wait_pkt() -> *mut Message {
    let port = super::process::packet_port();
    if port.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: the caller's own port.
    unsafe { exec::sys::wait_port(port) };
    // SAFETY: the caller's own port, which has a message.
    unsafe { exec::sys::get_msg(port) }
}

/// Answers a packet with `res1` and `res2` (`ReplyPkt()`).
///
/// # Safety
/// `msg` is a packet the caller received and has not replied.
pub unsafe fn reply_pkt(msg: *mut Message, res1: i64, res2: i64) {
    // SAFETY: per the contract.
    unsafe {
        let p = packet_of(msg);
        p.res1 = res1;
        p.res2 = res2;
        exec::sys::reply_msg(msg);
    }
}
