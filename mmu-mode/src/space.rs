//! A task's address space: the same identity map as the kernel's, but every page closed to
//! ring 3 except the image's code (read-execute), its constants (read-only) and the task's own
//! user stack (read-write). 2 MiB pages where nothing is open to the task, 4 KiB tables where
//! something is.

use alloc::boxed::Box;
use alloc::vec::Vec;

use exec::arch::x86_64::{cpu, entry_text, ring3_readable_data, text_and_rodata};

use x86_64::structures::paging::page_table::PageTableEntry;
use x86_64::structures::paging::{PageTable, PageTableFlags as F};

use crate::blocks::{Block, Blocks};
use crate::pages::{self, Pages};
use crate::policy::Policy;
use crate::pte::{Access, TABLE_FLAGS, entry, leaf_flags};
use crate::tickets::Tickets;

mod access;
mod loans;

const PAGE: u64 = 4096;
const HUGE: u64 = 2 << 20;
/// The boot tables map the first 4 GiB; so does every task's space.
const MAPPED: u64 = 4 << 30;
/// The most one allocation through the gate may ask for.
const MAX_ALLOC: u64 = 1 << 30;

/// `flags` without NO_EXECUTE where the CPU has no NX (the bit is reserved there).
fn strip_nx(flags: F) -> F {
    if cpu::features().nx { flags } else { flags - F::NO_EXECUTE }
}

fn table() -> Box<PageTable> {
    Box::new(PageTable::new())
}

/// The entry pointing at `table` (tables are identity-mapped: their address is their physical one).
fn table_entry(table: &PageTable) -> PageTableEntry {
    entry(table as *const PageTable as u64, PAGE, TABLE_FLAGS).unwrap_or_default()
}

/// The largest block kept as a spare for messages' copies: 64 KiB of body and a page for the
/// header (a message is its header and then its body).
pub const SPARE_MAX: u64 = 64 * 1024 + 4096;

/// A task's page tables and its user stack.
pub struct Space {
    pml4: Box<PageTable>,
    pdpt: Box<PageTable>,
    /// The four page directories of the 4 GiB mapped (an array: no length to check).
    pds: [Box<PageTable>; 4],
    pts: Vec<Box<PageTable>>,
    /// The user stack's pages: the first, closed to the task, a guard below the stack.
    stack: Pages,
    /// `[bottom, top)` of the user stack.
    pub stack_range: (u64, u64),
    /// Memory the task allocated through the gate, charged to its family: found by address
    /// in O(log n), however many blocks the task holds.
    allocations: Blocks,
    /// The start of a block that held the copy of a message sent to this task (by copy from
    /// ring 3, or from ring 0), kept for the next copy: closed to the task while it waits,
    /// and neither freeable nor sendable by it.
    spare: Option<u64>,
    /// The tickets of the messages this task holds (took and has not replied): where the
    /// reply of a message whose header the task wrote over (its ticket with it) looks, so that
    /// it walks the task's own messages, never everyone's. Each envelope knows its index here.
    held: Tickets,
    /// The tickets of the messages this task sent that are not done with (at most its
    /// `TASK_MESSAGES`, room made at the start): what its end turns into orphans, without a
    /// walk of everyone's. Each envelope knows its index here.
    sent: Tickets,
    /// The task's standing: creator, ceiling, family, grants (see `policy`).
    pub policy: Policy,
    /// The leaf flags this CPU takes: all, or all but NO_EXECUTE where there is no NX (the bit
    /// is reserved there). Kept here so that a page's change does not ask the CPU's features.
    leaf_mask: F,
}

impl Space {
    /// The value for CR3 (tables are identity-mapped: their address is their physical one).
    pub fn cr3(&self) -> u64 {
        &*self.pml4 as *const PageTable as u64
    }

    /// Builds a space with a user stack of `stack_size` bytes (whole pages, from `pages`, a
    /// guard page below, charged to `policy`'s family). `None` without memory or past the family's
    /// quota.
    pub fn new(stack_size: usize, policy: Policy) -> Option<Box<Space>> {
        let size = (stack_size as u64).div_ceil(PAGE) * PAGE;
        let worst = pages::worst_cost(size + PAGE);
        crate::policy::charge(policy.family, worst).ok()?;
        let Some(stack) = pages::alloc(size + PAGE) else {
            crate::policy::uncharge(policy.family, worst);
            return None;
        };
        crate::policy::uncharge(policy.family, worst - stack.cost());
        let bottom = stack.start + PAGE;
        let mut s = Box::new(Space {
            pml4: table(),
            pdpt: table(),
            pds: core::array::from_fn(|_| table()),
            pts: Vec::new(),
            stack,
            stack_range: (bottom, bottom + size),
            allocations: Blocks::default(),
            spare: None,
            held: Tickets::default(),
            sent: Tickets::with_capacity(crate::policy::TASK_MESSAGES as usize),
            policy,
            leaf_mask: strip_nx(F::all()),
        });
        s.fill();
        Some(s)
    }

    fn access(&self, page: u64, text: (u64, u64), rodata: (u64, u64)) -> Access {
        let entry = entry_text();
        let ring3_ro = ring3_readable_data();
        if (entry.0..entry.1).contains(&page) {
            Access::KernelCode
        } else if (text.0..text.1).contains(&page) {
            Access::ReadExecute
        } else if (rodata.0..rodata.1).contains(&page) || (ring3_ro.0..ring3_ro.1).contains(&page) {
            Access::Read
        } else if (self.stack_range.0..self.stack_range.1).contains(&page) {
            Access::ReadWrite
        } else {
            Access::Kernel
        }
    }

    fn fill(&mut self) {
        let (text, rodata) = text_and_rodata();
        let open = [entry_text(), text, rodata, ring3_readable_data(), self.stack_range];
        let global = exec::arch::x86_64::paging::global_range();
        self.pml4[0] = table_entry(&self.pdpt);
        for (i, pd) in self.pds.iter().enumerate() {
            self.pdpt[i] = table_entry(pd);
        }
        for region in 0..(MAPPED / HUGE) {
            let base = region * HUGE;
            let touches = open.iter().any(|&(s, e)| s < base + HUGE && e > base);
            let entry = if touches {
                let mut pt = table();
                for (i, slot) in pt.iter_mut().enumerate() {
                    let page = base + i as u64 * PAGE;
                    *slot = entry(page, PAGE, strip_nx(leaf_flags(self.access(page, text, rodata)))).unwrap_or_default();
                }
                let e = table_entry(&pt);
                self.pts.push(pt);
                e
            } else {
                // Kernel code lives in the image's region only: everything else is no-execute.
                // The kernel heap's 2 MiB pages are global, as in the kernel's tables (there too
                // supervisor, writable and no-execute).
                let global = if (global.0..global.1).contains(&base) { F::GLOBAL } else { F::empty() };
                entry(base, HUGE, strip_nx(leaf_flags(Access::Kernel)) | F::HUGE_PAGE | global).unwrap_or_default()
            };
            self.pds[(region / 512) as usize][(region % 512) as usize] = entry;
        }
    }
}

impl Space {
    /// Allocates `len` bytes of whole pages (see `pages`), zeroed, open to the task
    /// read-write. Result: the address, or `None` without memory or past the family's quota.
    pub fn alloc(&mut self, len: u64) -> Option<u64> {
        self.alloc_lent(len, 0, self.policy.family, 0)
    }

    /// [`Space::alloc`], the block counting `lent` loans from the start, charged to `family`,
    /// its bytes zeroed from `cleared_from` on (the caller writes those below at once, before
    /// the task runs: see `pages::alloc_cleared_from`).
    fn alloc_lent(&mut self, len: u64, lent: u32, family: u64, cleared_from: u64) -> Option<u64> {
        if len > MAX_ALLOC {
            return None;
        }
        let worst = pages::worst_cost(len);
        crate::policy::charge(family, worst).ok()?;
        let Some(p) = pages::alloc_cleared_from(len, cleared_from) else {
            crate::policy::uncharge(family, worst);
            return None;
        };
        crate::policy::uncharge(family, worst - p.cost());
        self.set_access(p.start, p.start + p.len, Access::ReadWrite);
        self.allocations.insert(Block { source: p.source, start: p.start, len: p.len, lent, family });
        Some(p.start)
    }

    /// Whether `[addr, addr + len)` is exactly a block from [`Space::alloc`] (the spare is
    /// the kernel's, not the task's).
    pub fn owns_block(&self, addr: u64, len: u64) -> bool {
        self.spare != Some(addr) && self.allocations.at(addr).is_some_and(|a| a.len == len)
    }

    /// Whether `[addr, addr + len)` is exactly a block from [`Space::alloc`] that no message
    /// lends (so it may go by transfer).
    pub fn owns_unlent_block(&self, addr: u64, len: u64) -> bool {
        self.spare != Some(addr) && self.allocations.at(addr).is_some_and(|a| a.len == len && a.lent == 0)
    }

    /// A block of at least `len` bytes for the copy of a message to this task, counting the
    /// message's loan (given back by [`Space::retire_copy`]): the spare if it is large enough
    /// (opened to the task again; not cleared, since it held only earlier messages to this
    /// same task, which it saw; still charged to whom it was), else a fresh one as
    /// [`Space::alloc`] makes, charged to `family`, the sender's (a sender that floods a task
    /// with copies spends its own quota, never the receiver's, until the receiver takes them:
    /// [`Space::keep_copy`]), its loan counted. `None` without memory or past `family`'s quota.
    /// A fresh block's first `len` bytes are not cleared: the caller writes the copy there at
    /// once, before the task can run (the rest of its last page is).
    pub(crate) fn alloc_copy(&mut self, len: u64, family: u64) -> Option<u64> {
        if let Some(start) = self.spare {
            let need = len.max(1).div_ceil(PAGE) * PAGE;
            // The spare stays charged to the family charged for it (this task's, since it took
            // the message the block last held: `keep_copy`): it is memory the task holds, and
            // moving its charge to and fro on every message would cost more than the copy.
            if let Some(a) = self.allocations.at_mut(start)
                && a.len >= need
            {
                a.lent += 1;
                // Only the pages the copy needs are opened (and closed again at retire_copy).
                self.spare = None;
                self.set_access(start, start + need, Access::ReadWrite);
                return Some(start);
            }
        }
        // Its first `len` bytes are the message's copy, written at once by the caller.
        self.alloc_lent(len, 1, family, len)
    }

    /// Done with the copy of a message of `len` bytes at `start` (from
    /// [`Space::alloc_copy`], which opened its first `len` bytes' pages): the message's loan is
    /// given back, and unless a device request still pins it (then it stays the task's), it
    /// becomes the spare, closed to the task, if there is none yet or it is larger than the one
    /// there (up to [`SPARE_MAX`], so that a handler's large packets find a block too); what is
    /// not kept is freed.
    pub fn retire_copy(&mut self, start: u64, len: u64) {
        let opened = len.max(1).div_ceil(PAGE) * PAGE;
        let Some(a) = self.allocations.at_mut(start) else { return };
        debug_assert!(a.lent > 0, "a copy block retired twice");
        a.lent = a.lent.saturating_sub(1);
        if a.lent != 0 {
            return;
        }
        let block_len = a.len;
        if block_len > SPARE_MAX {
            self.free(start);
            return;
        }
        match self.spare {
            Some(old) if self.allocations.at(old).is_some_and(|a| a.lent == 0 && a.len >= block_len) => {
                self.free(start);
            }
            old => {
                // The pages past `opened` were closed while it was the spare, or never there.
                self.set_access(start, start + opened.min(block_len), Access::Kernel);
                self.spare = Some(start);
                if let Some(old) = old {
                    self.free(old);
                }
            }
        }
    }

    /// Opens `[start, start + len)` (whole pages, memory this space does not own) to the task,
    /// `access` being [`Access::Read`] or [`Access::ReadWrite`]: a block its parent keeps and
    /// reads, such as a shell's job record (read-write) or the shell's state (read-only). The
    /// parent frees it, and only after the task has ended.
    pub fn share(&mut self, start: u64, len: u64, access: Access) {
        assert!(start.is_multiple_of(PAGE) && len.is_multiple_of(PAGE), "shared memory must be whole pages");
        assert!(matches!(access, Access::Read | Access::ReadWrite), "shared memory is data");
        self.set_access(start, start + len, access);
    }

    /// The task took the message `ticket`. Result: its index in [`Space::held`], for
    /// [`Space::unhold`].
    pub fn hold(&mut self, ticket: u64) -> u32 {
        self.held.add(ticket)
    }

    /// The task no longer holds the message `ticket`, at index `at` of [`Space::held`]
    /// (nothing happens if that is not where it is). Result: the ticket moved into `at` from
    /// the end, whose index the caller updates.
    pub fn unhold(&mut self, ticket: u64, at: u32) -> Option<u64> {
        self.held.remove(ticket, at)
    }

    /// The messages the task holds.
    pub fn held(&self) -> &[u64] {
        self.held.as_slice()
    }

    /// The task sent the message `ticket`. Result: its index in [`Space::sent`].
    pub fn note_sent(&mut self, ticket: u64) -> u32 {
        self.sent.add(ticket)
    }

    /// The message `ticket`, at index `at` of [`Space::sent`], is done with (as
    /// [`Space::unhold`]).
    pub fn unnote_sent(&mut self, ticket: u64, at: u32) -> Option<u64> {
        self.sent.remove(ticket, at)
    }

    /// The messages the task sent that are not done with.
    pub fn sent(&self) -> &[u64] {
        self.sent.as_slice()
    }

    /// The length of the block starting at `addr`, if it is one from [`Space::alloc`].
    pub fn block_len(&self, addr: u64) -> Option<u64> {
        self.allocations.at(addr).map(|a| a.len)
    }

    /// Frees memory from [`Space::alloc`]; false if `addr` is not the start of one, or if a
    /// message in flight lends part of it.
    pub fn free(&mut self, addr: u64) -> bool {
        if self.spare == Some(addr) {
            return false;
        }
        if self.allocations.at(addr).is_none_or(|a| a.lent != 0) {
            return false;
        }
        let Some(b) = self.allocations.remove(addr) else { return false };
        self.set_access(b.start, b.start + b.len, Access::Kernel);
        // SAFETY: the block's record is gone (freed once); no longer mapped for ring 3.
        unsafe { free_block(&b) };
        true
    }
}

impl Drop for Space {
    fn drop(&mut self) {
        crate::policy::uncharge(self.policy.family, self.stack.cost());
        // SAFETY: the stack's pages, freed once; the task using them ended, its tables go.
        unsafe { pages::free(self.stack) };
        for b in self.allocations.iter() {
            // SAFETY: as the stack: each block's record is dropped with the space.
            unsafe { free_block(b) };
        }
    }
}

/// Gives block `b`'s pages back, and its charge to the family charged for it (`Block::family`).
///
/// # Safety
/// `b`'s record is going (the block is freed once), and no task's tables map its pages any
/// more.
unsafe fn free_block(b: &Block) {
    let p = Pages { start: b.start, len: b.len, source: b.source };
    crate::policy::uncharge(b.family, block_cost(b));
    // SAFETY: per the contract.
    unsafe { pages::free(p) };
}

/// The policy of `task`, if it is a ring-3 task (one with a space).
///
/// # Safety
/// `task` is a live task; the result is not kept past its end, nor used while its space is
/// being changed.
pub unsafe fn policy_of<'a>(task: *mut exec::task::Task) -> Option<&'a Policy> {
    // SAFETY: per the contract; `space` is 0 or the task's Space.
    unsafe { ((*task).space() as *const Space).as_ref().map(|s| &s.policy) }
}

/// [`policy_of`], to change it (grants, under Forbid before the task runs).
///
/// # Safety
/// As [`policy_of`], and no other reference to the policy is alive meanwhile.
pub unsafe fn policy_of_mut<'a>(task: *mut exec::task::Task) -> Option<&'a mut Policy> {
    // SAFETY: per the contract.
    unsafe { ((*task).space() as *mut Space).as_mut().map(|s| &mut s.policy) }
}

/// Moves block `b`'s charge to `family` (see [`Space::lend`], [`Space::keep_copy`]); false
/// past its quota. Out of line: the message paths call it only for a block charged elsewhere.
#[inline(never)]
fn take_charge(b: &mut Block, family: u64) -> bool {
    if crate::policy::move_charge(b.family, family, block_cost(b)).is_err() {
        return false;
    }
    b.family = family;
    true
}

/// What block `b` is charged: the memory its pages took (`pages`).
fn block_cost(b: &Block) -> u64 {
    Pages { start: b.start, len: b.len, source: b.source }.cost()
}
