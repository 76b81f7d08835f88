//! The physical memory map, as the boot loader reports it, made trustworthy.
//!
//! Firmware hands over a list of `(start, size, type)` entries that may come in any order, overlap,
//! repeat, be empty or run past the end of the address space. [`MemoryMap::from_entries`] turns
//! that into a sorted list of disjoint regions, where any region claimed both as usable RAM and as
//! something else is *not* usable: when in doubt, don't touch it.
//!
//! Everything here is fixed-capacity and allocation-free, because it runs before the heap exists
//! (the heap is placed from this map).

/// How many raw entries we accept; firmware maps on a PC are a few dozen at most.
pub const MAX_ENTRIES: usize = 128;
/// Regions after normalisation: each raw entry adds at most two boundaries.
pub const MAX_REGIONS: usize = 2 * MAX_ENTRIES;

/// What a range of physical memory is, ordered so that a larger value wins an overlap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RegionKind {
    /// Free RAM the kernel may use.
    Usable,
    /// ACPI tables: reclaimable once parsed, which Lorraine never does.
    AcpiReclaimable,
    /// A type number this kernel does not know; treated as reserved.
    Unknown(u32),
    /// ACPI non-volatile storage.
    AcpiNvs,
    /// Memory with errors.
    Unusable,
    /// Firmware, MMIO holes and anything else that is not ours.
    Reserved,
}

impl RegionKind {
    /// The E820/PVH type number (1 = RAM, 2 = reserved, 3 = ACPI, 4 = NVS, 5 = unusable).
    pub fn from_e820(kind: u32) -> Self {
        match kind {
            1 => Self::Usable,
            2 => Self::Reserved,
            3 => Self::AcpiReclaimable,
            4 => Self::AcpiNvs,
            5 => Self::Unusable,
            other => Self::Unknown(other),
        }
    }

    /// A short lower-case name for boot messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Usable => "usable",
            Self::AcpiReclaimable => "acpi",
            Self::Unknown(_) => "unknown",
            Self::AcpiNvs => "acpi-nvs",
            Self::Unusable => "unusable",
            Self::Reserved => "reserved",
        }
    }
}

/// A half-open range `[start, end)` of physical memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub start: u64,
    pub end: u64,
    pub kind: RegionKind,
}

impl Region {
    pub const fn len(&self) -> u64 {
        self.end - self.start
    }
    pub const fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// One entry as the firmware reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawEntry {
    pub addr: u64,
    pub size: u64,
    pub kind: u32,
}

/// What was wrong with the map as given, reported on the console at boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Repairs {
    /// Entries of size zero, skipped.
    pub empty: usize,
    /// Entries running past 2^64, cut at the top of the address space.
    pub clamped: usize,
    /// Entries beyond [`MAX_ENTRIES`], ignored.
    pub dropped: usize,
    /// Whether the entries came unsorted.
    pub unsorted: bool,
    /// Whether any two entries overlapped.
    pub overlapping: bool,
}

/// Why no memory map could be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The boot loader gave no entries at all.
    Empty,
    /// Entries were given, but none describes usable RAM.
    NoUsableMemory,
}

/// A sorted list of disjoint, maximal regions.
#[derive(Clone, Debug)]
pub struct MemoryMap {
    regions: [Region; MAX_REGIONS],
    len: usize,
    /// What had to be repaired to get here.
    pub repairs: Repairs,
}

impl MemoryMap {
    /// Builds the map from the firmware's entries.
    ///
    /// Overlaps resolve to the most restrictive kind ([`RegionKind`]'s order), so RAM that is also
    /// claimed as reserved is reserved. Adjacent regions of the same kind merge.
    ///
    /// Errors: [`MapError::Empty`] when `entries` yields nothing usable as an entry at all,
    /// [`MapError::NoUsableMemory`] when no byte of RAM remains.
    pub fn from_entries(entries: impl IntoIterator<Item = RawEntry>) -> Result<Self, MapError> {
        let mut repairs = Repairs::default();
        let mut raw = [Region { start: 0, end: 0, kind: RegionKind::Reserved }; MAX_ENTRIES];
        let mut n = 0;
        let mut seen_any = false;
        for e in entries {
            seen_any = true;
            if e.size == 0 {
                repairs.empty += 1;
                continue;
            }
            if n == MAX_ENTRIES {
                repairs.dropped += 1;
                continue;
            }
            let end = match e.addr.checked_add(e.size) {
                Some(end) => end,
                None => {
                    repairs.clamped += 1;
                    u64::MAX
                }
            };
            let r = Region { start: e.addr, end, kind: RegionKind::from_e820(e.kind) };
            if n > 0 && r.start < raw[n - 1].start {
                repairs.unsorted = true;
            }
            raw[n] = r;
            n += 1;
        }
        if !seen_any || n == 0 {
            return Err(MapError::Empty);
        }
        let raw = &raw[..n];
        repairs.overlapping = any_overlap(raw);

        // Every start and end is a boundary; between two neighbouring boundaries the kind is fixed.
        let mut bounds = [0u64; MAX_REGIONS];
        let mut nb = 0;
        for r in raw {
            bounds[nb] = r.start;
            bounds[nb + 1] = r.end;
            nb += 2;
        }
        let bounds = &mut bounds[..nb];
        bounds.sort_unstable();
        let mut map = MemoryMap {
            regions: [Region { start: 0, end: 0, kind: RegionKind::Reserved }; MAX_REGIONS],
            len: 0,
            repairs,
        };
        for w in bounds.windows(2) {
            let (start, end) = (w[0], w[1]);
            if start == end {
                continue;
            }
            let kind = raw
                .iter()
                .filter(|r| r.start <= start && end <= r.end)
                .map(|r| r.kind)
                .max();
            if let Some(kind) = kind {
                map.push(Region { start, end, kind });
            }
        }
        if map.usable().next().is_none() {
            return Err(MapError::NoUsableMemory);
        }
        Ok(map)
    }

    /// Appends a region, merging it with the last one when they touch and agree.
    fn push(&mut self, r: Region) {
        if let Some(last) = self.regions[..self.len].last_mut()
            && last.end == r.start
            && last.kind == r.kind
        {
            last.end = r.end;
            return;
        }
        // Cannot overflow: n entries give at most 2n - 1 elementary ranges.
        self.regions[self.len] = r;
        self.len += 1;
    }

    /// All regions, sorted by address, disjoint.
    pub fn regions(&self) -> &[Region] {
        &self.regions[..self.len]
    }

    /// The usable regions only.
    pub fn usable(&self) -> impl Iterator<Item = &Region> {
        self.regions().iter().filter(|r| r.kind == RegionKind::Usable)
    }

    /// Bytes of usable RAM in the whole map.
    pub fn usable_bytes(&self) -> u64 {
        self.usable().map(Region::len).sum()
    }

    /// The largest usable range inside `[floor, ceiling)` that avoids `[avoid_start, avoid_end)`
    /// (the kernel image), as `(start, end)`. Used to place the kernel heap.
    pub fn largest_free(&self, floor: u64, ceiling: u64, avoid: (u64, u64)) -> Option<(u64, u64)> {
        let mut best: Option<(u64, u64)> = None;
        let mut consider = |s: u64, e: u64| {
            if e > s && best.is_none_or(|(bs, be)| e - s > be - bs) {
                best = Some((s, e));
            }
        };
        for r in self.usable() {
            let s = r.start.max(floor);
            let e = r.end.min(ceiling);
            if s >= e {
                continue;
            }
            // Split around the avoided range.
            consider(s, e.min(avoid.0));
            consider(s.max(avoid.1), e);
        }
        best
    }
}

/// The parts of `[start, end)` outside every range in `holes`, in address order, as many as
/// fit in `N` (ranges in `holes` may be in any order and may overlap).
pub fn subtract<const N: usize>(start: u64, end: u64, holes: &[(u64, u64)]) -> ([(u64, u64); N], usize) {
    let mut out = [(0, 0); N];
    let mut n = 0;
    let mut at = start;
    while at < end {
        // The hole covering `at`, if any, moves us past it.
        if let Some(&(_, he)) = holes.iter().find(|&&(hs, he)| hs <= at && at < he) {
            at = he;
            continue;
        }
        // Otherwise the free piece runs to the nearest hole start above `at`.
        let stop = holes.iter().map(|&(hs, _)| hs).filter(|&hs| hs > at).min().unwrap_or(end).min(end);
        if n < N {
            out[n] = (at, stop);
            n += 1;
        }
        at = stop;
    }
    (out, n)
}

fn any_overlap(raw: &[Region]) -> bool {
    raw.iter()
        .enumerate()
        .any(|(i, a)| raw[i + 1..].iter().any(|b| a.start < b.end && b.start < a.end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(addr: u64, size: u64, kind: u32) -> RawEntry {
        RawEntry { addr, size, kind }
    }
    fn r(start: u64, end: u64, kind: RegionKind) -> Region {
        Region { start, end, kind }
    }
    use RegionKind::*;

    #[test]
    fn sorted_map_passes_through() {
        let m = MemoryMap::from_entries([e(0, 0x9fc00, 1), e(0x9fc00, 0x400, 2), e(0x100000, 0x7f00000, 1)])
            .unwrap();
        assert_eq!(
            m.regions(),
            &[r(0, 0x9fc00, Usable), r(0x9fc00, 0xa0000, Reserved), r(0x100000, 0x8000000, Usable)]
        );
        assert_eq!(m.repairs, Repairs::default());
        assert_eq!(m.usable_bytes(), 0x9fc00 + 0x7f00000);
    }

    #[test]
    fn unsorted_entries_are_sorted() {
        let m = MemoryMap::from_entries([e(0x100000, 0x100000, 1), e(0, 0x1000, 1)]).unwrap();
        assert_eq!(m.regions(), &[r(0, 0x1000, Usable), r(0x100000, 0x200000, Usable)]);
        assert!(m.repairs.unsorted);
    }

    #[test]
    fn reserved_wins_an_overlap() {
        let m = MemoryMap::from_entries([e(0, 0x10000, 1), e(0x4000, 0x1000, 2)]).unwrap();
        assert_eq!(
            m.regions(),
            &[r(0, 0x4000, Usable), r(0x4000, 0x5000, Reserved), r(0x5000, 0x10000, Usable)]
        );
        assert!(m.repairs.overlapping);
    }

    #[test]
    fn overlapping_usable_entries_merge() {
        let m = MemoryMap::from_entries([e(0x1000, 0x3000, 1), e(0x2000, 0x4000, 1), e(0x6000, 0x1000, 1)])
            .unwrap();
        assert_eq!(m.regions(), &[r(0x1000, 0x7000, Usable)]);
    }

    #[test]
    fn empty_wrapping_and_too_many_are_repaired() {
        let mut v = vec![e(0, 0, 1), e(u64::MAX - 0xfff, 0x2000, 2), e(0x1000, 0x1000, 1)];
        for i in 0..MAX_ENTRIES {
            v.push(e(0x10_0000 + i as u64 * 0x2000, 0x1000, 1));
        }
        let m = MemoryMap::from_entries(v).unwrap();
        assert_eq!(m.repairs.empty, 1);
        assert_eq!(m.repairs.clamped, 1);
        assert_eq!(m.repairs.dropped, 2);
        assert_eq!(m.regions().last().unwrap().end, u64::MAX);
    }

    #[test]
    fn errors() {
        assert_eq!(MemoryMap::from_entries([]).unwrap_err(), MapError::Empty);
        assert_eq!(MemoryMap::from_entries([e(0, 0, 1)]).unwrap_err(), MapError::Empty);
        assert_eq!(MemoryMap::from_entries([e(0, 0x1000, 2)]).unwrap_err(), MapError::NoUsableMemory);
        assert_eq!(
            MemoryMap::from_entries([e(0, 0x1000, 1), e(0, 0x1000, 5)]).unwrap_err(),
            MapError::NoUsableMemory
        );
    }

    #[test]
    fn unknown_kinds_are_not_usable() {
        let m = MemoryMap::from_entries([e(0, 0x2000, 1), e(0x1000, 0x1000, 77)]).unwrap();
        assert_eq!(m.regions(), &[r(0, 0x1000, Usable), r(0x1000, 0x2000, Unknown(77))]);
    }

    #[test]
    fn subtract_holes() {
        let (r, n) = subtract::<4>(0, 100, &[(10, 20), (50, 60), (15, 30), (90, 200)]);
        assert_eq!(&r[..n], &[(0, 10), (30, 50), (60, 90)]);
        let (_, n) = subtract::<4>(0, 100, &[(0, 100)]);
        assert_eq!(n, 0);
        let (r, n) = subtract::<4>(5, 10, &[]);
        assert_eq!(&r[..n], &[(5, 10)]);
    }

    #[test]
    fn largest_free_avoids_the_kernel() {
        let m = MemoryMap::from_entries([e(0, 0x9f000, 1), e(0x100000, 0x3f00000, 1), e(0x1_0000_0000, 0x1000_0000, 1)])
            .unwrap();
        // Kernel at 1 MiB..3 MiB, heap must stay below 4 GiB.
        assert_eq!(m.largest_free(0x100000, 1 << 32, (0x100000, 0x300000)), Some((0x300000, 0x4000000)));
        // A kernel in the middle leaves the bigger side.
        assert_eq!(m.largest_free(0, 1 << 32, (0x1000000, 0x1100000)), Some((0x1100000, 0x4000000)));
        assert_eq!(m.largest_free(0x5000000, 0x6000000, (0, 0)), None);
    }
}
