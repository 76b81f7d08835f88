//! The pages of one arena, handed out by the buddy system: O(log n) whatever was allocated
//! and freed before.
//!
//! Ring-3 tasks used to take their blocks straight from exec memory, whose free list is first
//! fit (`exec::memheader`): by allocating and freeing in turn a task could leave thousands of
//! holes there, and every AllocMem of every task, ring 0 included, walked them. Blocks for
//! ring 3 are whole pages, so they come from arenas of [`ARENA_PAGES`] pages instead (see
//! `pages`), each managed here: a block of `n` pages is cut from the smallest free power of two
//! that holds it, the pages past `n` given back at once; a freed block merges with its free
//! buddies. Each step touches one list head per order, so an allocation or a free costs at
//! most a few dozen steps, however the arena is cut up.
//!
//! The books are kept here, in kernel memory, by page index: nothing is written into the free
//! pages themselves, so nothing a task wrote into a page before it was freed is ever read back.
//!
//! Guarded by whoever owns the arena (the gate, under Forbid).
#![forbid(unsafe_code)]

use alloc::boxed::Box;
use alloc::vec;

/// log2 of an arena's pages.
pub const ARENA_ORDER: usize = 10;
/// Pages in an arena: 1,024 (4 MiB).
pub const ARENA_PAGES: usize = 1 << ARENA_ORDER;
const ORDERS: usize = ARENA_ORDER + 1;
/// No page: the end of a free list.
const NONE: u16 = u16::MAX;

/// The free blocks of one arena, one doubly linked list per order, linked by page index.
pub struct Buddy {
    /// The first free block of each order, or [`NONE`].
    heads: [u16; ORDERS],
    /// Bit `k` set: `heads[k]` is not empty.
    nonempty: u16,
    /// For the first page of a free block: its neighbours on its order's list. (On the heap:
    /// the books of an arena are 5 KiB, too large for a kernel stack on the way to a box.)
    next: Box<[u16]>,
    prev: Box<[u16]>,
    /// For the first page of a free block: its order plus one; 0 for every other page.
    free_order: Box<[u8]>,
    free_pages: usize,
}

impl Default for Buddy {
    fn default() -> Self {
        Self::new()
    }
}

impl Buddy {
    /// An arena whose pages are all free.
    pub fn new() -> Self {
        let mut b = Buddy {
            heads: [NONE; ORDERS],
            nonempty: 0,
            next: vec![NONE; ARENA_PAGES].into_boxed_slice(),
            prev: vec![NONE; ARENA_PAGES].into_boxed_slice(),
            free_order: vec![0; ARENA_PAGES].into_boxed_slice(),
            free_pages: ARENA_PAGES,
        };
        b.push(0, ARENA_ORDER);
        b
    }

    /// Pages free.
    pub fn free_pages(&self) -> usize {
        self.free_pages
    }

    /// Whether every page is free.
    pub fn is_empty(&self) -> bool {
        self.free_pages == ARENA_PAGES
    }

    /// Whether a block of `pages` pages would be found now.
    pub fn fits(&self, pages: usize) -> bool {
        (1..=ARENA_PAGES).contains(&pages) && self.nonempty >> order_for(pages) != 0
    }

    /// Allocates `pages` contiguous pages. Result: the first page's index, or `None` if `pages`
    /// is 0, over [`ARENA_PAGES`], or no free block is large enough.
    pub fn alloc(&mut self, pages: usize) -> Option<usize> {
        if !self.fits(pages) {
            return None;
        }
        let want = order_for(pages);
        let found = (self.nonempty >> want).trailing_zeros() as usize + want;
        let at = usize::from(self.heads[found]);
        self.unlink(at, found);
        // Halve down to the order wanted, the upper halves staying free...
        for order in (want..found).rev() {
            self.push(at + (1 << order), order);
        }
        // ...and give back the pages past `pages`: they cannot merge (each piece's buddy holds
        // allocated pages), so they are only listed.
        self.free_pages -= 1 << want;
        self.give_back(at + pages, at + (1 << want), false);
        Some(at)
    }

    /// Frees the `pages` pages from `first`, as [`Buddy::alloc`] gave them, merging with free
    /// buddies.
    ///
    /// # Panics
    /// In debug builds, if a piece of the range starts at the start of a free block (the
    /// caller's records are the kernel's own, so this is a kernel bug, not a task's doing).
    pub fn free(&mut self, first: usize, pages: usize) {
        debug_assert!(first + pages <= ARENA_PAGES && pages > 0, "a range inside the arena");
        self.give_back(first, first + pages, true);
    }

    /// Lists `[from, to)` as free, in the largest aligned pieces that fit, merging each with its
    /// free buddies if `merge`.
    fn give_back(&mut self, mut from: usize, to: usize, merge: bool) {
        while from < to {
            let mut order = (from.trailing_zeros() as usize).min(ARENA_ORDER);
            while from + (1 << order) > to {
                order -= 1;
            }
            debug_assert!(self.free_order[from] == 0, "page {from} freed twice");
            self.free_pages += 1 << order;
            let next = from + (1 << order);
            let (mut at, mut o) = (from, order);
            while merge && o < ARENA_ORDER {
                let buddy = at ^ (1 << o);
                if usize::from(self.free_order[buddy]) != o + 1 {
                    break;
                }
                self.unlink(buddy, o);
                at = at.min(buddy);
                o += 1;
            }
            self.push(at, o);
            from = next;
        }
    }

    fn push(&mut self, at: usize, order: usize) {
        let head = self.heads[order];
        self.next[at] = head;
        self.prev[at] = NONE;
        if head != NONE {
            self.prev[usize::from(head)] = at as u16;
        }
        self.heads[order] = at as u16;
        self.nonempty |= 1 << order;
        self.free_order[at] = order as u8 + 1;
    }

    fn unlink(&mut self, at: usize, order: usize) {
        let (next, prev) = (self.next[at], self.prev[at]);
        if prev == NONE {
            self.heads[order] = next;
        } else {
            self.next[usize::from(prev)] = next;
        }
        if next != NONE {
            self.prev[usize::from(next)] = prev;
        }
        if self.heads[order] == NONE {
            self.nonempty &= !(1 << order);
        }
        self.free_order[at] = 0;
    }
}

/// The pages of the block [`Buddy::alloc`] cuts `pages` (1 or more) from: the smallest power
/// of two that holds them. (The pages past `pages` are free again at once, but they stay in
/// the block's arena, and only what fits them can use them.)
pub fn block_pages(pages: usize) -> usize {
    pages.next_power_of_two()
}

/// The order of the smallest power of two of pages that holds `pages` (1 or more).
fn order_for(pages: usize) -> usize {
    pages.next_power_of_two().trailing_zeros() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every free block, as (first page, order), checked against the lists' invariants.
    fn free_blocks(b: &Buddy) -> Vec<(usize, usize)> {
        let mut all = Vec::new();
        for order in 0..ORDERS {
            let mut at = b.heads[order];
            let mut prev = NONE;
            while at != NONE {
                let i = usize::from(at);
                assert_eq!(b.prev[i], prev, "back link");
                assert_eq!(usize::from(b.free_order[i]), order + 1, "order mark");
                assert_eq!(i % (1 << order), 0, "aligned");
                all.push((i, order));
                prev = at;
                at = b.next[i];
            }
            assert_eq!(b.nonempty & (1 << order) != 0, b.heads[order] != NONE, "nonempty bit");
        }
        assert_eq!(all.iter().map(|&(_, o)| 1 << o).sum::<usize>(), b.free_pages, "free count");
        all
    }

    #[test]
    fn a_fresh_arena_is_one_block() {
        let b = Buddy::new();
        assert_eq!(free_blocks(&b), vec![(0, ARENA_ORDER)]);
        assert!(b.is_empty());
    }

    #[test]
    fn odd_sizes_give_back_their_tail() {
        let mut b = Buddy::new();
        assert_eq!(b.alloc(5), Some(0));
        assert_eq!(b.free_pages(), ARENA_PAGES - 5);
        // Pages 5, 6-7 are free again, and the halves 8.., 16.., ... from the split.
        let blocks = free_blocks(&b);
        assert!(blocks.contains(&(5, 0)) && blocks.contains(&(6, 1)) && blocks.contains(&(8, 3)));
        assert_eq!(b.alloc(1), Some(5), "the tail is used");
        assert_eq!(b.alloc(2), Some(6), "the tail is used");
        assert_eq!(b.alloc(3), Some(8), "three pages take a block of four");
        assert!(free_blocks(&b).contains(&(11, 0)), "and give its fourth back");
        b.free(0, 5);
        b.free(8, 3);
        b.free(6, 2);
        b.free(5, 1);
        assert_eq!(free_blocks(&b), vec![(0, ARENA_ORDER)], "everything merges back");
    }

    #[test]
    fn refuses_what_cannot_fit() {
        let mut b = Buddy::new();
        assert_eq!(b.alloc(0), None);
        assert_eq!(b.alloc(ARENA_PAGES + 1), None);
        assert_eq!(b.alloc(ARENA_PAGES), Some(0));
        assert_eq!(b.alloc(1), None);
        b.free(0, ARENA_PAGES);
        assert!(b.is_empty());
    }

    #[test]
    fn holes_do_not_lengthen_a_search() {
        // Every other page allocated: 512 one-page holes. A two-page request fails at once
        // (no list of order 1 or above), a one-page one takes the first hole.
        let mut b = Buddy::new();
        let all: Vec<usize> = (0..ARENA_PAGES).map(|_| b.alloc(1).unwrap()).collect();
        for &p in all.iter().step_by(2) {
            b.free(p, 1);
        }
        assert!(!b.fits(2));
        assert_eq!(b.alloc(2), None);
        assert!(b.alloc(1).is_some());
        assert_eq!(free_blocks(&b).len(), ARENA_PAGES / 2 - 1);
    }

    #[test]
    fn random_churn_keeps_the_books() {
        let mut b = Buddy::new();
        let mut held: Vec<(usize, usize)> = Vec::new();
        let mut owner = vec![false; ARENA_PAGES];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            if seed.is_multiple_of(3) && !held.is_empty() {
                let (at, n) = held.swap_remove((seed >> 8) as usize % held.len());
                owner[at..at + n].iter_mut().for_each(|o| *o = false);
                b.free(at, n);
            } else {
                let n = 1 + (seed >> 20) as usize % 40;
                if let Some(at) = b.alloc(n) {
                    assert!(owner[at..at + n].iter().all(|o| !o), "handed out twice");
                    owner[at..at + n].iter_mut().for_each(|o| *o = true);
                    held.push((at, n));
                }
            }
            assert_eq!(b.free_pages(), ARENA_PAGES - held.iter().map(|&(_, n)| n).sum::<usize>());
        }
        let blocks = free_blocks(&b);
        for (at, o) in blocks {
            assert!(owner[at..at + (1 << o)].iter().all(|o| !o), "a free block holds a used page");
        }
        for (at, n) in held {
            b.free(at, n);
        }
        assert_eq!(free_blocks(&b), vec![(0, ARENA_ORDER)]);
    }
}
