use alloc::vec;
use alloc::vec::Vec;

use crate::arch::x86_64::pvh::{MAGIC, MemmapProblem, PvhError, StartInfo};
use crate::cmdline::{BootOptions, Complaint};
use crate::memmap::{MapError, MemoryMap, RawEntry, RegionKind};
use crate::ktest::TestResult;
use crate::{ensure, ensure_eq};

fn e(addr: u64, size: u64, kind: u32) -> RawEntry {
    RawEntry { addr, size, kind }
}

/// The map QEMU gave us: sorted, disjoint, with RAM, and the kernel image inside RAM.
pub fn boot_map_is_sane() -> TestResult {
    let map = crate::boot::memory_map().ok_or("no boot memory map")?;
    let regions = map.regions();
    ensure!(!regions.is_empty());
    for w in regions.windows(2) {
        ensure!(w[0].end <= w[1].start, "regions {:?} and {:?} overlap or are unsorted", w[0], w[1]);
    }
    let (ks, ke) = crate::arch::x86_64::kernel_image();
    ensure!(map.usable().any(|r| r.start <= ks && ke <= r.end), "kernel image {ks:#x}..{ke:#x} not in RAM");
    ensure!(map.usable_bytes() >= 16 << 20, "less than 16 MiB of RAM: {}", map.usable_bytes());
    Ok(())
}

/// The guard pages that stop a stack overflow (above the heap, below the boot stack) are
/// unmapped, and only they: their neighbours, and memory handed out, are mapped.
pub fn guard_pages() -> TestResult {
    use crate::arch::x86_64::paging::is_mapped;
    let heap_end = crate::heap::stats().start + crate::heap::stats().size;
    let boot_guard = crate::arch::x86_64::boot_stack_guard();
    for guard in [heap_end, boot_guard] {
        ensure!(!is_mapped(guard), "guard page {guard:#x} is mapped");
        ensure!(is_mapped(guard - 4096) && is_mapped(guard + 4096), "a neighbour of {guard:#x} is unmapped");
    }
    ensure_eq!(boot_guard + 4096, crate::arch::x86_64::boot_stack().0);
    let m = crate::memory::alloc_mem(4096, crate::memory::MemFlags::PUBLIC);
    ensure!(!m.is_null() && is_mapped(m as u64));
    // SAFETY: just allocated with this size.
    unsafe { crate::memory::free_mem(m, 4096) };
    Ok(())
}

pub fn unsorted() -> TestResult {
    let m = MemoryMap::from_entries([e(0x200000, 0x100000, 1), e(0, 0x9f000, 1), e(0x100000, 0x100000, 1)])
        .map_err(|e| alloc::format!("{e:?}"))?;
    ensure!(m.repairs.unsorted);
    ensure_eq!(m.regions().len(), 2);
    ensure_eq!((m.regions()[1].start, m.regions()[1].end), (0x100000, 0x300000));
    Ok(())
}

pub fn overlapping() -> TestResult {
    // RAM with a reserved hole punched in the middle, and a duplicate RAM entry.
    let m = MemoryMap::from_entries([e(0, 0x100000, 1), e(0x80000, 0x20000, 2), e(0, 0x100000, 1)])
        .map_err(|e| alloc::format!("{e:?}"))?;
    ensure!(m.repairs.overlapping);
    let kinds: Vec<_> = m.regions().iter().map(|r| (r.start, r.end, r.kind)).collect();
    ensure_eq!(
        kinds,
        vec![
            (0, 0x80000, RegionKind::Usable),
            (0x80000, 0xa0000, RegionKind::Reserved),
            (0xa0000, 0x100000, RegionKind::Usable)
        ]
    );
    Ok(())
}

pub fn bad_maps_rejected() -> TestResult {
    ensure_eq!(MemoryMap::from_entries([]).err(), Some(MapError::Empty));
    ensure_eq!(MemoryMap::from_entries([e(0x1000, 0, 1)]).err(), Some(MapError::Empty));
    ensure_eq!(MemoryMap::from_entries([e(0, 0x1000, 2)]).err(), Some(MapError::NoUsableMemory));
    let m = MemoryMap::from_entries([e(u64::MAX - 10, 100, 1)]).map_err(|e| alloc::format!("{e:?}"))?;
    ensure_eq!(m.repairs.clamped, 1);
    Ok(())
}

/// A fake `hvm_start_info` in heap memory (below 4 GiB, identity-mapped).
fn start_info(magic: u32, version: u32, memmap: u64, entries: u32) -> Vec<u64> {
    let mut block = vec![0u64; 7];
    block[0] = magic as u64 | (version as u64) << 32;
    block[5] = memmap;
    block[6] = entries as u64;
    block
}

fn read(block: &[u64]) -> Result<StartInfo, PvhError> {
    // SAFETY: `block` is a live, readable 56-byte buffer below 4 GiB.
    unsafe { StartInfo::read(block.as_ptr() as u32) }
}

pub fn start_info_checked() -> TestResult {
    // SAFETY: 0 is rejected before anything is read.
    ensure_eq!(unsafe { StartInfo::read(0) }.err(), Some(PvhError::NoStartInfo));
    ensure_eq!(read(&start_info(0xdead_beef, 1, 0, 0)).err(), Some(PvhError::BadMagic(0xdead_beef)));
    ensure!(read(&start_info(MAGIC, 1, 0, 0)).is_ok());
    Ok(())
}

pub fn memmap_checked() -> TestResult {
    let v0 = read(&start_info(MAGIC, 0, 0x1000, 3)).map_err(|e| alloc::format!("{e:?}"))?;
    ensure_eq!(v0.memmap().err(), Some(MemmapProblem::Missing { version: 0 }));
    let none = read(&start_info(MAGIC, 1, 0, 0)).map_err(|e| alloc::format!("{e:?}"))?;
    ensure_eq!(none.memmap().err(), Some(MemmapProblem::Missing { version: 1 }));
    let huge = read(&start_info(MAGIC, 1, 0x1000, 1_000_000)).map_err(|e| alloc::format!("{e:?}"))?;
    ensure_eq!(huge.memmap().err(), Some(MemmapProblem::Corrupt { paddr: 0x1000, entries: 1_000_000 }));
    let far = read(&start_info(MAGIC, 1, 1 << 40, 2)).map_err(|e| alloc::format!("{e:?}"))?;
    ensure!(matches!(far.memmap().err(), Some(MemmapProblem::Corrupt { .. })));
    // A good one: two entries, the second unsorted.
    let table: Vec<u64> = vec![0x100000, 0x100000, 1, 0, 0x1000, 1];
    let ok = read(&start_info(MAGIC, 1, table.as_ptr() as u64, 2)).map_err(|e| alloc::format!("{e:?}"))?;
    let entries: Vec<RawEntry> = ok.memmap().map_err(|e| alloc::format!("{e:?}"))?.collect();
    ensure_eq!(entries, vec![e(0x100000, 0x100000, 1), e(0, 0x1000, 1)]);
    Ok(())
}

pub fn cmdline_parsed() -> TestResult {
    let mut complaints = Vec::new();
    let o = BootOptions::parse("test=heap. bogus timeout=x timeout=250", |c| complaints.push(c));
    ensure_eq!(o.test, Some("heap."));
    ensure_eq!(o.test_timeout_ms, 250);
    ensure_eq!(complaints, vec![Complaint::Unknown("bogus"), Complaint::BadValue("timeout=x")]);
    Ok(())
}
