//! RAM:'s filesystem: a tree of directories and files in memory, the logic behind the RAM:
//! handler (`handlers/ram.rs`), which turns each DOS packet into one call here. Pure logic,
//! tested on the host against a simple model (`ramfs_tests.rs`).
//!
//! - Names are up to 107 characters, compared without case and kept as typed.
//! - Clients name locks and open files by handles (`exec::handles`: slot and generation), so
//!   a forged or stale one is refused in O(1) and a client never holds the handler's
//!   addresses.
//! - Every object is charged to the filesystem: its data, and [`NODE_COST`] for its entry.
//!   What the disk size leaves is the free space; a write that reaches it keeps what fitted
//!   and reports `DISK_FULL`. Growth uses `try_reserve`, so running out of heap is an error
//!   too, never a panic.
//! - An object with a lock or an open file on it cannot be deleted (`OBJECT_IN_USE`);
//!   exclusive locks and `MODE_NEWFILE` exclude every other user.
#![forbid(unsafe_code)]

use alloc::string::String;
use alloc::vec::Vec;

use exec::handles::HandleTable;

use crate::dosdefs::{MODE_NEWFILE, MODE_OLDFILE, MODE_READWRITE, OFFSET_BEGINNING, OFFSET_CURRENT, OFFSET_END};
use crate::dosdefs::{ST_FILE, ST_ROOT, ST_USERDIR, error, prot};
use crate::path::{self, Step};

/// Bytes each file or directory is charged for its entry, beside its data.
pub const NODE_COST: u64 = 128;

/// The root directory's node.
const ROOT: usize = 0;

enum Kind {
    Dir(Vec<usize>),
    File(Vec<u8>),
}

struct Node {
    name: String,
    parent: usize,
    prot: u32,
    date: u64,
    kind: Kind,
    /// Locks and open files on this node.
    users: u32,
    /// Whether its one user holds it exclusively.
    exclusive: bool,
}

struct Lock {
    node: usize,
    exclusive: bool,
}

struct OpenFile {
    node: usize,
    pos: usize,
    exclusive: bool,
}

/// What EXAMINE_OBJECT and EXAMINE_NEXT tell about one object (a FileInfoBlock's fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    /// `ST_ROOT`, `ST_USERDIR` (positive: a directory) or `ST_FILE`.
    pub dir_type: i32,
    pub size: u64,
    pub prot: u32,
    /// Seconds since 1978-01-01, as the handler's clock gave them at the last change.
    pub date: u64,
}

/// A RAM: disk.
pub struct RamFs {
    nodes: Vec<Option<Node>>,
    free_nodes: Vec<usize>,
    locks: HandleTable<Lock>,
    files: HandleTable<OpenFile>,
    size: u64,
    used: u64,
    now: u64,
}

type Result<T> = core::result::Result<T, i64>;

impl RamFs {
    /// An empty disk of `size` bytes, its root called `volume`.
    pub fn new(volume: &str, size: u64) -> RamFs {
        let root = Node { name: String::from(volume), parent: ROOT, prot: 0, date: 0, kind: Kind::Dir(Vec::new()), users: 0, exclusive: false };
        RamFs { nodes: alloc::vec![Some(root)], free_nodes: Vec::new(), locks: HandleTable::new(), files: HandleTable::new(), size, used: 0, now: 0 }
    }

    /// Sets the clock that stamps changes from now on (seconds since 1978-01-01).
    pub fn set_now(&mut self, secs: u64) {
        self.now = secs;
    }

    /// (disk size, bytes used, locks and open files outstanding).
    pub fn usage(&self) -> (u64, u64, usize) {
        (self.size, self.used, self.locks.len() + self.files.len())
    }

    fn node(&self, n: usize) -> &Node {
        self.nodes[n].as_ref().expect("a live node")
    }

    fn node_mut(&mut self, n: usize) -> &mut Node {
        self.nodes[n].as_mut().expect("a live node")
    }

    fn children(&self, n: usize) -> Result<&Vec<usize>> {
        match &self.node(n).kind {
            Kind::Dir(c) => Ok(c),
            Kind::File(_) => Err(error::OBJECT_WRONG_TYPE),
        }
    }

    fn child(&self, dir: usize, name: &str) -> Result<Option<usize>> {
        Ok(self.children(dir)?.iter().copied().find(|&c| self.node(c).name.eq_ignore_ascii_case(name)))
    }

    /// The node a lock names (0: the root).
    fn lock_node(&self, lock: u64) -> Result<usize> {
        if lock == 0 {
            return Ok(ROOT);
        }
        self.locks.get(lock).map(|l| l.node).ok_or(error::INVALID_LOCK)
    }

    /// Follows `steps` from `start`.
    fn walk(&self, start: usize, steps: &[Step<'_>]) -> Result<usize> {
        let mut at = start;
        for step in steps {
            at = match *step {
                Step::Parent if at == ROOT => return Err(error::OBJECT_NOT_FOUND),
                Step::Parent => self.node(at).parent,
                Step::Name(name) => self.child(at, name)?.ok_or(error::OBJECT_NOT_FOUND)?,
            };
        }
        Ok(at)
    }

    /// The node `path` names, relative to `dir` (a device part means the root).
    fn resolve(&self, dir: u64, path: &str) -> Result<usize> {
        let p = path::parse(path)?;
        let start = if p.device.is_some() { ROOT } else { self.lock_node(dir)? };
        self.walk(start, &p.steps)
    }

    /// The directory `path`'s last name is in, and that name (for creating and renaming).
    fn resolve_parent<'a>(&self, dir: u64, path: &'a str) -> Result<(usize, &'a str)> {
        let p = path::parse(path)?;
        let start = if p.device.is_some() { ROOT } else { self.lock_node(dir)? };
        let (last, steps) = match p.steps.split_last() {
            Some((Step::Name(name), steps)) => (*name, steps),
            // The root or a parent: it exists, and is not created by name.
            _ => return Err(error::OBJECT_EXISTS),
        };
        let parent = self.walk(start, steps)?;
        self.children(parent)?;
        Ok((parent, last))
    }

    /// Adds one user to `node`; refused if that conflicts with those it has.
    fn take(&mut self, node: usize, exclusive: bool) -> Result<()> {
        let n = self.node_mut(node);
        if n.exclusive || (exclusive && n.users > 0) {
            return Err(error::OBJECT_IN_USE);
        }
        n.users += 1;
        n.exclusive = exclusive;
        Ok(())
    }

    fn release(&mut self, node: usize) {
        let n = self.node_mut(node);
        n.users -= 1;
        n.exclusive = false;
    }

    fn charge(&mut self, bytes: u64) -> Result<()> {
        if self.size - self.used < bytes {
            return Err(error::DISK_FULL);
        }
        self.used += bytes;
        Ok(())
    }

    /// Makes a new node named `name` in `parent` (which has no such name).
    fn create(&mut self, parent: usize, name: &str, kind: Kind) -> Result<usize> {
        self.charge(NODE_COST)?;
        let node = Node { name: String::from(name), parent, prot: 0, date: self.now, kind, users: 0, exclusive: false };
        let n = match self.free_nodes.pop() {
            Some(i) => {
                self.nodes[i] = Some(node);
                i
            }
            None => {
                self.nodes.push(Some(node));
                self.nodes.len() - 1
            }
        };
        let now = self.now;
        let p = self.node_mut(parent);
        p.date = now;
        if let Kind::Dir(c) = &mut p.kind {
            c.push(n);
        }
        Ok(n)
    }

    fn entry(&self, n: usize) -> Entry {
        let node = self.node(n);
        let (dir_type, size) = match &node.kind {
            Kind::Dir(_) if n == ROOT => (ST_ROOT, 0),
            Kind::Dir(_) => (ST_USERDIR, 0),
            Kind::File(d) => (ST_FILE, d.len() as u64),
        };
        Entry { name: node.name.clone(), dir_type, size, prot: node.prot, date: node.date }
    }

    // --- locks ---

    /// LOCATE_OBJECT: a lock on what `path` names, relative to `dir`. Errors: OBJECT_NOT_FOUND,
    /// OBJECT_WRONG_TYPE (a path through a file), OBJECT_IN_USE, INVALID_LOCK.
    pub fn lock(&mut self, dir: u64, path: &str, exclusive: bool) -> Result<u64> {
        let node = self.resolve(dir, path)?;
        self.take(node, exclusive)?;
        Ok(self.locks.insert(Lock { node, exclusive }))
    }

    /// FREE_LOCK. Errors: INVALID_LOCK.
    pub fn unlock(&mut self, lock: u64) -> Result<()> {
        let l = self.locks.remove(lock).ok_or(error::INVALID_LOCK)?;
        debug_assert_eq!(l.exclusive, self.node(l.node).exclusive);
        self.release(l.node);
        Ok(())
    }

    /// COPY_DIR: a second, shared lock on what `lock` names (0: the root). Errors:
    /// INVALID_LOCK, OBJECT_IN_USE (an exclusive lock is not copied).
    pub fn dup_lock(&mut self, lock: u64) -> Result<u64> {
        let node = self.lock_node(lock)?;
        self.take(node, false)?;
        Ok(self.locks.insert(Lock { node, exclusive: false }))
    }

    /// PARENT: a shared lock on the directory holding what `lock` names; `Ok(0)` for the root.
    pub fn parent(&mut self, lock: u64) -> Result<u64> {
        let node = self.lock_node(lock)?;
        if node == ROOT {
            return Ok(0);
        }
        let parent = self.node(node).parent;
        self.take(parent, false)?;
        Ok(self.locks.insert(Lock { node: parent, exclusive: false }))
    }

    /// EXAMINE_OBJECT: what `lock` names.
    pub fn examine(&self, lock: u64) -> Result<Entry> {
        Ok(self.entry(self.lock_node(lock)?))
    }

    /// EXAMINE_NEXT: the entry at `key` (0 first) of the directory `lock` names, and the key
    /// of the next. Errors: NO_MORE_ENTRIES past the last, OBJECT_WRONG_TYPE for a file.
    pub fn examine_next(&self, lock: u64, key: u64) -> Result<(Entry, u64)> {
        let node = self.lock_node(lock)?;
        let c = *self.children(node)?.get(key as usize).ok_or(error::NO_MORE_ENTRIES)?;
        Ok((self.entry(c), key + 1))
    }

    /// The full name of what `lock` names (`NameFromLock()`), `VOLUME:a/b`.
    pub fn name_of(&self, lock: u64) -> Result<String> {
        let mut n = self.lock_node(lock)?;
        let mut parts = Vec::new();
        while n != ROOT {
            parts.push(self.node(n).name.as_str());
            n = self.node(n).parent;
        }
        parts.reverse();
        let mut s = alloc::format!("{}:", self.node(ROOT).name);
        s.push_str(&parts.join("/"));
        Ok(s)
    }

    // --- files ---

    /// FINDINPUT, FINDOUTPUT, FINDUPDATE (`mode` is the action, as `Open()`'s modes are):
    /// an open file. MODE_OLDFILE needs the file, shared; MODE_NEWFILE makes it or empties it,
    /// exclusive; MODE_READWRITE opens it or makes it, shared. Errors: OBJECT_NOT_FOUND,
    /// OBJECT_WRONG_TYPE (a directory), OBJECT_IN_USE, READ_PROTECTED, WRITE_PROTECTED,
    /// DISK_FULL, INVALID_COMPONENT_NAME, ACTION_NOT_KNOWN (another mode).
    pub fn open(&mut self, dir: u64, path: &str, mode: i64) -> Result<u64> {
        let exclusive = mode == MODE_NEWFILE;
        let existing = match self.resolve(dir, path) {
            Ok(n) => Some(n),
            Err(error::OBJECT_NOT_FOUND) if mode != MODE_OLDFILE => None,
            Err(e) => return Err(e),
        };
        let node = match existing {
            Some(n) => {
                let node = self.node(n);
                if !matches!(node.kind, Kind::File(_)) {
                    return Err(error::OBJECT_WRONG_TYPE);
                }
                match mode {
                    MODE_OLDFILE if node.prot & prot::READ != 0 => return Err(error::READ_PROTECTED),
                    MODE_NEWFILE if node.prot & prot::WRITE != 0 => return Err(error::WRITE_PROTECTED),
                    MODE_OLDFILE | MODE_NEWFILE | MODE_READWRITE => {}
                    _ => return Err(error::ACTION_NOT_KNOWN),
                }
                self.take(n, exclusive)?;
                if mode == MODE_NEWFILE {
                    self.truncate(n, 0);
                }
                n
            }
            None if mode == MODE_NEWFILE || mode == MODE_READWRITE => {
                let (parent, name) = self.resolve_parent(dir, path)?;
                let n = self.create(parent, name, Kind::File(Vec::new()))?;
                self.take(n, exclusive)?;
                n
            }
            None => return Err(error::ACTION_NOT_KNOWN),
        };
        Ok(self.files.insert(OpenFile { node, pos: 0, exclusive }))
    }

    fn open_file(&self, fh: u64) -> Result<&OpenFile> {
        self.files.get(fh).ok_or(error::INVALID_LOCK)
    }

    fn data(&self, n: usize) -> &Vec<u8> {
        match &self.node(n).kind {
            Kind::File(d) => d,
            Kind::Dir(_) => unreachable!("open files are files"),
        }
    }

    fn data_mut(&mut self, n: usize) -> &mut Vec<u8> {
        match &mut self.node_mut(n).kind {
            Kind::File(d) => d,
            Kind::Dir(_) => unreachable!("open files are files"),
        }
    }

    /// Sets a file's length, crediting what it gave up (growth is charged by the caller).
    fn truncate(&mut self, n: usize, len: usize) {
        let data = self.data_mut(n);
        let old = data.len();
        if len < old {
            data.truncate(len);
            data.shrink_to(len.max(64));
            self.used -= (old - len) as u64;
        }
    }

    /// READ: up to `buf.len()` bytes from the file's position; 0 at its end. Errors:
    /// INVALID_LOCK (not an open file).
    pub fn read(&mut self, fh: u64, buf: &mut [u8]) -> Result<usize> {
        self.read_with(fh, buf.len(), |bytes| {
            buf[..bytes.len()].copy_from_slice(bytes);
            Ok(bytes.len())
        })
    }

    /// READ through `give`: the file's next bytes (up to `len`; none at its end) are lent to
    /// `give`, which passes them on (into a client's buffer, wherever it is) and says how many
    /// it took; the position moves by that. A handler that copies the data out through the
    /// kernel copies it once, straight from the file. Errors: INVALID_LOCK, or `give`'s.
    pub fn read_with(&mut self, fh: u64, len: usize, give: impl FnOnce(&[u8]) -> Result<usize>) -> Result<usize> {
        let f = self.open_file(fh)?;
        let (node, pos) = (f.node, f.pos);
        let data = self.data(node);
        let n = len.min(data.len().saturating_sub(pos));
        let taken = give(&data[pos..pos + n])?.min(n);
        if let Some(f) = self.files.get_mut(fh) {
            f.pos += taken;
        }
        Ok(taken)
    }

    /// WRITE: `bytes` at the file's position. Result: how many were written, fewer than
    /// asked when the disk filled (the rest is not written; the file keeps what fitted).
    /// Errors: DISK_FULL (nothing fitted), NO_FREE_STORE (the heap had no room),
    /// WRITE_PROTECTED, INVALID_LOCK.
    pub fn write(&mut self, fh: u64, bytes: &[u8]) -> Result<usize> {
        let (node, pos, len, n) = self.room(fh, bytes.len())?;
        let grow = (pos + n).saturating_sub(len);
        let data = self.data_mut(node);
        if data.try_reserve(grow).is_err() {
            return Err(error::NO_FREE_STORE);
        }
        // One copy: over what is there, then appended (no clearing first, as write_with must).
        let overlap = n.min(len - pos);
        data[pos..pos + overlap].copy_from_slice(&bytes[..overlap]);
        data.extend_from_slice(&bytes[overlap..n]);
        self.used += grow as u64;
        self.touch(node, fh, n);
        Ok(n)
    }

    /// A write of `len` bytes through `fh`: the file's node, its position, its length, and the
    /// bytes that fit (overwriting costs nothing; growing costs what it adds). Errors:
    /// INVALID_LOCK, WRITE_PROTECTED, DISK_FULL (nothing fits).
    fn room(&self, fh: u64, len: usize) -> Result<(usize, usize, usize, usize)> {
        let f = self.open_file(fh)?;
        let (node, pos) = (f.node, f.pos);
        if self.node(node).prot & prot::WRITE != 0 {
            return Err(error::WRITE_PROTECTED);
        }
        let old = self.data(node).len();
        let fits = len.min((old - pos) + (self.size - self.used) as usize);
        if fits == 0 && len != 0 {
            return Err(error::DISK_FULL);
        }
        Ok((node, pos, old, fits))
    }

    /// After a write of `n` bytes to `node` through `fh`: the date, the archive bit, the
    /// position.
    fn touch(&mut self, node: usize, fh: u64, n: usize) {
        let now = self.now;
        let entry = self.node_mut(node);
        entry.date = now;
        entry.prot &= !prot::ARCHIVE;
        if let Some(f) = self.files.get_mut(fh) {
            f.pos += n;
        }
    }

    /// WRITE through `fill`: room for up to `len` bytes at the file's position (fewer when the
    /// disk fills) is lent to `fill`, which fills it (from a client's buffer, wherever it is)
    /// and says how many bytes it filled; the file keeps those (the rest of the room goes
    /// again). Result and errors as [`RamFs::write`], or `fill`'s (nothing written then).
    pub fn write_with(&mut self, fh: u64, len: usize, fill: impl FnOnce(&mut [u8]) -> Result<usize>) -> Result<usize> {
        let (node, pos, old, room) = self.room(fh, len)?;
        let data = self.data_mut(node);
        let grow = (pos + room).saturating_sub(old);
        if data.try_reserve(grow).is_err() {
            return Err(error::NO_FREE_STORE);
        }
        // What the slot overwrites, kept to put back if `fill` fills less.
        let overlap = room.min(old - pos);
        let mut kept = Vec::new();
        if kept.try_reserve_exact(overlap).is_err() {
            return Err(error::NO_FREE_STORE);
        }
        kept.extend_from_slice(&data[pos..pos + overlap]);
        data.resize(old.max(pos + room), 0);
        let filled = match fill(&mut data[pos..pos + room]) {
            Ok(n) => n.min(room),
            Err(e) => {
                data[pos..pos + overlap].copy_from_slice(&kept);
                data.truncate(old);
                return Err(e);
            }
        };
        // The room not filled: the old bytes back, the growth undone.
        data[pos + filled.min(overlap)..pos + overlap].copy_from_slice(&kept[filled.min(overlap)..]);
        data.truncate(old.max(pos + filled));
        let grown = (pos + filled).saturating_sub(old);
        self.used += grown as u64;
        self.touch(node, fh, filled);
        Ok(filled)
    }

    fn position(&self, fh: u64, offset: i64, mode: i64) -> Result<(usize, usize)> {
        let f = self.open_file(fh)?;
        let len = self.data(f.node).len();
        let base = match mode {
            OFFSET_BEGINNING => 0,
            OFFSET_CURRENT => f.pos as i64,
            OFFSET_END => len as i64,
            _ => return Err(error::SEEK_ERROR),
        };
        let at = base.checked_add(offset).ok_or(error::SEEK_ERROR)?;
        Ok((f.pos, usize::try_from(at).map_err(|_| error::SEEK_ERROR)?))
    }

    /// SEEK: moves the position; result: the old one. Errors: SEEK_ERROR (before the start,
    /// past the end, or a bad mode), INVALID_LOCK.
    pub fn seek(&mut self, fh: u64, offset: i64, mode: i64) -> Result<u64> {
        let (old, at) = self.position(fh, offset, mode)?;
        if at > self.data(self.open_file(fh)?.node).len() {
            return Err(error::SEEK_ERROR);
        }
        if let Some(f) = self.files.get_mut(fh) {
            f.pos = at;
        }
        Ok(old as u64)
    }

    /// SET_FILE_SIZE: cuts or extends (with zeroes) the file; result: the new size. A
    /// position past the new end moves to it. Errors: SEEK_ERROR, DISK_FULL, NO_FREE_STORE,
    /// WRITE_PROTECTED, INVALID_LOCK.
    pub fn set_file_size(&mut self, fh: u64, offset: i64, mode: i64) -> Result<u64> {
        let (_, at) = self.position(fh, offset, mode)?;
        let node = self.open_file(fh)?.node;
        if self.node(node).prot & prot::WRITE != 0 {
            return Err(error::WRITE_PROTECTED);
        }
        let len = self.data(node).len();
        if at > len {
            let grow = (at - len) as u64;
            if self.size - self.used < grow {
                return Err(error::DISK_FULL);
            }
            let data = self.data_mut(node);
            if data.try_reserve(at - len).is_err() {
                return Err(error::NO_FREE_STORE);
            }
            data.resize(at, 0);
            self.used += grow;
        } else {
            self.truncate(node, at);
        }
        let handles: Vec<u64> = self.files.iter().filter(|(_, f)| f.node == node && f.pos > at).map(|(h, _)| h).collect();
        for h in handles {
            if let Some(f) = self.files.get_mut(h) {
                f.pos = at;
            }
        }
        self.node_mut(node).date = self.now;
        Ok(at as u64)
    }

    /// END: closes the file. Errors: INVALID_LOCK.
    pub fn close(&mut self, fh: u64) -> Result<()> {
        let f = self.files.remove(fh).ok_or(error::INVALID_LOCK)?;
        debug_assert_eq!(f.exclusive, self.node(f.node).exclusive);
        self.release(f.node);
        Ok(())
    }
}

/// DELETE_OBJECT, RENAME_OBJECT, CREATE_DIR, SET_PROTECT.
#[path = "ramfs_names.rs"]
mod names;

#[cfg(test)]
#[path = "ramfs_tests.rs"]
mod tests;
