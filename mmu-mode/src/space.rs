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

mod loans;

const PAGE: u64 = 4096;
const HUGE: u64 = 2 << 20;
/// Bytes of a range check between two windows for interrupts (1 MiB: 256 entries read).
const CHECK_RUN: u64 = 1 << 20;
/// The longest range checked a page walk at a time; a longer one reads its leaf tables' entries
/// in a row ([`Space::in_runs`]).
const RUN_CHECK: u64 = 4 * PAGE;
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
                entry(base, HUGE, strip_nx(leaf_flags(Access::Kernel)) | F::HUGE_PAGE).unwrap_or_default()
            };
            self.pds[(region / 512) as usize][(region % 512) as usize] = entry;
        }
    }
}

impl Space {
    /// Sets what the task may do with the pages of `[start, end)` (page-aligned), turning a
    /// 2 MiB page into a table of 4 KiB ones where needed, and drops stale TLB entries if this
    /// space is the one loaded.
    pub fn set_access(&mut self, start: u64, end: u64, access: Access) {
        let page = start & !(PAGE - 1);
        // One page (a message's header and a short body, the common transfer): its own short
        // way, with no loop and no registers to save.
        if end > page && end - page <= PAGE {
            return self.set_page_access(page, access);
        }
        self.set_range_access(start, end, access);
    }

    /// [`Space::set_access`] of the one page at `page` (page-aligned). A page inside a 2 MiB
    /// page (not split yet) takes the general way, once per region.
    fn set_page_access(&mut self, page: u64, access: Access) {
        if page >= MAPPED {
            return;
        }
        let region = page / HUGE;
        let slot = &self.pds[(region / 512) as usize][(region % 512) as usize];
        if slot.flags().contains(F::HUGE_PAGE) {
            return self.set_range_access(page, page + PAGE, access);
        }
        let pt = slot.addr().as_u64() as *mut PageTable;
        let mut leaf = PageTableEntry::new();
        // Below MAPPED (4 GiB) and page-aligned: a valid physical frame address.
        leaf.set_addr(x86_64::PhysAddr::new_truncate(page), leaf_flags(access) & self.leaf_mask);
        // SAFETY: the entry points at one of this space's own tables (made in `split_huge` or
        // in `fill`), which live in `self.pts`.
        unsafe { (&mut *pt)[((page / PAGE) % 512) as usize] = leaf };
        exec::events::count(&exec::events::PTE_WRITES, 1);
        if cpu::cr3() == self.cr3() {
            x86_64::instructions::tlb::flush(x86_64::VirtAddr::new(page));
            exec::events::count(&exec::events::TLB_FLUSHES, 1);
        }
    }

    /// [`Space::set_access`] of any range: a 2 MiB region at a time (its leaf table found once,
    /// a 2 MiB page split first), then a run of entries written in a row, each page's stale TLB
    /// entry dropped if this space is loaded. A multi-page transfer's cost is then a few
    /// instructions a page, not a walk a page.
    #[inline(never)]
    fn set_range_access(&mut self, start: u64, end: u64, access: Access) {
        if end > start.saturating_add(HUGE) {
            return self.set_access_long(start, end, access);
        }
        let bits = (leaf_flags(access) & self.leaf_mask).bits();
        let loaded = cpu::cr3() == self.cr3();
        let end = end.min(MAPPED);
        let mut page = start & !(PAGE - 1);
        while page < end {
            let region = page / HUGE;
            let mut slot = self.pds[(region / 512) as usize][(region % 512) as usize].clone();
            if slot.flags().contains(F::HUGE_PAGE) {
                slot = self.split_huge(region);
            }
            let run_end = ((region + 1) * HUGE).min(end);
            let first = ((page / PAGE) % 512) as usize;
            let n = (run_end - page).div_ceil(PAGE) as usize;
            // SAFETY: the entry points at one of this space's own tables (made in `split_huge`
            // or in `fill`), which live in `self.pts`; `first + n <= 512`: the run ends within
            // the region. A page table is 512 eight-byte entries (`PageTableEntry` is a u64),
            // written here as the words they are, each the page's frame (below MAPPED, 4 GiB,
            // page-aligned: a valid address) and the leaf bits.
            let entries = unsafe { core::slice::from_raw_parts_mut((slot.addr().as_u64() as *mut u64).add(first), n) };
            let mut frame = page;
            for e in entries {
                *e = frame | bits;
                frame += PAGE;
            }
            exec::events::count(&exec::events::PTE_WRITES, n as u64);
            if loaded {
                while page < frame {
                    x86_64::instructions::tlb::flush(x86_64::VirtAddr::new_truncate(page));
                    page += PAGE;
                }
                exec::events::count(&exec::events::TLB_FLUSHES, n as u64);
            }
            page = frame;
        }
    }

    /// Turns the 2 MiB page of `region` into a table of 4 KiB pages closed to the task; result:
    /// the new directory entry. Out of line: once per region, off the message path's way.
    #[cold]
    #[inline(never)]
    fn split_huge(&mut self, region: u64) -> PageTableEntry {
        let mut pt = table();
        let flags = strip_nx(leaf_flags(Access::Kernel));
        for (i, e) in pt.iter_mut().enumerate() {
            let p = region * HUGE + i as u64 * PAGE;
            *e = entry(p, PAGE, flags).unwrap_or_default();
        }
        let slot = table_entry(&pt);
        self.pds[(region / 512) as usize][(region % 512) as usize] = slot.clone();
        self.pts.push(pt);
        slot
    }

    /// [`Space::set_access`] of more than 2 MiB (a large transfer, a large block): 2 MiB at a
    /// time, pending interrupts let in between (a gate call runs with them off until its first
    /// Enable). Out of line, off the message path's way.
    #[inline(never)]
    fn set_access_long(&mut self, start: u64, end: u64, access: Access) {
        let mut at = start;
        while at < end {
            let to = at.saturating_add(HUGE).min(end);
            self.set_range_access(at, to, access);
            at = to;
            exec::sched::let_interrupts_in();
        }
    }

    /// The access ring 3 has to the page holding `addr`.
    pub fn access_of(&self, addr: u64) -> Option<Access> {
        if addr >= MAPPED {
            return None;
        }
        let region = addr / HUGE;
        let pde = &self.pds[(region / 512) as usize][(region % 512) as usize];
        let leaf = if pde.flags().contains(F::HUGE_PAGE) {
            pde
        } else {
            // SAFETY: a non-huge PD entry points at one of this space's tables.
            unsafe { &(&*(pde.addr().as_u64() as *const PageTable))[((addr / PAGE) % 512) as usize] }
        };
        let f = leaf.flags();
        Some(match (f.contains(F::USER_ACCESSIBLE), f.contains(F::WRITABLE), f.contains(F::NO_EXECUTE)) {
            (false, _, true) => Access::Kernel,
            (false, _, false) => Access::KernelCode,
            (true, true, _) => Access::ReadWrite,
            (true, false, true) => Access::Read,
            (true, false, false) => Access::ReadExecute,
        })
    }

    /// Whether ring 3 may read every byte of `[addr, addr + len)` (an allegation check). Asked
    /// only by the one door (`uaccess`: `Space::readable`), which hands out the range.
    pub(crate) fn user_readable(&self, addr: u64, len: u64) -> bool {
        if len > RUN_CHECK {
            return self.in_runs(addr, len, F::USER_ACCESSIBLE);
        }
        let Some(end) = addr.checked_add(len.max(1)) else { return false };
        let mut page = addr & !(PAGE - 1);
        while page < end {
            if !matches!(self.access_of(page), Some(Access::Read | Access::ReadWrite | Access::ReadExecute)) {
                return false;
            }
            page += PAGE;
        }
        true
    }

    /// Whether every page of `[page, end)` (`page` aligned, `end` at most MAPPED) has a leaf
    /// entry with every bit of `need` (the bits [`Space::access_of`] reads as the access): a 2 MiB region at a time, the entries of its leaf table
    /// read in a row (a few instructions a page, where a walk a page takes about 25).
    fn run_has(&self, mut page: u64, end: u64, need: F) -> bool {
        let need = need.bits();
        while page < end {
            let region = page / HUGE;
            let pde = &self.pds[(region / 512) as usize][(region % 512) as usize];
            if pde.flags().contains(F::HUGE_PAGE) {
                if pde.flags().bits() & need != need {
                    return false;
                }
            } else {
                let first = ((page / PAGE) % 512) as usize;
                let n = (((region + 1) * HUGE).min(end) - page).div_ceil(PAGE) as usize;
                // SAFETY: a non-huge PD entry points at one of this space's tables, 512 entries
                // of eight bytes (`PageTableEntry` is a u64), read as the words they are;
                // `first + n <= 512`: the run ends within the region.
                let entries = unsafe { core::slice::from_raw_parts((pde.addr().as_u64() as *const u64).add(first), n) };
                if entries.iter().any(|&e| e & need != need) {
                    return false;
                }
            }
            page = (region + 1) * HUGE;
        }
        true
    }

    /// A check of a long range (a message past [`RUN_CHECK`]: a multi-page block, or megabytes)
    /// that every page's leaf entry has `need` ([`Space::run_has`]), made in runs of
    /// [`CHECK_RUN`] bytes with a window for pending interrupts after each, as the door's copies
    /// do (a gate call runs under Forbid with interrupts off, and nothing an interrupt does
    /// changes a space). Out of line: the short checks of the hot path pay one comparison for it.
    #[inline(never)]
    fn in_runs(&self, addr: u64, len: u64, need: F) -> bool {
        let Some(end) = addr.checked_add(len) else { return false };
        if end > MAPPED {
            return false;
        }
        let mut page = addr & !(PAGE - 1);
        while page < end {
            let to = page.saturating_add(CHECK_RUN).min(end);
            if !self.run_has(page, to, need) {
                return false;
            }
            page = to;
            exec::sched::let_interrupts_in();
        }
        true
    }

    /// Whether ring 3 may execute at `addr` (the image's code).
    pub fn user_executable(&self, addr: u64) -> bool {
        matches!(self.access_of(addr), Some(Access::ReadExecute))
    }

    /// Whether ring 3 may write every byte of `[addr, addr + len)` (an allegation check). Asked
    /// only by the one door (`uaccess`: `Space::writable`).
    #[inline(always)]
    pub(crate) fn user_writable(&self, addr: u64, len: u64) -> bool {
        if len > RUN_CHECK {
            return self.in_runs(addr, len, F::USER_ACCESSIBLE | F::WRITABLE);
        }
        let Some(end) = addr.checked_add(len.max(1)) else { return false };
        let mut page = addr & !(PAGE - 1);
        while page < end {
            if self.access_of(page) != Some(Access::ReadWrite) {
                return false;
            }
            page += PAGE;
        }
        true
    }

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
    pub fn alloc_copy(&mut self, len: u64, family: u64) -> Option<u64> {
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
