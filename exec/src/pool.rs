//! Memory pools: many small blocks carved from larger "puddles", freed all at once with the
//! pool (create_pool, alloc_pooled, free_pooled, delete_pool).
//!
//! Each puddle is an exec memory block managed by its own [`MemHeader`]; requests larger than
//! the threshold get a block of their own. A pool belongs to whoever uses it: it has no lock,
//! like Exec's (use a semaphore to share one).

use core::mem::size_of;
use core::ptr::null_mut;

use crate::alert::{AN_BAD_FREE_ADDR, AN_FREE_TWICE, alert};
use crate::list::{List, Node, NodeType};
use crate::memheader::MemHeader;
use crate::memory::{MemFlags, alloc_mem, free_mem};

/// A pool (Exec's pool header).
#[repr(C)]
pub struct Pool {
    flags: MemFlags,
    puddle_size: usize,
    threshold: usize,
    /// Puddles, newest first.
    puddles: List,
    /// Blocks larger than the threshold.
    large: List,
}

#[repr(C)]
struct Puddle {
    node: Node,
    mh: MemHeader,
}

#[repr(C)]
struct Large {
    node: Node,
    size: usize,
}

const PUDDLE_HEADER: usize = size_of::<Puddle>().next_multiple_of(16);
const LARGE_HEADER: usize = size_of::<Large>().next_multiple_of(16);

/// Creates a pool whose puddles are `puddle_size` bytes and which serves requests above
/// `threshold` bytes with blocks of their own; memory comes with `flags` (PUBLIC makes the pool
/// outlive the task). Result: the pool, or null if `threshold` > `puddle_size` or no memory.
/// Not callable from an interrupt.
pub fn create_pool(flags: MemFlags, puddle_size: usize, threshold: usize) -> *mut Pool {
    if threshold > puddle_size || puddle_size == 0 {
        return null_mut();
    }
    let pool = alloc_mem(size_of::<Pool>(), flags - MemFlags::CLEAR) as *mut Pool;
    // SAFETY: null, or a fresh block of at least size_of::<Pool>() bytes.
    if let Some(p) = unsafe { pool.as_mut() } {
        // SAFETY: fresh memory for one Pool.
        unsafe {
            (p as *mut Pool).write(Pool {
                flags,
                puddle_size: puddle_size.next_multiple_of(16),
                threshold,
                puddles: List::new(NodeType::Memory),
                large: List::new(NodeType::Memory),
            })
        };
    }
    pool
}

/// Allocates `size` bytes from `pool` (zeroed if the pool has CLEAR). Result: the block, or
/// null if `size` is 0 or there is no memory.
///
/// # Safety
/// `pool` is a live pool used by no one else meanwhile.
pub unsafe fn alloc_pooled(pool: *mut Pool, size: usize) -> *mut u8 {
    if size == 0 {
        return null_mut();
    }
    // SAFETY: `pool` live (caller); puddles and large blocks on its lists are live.
    unsafe {
        let p = &mut *pool;
        let mem = if size > p.threshold {
            let block = alloc_mem(LARGE_HEADER + size, p.flags - MemFlags::CLEAR) as *mut Large;
            let Some(b) = block.as_mut() else { return null_mut() };
            (b as *mut Large).write(Large { node: Node::new(NodeType::Memory, 0), size });
            p.large.add_head(&mut b.node);
            (block as *mut u8).add(LARGE_HEADER)
        } else {
            let found = p.puddles.iter().find_map(|n| (*(n as *mut Puddle)).mh.allocate(size, false));
            match found {
                Some(m) => m.as_ptr(),
                None => {
                    let area = alloc_mem(PUDDLE_HEADER + p.puddle_size, p.flags - MemFlags::CLEAR) as *mut Puddle;
                    let Some(pd) = area.as_mut() else { return null_mut() };
                    let mh = MemHeader::new(area as usize + PUDDLE_HEADER, p.puddle_size);
                    (pd as *mut Puddle).write(Puddle { node: Node::new(NodeType::Memory, 0), mh });
                    p.puddles.add_head(&mut pd.node);
                    match pd.mh.allocate(size, false) {
                        Some(m) => m.as_ptr(),
                        None => return null_mut(),
                    }
                }
            }
        };
        if p.flags.contains(MemFlags::CLEAR) {
            core::ptr::write_bytes(mem, 0, size);
        }
        mem
    }
}

/// Gives a block back to `pool`; `size` must be what was asked for. Null does nothing; a block
/// the pool did not hand out raises a recoverable alert.
///
/// # Safety
/// `pool` is live; nobody uses the block after.
pub unsafe fn free_pooled(pool: *mut Pool, mem: *mut u8, size: usize) {
    if mem.is_null() {
        return;
    }
    // SAFETY: `pool` live (caller); list members live.
    unsafe {
        let p = &mut *pool;
        if size > p.threshold {
            let header = mem.sub(LARGE_HEADER) as *mut Large;
            if !p.large.contains(header as *mut Node) || (*header).size != size {
                return alert(AN_BAD_FREE_ADDR);
            }
            p.large.remove(header as *mut Node);
            return free_mem(header as *mut u8, LARGE_HEADER + size);
        }
        let addr = mem as usize;
        let puddle = p.puddles.iter().find(|&n| (*(n as *mut Puddle)).mh.contains(addr));
        match puddle {
            Some(n) => {
                if (*(n as *mut Puddle)).mh.deallocate(mem, size).is_err() {
                    alert(AN_FREE_TWICE);
                }
            }
            None => alert(AN_BAD_FREE_ADDR),
        }
    }
}

/// Frees `pool` and everything allocated from it. Null does nothing.
///
/// # Safety
/// `pool` is null or live, and none of its blocks is used after.
pub unsafe fn delete_pool(pool: *mut Pool) {
    // SAFETY: per the contract.
    unsafe {
        let Some(p) = pool.as_mut() else { return };
        loop {
            let n = p.puddles.rem_head();
            if n.is_null() {
                break;
            }
            free_mem(n as *mut u8, PUDDLE_HEADER + p.puddle_size);
        }
        loop {
            let n = p.large.rem_head() as *mut Large;
            if n.is_null() {
                break;
            }
            free_mem(n as *mut u8, LARGE_HEADER + (*n).size);
        }
        free_mem(pool as *mut u8, size_of::<Pool>());
    }
}
