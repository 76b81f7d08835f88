//! Guard pages in the boot page tables: single unmapped pages that a stack running off its end
//! hits at once. The overflow then faults before it reaches the memory below, and the page
//! fault, which cannot be pushed on the overflowed stack, becomes a double fault on the
//! emergency stack: a Guru Meditation, with the kernel's tables, descriptor tables and task
//! records still intact. Without them an endless recursion walks down through memory,
//! overwrites the page tables and the IDT, and the CPU triple-faults (a silent restart).

use core::sync::atomic::{AtomicUsize, Ordering};

use x86_64::registers::control::Cr3;
use x86_64::structures::paging::{PageTable, PageTableFlags};
use x86_64::{PhysAddr, VirtAddr};

const PAGE: u64 = 4096;
/// How many 2 MiB boot pages may be split to hold a guard page.
const SPLITS: usize = 2;

/// The 4 KiB tables that replace split 2 MiB pages. Written only by [`unmap_guard_page`], at
/// boot; read by the CPU.
static mut TABLES: [PageTable; SPLITS] = [const { PageTable::new() }; SPLITS];
static TABLES_USED: AtomicUsize = AtomicUsize::new(0);

/// Unmaps the 4 KiB page at `addr` (page-aligned) in the running page tables, splitting the
/// 2 MiB page that holds it into 4 KiB pages with the same rights. Call at boot only.
///
/// # Safety
/// Nothing uses the page, now or later: every access to it faults from here on. The running
/// tables are the boot tables (identity-mapped, so table addresses are their physical ones);
/// interrupts are off.
pub unsafe fn unmap_guard_page(addr: u64) {
    let page = VirtAddr::new(addr);
    assert!(page.is_aligned(PAGE), "guard page {addr:#x} is not page-aligned");
    let table = |phys: PhysAddr| phys.as_u64() as *mut PageTable;
    // SAFETY: per the contract: the tables are identity-mapped and nothing else walks or
    // changes them now. The walk follows present entries only (the boot tables map the first
    // 4 GiB); a split table comes from TABLES, each handed out once.
    unsafe {
        let pml4 = &mut *table(Cr3::read().0.start_address());
        let pdpt = &mut *table(pml4[page.p4_index()].addr());
        let pd = &mut *table(pdpt[page.p3_index()].addr());
        let pde = &mut pd[page.p2_index()];
        if pde.flags().contains(PageTableFlags::HUGE_PAGE) {
            let n = TABLES_USED.fetch_add(1, Ordering::Relaxed);
            assert!(n < SPLITS, "no table left to split a 2 MiB page for a guard page");
            let pt = &mut *(&raw mut TABLES).cast::<PageTable>().add(n);
            let flags = pde.flags() - PageTableFlags::HUGE_PAGE; // bit 7 means PAT in a 4 KiB entry
            for (i, e) in pt.iter_mut().enumerate() {
                e.set_addr(pde.addr() + i as u64 * PAGE, flags);
            }
            pde.set_addr(PhysAddr::new(pt as *const PageTable as u64), PageTableFlags::PRESENT | PageTableFlags::WRITABLE);
        }
        (&mut *table(pde.addr()))[page.p1_index()].set_unused();
    }
    // The 2 MiB translation may be cached too: drop everything (once or twice, at boot).
    x86_64::instructions::tlb::flush_all();
}

/// Whether the page at `addr` is mapped in the running page tables, for tests.
pub fn is_mapped(addr: u64) -> bool {
    use x86_64::structures::paging::mapper::{OffsetPageTable, Translate};
    let pml4 = Cr3::read().0.start_address().as_u64() as *mut PageTable;
    // SAFETY: the running tables are identity-mapped (offset 0); translating only reads them.
    let tables = unsafe { OffsetPageTable::new(&mut *pml4, VirtAddr::new(0)) };
    tables.translate_addr(VirtAddr::new(addr)).is_some()
}
