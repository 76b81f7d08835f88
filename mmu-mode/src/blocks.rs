//! The blocks a ring-3 task allocated through the gate, found by address in O(log n).
//!
//! Every put asks which block holds a message (may it go by transfer? which block counts the
//! loan?), and a task decides how many blocks it holds (up to its family's memory quota:
//! thousands of pages). A list scanned per put would let a task make every one of its calls,
//! and the Forbid they run under, as long as it likes. The blocks are kept sorted by start
//! address instead, and found by binary search: a few comparisons whatever the task holds.
//! Blocks never overlap, so the one that may hold an address is the last starting at or below
//! it. (A BTreeMap measured 30 instructions more per transfer and 90 more per copy for the one
//! or two blocks a task usually has; a sorted vector pays its O(n) only in `alloc` and `free`,
//! as a move of memory, not on the message path.)
//!
//! Guarded by its space's owner: only the gate, under Forbid, changes a space's blocks.
#![forbid(unsafe_code)]

use alloc::vec::Vec;
use core::cell::Cell;

/// Memory a task allocated through the gate (`Space::alloc`), which may move from one space
/// to another (`Space::give_away`).
// Read by `space`, which only the kernel build compiles: unread in the host build.
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
pub struct Block {
    /// Where its pages came from (`pages`).
    pub(crate) source: Source,
    /// The page-aligned part open to the task: `[start, start + len)`.
    pub(crate) start: u64,
    pub(crate) len: u64,
    /// Messages in flight that lend part of it (see `msg`): while any does, it can be neither
    /// freed nor sent by transfer.
    pub(crate) lent: u32,
    /// The family charged for it: its allocator's (for a message's copy, the sender's), which
    /// stays charged when the block passes to the receiver of a message whose sender ended
    /// (`Space::adopt`), until the block is freed, or until a task of another family lends it
    /// (the charge moves to that family: `Space::lend`), or a spare copy block is reused for
    /// another sender's copy (`Space::alloc_copy`).
    pub(crate) family: u64,
}

/// Where a block's pages came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Arena number `n` of `pages`' table.
    Arena(u16),
    /// Exec memory: what alloc_mem returned (as an address), and the size asked for.
    Exec { block: usize, size: usize },
}

/// A space's blocks, sorted by start address.
#[derive(Default)]
pub struct Blocks {
    sorted: Vec<Block>,
    /// Where the last lookup found its block: tried first, since a task's messages come from
    /// one block again and again. Only a guess: what it points at is checked like any other
    /// candidate, so a stale one (after an insert or a removal) costs a search, never a wrong
    /// answer.
    hint: Cell<usize>,
}

impl Blocks {
    /// Adds `b`, whose `[start, start + len)` overlaps no block already here.
    pub fn insert(&mut self, b: Block) {
        debug_assert!(self.holding(b.start, b.len.max(1)).is_none(), "blocks never overlap");
        let i = self.starting_at_or_below(b.start);
        self.sorted.insert(i, b);
    }

    /// How many blocks start at or below `addr`: a binary search.
    fn starting_at_or_below(&self, addr: u64) -> usize {
        let (mut lo, mut hi) = (0, self.sorted.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.sorted[mid].start <= addr {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    fn index_of(&self, start: u64) -> Option<usize> {
        let h = self.hint.get();
        if self.sorted.get(h).is_some_and(|b| b.start == start) {
            return Some(h);
        }
        let i = self.starting_at_or_below(start).checked_sub(1)?;
        self.hint.set(i);
        (self.sorted[i].start == start).then_some(i)
    }

    /// The index of the block holding every byte of `[addr, addr + len)`.
    fn index_holding(&self, addr: u64, len: u64) -> Option<usize> {
        let holds = |b: &Block| b.start <= addr && addr.saturating_add(len) <= b.start + b.len;
        let h = self.hint.get();
        if self.sorted.get(h).is_some_and(holds) {
            return Some(h);
        }
        let i = self.starting_at_or_below(addr).checked_sub(1)?;
        self.hint.set(i);
        holds(&self.sorted[i]).then_some(i)
    }

    /// The block starting at `start`.
    pub fn at(&self, start: u64) -> Option<&Block> {
        self.index_of(start).map(|i| &self.sorted[i])
    }

    /// The block starting at `start`, to change.
    pub fn at_mut(&mut self, start: u64) -> Option<&mut Block> {
        self.index_of(start).map(|i| &mut self.sorted[i])
    }

    /// The block holding every byte of `[addr, addr + len)`, if one does.
    pub fn holding(&self, addr: u64, len: u64) -> Option<&Block> {
        self.index_holding(addr, len).map(|i| &self.sorted[i])
    }

    /// [`Blocks::holding`], to change.
    pub fn holding_mut(&mut self, addr: u64, len: u64) -> Option<&mut Block> {
        self.index_holding(addr, len).map(|i| &mut self.sorted[i])
    }

    /// Takes out the block starting at `start`.
    pub fn remove(&mut self, start: u64) -> Option<Block> {
        self.index_of(start).map(|i| self.sorted.remove(i))
    }

    /// Every block, by address.
    pub fn iter(&self) -> impl Iterator<Item = &Block> {
        self.sorted.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(start: u64, len: u64) -> Block {
        Block { source: Source::Arena(0), start, len, lent: 0, family: 1 }
    }

    fn three() -> Blocks {
        let mut b = Blocks::default();
        for (s, l) in [(0x10_000, 0x1000), (0x20_000, 0x3000), (0x40_000, 0x1000)] {
            b.insert(block(s, l));
        }
        b
    }

    #[test]
    fn holding_finds_the_block_around_a_range() {
        let b = three();
        assert_eq!(b.holding(0x20_000, 0x3000).map(|b| b.start), Some(0x20_000), "the whole block");
        assert_eq!(b.holding(0x21_234, 0x100).map(|b| b.start), Some(0x20_000), "inside it");
        assert_eq!(b.holding(0x22_f00, 0x100).map(|b| b.start), Some(0x20_000), "up to its last byte");
        assert!(b.holding(0x22_f00, 0x101).is_none(), "one byte past its end");
        assert!(b.holding(0x23_000, 1).is_none(), "in the gap after it");
        assert!(b.holding(0x0f_fff, 1).is_none(), "below the first block");
        assert!(b.holding(0x1f_000, 0x2000).is_none(), "straddling a gap and a block");
        assert!(b.holding(0x40_000, u64::MAX).is_none(), "a length that wraps");
        assert!(b.holding(u64::MAX, 1).is_none());
    }

    #[test]
    fn exact_lookup_and_removal() {
        let mut b = three();
        assert!(b.at(0x21_000).is_none(), "an address inside a block is not its start");
        b.at_mut(0x20_000).unwrap().lent += 1;
        b.holding_mut(0x40_010, 8).unwrap().lent += 2;
        assert_eq!(b.at(0x20_000).unwrap().lent, 1);
        assert_eq!(b.remove(0x40_000).map(|x| x.lent), Some(2));
        assert!(b.holding(0x40_010, 8).is_none(), "gone");
        assert_eq!(b.iter().map(|x| x.start).collect::<alloc::vec::Vec<_>>(), [0x10_000, 0x20_000]);
    }

    #[test]
    fn many_blocks_each_found() {
        let mut b = Blocks::default();
        for i in 0..5000u64 {
            b.insert(block(i * 0x2000, 0x1000));
        }
        for i in (0..5000u64).step_by(7) {
            assert_eq!(b.holding(i * 0x2000 + 0x800, 0x800).map(|x| x.start), Some(i * 0x2000));
            assert!(b.holding(i * 0x2000 + 0x1000, 1).is_none(), "the gap between blocks");
        }
    }
}
