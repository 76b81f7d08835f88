//! The RAM: handler: an Exec task with a public port named `RAM`, reached only by DOS
//! packets. It turns each packet into one call on its [`RamFs`] (whose logic is tested on the
//! host) and answers with `reply_wait`, exec's combined reply-and-wait.
//!
//! - Its files are charged to it, not to the clients that wrote them: its disk is half the
//!   memory it may use (the kernel heap free at boot in the flat build, its own heap in the
//!   mmu build), and `Disk full` comes at that size.
//! - Everything a packet carries is checked before use: the action, every handle (O(1), by
//!   slot and generation), every name (present, at most 255 bytes, UTF-8) and attachment
//!   (present, the length not negative; see `dos::packet::attached`). A packet that fails a
//!   check is answered with its error and counted (INFO's `num_soft_errors`).
//! - In the mmu build it runs in ring 3, in an address space of its own, and sees only its
//!   copy of each packet (ring 0 to ring 3, `mmu-mode/src/msg.rs`): every file operation
//!   crosses protection twice. In the flat build it runs in ring 0 and follows the client's
//!   pointers, as on the Amiga: there is nothing to protect there.
//! - The handles a client holds are its own: each records the task number of the client that
//!   made it (in the mmu build the kernel writes it into the packet's header), and a client
//!   that ended without closing them (a fault, say) has them freed the next time they are in
//!   the way (`OBJECT_IN_USE`) or the disk is asked for INFO.

use alloc::collections::BTreeMap;

use exec::port::Message;
#[cfg(not(feature = "mmu"))]
use exec::task::Task;

use super::Clock;
use crate::dos::packet::{Data, PacketData, attached, data, is_packet, packet_of};
use crate::dosdefs::{DOSFALSE, DOSTRUE, EXCLUSIVE_LOCK, FileInfoBlock, ID_DOS_DISK, ID_VALIDATED, InfoData, SHARED_LOCK, action, error};
use crate::ramfs::{Entry, RamFs};

/// The handler's port name (`RAM:` finds it).
pub const PORT_NAME: &str = "RAM";

/// The block size INFO reports.
const BLOCK: u64 = 512;

/// Starts the RAM: handler task in ring 0 (the flat build; the mmu build starts
/// [`entry_ring3`] through mmu-mode). Result: the task, or null.
#[cfg(not(feature = "mmu"))]
pub fn start() -> *mut Task {
    exec::task::add_task("RAM", 0, |_| serve(PORT_NAME, super::RAM_VOLUME, exec::heap::stats().free / 2), 0, 32 * 1024)
}

/// The RAM: handler as a ring-3 task (mmu build): `disk` is its disk size in bytes.
#[cfg(feature = "mmu")]
pub extern "C" fn entry_ring3(disk: u64) -> ! {
    serve(PORT_NAME, super::RAM_VOLUME, disk);
    super::end_ring3()
}

/// A second RAM: disk under another device name (as AmigaDOS mounts RAD: beside RAM:): the
/// name and the disk size, in the handler task's own memory (`entry_mount`'s argument).
#[cfg(feature = "mmu")]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Mount {
    pub name: [u8; 16],
    pub len: u8,
    pub disk: u64,
}

/// A RAM: handler in ring 3 serving the device `Mount` names (mmu build).
#[cfg(feature = "mmu")]
pub extern "C" fn entry_mount(block: u64) -> ! {
    // SAFETY: the block is this task's own memory, written before it started.
    let m = unsafe { (block as *const Mount).read() };
    let name = core::str::from_utf8(&m.name[..(m.len as usize).min(m.name.len())]).unwrap_or("");
    if !name.is_empty() {
        // A disk mounted under another name is a volume of that name.
        serve(name, name, m.disk);
    }
    super::end_ring3()
}

/// The handler's own records: the filesystem, who made each handle, how many packets it
/// refused.
struct Ram {
    fs: RamFs,
    /// handle → the task number of the client that made it (0: unknown, never swept).
    owners: BTreeMap<u64, u64>,
    refused: u64,
    clock: Clock,
}

/// Serves packets at a new public port `name` (its device's name) for good (returns only
/// when it cannot start). Its root is named `volume`, as NameFromLock gives it (RAM:'s is
/// `Ram Disk`, as on the Amiga).
fn serve(name: &str, volume: &str, disk: u64) {
    serve_with_bug(name, volume, disk, None);
}

/// A RAM: disk `name` of `disk` bytes with a bug put in by whoever starts it: at its
/// `fault_after`th packet it divides by zero while it holds that packet (a CPU fault, as a
/// real bug would raise). CRASHTEST's `handler-fault` starts one to show what a faulting
/// handler does to its clients. Clients cannot set it: it is the starter's argument.
pub fn serve_faulty(name: &str, disk: u64, fault_after: u64) {
    serve_with_bug(name, name, disk, Some(fault_after));
}

fn serve_with_bug(name: &str, volume: &str, disk: u64, fault_after: Option<u64>) {
    let mut served = 0u64;
    let port = exec::sys::create_port(Some(name), 0);
    if port.is_null() {
        return;
    }
    let mut ram = Ram {
        fs: RamFs::new(volume, disk),
        owners: BTreeMap::new(),
        refused: 0,
        clock: Clock::open(),
    };
    let mut msg: *mut Message = core::ptr::null_mut();
    loop {
        // SAFETY: our own port; `msg` is null or the packet served below.
        msg = unsafe { exec::sys::reply_wait(msg, port) };
        // SAFETY: the message we hold (a short one goes back untouched at the next wait).
        if msg.is_null() || !unsafe { is_packet(msg) } {
            continue;
        }
        served += 1;
        if fault_after == Some(served) {
            core::hint::black_box(exec::arch::x86_64::probe::raw_divide(served, core::hint::black_box(0)));
        }
        // SAFETY: only packets are sent to a handler's port (dos.library's contract).
        let pkt = unsafe { packet_of(msg) };
        let (kind, args) = (pkt.kind, pkt.args);
        if changes(kind) {
            ram.fs.set_now(ram.clock.now());
        }
        // SAFETY: the packet we hold until the reply (its sender waits in do_msg).
        let sender = unsafe { super::sender_of(msg) };
        let (res1, res2) = match ram.serve(msg, kind, &args, sender) {
            Ok(r) => (r, 0),
            Err((r, e)) => {
                if matches!(e, error::INVALID_LOCK | error::ACTION_NOT_KNOWN | error::REQUIRED_ARG_MISSING | error::BAD_NUMBER) {
                    ram.refused += 1;
                }
                (r, e)
            }
        };
        // SAFETY: as above.
        let pkt = unsafe { packet_of(msg) };
        pkt.res1 = res1;
        pkt.res2 = res2;
    }
}

/// Whether an action changes the disk (and so dates what it changes). WRITE is dated at the
/// open and the close of its file, not at each packet: a clock read costs a device call.
fn changes(kind: i64) -> bool {
    matches!(
        kind,
        action::FINDOUTPUT | action::FINDUPDATE | action::END | action::SET_FILE_SIZE | action::DELETE_OBJECT | action::RENAME_OBJECT | action::CREATE_DIR | action::SET_PROTECT
    )
}

/// A name a packet carries: present, at most 255 bytes, UTF-8.
fn name<'a>(msg: *mut Message, ptr: i64, len: i64) -> Result<&'a str, i64> {
    if !(0..=255).contains(&len) {
        return Err(error::INVALID_COMPONENT_NAME);
    }
    // SAFETY: the packet we hold; its attachments are valid until the answer.
    let bytes = unsafe { attached(msg, ptr, len as usize) }.ok_or(error::REQUIRED_ARG_MISSING)?;
    core::str::from_utf8(bytes).map_err(|_| error::INVALID_COMPONENT_NAME)
}

/// A structure a packet carries (FileInfoBlock, InfoData), as its bytes.
fn structure<'a, T: PacketData>(msg: *mut Message, ptr: i64) -> Result<&'a mut [u8], i64> {
    // SAFETY: as for `name`.
    unsafe { attached(msg, ptr, size_of::<T>()) }.ok_or(error::REQUIRED_ARG_MISSING)
}

fn fill(fib: &mut FileInfoBlock, e: &Entry) {
    fib.dir_entry_type = e.dir_type;
    fib.protection = e.prot;
    fib.size = e.size;
    fib.date = e.date;
    fib.set_name(&e.name);
}

impl Ram {
    /// Records who made `handle`.
    fn own(&mut self, handle: u64, sender: u64) -> i64 {
        self.owners.insert(handle, sender);
        handle as i64
    }

    /// Forgets who made `handle` (closed or freed).
    fn disown(&mut self, handle: u64) {
        self.owners.remove(&handle);
    }

    /// Frees the handles of clients that have ended (exec's `task_alive`, through the gate
    /// in ring 3). Result: how many.
    fn sweep(&mut self) -> usize {
        let dead: alloc::vec::Vec<u64> =
            self.owners.iter().filter(|&(_, &id)| id != 0 && !exec::sys::task_alive(id)).map(|(&h, _)| h).collect();
        for &h in &dead {
            self.owners.remove(&h);
            if self.fs.close(h).is_err() {
                let _ = self.fs.unlock(h);
            }
        }
        dead.len()
    }

    /// Runs `op`; if the object was in use, frees the handles of ended tasks and tries once
    /// more.
    fn retrying<T>(&mut self, mut op: impl FnMut(&mut RamFs) -> Result<T, i64>) -> Result<T, i64> {
        match op(&mut self.fs) {
            Err(error::OBJECT_IN_USE) if self.sweep() > 0 => op(&mut self.fs),
            r => r,
        }
    }

    /// WRITE of lent data: `len` is only what the client claims, so the file's room is made
    /// a piece at a time (each filled through the kernel before the next is made): a claim
    /// larger than the data costs at most one piece of spare room, not the disk's free space.
    /// Result: the bytes written; an error only if none were.
    fn write_lent(&mut self, fh: u64, d: &Data<'_>, len: usize) -> Result<usize, i64> {
        const PIECE: usize = 64 * 1024;
        let mut done = 0;
        while done < len {
            let piece = (len - done).min(PIECE);
            match self.fs.write_with(fh, piece, |slot| d.read_into(done, slot).ok_or(error::REQUIRED_ARG_MISSING)) {
                Ok(n) => {
                    done += n;
                    if n < piece {
                        break;
                    }
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    /// One packet: `Ok(res1)` or `Err((res1, res2))`.
    fn serve(&mut self, msg: *mut Message, kind: i64, a: &[i64; 7], sender: u64) -> Result<i64, (i64, i64)> {
        let fail = |e: i64| (DOSFALSE, e);
        let fail_n = |e: i64| (-1, e);
        match kind {
            action::FINDINPUT | action::FINDOUTPUT | action::FINDUPDATE => {
                let path = name(msg, a[2], a[3]).map_err(fail)?;
                let h = self.retrying(|fs| fs.open(a[1] as u64, path, kind)).map_err(fail)?;
                Ok(self.own(h, sender))
            }
            action::READ | action::WRITE => {
                if a[2] < 0 {
                    return Err(fail_n(error::BAD_NUMBER));
                }
                let len = a[2] as usize;
                // SAFETY: the packet we hold; its data is valid (or lent) until the answer.
                let mut d = unsafe { data(msg, a[1], len) }.ok_or(fail_n(error::REQUIRED_ARG_MISSING))?;
                let refused = error::REQUIRED_ARG_MISSING;
                // Straight between the file and the client's buffer: one copy (by pointer when
                // the data is in reach, else through the kernel).
                let n = if let Some(buf) = d.here_mut() {
                    if kind == action::READ { self.fs.read(a[0] as u64, buf) } else { self.fs.write(a[0] as u64, buf) }
                } else if kind == action::READ {
                    self.fs.read_with(a[0] as u64, len, |bytes| d.write_from(0, bytes).ok_or(refused))
                } else {
                    self.write_lent(a[0] as u64, &d, len)
                };
                let n = n.map_err(fail_n)? as i64;
                if kind == action::WRITE && (n as usize) < len {
                    return Err((n, error::DISK_FULL));
                }
                Ok(n)
            }
            action::SEEK => self.fs.seek(a[0] as u64, a[1], a[2]).map(|p| p as i64).map_err(fail_n),
            action::SET_FILE_SIZE => self.fs.set_file_size(a[0] as u64, a[1], a[2]).map(|p| p as i64).map_err(fail_n),
            action::END => {
                self.disown(a[0] as u64);
                self.fs.close(a[0] as u64).map(|_| DOSTRUE).map_err(fail)
            }
            action::LOCATE_OBJECT => {
                let path = name(msg, a[1], a[2]).map_err(fail)?;
                let exclusive = match a[3] {
                    EXCLUSIVE_LOCK => true,
                    SHARED_LOCK => false,
                    _ => return Err(fail(error::BAD_NUMBER)),
                };
                let h = self.retrying(|fs| fs.lock(a[0] as u64, path, exclusive)).map_err(fail)?;
                Ok(self.own(h, sender))
            }
            action::FREE_LOCK => {
                self.disown(a[0] as u64);
                self.fs.unlock(a[0] as u64).map(|_| DOSTRUE).map_err(fail)
            }
            action::COPY_DIR => {
                let h = self.fs.dup_lock(a[0] as u64).map_err(fail)?;
                Ok(self.own(h, sender))
            }
            action::PARENT => match self.fs.parent(a[0] as u64).map_err(fail)? {
                0 => Ok(0),
                h => Ok(self.own(h, sender)),
            },
            action::EXAMINE_OBJECT | action::EXAMINE_NEXT => {
                let bytes = structure::<FileInfoBlock>(msg, a[1]).map_err(fail)?;
                let mut fib = FileInfoBlock::read_from(bytes);
                let (e, next) = if kind == action::EXAMINE_OBJECT {
                    (self.fs.examine(a[0] as u64).map_err(fail)?, 0)
                } else {
                    self.fs.examine_next(a[0] as u64, fib.disk_key).map_err(fail)?
                };
                fill(&mut fib, &e);
                fib.disk_key = next;
                fib.write_to(bytes);
                Ok(DOSTRUE)
            }
            action::DELETE_OBJECT => {
                let path = name(msg, a[1], a[2]).map_err(fail)?;
                self.retrying(|fs| fs.delete(a[0] as u64, path)).map(|_| DOSTRUE).map_err(fail)
            }
            action::RENAME_OBJECT => {
                let from = name(msg, a[1], a[2]).map_err(fail)?;
                let to = name(msg, a[4], a[5]).map_err(fail)?;
                self.fs.rename(a[0] as u64, from, a[3] as u64, to).map(|_| DOSTRUE).map_err(fail)
            }
            action::CREATE_DIR => {
                let path = name(msg, a[1], a[2]).map_err(fail)?;
                let h = self.fs.create_dir(a[0] as u64, path).map_err(fail)?;
                Ok(self.own(h, sender))
            }
            action::SET_PROTECT => {
                let path = name(msg, a[2], a[3]).map_err(fail)?;
                self.fs.set_protect(a[1] as u64, path, a[4] as u32).map(|_| DOSTRUE).map_err(fail)
            }
            action::INFO | action::DISK_INFO => {
                let at = if kind == action::INFO { 1 } else { 0 };
                if kind == action::INFO {
                    self.fs.examine(a[0] as u64).map_err(fail)?;
                }
                let bytes = structure::<InfoData>(msg, a[at]).map_err(fail)?;
                self.sweep();
                let (size, used, in_use) = self.fs.usage();
                let data = InfoData {
                    num_soft_errors: self.refused as i64,
                    unit_number: 0,
                    disk_state: ID_VALIDATED,
                    num_blocks: (size / BLOCK) as i64,
                    num_blocks_used: used.div_ceil(BLOCK) as i64,
                    bytes_per_block: BLOCK as i64,
                    disk_type: ID_DOS_DISK,
                    in_use: in_use as i64,
                };
                data.write_to(bytes);
                Ok(DOSTRUE)
            }
            action::IS_FILESYSTEM => Ok(DOSTRUE),
            _ => Err(fail(error::ACTION_NOT_KNOWN)),
        }
    }
}
