//! Memory: alloc_mem, free_mem, avail_mem, alloc_vec, free_vec, type_of_mem, with MEMF flags.
//!
//! Exec memory is every usable RAM range below 4 GiB that the kernel heap and image leave over,
//! one [`MemHeader`] each. Every block carries a small header in front that records its size
//! and owner and a check word, so that:
//! - memory a task allocated without `MemFlags::PUBLIC` is freed when the task ends;
//! - freeing with the wrong size, twice, or a pointer exec never gave out raises an alert
//!   (`AN_BAD_FREE_ADDR`, `AN_FREE_TWICE`) and changes nothing, instead of corrupting memory.
//!
//! The memory lists are guarded by Forbid. Not callable from interrupts.

use core::mem::size_of;
use core::ptr::null_mut;

use bitflags::bitflags;

use crate::alert::{AN_BAD_FREE_ADDR, AN_FREE_TWICE, alert};
use crate::execbase::{MAX_MEM_REGIONS, base};
use crate::list::{Node, NodeType};
use crate::memheader::MemHeader;
use crate::sched::{forbid, permit};
use crate::task::Task;

bitflags! {
    /// Requirements and options of an allocation (Exec's MEMF_ flags).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct MemFlags: u32 {
        /// Not owned by the task: survives it, may be shared (passed in messages).
        const PUBLIC = 1 << 0;
        /// Accepted for compatibility; all memory here is "fast".
        const CHIP = 1 << 1;
        const FAST = 1 << 2;
        const LOCAL = 1 << 8;
        /// Fill the block with zeros.
        const CLEAR = 1 << 16;
        /// avail_mem: the largest block that can be allocated.
        const LARGEST = 1 << 17;
        /// Allocate from the top of memory.
        const REVERSE = 1 << 18;
        /// avail_mem: all memory, free or not.
        const TOTAL = 1 << 19;
    }
}

impl MemFlags {
    /// No requirement (MEMF_ANY).
    pub const ANY: MemFlags = MemFlags::empty();
}

/// The header before every block. 64 bytes keeps blocks 16-byte aligned.
#[repr(C)]
struct Block {
    /// In the owner's `mem_list` (unlinked when PUBLIC).
    node: Node,
    size: usize,
    /// `BLOCK_MAGIC ^ address of the header` while live, `FREED_MAGIC ^ address` once freed.
    check: u64,
    owner: *mut Task,
}
const HEADER: usize = size_of::<Block>();
const _: () = assert!(HEADER == 64);
const BLOCK_MAGIC: u64 = 0x4c6f_7272_6169_6e65; // "Lorraine"
const FREED_MAGIC: u64 = 0x6672_6565_6462_6c6b; // "freedblk"

/// Hands the ranges `regions` to exec's memory lists (at most [`MAX_MEM_REGIONS`]).
///
/// # Safety
/// Each range is usable RAM, identity-mapped, used by nothing else from now on.
pub unsafe fn init(regions: impl IntoIterator<Item = (u64, u64)>) {
    // SAFETY: boot, interrupts off: nothing else touches ExecBase.
    let eb = unsafe { &mut *base() };
    for (start, end) in regions {
        if eb.mem_count == MAX_MEM_REGIONS || end - start < 4096 {
            continue;
        }
        // SAFETY: per the contract.
        eb.mem[eb.mem_count] = unsafe { MemHeader::new(start as usize, (end - start) as usize) };
        eb.mem_bounds[eb.mem_count] = eb.mem[eb.mem_count].bounds();
        eb.mem_count += 1;
    }
}

/// Exec's memory regions.
///
/// # Safety
/// Forbid held (the memory lists' guard), and no other reference from this function is alive
/// while the result is used; it is not kept past the Forbid.
unsafe fn regions<'a>() -> &'a mut [MemHeader] {
    // SAFETY: per the contract; the reference covers the headers only, no other field.
    unsafe { &mut (&mut (*base()).mem)[..(*base()).mem_count] }
}

/// Allocates `size` bytes with `flags` (CLEAR zeroes them, REVERSE takes them from the top,
/// PUBLIC makes them outlive the task). Result: a 16-byte aligned block, or null if `size` is
/// 0 or no region has room. Not callable from an interrupt.
pub fn alloc_mem(size: usize, flags: MemFlags) -> *mut u8 {
    if size == 0 {
        return null_mut();
    }
    let Some(total) = size.checked_add(HEADER) else { return null_mut() };
    forbid();
    let reverse = flags.contains(MemFlags::REVERSE);
    // SAFETY: Forbid held; the only reference to the regions.
    let regions = unsafe { regions() };
    let found = if reverse {
        regions.iter_mut().rev().find_map(|mh| mh.allocate(total, true))
    } else {
        regions.iter_mut().find_map(|mh| mh.allocate(total, false))
    };
    let Some(block) = found else {
        permit();
        return null_mut();
    };
    let header = block.as_ptr() as *mut Block;
    // SAFETY: Forbid held; the block is fresh memory of at least HEADER + size bytes.
    unsafe {
        let me = (*base()).this_task;
        let owner = if flags.contains(MemFlags::PUBLIC) || me.is_null() { null_mut() } else { me };
        header.write(Block {
            node: Node::new(NodeType::Memory, 0),
            size,
            check: BLOCK_MAGIC ^ header as u64,
            owner,
        });
        if let Some(t) = owner.as_mut() {
            t.mem_list.add_tail(&mut (*header).node);
        }
        permit();
        let data = (header as *mut u8).add(HEADER);
        if flags.contains(MemFlags::CLEAR) {
            core::ptr::write_bytes(data, 0, size);
        }
        data
    }
}

/// Finds the live block whose data starts at `ptr`. Forbid held.
fn block_of(ptr: *mut u8) -> Result<*mut Block, u32> {
    let addr = ptr as usize;
    // SAFETY: Forbid held (the caller's); the only reference to the regions.
    let inside = unsafe { regions() }.iter().any(|mh| {
        let (lo, hi) = mh.bounds();
        addr >= lo + HEADER && addr < hi && addr.is_multiple_of(16)
    });
    if !inside {
        return Err(AN_BAD_FREE_ADDR);
    }
    let header = (addr - HEADER) as *mut Block;
    // SAFETY: the header lies inside an exec region (checked), so it is readable memory.
    let check = unsafe { (*header).check };
    if check != BLOCK_MAGIC ^ header as u64 {
        return Err(if check == FREED_MAGIC ^ header as u64 { AN_FREE_TWICE } else { AN_BAD_FREE_ADDR });
    }
    Ok(header)
}

/// Frees a block from [`alloc_mem`]; `size` must be the size allocated. Freeing null does
/// nothing. A pointer exec did not hand out, a second free or a wrong size raises a
/// recoverable alert and frees nothing. Not callable from an interrupt.
///
/// # Safety
/// Nobody uses the block after it is freed.
pub unsafe fn free_mem(ptr: *mut u8, size: usize) {
    if ptr.is_null() {
        return;
    }
    forbid();
    match block_of(ptr) {
        // SAFETY: a live block (checked); Forbid held.
        Ok(h) if unsafe { (*h).size } == size => unsafe { release(h) },
        Ok(_) => alert(AN_FREE_TWICE),
        Err(code) => alert(code),
    }
    permit();
}

/// Unlinks and frees a live block. Forbid held.
///
/// # Safety
/// Forbid held; `h` is a live block (checked by `block_of`), not used after.
unsafe fn release(h: *mut Block) {
    // SAFETY: `h` is a live block (caller); its owner, if any, is live and lists it; Forbid
    // held for the regions, and no other reference to them is alive.
    unsafe {
        if let Some(t) = (*h).owner.as_mut() {
            t.mem_list.remove(&mut (*h).node);
        }
        (*h).check = FREED_MAGIC ^ h as u64;
        let total = (*h).size + HEADER;
        if let Some(mh) = regions().iter_mut().find(|mh| mh.contains(h as usize))
            && mh.deallocate(h as *mut u8, total).is_err()
        {
            alert(AN_FREE_TWICE);
        }
    }
}

/// Bytes available: free memory (default), the largest allocatable block (`LARGEST`), or
/// all memory (`TOTAL`). Callable from anywhere but an interrupt.
pub fn avail_mem(flags: MemFlags) -> usize {
    forbid();
    // SAFETY: Forbid held; the only reference to the regions.
    let r = unsafe { regions() };
    let n = if flags.contains(MemFlags::TOTAL) {
        r.iter().map(MemHeader::total).sum()
    } else if flags.contains(MemFlags::LARGEST) {
        r.iter().map(MemHeader::largest).max().unwrap_or(0).saturating_sub(HEADER)
    } else {
        r.iter().map(MemHeader::free).sum()
    };
    permit();
    n
}

/// How many free chunks exec memory's lists hold: how long a first-fit search may walk. A
/// walk of every list (for tests and diagnostics, not for a hot path). Not callable from an
/// interrupt.
pub fn free_chunks() -> usize {
    forbid();
    // SAFETY: Forbid held; the only reference to the regions.
    let n = unsafe { regions() }.iter().map(|mh| mh.chunks().count()).sum();
    permit();
    n
}

/// Like [`alloc_mem`], but the block remembers its size: free it with [`free_vec`].
pub fn alloc_vec(size: usize, flags: MemFlags) -> *mut u8 {
    alloc_mem(size, flags)
}

/// Frees a block from [`alloc_vec`] (or alloc_mem) without its size. Null does nothing; a bad
/// pointer raises a recoverable alert.
///
/// # Safety
/// Nobody uses the block after it is freed.
pub unsafe fn free_vec(ptr: *mut u8) {
    if ptr.is_null() {
        return;
    }
    forbid();
    match block_of(ptr) {
        // SAFETY: a live block; Forbid held.
        Ok(h) => unsafe { release(h) },
        Err(code) => alert(code),
    }
    permit();
}

/// The attributes of the memory at `ptr`: PUBLIC | FAST inside exec's memory, empty outside.
/// Callable from an interrupt.
pub fn type_of_mem(ptr: *const u8) -> MemFlags {
    let a = ptr as usize;
    // SAFETY: the bounds and their count are written once at boot and never again, and kept
    // apart from the headers an allocation may hold: no Forbid needed, from anywhere.
    let (bounds, count) = unsafe { ((*base()).mem_bounds, (*base()).mem_count) };
    let inside = bounds[..count].iter().any(|&(lo, hi)| (lo..hi).contains(&a));
    if inside { MemFlags::PUBLIC | MemFlags::FAST } else { MemFlags::empty() }
}

/// The number of blocks `task` owns (not PUBLIC) and their total size. Not callable from an
/// interrupt.
///
/// # Safety
/// `task` is a live task.
pub unsafe fn owned_by(task: *mut Task) -> (usize, usize) {
    forbid();
    // SAFETY: Forbid held; `task` is live (caller) and its list holds live blocks.
    let r = unsafe {
        let list = &(*task).mem_list;
        (list.len(), list.iter().map(|n| (*(n as *mut Block)).size).sum())
    };
    permit();
    r
}

/// Frees everything `task` allocated without PUBLIC. Disable held (task end).
///
/// # Safety
/// Disable held; `task` is live and ending; its mem_list holds live blocks it owns.
pub(crate) unsafe fn reclaim_task(task: *mut Task) {
    // SAFETY: `task` is live; its list holds live blocks it owns.
    unsafe {
        loop {
            let n = (*task).mem_list.head();
            if n.is_null() {
                break;
            }
            release(n as *mut Block);
        }
    }
}
