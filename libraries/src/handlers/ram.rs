//! The RAM: handler: an Exec task with a public port named `RAM`, reached only by DOS
//! packets. It turns each packet into one call on its [`RamFs`] (whose logic is tested on the
//! host) and answers with `reply_wait`, exec's combined reply-and-wait.
//!
//! - Its files are charged to it, not to the clients that wrote them: its disk is half the
//!   kernel heap that was free when it started, and `Disk full` comes at that size.
//! - Everything a packet carries is checked before use: the action, every handle (O(1), by
//!   slot and generation), every name (present, at most 255 bytes, UTF-8) and buffer (present
//!   when it has a length, the length not negative). A packet that fails a check is answered
//!   with its error and counted ([`refused`]). In the flat build a pointer that is present
//!   is followed, as on the Amiga: there is nothing to protect there.
//! - The handles a client holds are its own: each one records the task that made it, and a
//!   task that ended without closing them (a fault, say) has them freed the next time they
//!   are in the way (`OBJECT_IN_USE`) or the disk is asked for INFO.
//!
//! It runs in ring 0 in both builds for now: a ring-3 RAM: needs messages across rings
//! (issue 12, item 2).

use alloc::collections::BTreeMap;
use core::sync::atomic::{AtomicU64, Ordering};

use exec::port::{Message, MsgPort};
use exec::task::Task;

use crate::dos::packet::packet_of;
use crate::dosdefs::{DOSFALSE, DOSTRUE, EXCLUSIVE_LOCK, FileInfoBlock, ID_DOS_DISK, ID_VALIDATED, InfoData, SHARED_LOCK, action, error};
use crate::ramfs::{Entry, RamFs};

/// The handler's port name (`RAM:` finds it).
pub const PORT_NAME: &str = "RAM";

/// The block size INFO reports.
const BLOCK: u64 = 512;

/// Packets refused for a bad action, handle, name or buffer. Atomic: read by tests.
static REFUSED: AtomicU64 = AtomicU64::new(0);

/// How many packets RAM: has refused since boot.
pub fn refused() -> u64 {
    REFUSED.load(Ordering::SeqCst)
}

/// Starts the RAM: handler task. Result: the task, or null.
pub fn start() -> *mut Task {
    exec::task::add_task("RAM", 5, ram_entry, 0, 32 * 1024)
}

/// The handler's own records: the filesystem, and who made each handle.
struct Ram {
    fs: RamFs,
    /// handle → (task, its stable id): the client that holds it.
    owners: BTreeMap<u64, (usize, u64)>,
    /// Seconds since 1978 at tick 0 (from timer.device when it answers; 0 otherwise).
    epoch: u64,
}

fn ram_entry(_: usize) {
    let port = exec::sys::create_port(Some(PORT_NAME), 0);
    if port.is_null() {
        exec::kprintln!("RAM: no port");
        return;
    }
    let size = exec::heap::stats().free / 2;
    let mut ram = Ram { fs: RamFs::new(PORT_NAME, size), owners: BTreeMap::new(), epoch: super::boot_epoch() };
    let mut msg: *mut Message = core::ptr::null_mut();
    loop {
        // SAFETY: our own port; `msg` is null or the packet served below.
        msg = unsafe { exec::sys::reply_wait(msg, port) };
        if msg.is_null() {
            continue;
        }
        // SAFETY: only packets are sent to a handler's port (dos.library's contract).
        let pkt = unsafe { packet_of(msg) };
        ram.fs.set_now(ram.epoch + exec::time::ticks() / exec::time::TICK_HZ);
        // SAFETY: the packet's reply port, valid while we hold the message (flat: the sender's).
        let sender = unsafe { sender_of(msg) };
        let (res1, res2) = match ram.serve(pkt.kind, &pkt.args, sender) {
            Ok(r) => (r, 0),
            Err((r, e)) => {
                if matches!(e, error::INVALID_LOCK | error::ACTION_NOT_KNOWN | error::REQUIRED_ARG_MISSING | error::BAD_NUMBER) {
                    REFUSED.fetch_add(1, Ordering::SeqCst);
                }
                (r, e)
            }
        };
        pkt.res1 = res1;
        pkt.res2 = res2;
    }
}

/// The task whose port a packet will be answered at (null if none).
///
/// # Safety
/// `msg` is a live message the caller holds.
unsafe fn sender_of(msg: *mut Message) -> *mut Task {
    // SAFETY: per the contract; the reply port lives while its message is out.
    unsafe {
        let reply: *mut MsgPort = (*msg).reply_port;
        if reply.is_null() { core::ptr::null_mut() } else { (*reply).sig_task }
    }
}

/// A name a packet carries: present, at most 255 bytes, UTF-8.
fn name<'a>(ptr: i64, len: i64) -> Result<&'a str, i64> {
    if ptr == 0 || !(0..=255).contains(&len) {
        return Err(if ptr == 0 { error::REQUIRED_ARG_MISSING } else { error::INVALID_COMPONENT_NAME });
    }
    // SAFETY: flat build (and ring-0 clients in the mmu build): the sender vouches for its
    // pointer, as on the Amiga; it stays valid until the answer.
    let bytes = unsafe { core::slice::from_raw_parts(ptr as *const u8, len as usize) };
    core::str::from_utf8(bytes).map_err(|_| error::INVALID_COMPONENT_NAME)
}

/// A structure a packet points to (FileInfoBlock, InfoData): present.
fn out_ptr<'a, T>(ptr: i64) -> Result<&'a mut T, i64> {
    if ptr == 0 || !(ptr as usize).is_multiple_of(align_of::<T>()) {
        return Err(error::REQUIRED_ARG_MISSING);
    }
    // SAFETY: as for `name`: the sender's structure, valid until the answer.
    Ok(unsafe { &mut *(ptr as *mut T) })
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
    fn own(&mut self, handle: u64, sender: *mut Task) -> i64 {
        let id = if sender.is_null() {
            0
        } else {
            // SAFETY: the sender's task, live: it waits for this answer.
            unsafe { (*sender).id() }
        };
        self.owners.insert(handle, (sender as usize, id));
        handle as i64
    }

    /// Frees the handles of tasks that have ended. Result: how many.
    fn sweep(&mut self) -> usize {
        let dead: alloc::vec::Vec<u64> = self
            .owners
            .iter()
            .filter(|(_, (task, id))| {
                let t = *task as *const Task;
                exec::sched::forbid();
                let alive = !t.is_null()
                    && exec::task::is_live(t)
                    // SAFETY: read only when is_live says the task is there (under Forbid, so
                    // it cannot end in between).
                    && unsafe { (*t).id() } == *id;
                exec::sched::permit();
                !alive
            })
            .map(|(h, _)| *h)
            .collect();
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

    /// One packet: `Ok(res1)` or `Err((res1, res2))`.
    fn serve(&mut self, kind: i64, a: &[i64; 7], sender: *mut Task) -> Result<i64, (i64, i64)> {
        let fail = |e: i64| (DOSFALSE, e);
        let fail_n = |e: i64| (-1, e);
        match kind {
            action::FINDINPUT | action::FINDOUTPUT | action::FINDUPDATE => {
                let path = name(a[2], a[3]).map_err(fail)?;
                let h = self.retrying(|fs| fs.open(a[1] as u64, path, kind)).map_err(fail)?;
                Ok(self.own(h, sender))
            }
            action::READ | action::WRITE => {
                if a[2] < 0 {
                    return Err(fail_n(error::BAD_NUMBER));
                }
                if a[1] == 0 && a[2] > 0 {
                    return Err(fail_n(error::REQUIRED_ARG_MISSING));
                }
                let len = a[2] as usize;
                let n = if kind == action::READ {
                    // SAFETY: as for `name`: the sender's buffer of `len` bytes.
                    let buf = if len == 0 { &mut [][..] } else { unsafe { core::slice::from_raw_parts_mut(a[1] as *mut u8, len) } };
                    self.fs.read(a[0] as u64, buf)
                } else {
                    // SAFETY: as above.
                    let buf = if len == 0 { &[][..] } else { unsafe { core::slice::from_raw_parts(a[1] as *const u8, len) } };
                    self.fs.write(a[0] as u64, buf)
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
                self.owners.remove(&(a[0] as u64));
                self.fs.close(a[0] as u64).map(|_| DOSTRUE).map_err(fail)
            }
            action::LOCATE_OBJECT => {
                let path = name(a[1], a[2]).map_err(fail)?;
                let exclusive = match a[3] {
                    EXCLUSIVE_LOCK => true,
                    SHARED_LOCK => false,
                    _ => return Err(fail(error::BAD_NUMBER)),
                };
                let h = self.retrying(|fs| fs.lock(a[0] as u64, path, exclusive)).map_err(fail)?;
                Ok(self.own(h, sender))
            }
            action::FREE_LOCK => {
                self.owners.remove(&(a[0] as u64));
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
            action::EXAMINE_OBJECT => {
                let fib: &mut FileInfoBlock = out_ptr(a[1]).map_err(fail)?;
                let e = self.fs.examine(a[0] as u64).map_err(fail)?;
                fill(fib, &e);
                fib.disk_key = 0;
                Ok(DOSTRUE)
            }
            action::EXAMINE_NEXT => {
                let fib: &mut FileInfoBlock = out_ptr(a[1]).map_err(fail)?;
                let (e, next) = self.fs.examine_next(a[0] as u64, fib.disk_key).map_err(fail)?;
                fill(fib, &e);
                fib.disk_key = next;
                Ok(DOSTRUE)
            }
            action::DELETE_OBJECT => {
                let path = name(a[1], a[2]).map_err(fail)?;
                self.retrying(|fs| fs.delete(a[0] as u64, path)).map(|_| DOSTRUE).map_err(fail)
            }
            action::RENAME_OBJECT => {
                let from = name(a[1], a[2]).map_err(fail)?;
                let to = name(a[4], a[5]).map_err(fail)?;
                self.fs.rename(a[0] as u64, from, a[3] as u64, to).map(|_| DOSTRUE).map_err(fail)
            }
            action::CREATE_DIR => {
                let path = name(a[1], a[2]).map_err(fail)?;
                let h = self.fs.create_dir(a[0] as u64, path).map_err(fail)?;
                Ok(self.own(h, sender))
            }
            action::SET_PROTECT => {
                let path = name(a[2], a[3]).map_err(fail)?;
                self.fs.set_protect(a[1] as u64, path, a[4] as u32).map(|_| DOSTRUE).map_err(fail)
            }
            action::INFO | action::DISK_INFO => {
                let at = if kind == action::INFO { 1 } else { 0 };
                if kind == action::INFO {
                    self.fs.examine(a[0] as u64).map_err(fail)?;
                }
                let data: &mut InfoData = out_ptr(a[at]).map_err(fail)?;
                self.sweep();
                let (size, used, in_use) = self.fs.usage();
                *data = InfoData {
                    num_soft_errors: 0,
                    unit_number: 0,
                    disk_state: ID_VALIDATED,
                    num_blocks: (size / BLOCK) as i64,
                    num_blocks_used: used.div_ceil(BLOCK) as i64,
                    bytes_per_block: BLOCK as i64,
                    disk_type: ID_DOS_DISK,
                    in_use: in_use as i64,
                };
                Ok(DOSTRUE)
            }
            action::IS_FILESYSTEM => Ok(DOSTRUE),
            _ => Err(fail(error::ACTION_NOT_KNOWN)),
        }
    }
}
