//! x86_64 page-table entries: encoding, decoding, and the walk indices of an address.
//! Pure: the per-task page tables of mmu-mode are built from these.

use x86_64::structures::paging::PageTableFlags;
use x86_64::structures::paging::page_table::PageTableEntry;
use x86_64::{PhysAddr, VirtAddr};

/// Why an entry cannot be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PteError {
    /// The address is not aligned to the page (or huge page) size.
    Misaligned { addr: u64, align: u64 },
    /// The address does not fit in 52 bits.
    TooHigh(u64),
}

/// An entry that maps `addr` (aligned to `align`: 4 KiB, 2 MiB or 1 GiB) with `flags`.
pub fn entry(addr: u64, align: u64, flags: PageTableFlags) -> Result<PageTableEntry, PteError> {
    let phys = PhysAddr::try_new(addr).map_err(|_| PteError::TooHigh(addr))?;
    if !addr.is_multiple_of(align) {
        return Err(PteError::Misaligned { addr, align });
    }
    let mut e = PageTableEntry::new();
    e.set_addr(phys, flags);
    Ok(e)
}

/// What a task may do with a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Supervisor only (the kernel's own pages).
    Kernel,
    /// Supervisor only, executable (the entry code, which runs before the kernel's tables are
    /// back).
    KernelCode,
    /// Ring 3 may read (constants).
    Read,
    /// Ring 3 may read and write (its stack, its memory, messages it holds).
    ReadWrite,
    /// Ring 3 may read and execute (shared code).
    ReadExecute,
}

/// Leaf flags for a page with `access`; data is never executable. None is global: a page's
/// access differs between spaces (the image's are user pages in a task's tables, and
/// supervisor in the kernel's) or changes (exec memory a transfer opens and closes), and a
/// global translation would outlive the CR3 load into another space (only the kernel heap's
/// 2 MiB pages are global: `Space::fill`).
pub fn leaf_flags(access: Access) -> PageTableFlags {
    use PageTableFlags as F;
    let p = F::PRESENT;
    match access {
        Access::Kernel => p | F::WRITABLE | F::NO_EXECUTE,
        Access::KernelCode => p,
        Access::Read => p | F::USER_ACCESSIBLE | F::NO_EXECUTE,
        Access::ReadWrite => p | F::USER_ACCESSIBLE | F::WRITABLE | F::NO_EXECUTE,
        Access::ReadExecute => p | F::USER_ACCESSIBLE,
    }
}

/// Flags for a table entry (PML4, PDPT or PD pointing to the next table): everything is
/// allowed here, the leaf decides.
pub const TABLE_FLAGS: PageTableFlags =
    PageTableFlags::PRESENT.union(PageTableFlags::WRITABLE).union(PageTableFlags::USER_ACCESSIBLE);

/// The four walk indices (PML4, PDPT, PD, PT) of `vaddr`, or `None` if it is not canonical.
pub fn indices(vaddr: u64) -> Option<[usize; 4]> {
    let v = VirtAddr::try_new(vaddr).ok()?;
    Some([v.p4_index(), v.p3_index(), v.p2_index(), v.p1_index()].map(usize::from))
}

/// Whether a ring-3 access of kind `write`/`execute` through a walk whose entries have the
/// flags `walk` (top level first) is allowed: every level must be present and user, every
/// level writable for a write, and no level no-execute for a fetch.
pub fn user_may(walk: &[PageTableFlags], write: bool, execute: bool) -> bool {
    use PageTableFlags as F;
    walk.iter().all(|f| {
        f.contains(F::PRESENT | F::USER_ACCESSIBLE)
            && (!write || f.contains(F::WRITABLE))
            && (!execute || !f.contains(F::NO_EXECUTE))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use PageTableFlags as F;

    /// The 64 bits the CPU reads.
    fn bits(e: PageTableEntry) -> u64 {
        // SAFETY: PageTableEntry is a repr(transparent) u64.
        unsafe { core::mem::transmute::<PageTableEntry, u64>(e) }
    }

    #[test]
    fn encode_and_decode() {
        let e = entry(0x1234_5000, 4096, leaf_flags(Access::ReadWrite)).unwrap();
        assert_eq!(e.addr().as_u64(), 0x1234_5000);
        assert!(e.flags().contains(F::PRESENT));
        assert_eq!(e.flags(), F::PRESENT | F::USER_ACCESSIBLE | F::WRITABLE | F::NO_EXECUTE);
        assert_eq!(bits(e), 0x8000_0000_1234_5007);
        let huge = entry(0x4020_0000, 2 << 20, F::PRESENT | F::HUGE_PAGE).unwrap();
        assert_eq!(bits(huge), 0x4020_0081);
        assert!(!PageTableEntry::new().flags().contains(F::PRESENT));
    }

    #[test]
    fn bad_addresses() {
        assert_eq!(entry(0x1001, 4096, F::PRESENT).err(), Some(PteError::Misaligned { addr: 0x1001, align: 4096 }));
        assert_eq!(entry(0x1000, 2 << 20, F::PRESENT).err(), Some(PteError::Misaligned { addr: 0x1000, align: 2 << 20 }));
        assert_eq!(entry(1 << 52, 4096, F::PRESENT).err(), Some(PteError::TooHigh(1 << 52)));
    }

    #[test]
    fn leaf_permissions() {
        let k = leaf_flags(Access::Kernel);
        assert!(!k.contains(F::USER_ACCESSIBLE) && k.contains(F::NO_EXECUTE));
        for a in [Access::Kernel, Access::KernelCode, Access::Read, Access::ReadWrite, Access::ReadExecute] {
            assert!(!leaf_flags(a).contains(F::GLOBAL), "{a:?}: no page that opens, closes or differs is global");
        }
        assert!(!leaf_flags(Access::Read).contains(F::WRITABLE));
        assert!(!leaf_flags(Access::ReadExecute).contains(F::NO_EXECUTE));
        let walk = |leaf| [TABLE_FLAGS, TABLE_FLAGS, TABLE_FLAGS, leaf_flags(leaf)];
        assert!(user_may(&walk(Access::ReadWrite), true, false));
        assert!(!user_may(&walk(Access::ReadWrite), false, true), "data is never executable");
        assert!(!user_may(&walk(Access::Read), true, false));
        assert!(user_may(&walk(Access::ReadExecute), false, true));
        assert!(!user_may(&walk(Access::Kernel), false, false), "kernel pages are closed to ring 3");
        assert!(!user_may(&walk(Access::KernelCode), false, true), "so is the entry code");
        assert!(!user_may(&[F::PRESENT | F::WRITABLE, leaf_flags(Access::ReadWrite)], false, false), "every level needs USER");
    }

    #[test]
    fn walk_indices() {
        assert_eq!(indices(0), Some([0, 0, 0, 0]));
        assert_eq!(indices(0x1000), Some([0, 0, 0, 1]));
        assert_eq!(indices(0x20_0000), Some([0, 0, 1, 0]));
        assert_eq!(indices(0x4000_0000), Some([0, 1, 0, 0]));
        assert_eq!(indices(0x80_0000_0000), Some([1, 0, 0, 0]));
        assert_eq!(indices(0xffff_8000_0000_0000), Some([256, 0, 0, 0]));
        assert_eq!(indices(0x8000_0000_0000), None, "not canonical");
    }
}
