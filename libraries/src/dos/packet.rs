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
//! How a packet's data crosses ([`do_pkt_with`], [`attached`], [`data`]): the name, the buffer
//! of READ and WRITE, a FileInfoBlock or InfoData are the packet's *attachments*.
//! - In the flat build an attachment's argument is its address: the handler reads and writes
//!   the client's memory by pointer, as on the Amiga.
//! - In the mmu build a handler may run in ring 3, in its own address space, and cannot reach
//!   the client's memory. Two ways, chosen by the client per attachment:
//!   - **Lent** (READ's and WRITE's data of [`LEND_MIN`] bytes or more, [`Attach::LentIn`] and
//!     [`Attach::LentOut`]): the
//!     message lends the client's buffer (`exec::lend`, QNX's MsgRead/MsgWrite), and the
//!     argument is `-(index + 1)` of the buffer in the message's lends. The handler copies
//!     through the kernel, straight between the buffer and its own data ([`Data`]): RAM:
//!     writes a READ's bytes from the file into the client's buffer in one copy. The data never
//!     rides in the message, so a packet stays small whatever the buffer's size.
//!   - **Inline** (names and small structures): the attachment travels *inside the message*,
//!     after the packet, and its argument is its offset from the message's start. The kernel
//!     copies the whole message into a ring-3 handler's memory when it takes it and back at
//!     the reply, so what the handler wrote (a FileInfoBlock) comes back to the client, which
//!     copies it out.
//!
//! The handler checks every offset against the message's length, which the kernel wrote, and
//! the kernel checks every lent copy; nothing a packet says can make a handler touch memory
//! outside its own and what was lent to it. `make bench`'s dos rows measure it.

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

/// Whether the message a handler received at `msg` is long enough to be a packet. A shorter
/// one (a header alone: anyone can send one) is replied untouched: its packet fields would lie
/// past its end. In the mmu build a ring-3 handler reads the length the kernel wrote.
///
/// # Safety
/// `msg` is a live message the caller holds.
pub unsafe fn is_packet(msg: *const Message) -> bool {
    // SAFETY: per the contract.
    unsafe { (*msg).length >= size_of::<StandardPacket>() }
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
/// `port` is a DOS handler's port (one whose handler has ended since is found gone and not
/// followed), and every pointer in `args` is valid for what the action does with it until the
/// call returns.
pub(crate) unsafe fn do_pkt(port: *mut MsgPort, kind: i64, args: &[i64]) -> (i64, i64) {
    let reply = super::process::packet_port();
    if reply.is_null() {
        return (0, crate::dosdefs::error::NO_FREE_STORE);
    }
    let mut sp = StandardPacket::new(reply, kind, args);
    // SAFETY: the handler's port, checked live under Forbid (see `send`), and our own reply
    // port; the packet lives on this frame until do_msg gives it back.
    #[cfg(feature = "mmu")]
    let back = unsafe { send(port, &mut sp.msg, None) };
    #[cfg(not(feature = "mmu"))]
    // SAFETY: as above.
    let back = unsafe { send(port, &mut sp.msg) };
    if back.is_null() || sp.msg.error != 0 {
        return (0, crate::dosdefs::error::DEVICE_NOT_MOUNTED);
    }
    (sp.pkt.res1, sp.pkt.res2)
}

/// The smallest READ or WRITE data that is lent rather than carried inline (mmu build). Below
/// it the two copies inline cost less than the handler's extra gate call and the sender's
/// registration: `make bench` measured a 64-byte Read at 2,315 instructions inline and 3,164
/// lent, and a 1 MiB COPY in 16 KiB packets at 1,795,444 inline and 971,801 lent. Where
/// between the two the crossover lies was not measured; 512 is a choice.
pub const LEND_MIN: usize = 512;

/// A buffer a packet carries to its handler: one it only reads (a name, WRITE's data) or one
/// it fills (READ's buffer, a FileInfoBlock, InfoData; its bytes go to the handler too).
pub enum Attach<'a> {
    In(&'a [u8]),
    InOut(&'a mut [u8]),
    /// Filled by the handler only: in the mmu build not copied to it first.
    Out(&'a mut [u8]),
    /// WRITE's data: read by the handler; lent in the mmu build from [`LEND_MIN`] bytes on,
    /// else as `In` (see the module's notes).
    LentIn(&'a [u8]),
    /// READ's buffer: filled by the handler; lent in the mmu build from [`LEND_MIN`] bytes on,
    /// else as `Out`.
    LentOut(&'a mut [u8]),
}

impl Attach<'_> {
    /// Whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer's length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Attach::In(b) | Attach::LentIn(b) => b.len(),
            Attach::InOut(b) | Attach::Out(b) | Attach::LentOut(b) => b.len(),
        }
    }

    fn addr(&self) -> i64 {
        match self {
            Attach::In(b) | Attach::LentIn(b) => b.as_ptr() as i64,
            Attach::InOut(b) | Attach::Out(b) | Attach::LentOut(b) => b.as_ptr() as i64,
        }
    }

    /// Whether it is lent in the mmu build (not copied into the message): READ's and WRITE's
    /// data from [`LEND_MIN`] bytes on.
    #[cfg_attr(not(feature = "mmu"), allow(dead_code, reason = "the flat build passes every attachment's address"))]
    fn lent(&self) -> bool {
        matches!(self, Attach::LentIn(_) | Attach::LentOut(_)) && self.len() >= LEND_MIN
    }
}

/// A structure that crosses in a packet as its bytes (FileInfoBlock, InfoData).
///
/// # Safety
/// `repr(C)` without padding, and every bit pattern of its size is a valid value.
pub unsafe trait PacketData: Copy {
    /// Its bytes, to attach to a packet.
    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: the trait's contract: no padding, so every byte is initialised, and any
        // bytes written make a valid value.
        unsafe { core::slice::from_raw_parts_mut(self as *mut Self as *mut u8, size_of::<Self>()) }
    }

    /// The value in `bytes` (at least its size; any alignment).
    fn read_from(bytes: &[u8]) -> Self {
        assert!(bytes.len() >= size_of::<Self>());
        // SAFETY: enough bytes (asserted); any bit pattern is valid (the trait's contract).
        unsafe { (bytes.as_ptr() as *const Self).read_unaligned() }
    }

    /// Writes the value into `bytes` (at least its size; any alignment).
    fn write_to(&self, bytes: &mut [u8]) {
        assert!(bytes.len() >= size_of::<Self>());
        // SAFETY: enough bytes (asserted).
        unsafe { (bytes.as_mut_ptr() as *mut Self).write_unaligned(*self) };
    }
}

// SAFETY: repr(C), fields laid out without padding (the explicit `reserved` fills the tail).
unsafe impl PacketData for crate::dosdefs::FileInfoBlock {}
// SAFETY: repr(C), eight i64: no padding.
unsafe impl PacketData for crate::dosdefs::InfoData {}

/// [`do_pkt`] with attachments: each `(index, buffer)` puts the buffer's place in
/// `args[index]` as the build passes it (see the module's notes), and what the handler wrote
/// into an `InOut` buffer is in it afterwards. Not callable from an interrupt.
///
/// # Safety
/// As [`do_pkt`], for the pointers in `args` that are not attachments.
pub(crate) unsafe fn do_pkt_with(port: *mut MsgPort, kind: i64, args: &[i64], attach: &mut [(usize, Attach<'_>)]) -> (i64, i64) {
    let mut a = [0i64; 7];
    a[..args.len()].copy_from_slice(args);
    #[cfg(not(feature = "mmu"))]
    {
        for (i, b) in attach.iter() {
            a[*i] = b.addr();
        }
        // SAFETY: per the contract; the attachments are borrowed until the answer.
        unsafe { do_pkt(port, kind, &a) }
    }
    #[cfg(feature = "mmu")]
    {
        let reply = super::process::packet_port();
        if reply.is_null() {
            return (0, crate::dosdefs::error::NO_FREE_STORE);
        }
        // The message: the packet, then each inline attachment at an 8-byte boundary, then
        // (if anything is lent) the lends table, in the message's last bytes.
        let mut at = size_of::<StandardPacket>();
        let mut offsets = [0usize; 7];
        let mut lends = exec::sys_gate::Lends::default();
        for (n, (i, b)) in attach.iter().enumerate() {
            if b.lent() {
                let index = lends.count as usize;
                if index >= exec::sys_gate::LENDS_MAX {
                    return (0, crate::dosdefs::error::BAD_NUMBER);
                }
                let access = if matches!(b, Attach::LentIn(_)) { exec::sys_gate::LEND_READ } else { exec::sys_gate::LEND_WRITE };
                lends.bufs[index] = exec::sys_gate::Lend { addr: b.addr() as u64, len: b.len() as u64, access };
                lends.count += 1;
                a[*i] = -(index as i64 + 1);
                continue;
            }
            offsets[n] = at;
            a[*i] = at as i64;
            at += b.len().next_multiple_of(8);
        }
        let table = at;
        if lends.count > 0 {
            at += size_of::<exec::sys_gate::Lends>();
        }
        let mut words: alloc::vec::Vec<u64> = alloc::vec::Vec::new();
        if words.try_reserve_exact(at / 8).is_err() {
            return (0, crate::dosdefs::error::NO_FREE_STORE);
        }
        words.resize(at / 8, 0);
        let base = words.as_mut_ptr() as *mut u8;
        // SAFETY: `words` holds `at` bytes, 8-aligned: the packet first, then the inline
        // attachments at their offsets and the table at its place, each within it.
        unsafe {
            (base as *mut StandardPacket).write(StandardPacket::new(reply, kind, &a));
            (*(base as *mut StandardPacket)).msg.length = at;
            for (n, (_, b)) in attach.iter().enumerate() {
                if b.lent() {
                    continue;
                }
                let src = match b {
                    Attach::In(b) | Attach::LentIn(b) => *b,
                    Attach::InOut(b) => &**b,
                    Attach::Out(_) | Attach::LentOut(_) => continue,
                };
                core::ptr::copy_nonoverlapping(src.as_ptr(), base.add(offsets[n]), src.len());
            }
            if lends.count > 0 {
                (base.add(table) as *mut exec::sys_gate::Lends).write_unaligned(lends);
            }
        }
        let sp = base as *mut StandardPacket;
        // SAFETY: the handler's port, checked live (see `send`); our reply port; the message
        // lives in `words`, and the lent buffers are borrowed, until do_msg gives it back.
        let back = unsafe { send(port, &raw mut (*sp).msg, (lends.count > 0).then_some(&lends)) };
        // SAFETY: back with us (or never sent): ours to read.
        let (error, res1, res2) = unsafe { ((*sp).msg.error, (*sp).pkt.res1, (*sp).pkt.res2) };
        if back.is_null() || error != 0 {
            return (0, crate::dosdefs::error::DEVICE_NOT_MOUNTED);
        }
        for (n, (_, b)) in attach.iter_mut().enumerate() {
            let inline = !b.lent();
            if let Attach::InOut(b) | Attach::Out(b) | Attach::LentOut(b) = b
                && inline
            {
                // SAFETY: within `words`, as written above; the handler's answer is in it.
                b.copy_from_slice(unsafe { core::slice::from_raw_parts(base.add(offsets[n]), b.len()) });
            }
        }
        (res1, res2)
    }
}

/// The attachment a handler received as argument `arg` of `len` bytes (see [`do_pkt_with`]);
/// `None` when it is not there: a null pointer (flat), or an offset outside the message
/// (mmu).
///
/// # Safety
/// `msg` is a packet the caller holds (as [`packet_of`]). In the flat build `arg`, if not
/// null, is the client's buffer of `len` bytes, valid until the answer (the client's word, as
/// on the Amiga).
pub unsafe fn attached<'a>(msg: *mut Message, arg: i64, len: usize) -> Option<&'a mut [u8]> {
    if len == 0 {
        return Some(&mut []);
    }
    #[cfg(not(feature = "mmu"))]
    {
        let _ = msg;
        // SAFETY: per the contract.
        (arg != 0).then(|| unsafe { core::slice::from_raw_parts_mut(arg as *mut u8, len) })
    }
    #[cfg(feature = "mmu")]
    {
        // SAFETY: the message is the handler's own copy; its length is the kernel's.
        let total = unsafe { (*msg).length };
        let off = usize::try_from(arg).ok()?;
        if off < size_of::<StandardPacket>() || off.checked_add(len)? > total {
            return None;
        }
        // SAFETY: within the handler's own copy of the message (checked above).
        Some(unsafe { core::slice::from_raw_parts_mut((msg as *mut u8).add(off), len) })
    }
}

/// A data buffer a packet carries (READ's or WRITE's), as its handler reaches it.
pub enum Data<'a> {
    /// In the handler's reach: the client's buffer (flat), or inside the handler's copy of
    /// the message (mmu, inline).
    Here(&'a mut [u8]),
    /// Lent by the client (mmu): copied through the kernel.
    #[cfg(feature = "mmu")]
    Lent { msg: *mut Message, index: usize, len: usize },
}

impl Data<'_> {
    /// The bytes the client says it has.
    pub fn len(&self) -> usize {
        match self {
            Data::Here(b) => b.len(),
            #[cfg(feature = "mmu")]
            Data::Lent { len, .. } => *len,
        }
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, if they are in the handler's reach (not lent).
    pub fn here(&self) -> Option<&[u8]> {
        match self {
            Data::Here(b) => Some(b),
            #[cfg(feature = "mmu")]
            Data::Lent { .. } => None,
        }
    }

    /// [`Data::here`], to write.
    pub fn here_mut(&mut self) -> Option<&mut [u8]> {
        match self {
            Data::Here(b) => Some(b),
            #[cfg(feature = "mmu")]
            Data::Lent { .. } => None,
        }
    }

    /// Copies the buffer's bytes from `offset` into `to` (as many as fit). Result: how many;
    /// `None` if the kernel refused the copy (the buffer is not lent that way, or its client
    /// has gone).
    pub fn read_into(&self, offset: usize, to: &mut [u8]) -> Option<usize> {
        match self {
            Data::Here(b) => {
                let offset = offset.min(b.len());
                let n = to.len().min(b.len() - offset);
                to[..n].copy_from_slice(&b[offset..offset + n]);
                Some(n)
            }
            #[cfg(feature = "mmu")]
            &Data::Lent { msg, index, len } => {
                let n = to.len().min(len.saturating_sub(offset));
                exec::lend::msg_read(msg, index, offset, &mut to[..n]).ok()
            }
        }
    }

    /// Copies `from` into the buffer at `offset` (as much as fits). Result: how many bytes;
    /// `None` if the kernel refused the copy.
    pub fn write_from(&mut self, offset: usize, from: &[u8]) -> Option<usize> {
        match self {
            Data::Here(b) => {
                let offset = offset.min(b.len());
                let n = from.len().min(b.len() - offset);
                b[offset..offset + n].copy_from_slice(&from[..n]);
                Some(n)
            }
            #[cfg(feature = "mmu")]
            &mut Data::Lent { msg, index, len } => {
                let n = from.len().min(len.saturating_sub(offset));
                exec::lend::msg_write(msg, index, offset, &from[..n]).ok()
            }
        }
    }
}

/// The data buffer a handler received as argument `arg` of `len` bytes (see [`do_pkt_with`]):
/// lent (mmu, a negative argument) or within its reach ([`attached`]). `None` when it is not
/// there.
///
/// # Safety
/// As [`attached`].
pub unsafe fn data<'a>(msg: *mut Message, arg: i64, len: usize) -> Option<Data<'a>> {
    #[cfg(feature = "mmu")]
    if arg < 0 {
        let index = usize::try_from(-(arg + 1)).ok().filter(|&i| i < exec::sys_gate::LENDS_MAX)?;
        return Some(Data::Lent { msg, index, len });
    }
    // SAFETY: per the contract.
    unsafe { attached(msg, arg, len) }.map(Data::Here)
}

/// Whether `port` is still a handler's public port. A lock or file holds its handler's port,
/// and a handler can end (a ring-3 one by a fault): a port that went is not followed. Walks
/// the public ports (a few; their number is bounded by the tasks' quotas). Forbid held.
fn handler_alive(port: *mut MsgPort) -> bool {
    let mut found = false;
    exec::port::for_each_port(|p| found |= core::ptr::eq(p, port));
    found
}

/// do_msg to `port` if it is still there (else null, nothing sent): under Forbid from the
/// check to the put, so that the port cannot go in between; if its handler ends after that,
/// the packet comes back marked receiver-gone. In the mmu build `lends`, if any, are what the
/// message lends (in ring 3 the message ends with the same table).
///
/// # Safety
/// As exec's do_msg, but for `port`, which may have gone; the lent buffers stay valid until
/// the message is back.
unsafe fn send(port: *mut MsgPort, msg: *mut Message, #[cfg(feature = "mmu")] lends: Option<&exec::sys_gate::Lends>) -> *mut Message {
    #[cfg(feature = "mmu")]
    // SAFETY: per the contract.
    let go = || unsafe {
        match lends {
            Some(l) => exec::lend::do_msg_lending(port, msg, l),
            None => exec::sys::do_msg(port, msg),
        }
    };
    #[cfg(not(feature = "mmu"))]
    // SAFETY: per the contract.
    let go = || unsafe { exec::sys::do_msg(port, msg) };
    #[cfg(feature = "mmu")]
    if exec::arch::x86_64::cpu::in_ring3() {
        // A ring-3 task names ports by handles, which the gate checks: one whose port went is
        // refused, and do_msg returns null.
        return go();
    }
    exec::sys::forbid();
    // A live port (checked under Forbid, which holds until the put: exec's wait breaks it
    // only after).
    let back = if handler_alive(port) { go() } else { core::ptr::null_mut() };
    exec::sys::permit();
    back
}

/// put_msg to `port` if it is still there (see [`send`]), for `console.rs`'s reader, which
/// must not wait for an answer to a packet that was never sent. Result: whether it was sent.
/// In ring 3 (mmu build) the gate says so: it refuses a port that has gone.
///
/// # Safety
/// As exec's put_msg, but for `port`, which may have gone.
pub(super) unsafe fn put_live(port: *mut MsgPort, msg: *mut Message) -> bool {
    #[cfg(feature = "mmu")]
    if exec::arch::x86_64::cpu::in_ring3() {
        return exec::sys_gate::try_put_msg(port, msg);
    }
    exec::sys::forbid();
    let alive = handler_alive(port);
    if alive {
        // SAFETY: a live port (checked under Forbid, held until the put); the rest per the
        // contract.
        unsafe { exec::sys::put_msg(port, msg) };
    }
    exec::sys::permit();
    alive
}

/// Sends `sp` to `port` without waiting (`SendPkt()`); collect it with [`wait_pkt`].
///
/// # Safety
/// `port` is a live DOS handler's port; `sp` and the pointers in its arguments stay valid
/// until it is back; its reply port signals the caller.
pub(crate) unsafe fn send_pkt(sp: &mut StandardPacket, port: *mut MsgPort) {
    // SAFETY: per the contract.
    unsafe { exec::sys::put_msg(port, &mut sp.msg) };
}

/// Waits for the next packet at the caller's packet port and takes it (`WaitPkt()`).
/// Result: the packet's message, null if the caller has no packet port.
pub(crate) fn wait_pkt() -> *mut Message {
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
pub(crate) unsafe fn reply_pkt(msg: *mut Message, res1: i64, res2: i64) {
    // SAFETY: per the contract.
    unsafe {
        let p = packet_of(msg);
        p.res1 = res1;
        p.res2 = res2;
        exec::sys::reply_msg(msg);
    }
}
