//! Reading the PVH `hvm_start_info` block that QEMU leaves for us (see xen/include/public/
//! arch-x86/hvm/start_info.h): the memory map and the command line.
//!
//! Everything the loader passed is an unchecked physical address, so each one is checked against
//! the 4 GiB the boot tables map before it is read, and the results are copied out before the
//! heap may reuse that memory.

use crate::cmdline::MAX_CMDLINE;
use crate::memmap::RawEntry;

/// `hvm_start_info.magic`.
pub const MAGIC: u32 = 0x336e_c578;
/// Memory the boot tables map: anything the loader hands us must lie below this.
const MAPPED_LIMIT: u64 = 1 << 32;
/// More entries than any firmware writes; past this the list is considered corrupt.
const MAX_RAW_ENTRIES: u32 = 4096;

#[repr(C)]
#[derive(Clone, Copy)]
struct HvmStartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    nr_modules: u32,
    modlist_paddr: u64,
    cmdline_paddr: u64,
    rsdp_paddr: u64,
    memmap_paddr: u64,
    memmap_entries: u32,
    reserved: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct HvmMemmapEntry {
    addr: u64,
    size: u64,
    kind: u32,
    reserved: u32,
}

/// Why the start info is unusable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PvhError {
    /// EBX was 0: not started through PVH.
    NoStartInfo,
    /// The block does not begin with [`MAGIC`].
    BadMagic(u32),
    /// The block lies outside mapped memory.
    OutOfReach(u64),
}

/// Why the memory map pointer is unusable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemmapProblem {
    /// Version 0 of the block has no memory map, or it has zero entries / a null pointer.
    Missing { version: u32 },
    /// More than [`MAX_RAW_ENTRIES`] entries, or a table outside mapped memory.
    Corrupt { paddr: u64, entries: u32 },
}

/// The parts of the start info Lorraine uses, validated.
#[derive(Clone, Copy)]
pub struct StartInfo {
    info: HvmStartInfo,
}

fn in_reach(paddr: u64, len: u64) -> bool {
    paddr != 0 && paddr.checked_add(len).is_some_and(|end| end <= MAPPED_LIMIT)
}

impl StartInfo {
    /// Validates and copies the block at physical address `paddr`.
    ///
    /// # Safety
    /// `paddr` must be what the PVH loader passed in EBX (or 0): memory that, if in reach, is
    /// readable and not concurrently written.
    pub unsafe fn read(paddr: u32) -> Result<Self, PvhError> {
        let paddr = paddr as u64;
        if paddr == 0 {
            return Err(PvhError::NoStartInfo);
        }
        if !in_reach(paddr, size_of::<HvmStartInfo>() as u64) {
            return Err(PvhError::OutOfReach(paddr));
        }
        // SAFETY: in reach (identity-mapped) and readable per the caller's contract;
        // read_unaligned because the loader promises no alignment.
        let info = unsafe { (paddr as *const HvmStartInfo).read_unaligned() };
        if info.magic != MAGIC {
            return Err(PvhError::BadMagic(info.magic));
        }
        Ok(StartInfo { info })
    }

    /// The version of the block (1 and later carry a memory map).
    pub fn version(&self) -> u32 {
        self.info.version
    }

    /// The memory map entries, or why there are none to read.
    pub fn memmap(&self) -> Result<impl Iterator<Item = RawEntry>, MemmapProblem> {
        let i = &self.info;
        if i.version < 1 || i.memmap_entries == 0 || i.memmap_paddr == 0 {
            return Err(MemmapProblem::Missing { version: i.version });
        }
        let bytes = i.memmap_entries as u64 * size_of::<HvmMemmapEntry>() as u64;
        if i.memmap_entries > MAX_RAW_ENTRIES || !in_reach(i.memmap_paddr, bytes) {
            return Err(MemmapProblem::Corrupt { paddr: i.memmap_paddr, entries: i.memmap_entries });
        }
        let base = i.memmap_paddr as *const HvmMemmapEntry;
        Ok((0..i.memmap_entries as usize).map(move |n| {
            // SAFETY: n < memmap_entries and the whole table is in reach (checked above).
            let e = unsafe { base.add(n).read_unaligned() };
            RawEntry { addr: e.addr, size: e.size, kind: e.kind }
        }))
    }

    /// Copies the command line (up to `MAX_CMDLINE + 1` bytes, to its NUL) into `buf`; returns
    /// the bytes copied, or `None` if the pointer is out of reach. A null pointer is an empty line.
    pub fn cmdline(&self, buf: &mut [u8; MAX_CMDLINE + 1]) -> Option<usize> {
        let p = self.info.cmdline_paddr;
        if p == 0 {
            return Some(0);
        }
        if !in_reach(p, 1) {
            return None;
        }
        let mut n = 0;
        while n < buf.len() && in_reach(p + n as u64, 1) {
            // SAFETY: each byte is checked to be in reach before it is read.
            let b = unsafe { ((p + n as u64) as *const u8).read_volatile() };
            buf[n] = b;
            n += 1;
            if b == 0 {
                break;
            }
        }
        Some(n)
    }
}
