//! x86_64 page-table entries: encoding, decoding, and the walk indices of an address.
//! Pure: the per-task page tables of mmu-mode are built from these.

use bitflags::bitflags;

bitflags! {
    /// The bits of a page-table entry (any level).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct PteFlags: u64 {
        const PRESENT = 1 << 0;
        const WRITABLE = 1 << 1;
        /// Ring 3 may use it (needed at every level of the walk).
        const USER = 1 << 2;
        const WRITE_THROUGH = 1 << 3;
        const NO_CACHE = 1 << 4;
        const ACCESSED = 1 << 5;
        const DIRTY = 1 << 6;
        /// In a PDPT or PD entry: a 1 GiB or 2 MiB page, not a table.
        const HUGE = 1 << 7;
        /// Kept in the TLB across CR3 switches (kernel mappings).
        const GLOBAL = 1 << 8;
        /// Instruction fetches fault (needs EFER.NXE).
        const NO_EXECUTE = 1 << 63;
    }
}

/// Bits 12..51: the physical address of the page or table.
pub const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

/// Why an entry cannot be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PteError {
    /// The address is not aligned to the page (or huge page) size.
    Misaligned { addr: u64, align: u64 },
    /// The address does not fit in 52 bits.
    TooHigh(u64),
}

/// One entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(transparent)]
pub struct Pte(pub u64);

impl Pte {
    /// An entry that maps `addr` (aligned to `align`: 4 KiB, 2 MiB or 1 GiB) with `flags`.
    pub fn new(addr: u64, align: u64, flags: PteFlags) -> Result<Pte, PteError> {
        if addr >> 52 != 0 {
            return Err(PteError::TooHigh(addr));
        }
        if addr % align != 0 {
            return Err(PteError::Misaligned { addr, align });
        }
        Ok(Pte(addr | flags.bits()))
    }

    /// The physical address it points at.
    pub fn addr(self) -> u64 {
        self.0 & ADDR_MASK
    }

    /// Its flags (unknown bits dropped).
    pub fn flags(self) -> PteFlags {
        PteFlags::from_bits_truncate(self.0)
    }

    pub fn is_present(self) -> bool {
        self.flags().contains(PteFlags::PRESENT)
    }
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

/// Leaf flags for a page with `access`; kernel pages are global, data is never executable.
pub fn leaf_flags(access: Access) -> PteFlags {
    let p = PteFlags::PRESENT;
    match access {
        Access::Kernel => p | PteFlags::WRITABLE | PteFlags::GLOBAL | PteFlags::NO_EXECUTE,
        Access::KernelCode => p | PteFlags::GLOBAL,
        Access::Read => p | PteFlags::USER | PteFlags::NO_EXECUTE,
        Access::ReadWrite => p | PteFlags::USER | PteFlags::WRITABLE | PteFlags::NO_EXECUTE,
        Access::ReadExecute => p | PteFlags::USER,
    }
}

/// Flags for a table entry (PML4, PDPT or PD pointing to the next table): everything is
/// allowed here, the leaf decides.
pub const TABLE_FLAGS: PteFlags = PteFlags::PRESENT.union(PteFlags::WRITABLE).union(PteFlags::USER);

/// The four walk indices (PML4, PDPT, PD, PT) of `vaddr`, or `None` if it is not canonical.
pub fn indices(vaddr: u64) -> Option<[usize; 4]> {
    let top = vaddr >> 47;
    if top != 0 && top != 0x1ffff {
        return None;
    }
    Some([(vaddr >> 39) as usize & 511, (vaddr >> 30) as usize & 511, (vaddr >> 21) as usize & 511, (vaddr >> 12) as usize & 511])
}

/// Whether a ring-3 access of kind `write`/`execute` through a walk whose entries have the
/// flags `walk` (top level first) is allowed: every level must be present and user, every
/// level writable for a write, and no level no-execute for a fetch.
pub fn user_may(walk: &[PteFlags], write: bool, execute: bool) -> bool {
    walk.iter().all(|f| {
        f.contains(PteFlags::PRESENT | PteFlags::USER)
            && (!write || f.contains(PteFlags::WRITABLE))
            && (!execute || !f.contains(PteFlags::NO_EXECUTE))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_and_decode() {
        let e = Pte::new(0x1234_5000, 4096, leaf_flags(Access::ReadWrite)).unwrap();
        assert_eq!(e.addr(), 0x1234_5000);
        assert!(e.is_present());
        assert_eq!(e.flags(), PteFlags::PRESENT | PteFlags::USER | PteFlags::WRITABLE | PteFlags::NO_EXECUTE);
        assert_eq!(e.0, 0x8000_0000_1234_5007);
        let huge = Pte::new(0x4020_0000, 2 << 20, PteFlags::PRESENT | PteFlags::HUGE).unwrap();
        assert_eq!(huge.0, 0x4020_0081);
        assert!(!Pte::default().is_present());
    }

    #[test]
    fn bad_addresses() {
        assert_eq!(Pte::new(0x1001, 4096, PteFlags::PRESENT), Err(PteError::Misaligned { addr: 0x1001, align: 4096 }));
        assert_eq!(Pte::new(0x1000, 2 << 20, PteFlags::PRESENT), Err(PteError::Misaligned { addr: 0x1000, align: 2 << 20 }));
        assert_eq!(Pte::new(1 << 52, 4096, PteFlags::PRESENT), Err(PteError::TooHigh(1 << 52)));
    }

    #[test]
    fn leaf_permissions() {
        let k = leaf_flags(Access::Kernel);
        assert!(!k.contains(PteFlags::USER) && k.contains(PteFlags::GLOBAL | PteFlags::NO_EXECUTE));
        assert!(!leaf_flags(Access::Read).contains(PteFlags::WRITABLE));
        assert!(!leaf_flags(Access::ReadExecute).contains(PteFlags::NO_EXECUTE));
        let walk = |leaf| [TABLE_FLAGS, TABLE_FLAGS, TABLE_FLAGS, leaf_flags(leaf)];
        assert!(user_may(&walk(Access::ReadWrite), true, false));
        assert!(!user_may(&walk(Access::ReadWrite), false, true), "data is never executable");
        assert!(!user_may(&walk(Access::Read), true, false));
        assert!(user_may(&walk(Access::ReadExecute), false, true));
        assert!(!user_may(&walk(Access::Kernel), false, false), "kernel pages are closed to ring 3");
        assert!(!user_may(&walk(Access::KernelCode), false, true), "so is the entry code");
        assert!(!user_may(&[PteFlags::PRESENT | PteFlags::WRITABLE, leaf_flags(Access::ReadWrite)], false, false), "every level needs USER");
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
