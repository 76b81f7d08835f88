//! Exec's memory region allocator (`struct MemHeader` with its `MemChunk` free list).
//!
//! A region is carved into blocks of [`MEM_BLOCKSIZE`] bytes. Free chunks form a list sorted
//! by address, each chunk's header written into the free memory itself, so the allocator needs
//! no memory of its own. Allocation is first-fit from the bottom, or last-fit from the top with
//! `reverse` (MEMF_REVERSE). As on the Amiga, the caller gives the size back when freeing; a free
//! that overlaps free memory, or lies outside the region, is refused with an error instead of
//! corrupting the list.

use core::ptr::{NonNull, null_mut};

/// Allocation granularity and alignment.
pub const MEM_BLOCKSIZE: usize = 16;

#[repr(C)]
struct MemChunk {
    next: *mut MemChunk,
    bytes: usize,
}

/// Why a free was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeError {
    /// Some of the block lies outside this region.
    OutsideRegion,
    /// The pointer is not on a block boundary, so it never came from this region.
    Misaligned,
    /// Some of the block is already free: freed twice, or freed with a wrong size.
    AlreadyFree,
}

/// One region of memory and its free list.
#[derive(Debug)]
pub struct MemHeader {
    lower: usize,
    upper: usize,
    first: *mut MemChunk,
    free: usize,
}

// SAFETY: the header owns its region exclusively; whoever shares the header guards it.
unsafe impl Send for MemHeader {}

const fn round_up(n: usize) -> usize {
    (n + MEM_BLOCKSIZE - 1) & !(MEM_BLOCKSIZE - 1)
}

impl MemHeader {
    /// A header managing nothing.
    pub const fn empty() -> Self {
        MemHeader { lower: 0, upper: 0, first: null_mut(), free: 0 }
    }

    /// Manages `[base, base + size)`, shrunk to block boundaries, all of it free.
    ///
    /// # Safety
    /// The range is writable memory that nothing else uses for as long as the header lives.
    pub unsafe fn new(base: usize, size: usize) -> Self {
        let lower = round_up(base);
        let upper = (base + size) & !(MEM_BLOCKSIZE - 1);
        if upper <= lower {
            return Self::empty();
        }
        let first = lower as *mut MemChunk;
        // SAFETY: `lower` is block-aligned inside the range the caller gave us.
        unsafe { first.write(MemChunk { next: null_mut(), bytes: upper - lower }) };
        MemHeader { lower, upper, first, free: upper - lower }
    }

    /// `[lower, upper)`: the region managed.
    pub fn bounds(&self) -> (usize, usize) {
        (self.lower, self.upper)
    }

    /// Whether `addr` lies in the region.
    pub fn contains(&self, addr: usize) -> bool {
        (self.lower..self.upper).contains(&addr)
    }

    /// Bytes in the region.
    pub fn total(&self) -> usize {
        self.upper - self.lower
    }

    /// Free bytes.
    pub fn free(&self) -> usize {
        self.free
    }

    /// The largest free chunk.
    pub fn largest(&self) -> usize {
        self.chunks().map(|(_, b)| b).max().unwrap_or(0)
    }

    /// `(address, bytes)` of every free chunk, lowest first.
    pub fn chunks(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let mut at = self.first;
        core::iter::from_fn(move || {
            // SAFETY: chunks on the list are headers we wrote into our own free memory.
            let c = unsafe { at.as_ref() }?;
            let item = (at as usize, c.bytes);
            at = c.next;
            Some(item)
        })
    }

    /// Allocates `size` bytes (rounded up to a block), from the lowest fitting chunk, or from
    /// the top of the highest one with `reverse`. `None` if nothing fits or `size` is 0.
    pub fn allocate(&mut self, size: usize, reverse: bool) -> Option<NonNull<u8>> {
        if size == 0 || size > self.free {
            return None;
        }
        let size = round_up(size);
        // Find the chunk (and its predecessor link) to cut from.
        let mut link: *mut *mut MemChunk = &mut self.first;
        let mut chosen: Option<*mut *mut MemChunk> = None;
        // SAFETY: every chunk pointer on the list is a header in our free memory.
        unsafe {
            while !(*link).is_null() {
                let c = *link;
                if (*c).bytes >= size {
                    chosen = Some(link);
                    if !reverse {
                        break;
                    }
                }
                link = &mut (*c).next;
            }
            let link = chosen?;
            let c = *link;
            let rest = (*c).bytes - size;
            let block = if reverse {
                // Take the top; the chunk keeps its header and shrinks.
                if rest == 0 {
                    *link = (*c).next;
                } else {
                    (*c).bytes = rest;
                }
                c as usize + rest
            } else {
                // Take the bottom; what remains moves up.
                if rest == 0 {
                    *link = (*c).next;
                } else {
                    let moved = (c as usize + size) as *mut MemChunk;
                    moved.write(MemChunk { next: (*c).next, bytes: rest });
                    *link = moved;
                }
                c as usize
            };
            self.free -= size;
            NonNull::new(block as *mut u8)
        }
    }

    /// Gives back `size` bytes at `ptr`, merging with free neighbours.
    ///
    /// # Safety
    /// If the call succeeds, the block becomes free: nobody may use it after. (Blocks that were
    /// never allocated here are refused when they overlap free memory, but a block allocated by
    /// someone else, or a wrong size that overlaps only used memory, cannot be detected.)
    pub unsafe fn deallocate(&mut self, ptr: *mut u8, size: usize) -> Result<(), FreeError> {
        let start = ptr as usize;
        let size = round_up(size);
        if size == 0 {
            return Ok(());
        }
        if !start.is_multiple_of(MEM_BLOCKSIZE) {
            return Err(FreeError::Misaligned);
        }
        let end = start.checked_add(size).ok_or(FreeError::OutsideRegion)?;
        if start < self.lower || end > self.upper {
            return Err(FreeError::OutsideRegion);
        }
        // SAFETY: list chunks are our headers; the new block is ours per the checks above and
        // the caller's promise.
        unsafe {
            let mut prev: *mut MemChunk = null_mut();
            let mut next = self.first;
            while !next.is_null() && (next as usize) < start {
                prev = next;
                next = (*next).next;
            }
            if let Some(p) = prev.as_ref()
                && prev as usize + p.bytes > start
            {
                return Err(FreeError::AlreadyFree);
            }
            if !next.is_null() && end > next as usize {
                return Err(FreeError::AlreadyFree);
            }
            // Link in, merging with the following chunk...
            let block = start as *mut MemChunk;
            if !next.is_null() && end == next as usize {
                block.write(MemChunk { next: (*next).next, bytes: size + (*next).bytes });
            } else {
                block.write(MemChunk { next, bytes: size });
            }
            // ...and with the preceding one.
            match prev.as_mut() {
                Some(p) if prev as usize + p.bytes == start => {
                    p.bytes += (*block).bytes;
                    p.next = (*block).next;
                }
                Some(p) => p.next = block,
                None => self.first = block,
            }
        }
        self.free += size;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::undocumented_unsafe_blocks, reason = "every unsafe block in these tests: regions are Vec-backed buffers that outlive their headers; blocks are freed with the sizes they were allocated with.")]
mod tests {
    use super::*;

    fn region(bytes: usize) -> (Vec<u128>, MemHeader) {
        let mut mem = vec![0u128; bytes / 16];
        let mh = unsafe { MemHeader::new(mem.as_mut_ptr() as usize, bytes) };
        (mem, mh)
    }

    #[test]
    fn allocate_and_free_everything() {
        let (mem, mut mh) = region(4096);
        let base = mem.as_ptr() as usize;
        assert_eq!((mh.total(), mh.free(), mh.largest()), (4096, 4096, 4096));
        let a = mh.allocate(100, false).unwrap();
        assert_eq!(a.as_ptr() as usize, base);
        assert_eq!(mh.free(), 4096 - 112);
        let b = mh.allocate(16, false).unwrap();
        assert_eq!(b.as_ptr() as usize, base + 112);
        unsafe {
            mh.deallocate(a.as_ptr(), 100).unwrap();
            mh.deallocate(b.as_ptr(), 16).unwrap();
        }
        assert_eq!(mh.free(), 4096);
        assert_eq!(mh.chunks().count(), 1, "freed neighbours merge back into one chunk");
    }

    #[test]
    fn reverse_allocates_from_the_top() {
        let (mem, mut mh) = region(4096);
        let top = mem.as_ptr() as usize + 4096;
        let a = mh.allocate(32, true).unwrap();
        assert_eq!(a.as_ptr() as usize, top - 32);
        let b = mh.allocate(4096 - 32, true).unwrap();
        assert_eq!(b.as_ptr() as usize, mem.as_ptr() as usize);
        assert!(mh.allocate(16, true).is_none());
        assert_eq!(mh.free(), 0);
        unsafe { mh.deallocate(a.as_ptr(), 32).unwrap() };
        assert_eq!(mh.largest(), 32);
    }

    #[test]
    fn zero_and_oversized_requests_fail() {
        let (_mem, mut mh) = region(1024);
        assert!(mh.allocate(0, false).is_none());
        assert!(mh.allocate(1025, false).is_none());
        assert!(mh.allocate(1024, false).is_some());
    }

    #[test]
    fn first_fit_skips_small_holes() {
        let (_mem, mut mh) = region(1024);
        let a = mh.allocate(64, false).unwrap();
        let _b = mh.allocate(64, false).unwrap();
        unsafe { mh.deallocate(a.as_ptr(), 64).unwrap() };
        let c = mh.allocate(128, false).unwrap();
        assert_eq!(c.as_ptr() as usize, a.as_ptr() as usize + 128);
        let d = mh.allocate(48, false).unwrap();
        assert_eq!(d, a, "a small request fills the hole");
    }

    #[test]
    fn bad_frees_are_refused() {
        let (mem, mut mh) = region(1024);
        let base = mem.as_ptr() as usize;
        let a = mh.allocate(64, false).unwrap();
        unsafe {
            assert_eq!(mh.deallocate(a.as_ptr().add(1), 64), Err(FreeError::Misaligned));
            assert_eq!(mh.deallocate((base + 2048) as *mut u8, 16), Err(FreeError::OutsideRegion));
            assert_eq!(mh.deallocate(a.as_ptr(), 128), Err(FreeError::AlreadyFree), "too large a size");
            mh.deallocate(a.as_ptr(), 64).unwrap();
            assert_eq!(mh.deallocate(a.as_ptr(), 64), Err(FreeError::AlreadyFree), "double free");
        }
        assert_eq!(mh.free(), 1024);
    }

    #[test]
    fn random_churn_keeps_the_books() {
        let (_mem, mut mh) = region(1 << 16);
        let mut live: Vec<(NonNull<u8>, usize)> = Vec::new();
        let mut seed = 12345u64;
        for _ in 0..10_000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let r = (seed >> 33) as usize;
            if !r.is_multiple_of(3) || live.is_empty() {
                let size = 1 + r % 700;
                if let Some(p) = mh.allocate(size, r.is_multiple_of(5)) {
                    live.push((p, size));
                }
            } else {
                let (p, size) = live.swap_remove(r % live.len());
                unsafe { mh.deallocate(p.as_ptr(), size).unwrap() };
            }
            let used: usize = live.iter().map(|&(_, s)| round_up(s)).sum();
            assert_eq!(mh.free() + used, 1 << 16);
        }
        for (p, size) in live.drain(..) {
            unsafe { mh.deallocate(p.as_ptr(), size).unwrap() };
        }
        assert_eq!(mh.chunks().collect::<Vec<_>>().len(), 1);
        assert_eq!(mh.largest(), 1 << 16);
    }
}
