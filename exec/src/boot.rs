//! What the boot loader told us (memory map, command line), checked and reported, and the banner.

use crate::alert::{self, AN_BOOT_NO_HEAP, AN_BOOT_NO_MEMORY_MAP, AN_BOOT_NO_START_INFO};
use crate::arch::x86_64::pvh::{MemmapProblem, PvhError, StartInfo};
use crate::cmdline::{self, BootOptions, Complaint, MAX_CMDLINE, RawProblem};
use crate::memmap::{MapError, MemoryMap};
use crate::{BUILD_MODE, VERSION, kprintln};

/// The boot loader's information, validated.
pub struct BootInfo {
    pub memory: MemoryMap,
    pub cmdline: &'static str,
    pub options: BootOptions<'static>,
}

/// The memory map as found at boot, for tests and commands. Written once by [`read_boot_info`].
static BOOT_MAP: spin::Once<MemoryMap> = spin::Once::new();

/// The memory map found at boot (`None` before [`read_boot_info`]).
pub fn memory_map() -> Option<&'static MemoryMap> {
    BOOT_MAP.get()
}

/// The command line, copied out of loader memory. Written once by [`read_boot_info`].
static CMDLINE: spin::Once<([u8; MAX_CMDLINE + 1], usize)> = spin::Once::new();

/// Reads and checks the PVH start info at `start_info_paddr` (EBX at entry). Complains on the
/// console about anything it had to repair or ignore; raises a dead-end alert with a clear
/// message when there is no start info or no memory map.
pub fn read_boot_info(start_info_paddr: u32) -> BootInfo {
    // SAFETY: this is the value the PVH entry received in EBX, passed through unchanged.
    let info = match unsafe { StartInfo::read(start_info_paddr) } {
        Ok(info) => info,
        Err(e) => alert::dead_end_alert(AN_BOOT_NO_START_INFO, format_args!("{}", start_info_error(e))),
    };
    let memory = match info.memmap() {
        Ok(entries) => MemoryMap::from_entries(entries),
        Err(problem) => alert::dead_end_alert(AN_BOOT_NO_MEMORY_MAP, format_args!("{}", memmap_problem(problem))),
    };
    let memory = match memory {
        Ok(m) => m,
        Err(MapError::Empty) => alert::dead_end_alert(
            AN_BOOT_NO_MEMORY_MAP,
            format_args!("Boot: the memory map has no non-empty entries; cannot place the heap."),
        ),
        Err(MapError::NoUsableMemory) => alert::dead_end_alert(
            AN_BOOT_NO_MEMORY_MAP,
            format_args!("Boot: the memory map lists no usable RAM; cannot place the heap."),
        ),
    };
    report_repairs(&memory);
    BOOT_MAP.call_once(|| memory.clone());

    let (buf, len) = CMDLINE.call_once(|| {
        let mut buf = [0; MAX_CMDLINE + 1];
        let len = info.cmdline(&mut buf).unwrap_or_else(|| {
            kprintln!("Boot: the command line pointer is out of reach; ignoring it.");
            0
        });
        (buf, len)
    });
    let (line, problem) = cmdline::from_raw(&buf[..*len]);
    let line = if *len == 0 { "" } else { line };
    match problem {
        Some(RawProblem::TooLong) if *len > 0 => {
            kprintln!("Boot: command line longer than {MAX_CMDLINE} bytes; the rest is ignored.")
        }
        Some(RawProblem::NotUtf8 { valid_up_to }) => {
            kprintln!("Boot: command line is not UTF-8 after byte {valid_up_to}; the rest is ignored.")
        }
        _ => {}
    }
    let options = BootOptions::parse(line, |c| match c {
        Complaint::Unknown(w) => kprintln!("Boot: unknown command line word '{w}' ignored."),
        Complaint::BadValue(w) => kprintln!("Boot: bad value in '{w}' ignored."),
    });
    BootInfo { memory, cmdline: line, options }
}

fn start_info_error(e: PvhError) -> impl core::fmt::Display {
    struct D(PvhError);
    impl core::fmt::Display for D {
        fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
            match self.0 {
                PvhError::NoStartInfo => write!(f, "Boot: no hvm_start_info (EBX = 0): start Lorraine with qemu -kernel (PVH)."),
                PvhError::BadMagic(m) => write!(
                    f,
                    "Boot: hvm_start_info magic is {m:#010x}, expected {:#010x}: not a PVH boot.",
                    crate::arch::x86_64::pvh::MAGIC
                ),
                PvhError::OutOfReach(p) => write!(f, "Boot: hvm_start_info at {p:#x} lies outside mapped memory."),
            }
        }
    }
    D(e)
}

fn memmap_problem(p: MemmapProblem) -> impl core::fmt::Display {
    struct D(MemmapProblem);
    impl core::fmt::Display for D {
        fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
            match self.0 {
                MemmapProblem::Missing { version } => write!(
                    f,
                    "Boot: the boot loader passed no memory map (hvm_start_info version {version}); cannot place the heap."
                ),
                MemmapProblem::Corrupt { paddr, entries } => write!(
                    f,
                    "Boot: the memory map is malformed ({entries} entries at {paddr:#x}); cannot place the heap."
                ),
            }
        }
    }
    D(p)
}

fn report_repairs(map: &MemoryMap) {
    let r = map.repairs;
    if r.unsorted {
        kprintln!("Boot: memory map entries were out of order; sorted.");
    }
    if r.overlapping {
        kprintln!("Boot: memory map entries overlap; overlaps count as reserved.");
    }
    if r.empty > 0 {
        kprintln!("Boot: {} empty memory map entries skipped.", r.empty);
    }
    if r.clamped > 0 {
        kprintln!("Boot: {} memory map entries ran past the address space; cut.", r.clamped);
    }
    if r.dropped > 0 {
        kprintln!("Boot: {} memory map entries beyond {} ignored.", r.dropped, crate::memmap::MAX_ENTRIES);
    }
}

/// Places the kernel heap from the memory map (or raises the dead-end alert that says why
/// not), and hands every other usable range below 4 GiB to exec's memory lists.
pub fn init_memory(info: &BootInfo) {
    let heap = crate::heap::init(&info.memory).unwrap_or_else(|| {
        alert::dead_end_alert(
            AN_BOOT_NO_HEAP,
            format_args!("Boot: no usable RAM between 1 MiB and 4 GiB outside the kernel image for the heap."),
        )
    });
    // Guard pages: one above the heap, which exec memory (every task's stack) lies above, and
    // one below the boot stack. A stack overflow faults there, before it overwrites the
    // heap's task records or the boot page tables that the Guru Meditation needs.
    let guard = heap.1;
    // SAFETY: boot, interrupts off, on the boot tables. The page above the heap is kept out of
    // exec memory just below; nothing lives in the boot stack's guard page.
    unsafe {
        crate::arch::x86_64::paging::unmap_guard_page(guard);
        crate::arch::x86_64::paging::unmap_guard_page(crate::arch::x86_64::boot_stack_guard());
    }
    let (floor, ceiling) = crate::heap::EXEC_MEMORY_LIMITS;
    let holes = [crate::arch::x86_64::kernel_image(), (heap.0, guard + 4096)];
    let mut ranges = [(0u64, 0u64); crate::execbase::MAX_MEM_REGIONS];
    let mut n = 0;
    for r in info.memory.usable() {
        let (start, end) = (r.start.max(floor), r.end.min(ceiling));
        let (pieces, count) = crate::memmap::subtract::<3>(start, end, &holes);
        for &p in &pieces[..count] {
            if n < ranges.len() {
                ranges[n] = p;
                n += 1;
            }
        }
    }
    // SAFETY: the ranges are usable RAM (memory map), identity-mapped below 4 GiB, outside the
    // kernel image and the heap, and given to nothing else.
    unsafe { crate::memory::init(ranges[..n].iter().copied()) };
}

/// Prints the boot banner: version, build mode, CPU and memory.
pub fn banner(info: &BootInfo) {
    const MIB: u64 = 1024 * 1024;
    let heap = crate::heap::stats();
    let mut brand = [0u8; 48];
    let tsc = crate::time::tsc_hz();
    kprintln!("Lorraine {VERSION} ({BUILD_MODE}) - an Exec for x86_64");
    kprintln!(
        "CPU: {}, TSC {}.{:03} GHz",
        crate::arch::x86_64::cpu::brand(&mut brand),
        tsc / 1_000_000_000,
        tsc / 1_000_000 % 1000
    );
    kprintln!(
        "Memory: {} MiB found, kernel heap {} MiB at {:#x}, exec memory {} MiB",
        info.memory.usable_bytes() / MIB,
        heap.size / MIB,
        heap.start,
        crate::memory::avail_mem(crate::memory::MemFlags::TOTAL) as u64 / MIB
    );
    if !info.cmdline.is_empty() {
        kprintln!("Command line: {}", info.cmdline);
    }
}
