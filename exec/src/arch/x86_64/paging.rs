//! The boot page tables' two changes after boot's first steps: guard pages, and (mmu build)
//! global pages for the kernel heap.
//!
//! Guard pages: single unmapped pages that a stack running off its end
//! hits at once. The overflow then faults before it reaches the memory below, and the page
//! fault, which cannot be pushed on the overflowed stack, becomes a double fault on the
//! emergency stack: a Guru Meditation, with the kernel's tables, descriptor tables and task
//! records still intact. Without them an endless recursion walks down through memory,
//! overwrites the page tables and the IDT, and the CPU triple-faults (a silent restart).

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

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

const HUGE: u64 = 2 << 20;

/// `[start, end)` of the 2 MiB pages made global by [`make_global`] (empty before). Written
/// once at boot, before any task runs; read by mmu-mode when it builds a task's tables.
static GLOBAL_START: AtomicU64 = AtomicU64::new(0);
static GLOBAL_END: AtomicU64 = AtomicU64::new(0);

/// Marks global (and no-execute, where the CPU has NX), in the running (boot) tables, the 2 MiB
/// pages lying wholly inside `[start, end)`, from the first on and up to the first one split
/// (for a guard page), and records the range marked ([`global_range`]): every address space
/// must map it the same way (supervisor, writable, no-execute, the same frames), for a global
/// translation survives the CR3 loads between them. Only the kernel heap qualifies: the
/// image's pages are user pages in the tasks' tables, and exec memory is opened and closed to
/// tasks page by page. Result: how many 2 MiB pages were marked. Takes effect once CR4.PGE is
/// set (the caller's next step).
///
/// # Safety
/// Boot, interrupts off, on the boot tables (identity-mapped); nothing in `[start, end)` is
/// ever mapped otherwise in any address space, nor executed.
pub unsafe fn make_global(start: u64, end: u64) -> u64 {
    let (first, last) = (start.next_multiple_of(HUGE), end & !(HUGE - 1));
    let mut flags = PageTableFlags::GLOBAL;
    if super::cpu::features().nx {
        flags |= PageTableFlags::NO_EXECUTE;
    }
    let mut at = first;
    while at < last {
        let page = VirtAddr::new(at);
        // SAFETY: per the contract: identity-mapped tables nothing else changes now; the
        // walk follows present entries only (the boot tables map the first 4 GiB).
        let pde = unsafe {
            let pml4 = &mut *(Cr3::read().0.start_address().as_u64() as *mut PageTable);
            let pdpt = &mut *(pml4[page.p4_index()].addr().as_u64() as *mut PageTable);
            let pd = &mut *(pdpt[page.p3_index()].addr().as_u64() as *mut PageTable);
            &mut pd[page.p2_index()]
        };
        // A 2 MiB page split for a guard page ends the range: the tasks' tables map the range
        // recorded as whole global 2 MiB pages, which would hide the guard.
        if !pde.flags().contains(PageTableFlags::HUGE_PAGE) {
            break;
        }
        pde.set_flags(pde.flags() | flags);
        at += HUGE;
    }
    if at > first {
        GLOBAL_START.store(first, Ordering::Relaxed);
        GLOBAL_END.store(at, Ordering::Relaxed);
    }
    // Entries changed while PGE is off: setting CR4.PGE next flushes every translation.
    (at - first) / HUGE
}

/// The range whose 2 MiB pages are global in every address space (see [`make_global`]):
/// `(0, 0)` where none are. May be called from an interrupt.
pub fn global_range() -> (u64, u64) {
    (GLOBAL_START.load(Ordering::Relaxed), GLOBAL_END.load(Ordering::Relaxed))
}

/// The leaf flags the running tables give the page at `addr` (`None` where it is not
/// mapped), for tests.
pub fn leaf_flags_of(addr: u64) -> Option<PageTableFlags> {
    use x86_64::structures::paging::mapper::{OffsetPageTable, Translate, TranslateResult};
    let pml4 = Cr3::read().0.start_address().as_u64() as *mut PageTable;
    // SAFETY: the running tables are identity-mapped (offset 0); translating only reads them.
    let tables = unsafe { OffsetPageTable::new(&mut *pml4, VirtAddr::new(0)) };
    match tables.translate(VirtAddr::new(addr)) {
        TranslateResult::Mapped { flags, .. } => Some(flags),
        _ => None,
    }
}
