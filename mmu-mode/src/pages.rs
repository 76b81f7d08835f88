//! Pages for ring 3: the stacks of ring-3 tasks and the blocks they allocate through the gate.
//!
//! They come from arenas of 4 MiB taken from exec memory when needed and given back when
//! their last page is freed, each cut up by the buddy system (`buddy`, host-tested). A task's
//! pattern of allocations and frees so stays inside the arenas: it cannot multiply the holes
//! in exec memory's first-fit list, which every AllocMem of every task walks. Blocks larger
//! than an arena, and blocks asked for when no arena has room and none can be made (exec
//! memory too low or too cut up, or [`MAX_ARENAS`] in use), still come straight from exec
//! memory, a page over so that they can be aligned: a family's quota allows only a few blocks
//! that large.
//!
//! A family is charged for the exec memory its blocks keep from others: a block from an arena
//! for the power of two of pages it was cut from (5 pages cost 8: the 3 past them are free
//! again, but only for blocks that fit them), so that a family's quota bounds the arenas it
//! can fill whatever sizes it asks for; a block straight from exec memory for its pages and
//! the page over.
//!
//! Blocks in an arena lie next to each other, with no unmapped page between them: a task
//! that overruns one block writes into its next one if that is its own (it faults if not).
//! An arena stays in use while a single page of it is; an emptied one goes back at once (the
//! next block may take a new one: an AllocMem of 4 MiB from exec memory).
//!
//! The arena table is guarded by Forbid.

use exec::global::Global;
use exec::memory::{MemFlags, alloc_mem, free_mem};
use exec::sched::{forbid, permit};

pub use crate::blocks::Source;
use crate::buddy::{ARENA_PAGES, Buddy};

const PAGE: u64 = 4096;
/// Bytes in an arena.
const ARENA_BYTES: u64 = ARENA_PAGES as u64 * PAGE;
/// At most this many arenas (256 MiB): past it, blocks come straight from exec memory.
pub const MAX_ARENAS: usize = 64;

/// Whole pages, zeroed when handed out: `[start, start + len)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pages {
    pub start: u64,
    pub len: u64,
    pub source: Source,
}

impl Pages {
    /// The exec memory they take, which their family is charged for.
    pub fn cost(&self) -> u64 {
        match self.source {
            Source::Arena(_) => crate::buddy::block_pages((self.len / PAGE) as usize) as u64 * PAGE,
            Source::Exec { size, .. } => size as u64,
        }
    }
}

struct Arena {
    /// What alloc_mem returned (as an address): freed with [`ARENA_ALLOC`] bytes.
    block: usize,
    /// Its first whole page.
    base: u64,
    buddy: Buddy,
}

/// An arena's allocation: a page over, so that its pages can be aligned.
const ARENA_ALLOC: usize = (ARENA_BYTES + PAGE) as usize;
/// What exec memory takes besides the bytes asked for (its block header).
const EXEC_HEADER: usize = 64;

/// The arenas. Forbid.
static ARENAS: Global<[Option<Arena>; MAX_ARENAS]> = Global::new([const { None }; MAX_ARENAS]);

/// What a block of `len` bytes (rounded up to pages) will cost at most, for charging before
/// [`alloc`]: a block that ends up in an arena costs less, and [`Pages::cost`] says how much.
pub fn worst_cost(len: u64) -> u64 {
    let pages = len.max(1).div_ceil(PAGE);
    if pages as usize <= ARENA_PAGES {
        (pages + 1).max(crate::buddy::block_pages(pages as usize) as u64) * PAGE
    } else {
        // Never from an arena: its pages and the page over, not a power of two.
        (pages + 1) * PAGE
    }
}

/// Allocates `len` bytes (rounded up to whole pages), zeroed. Result: the pages, or `None`
/// without memory. Not callable from an interrupt.
pub fn alloc(len: u64) -> Option<Pages> {
    alloc_cleared_from(len, 0)
}

/// [`alloc`], but only the pages' bytes from `from` on are zeroed: for a block whose first
/// `from` bytes the caller writes at once, before any task can see it (a message's copy: a
/// megabyte's copy cleared first cost a third more). Not callable from an interrupt.
pub(crate) fn alloc_cleared_from(len: u64, from: u64) -> Option<Pages> {
    let len = len.max(1).div_ceil(PAGE) * PAGE;
    let pages = (len / PAGE) as usize;
    let found = if pages <= ARENA_PAGES { from_arena(pages) } else { None };
    let p = match found {
        Some(p) => p,
        None => {
            let size = (len + PAGE) as usize;
            let block = alloc_mem(size, MemFlags::PUBLIC);
            if block.is_null() {
                return None;
            }
            Pages { start: (block as u64).div_ceil(PAGE) * PAGE, len, source: Source::Exec { block: block as usize, size } }
        }
    };
    // Cleared in chunks, letting pending interrupts in between (a gate call runs with them
    // off until its first Enable, and a block may be megabytes).
    let mut at = p.start + from.min(p.len);
    while at < p.start + p.len {
        let n = (p.start + p.len - at).min(crate::uaccess::CHUNK as u64);
        // SAFETY: the pages are ours alone now: mapped for no task yet.
        unsafe { core::ptr::write_bytes(at as *mut u8, 0, n as usize) };
        at += n;
        exec::sched::let_interrupts_in();
    }
    Some(p)
}

/// A run of `pages` pages from an arena with room, or from a new one.
fn from_arena(pages: usize) -> Option<Pages> {
    forbid();
    // SAFETY: Forbid held; the only reference to the table until the permit below.
    let arenas = unsafe { &mut *ARENAS.get() };
    let mut found = None;
    let mut vacant = None;
    // A walk of the table, whose length is bounded by memory (a few dozen arenas on our
    // machines), not by what any one family does: its quota fills six.
    for (i, slot) in arenas.iter_mut().enumerate() {
        match slot {
            Some(a) if a.buddy.fits(pages) => {
                found = Some(i);
                break;
            }
            None if vacant.is_none() => vacant = Some(i),
            _ => {}
        }
    }
    if found.is_none()
        && let Some(i) = vacant
        && exec::memory::avail_mem(MemFlags::ANY) as u64 >= (ARENA_ALLOC + EXEC_HEADER) as u64 + crate::policy::MEMORY_RESERVE
    {
        let block = alloc_mem(ARENA_ALLOC, MemFlags::PUBLIC);
        if !block.is_null() {
            let base = (block as u64).div_ceil(PAGE) * PAGE;
            arenas[i] = Some(Arena { block: block as usize, base, buddy: Buddy::new() });
            found = Some(i);
        }
    }
    let result = found.and_then(|i| {
        let a = arenas[i].as_mut()?;
        let first = a.buddy.alloc(pages)?;
        Some(Pages { start: a.base + first as u64 * PAGE, len: pages as u64 * PAGE, source: Source::Arena(i as u16) })
    });
    permit();
    result
}

/// Frees pages from [`alloc`]; an arena whose pages are all free goes back to exec memory.
/// Not callable from an interrupt.
///
/// # Safety
/// `p` is what [`alloc`] returned, freed once; no task's tables map its pages any more, and
/// nobody uses them after.
pub unsafe fn free(p: Pages) {
    match p.source {
        // SAFETY: per the contract, the block alloc_mem gave with this size.
        Source::Exec { block, size } => unsafe { free_mem(block as *mut u8, size) },
        Source::Arena(i) => {
            forbid();
            // SAFETY: Forbid held; the only reference to the table until the permit below.
            let slot = unsafe { &mut (*ARENAS.get())[usize::from(i)] };
            debug_assert!(slot.is_some(), "pages freed into an arena that went");
            if let Some(a) = slot {
                a.buddy.free(((p.start - a.base) / PAGE) as usize, (p.len / PAGE) as usize);
                if a.buddy.is_empty() {
                    let block = a.block;
                    *slot = None;
                    // SAFETY: the arena's block, every page of it free.
                    unsafe { free_mem(block as *mut u8, ARENA_ALLOC) };
                }
            }
            permit();
        }
    }
}

/// Arenas in use now (for tests).
pub fn arenas() -> usize {
    forbid();
    // SAFETY: Forbid held; read only, until the permit below.
    let n = unsafe { (*ARENAS.get()).iter().filter(|a| a.is_some()).count() };
    permit();
    n
}
