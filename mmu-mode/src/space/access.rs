//! What ring 3 may do with each page of a space: set over a range (`set_access`: a page on
//! its own short way, a range a 2 MiB region at a time, 2 MiB pages split where needed), read
//! back (`access_of`), and checked over a range a task alleges (`user_readable`,
//! `user_writable`: a walk a page for a few pages, a leaf table's entries in a row past that).

use x86_64::structures::paging::page_table::PageTableEntry;
use x86_64::structures::paging::{PageTable, PageTableFlags as F};

use exec::arch::x86_64::cpu;

use super::{HUGE, MAPPED, PAGE, Space, strip_nx, table, table_entry};
use crate::pte::{Access, entry, leaf_flags};

/// Bytes of a range check between two windows for interrupts (1 MiB: 256 entries read).
const CHECK_RUN: u64 = 1 << 20;
/// The longest range checked a page walk at a time; a longer one reads its leaf tables' entries
/// in a row ([`Space::in_runs`]).
const RUN_CHECK: u64 = 4 * PAGE;

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
        // A global 2 MiB page (the kernel heap's) is never opened to a task: its translation,
        // cached global, would outlive the CR3 loads between spaces.
        let global = exec::arch::x86_64::paging::global_range();
        assert!(!(global.0..global.1).contains(&(region * HUGE)), "a global page of the kernel heap opened to a task");
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

    /// This space's global entries, for tests: the 2 MiB pages global inside the kernel
    /// heap's global range, and any other entry global (which should be none).
    pub(crate) fn global_pages(&self) -> (u64, u64) {
        let range = exec::arch::x86_64::paging::global_range();
        let (mut heap, mut stray) = (0, 0);
        for (i, pde) in self.pds.iter().flat_map(|pd| pd.iter()).enumerate() {
            let f = pde.flags();
            if f.contains(F::HUGE_PAGE | F::GLOBAL) && (range.0..range.1).contains(&(i as u64 * HUGE)) {
                heap += 1;
            } else if f.contains(F::GLOBAL) {
                stray += 1;
            }
        }
        let leaves = self.pts.iter().flat_map(|pt| pt.iter());
        stray += leaves.filter(|e| e.flags().contains(F::GLOBAL)).count() as u64;
        (heap, stray)
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
}
