//! mmu-mode's in-kernel tests of the one door to task memory: long work a gate call does for a
//! task with interrupts off (the door's copies, `uaccess.rs`: chunked, overlapping either way;
//! the page-table work and range checks are `ktests_pages.rs`') lets pending interrupts in as
//! it goes; and device I/O from
//! ring 3 with IoRequests (`io.rs`): a device works on the kernel's copy of a request's data,
//! never on the task's memory, and its reply signals the task's own reply port.

use exec::ktest::{Test, TestResult};
use exec::memory::{MemFlags, alloc_mem, free_mem};
use exec::signal::{SIGF_CTRL_E, SIGF_CTRL_F};
use exec::task::Task;
use exec::{ensure, ensure_eq, sys};

use crate::ktests_attacks::{gone, hostile, me3};
use crate::ktests_pages::BLOCK;

use crate::uaccess::{CHUNK, UserRead, UserWrite};

pub static TESTS: &[Test] = &[
    Test::new("mmu.door.long_copies_let_interrupts_in", long_copies_let_interrupts_in),
    Test::new("mmu.door.kernel_forbid_time_is_not_the_tasks", kernel_forbid_time_is_not_the_tasks),
    Test::new("mmu.door.forbid_held_through_long_calls_is_judged", forbid_held_through_long_calls_is_judged),
    Test::new("mmu.door.devices_work_on_the_kernels_copy", devices_work_on_the_kernels_copy),
    Test::new("mmu.door.device_io_with_iorequests", device_io_with_iorequests),
];

/// Bytes of each copy: many chunks.
const LEN: usize = 4 << 20;
/// How far the overlapping copies move the bytes.
const SHIFT: usize = 1000;

fn pattern(i: usize) -> u8 {
    (i * 7 + i / 4093) as u8
}

/// A copy of megabytes through the door, as a gate call makes it (under Forbid, interrupts
/// off, no Disable held), lets pending interrupts in between its chunks: the clock ticks on
/// while it copies (with interrupts held off throughout, no tick would come until they are on
/// again: the test copies until three ticks came, or 2 s passed). And chunked copies are still memmove: overlapping ranges moved up and back down
/// come out exact.
fn long_copies_let_interrupts_in() -> TestResult {
    let a = alloc_mem(LEN + SHIFT, MemFlags::PUBLIC);
    let b = alloc_mem(LEN, MemFlags::PUBLIC);
    let free = || {
        // SAFETY: both from alloc_mem with these sizes (null is ignored), not used after.
        unsafe {
            free_mem(a, LEN + SHIFT);
            free_mem(b, LEN);
        }
    };
    if a.is_null() || b.is_null() {
        free();
        return Err("no memory".into());
    }
    // SAFETY: our own blocks, of these sizes; nothing else touches them.
    let (moved, back) = unsafe {
        let bytes = core::slice::from_raw_parts_mut(a, LEN + SHIFT);
        for (i, x) in bytes.iter_mut().enumerate() {
            *x = pattern(i);
        }
        // Up by SHIFT (the chunks go from the top down), then back down (bottom up).
        UserWrite::trusted(a as u64 + SHIFT as u64, LEN as u64).copy_from(0, UserRead::trusted(a as u64, LEN as u64), 0, LEN as u64);
        let moved = (0..LEN).all(|i| bytes[i + SHIFT] == pattern(i));
        UserWrite::trusted(a as u64, LEN as u64).copy_from(0, UserRead::trusted(a as u64 + SHIFT as u64, LEN as u64), 0, LEN as u64);
        (moved, (0..LEN).all(|i| bytes[i] == pattern(i)))
    };
    exec::sched::forbid();
    exec::arch::x86_64::cpu::disable_interrupts();
    let (t0, start) = (exec::time::ticks(), exec::time::uptime_ns());
    let mut copies = 0;
    // Until three ticks came (or 2 s passed: with interrupts held off throughout, none would).
    while exec::time::ticks() - t0 < 3 && exec::time::uptime_ns() - start < 2_000_000_000 {
        // SAFETY: as above.
        unsafe { UserWrite::trusted(b as u64, LEN as u64).copy_from(0, UserRead::trusted(a as u64, LEN as u64), 0, LEN as u64) };
        copies += 1;
    }
    let ticks = exec::time::ticks() - t0;
    exec::arch::x86_64::cpu::enable_interrupts();
    exec::sched::permit();
    free();
    ensure!(moved, "a copy up over itself came out wrong");
    ensure!(back, "a copy down over itself came out wrong");
    ensure!(LEN > 8 * CHUNK);
    ensure!(ticks >= 3, "{ticks} ticks in {copies} copies of {LEN} bytes: interrupts were held off");
    ensure_eq!(exec::arch::x86_64::cpu::interrupts_enabled(), true);
    Ok(())
}

#[repr(C)]
#[derive(Clone, Copy)]
struct LongCaller {
    parent: *mut Task,
    /// TSC ticks in 60 ms.
    tsc_60ms: u64,
    /// Blocks of [`BLOCK`] allocated (each cleared by the kernel under its Forbid).
    blocks: u64,
    /// TSC ticks the allocations took.
    took: u64,
}

/// Ring 3: allocates and frees [`BLOCK`] bytes again and again for 420 ms, more than the
/// Forbid allowance (the kernel clears each block under its own Forbid, letting interrupts in:
/// the clock ticks there), then takes Forbid for 60 ms, well within the allowance, lets go,
/// and tells its parent.
extern "C" fn long_caller(block: u64) -> ! {
    let c = block as *mut LongCaller;
    // SAFETY: our own block; the parent is alleged to the gate; RDTSC is open to ring 3.
    unsafe {
        let began = core::arch::x86_64::_rdtsc();
        while core::arch::x86_64::_rdtsc() - began < (*c).tsc_60ms * 7 {
            let b = exec::sys::alloc_mem(BLOCK as usize, MemFlags::ANY);
            if !b.is_null() {
                (*c).blocks += 1;
                exec::sys::free_mem(b, BLOCK as usize);
            }
        }
        (*c).took = core::arch::x86_64::_rdtsc() - began;
        exec::sys::forbid();
        let start = core::arch::x86_64::_rdtsc();
        while core::arch::x86_64::_rdtsc() - start < (*c).tsc_60ms {
            core::hint::spin_loop();
        }
        exec::sys::permit();
        exec::sys::signal((*c).parent, SIGF_CTRL_F);
        exec::sys::wait(SIGF_CTRL_E);
        exec::sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// Ticks that fall while the kernel holds Forbid for a task's call (a long clear lets
/// interrupts in) are not counted against the task when it next takes Forbid itself: a task
/// that made long calls and then holds Forbid briefly is not removed as a Forbid hog.
fn kernel_forbid_time_is_not_the_tasks() -> TestResult {
    let init = LongCaller { parent: me3(), tsc_60ms: exec::time::tsc_hz() * 60 / 1000, blocks: 0, took: 0 };
    let (t, block) = hostile("r3-long-caller", 0, long_caller, init)?;
    // It signals when done, or it is removed (then nothing comes: give up after 5 s).
    let mut done = false;
    for _ in 0..500 {
        if exec::signal::set_signal(0, SIGF_CTRL_F) & SIGF_CTRL_F != 0 {
            done = true;
            break;
        }
        devices::timer_sleep_ms(10);
    }
    if done {
        // SAFETY: live, waiting.
        unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    }
    ensure!(gone("r3-long-caller", 500), "the caller did not end");
    // SAFETY: written before the signal (or before its Forbid).
    let c = unsafe { (block as *const LongCaller).read() };
    let ms = c.took * 1000 / exec::time::tsc_hz().max(1);
    ensure!(done, "the task was removed for holding Forbid 60 ms after {ms} ms of long calls");
    ensure!(c.blocks > 1, "{} blocks allocated", c.blocks);
    Ok(())
}

/// Ring 3: takes Forbid, then allocates and frees [`BLOCK`] bytes for up to 2 s (its ticks
/// fall in the kernel, in the clearing), lets go and tells its parent: it should not get there.
extern "C" fn forbid_long_caller(block: u64) -> ! {
    let c = block as *mut LongCaller;
    // SAFETY: our own block; the parent is alleged to the gate; RDTSC is open to ring 3.
    unsafe {
        exec::sys::forbid();
        let began = core::arch::x86_64::_rdtsc();
        while core::arch::x86_64::_rdtsc() - began < (*c).tsc_60ms * 33 {
            let b = exec::sys::alloc_mem(BLOCK as usize, MemFlags::ANY);
            if !b.is_null() {
                (*c).blocks += 1;
                exec::sys::free_mem(b, BLOCK as usize);
            }
        }
        exec::sys::permit();
        exec::sys::signal((*c).parent, SIGF_CTRL_F);
        exec::sys::wait(SIGF_CTRL_E);
        exec::sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// A task that holds its own Forbid through long calls is removed past its bound as one that
/// spins in ring 3 is, though its ticks fall in the kernel: judged on its way back from a call.
fn forbid_held_through_long_calls_is_judged() -> TestResult {
    let overruns = crate::gate::FORBID_OVERRUNS.load(core::sync::atomic::Ordering::SeqCst);
    let init = LongCaller { parent: me3(), tsc_60ms: exec::time::tsc_hz() * 60 / 1000, blocks: 0, took: 0 };
    let (t, _) = hostile("r3-forbid-caller", 0, forbid_long_caller, init)?;
    ensure!(gone("r3-forbid-caller", 5000), "the task holding Forbid through long calls was not removed");
    let signalled = exec::signal::set_signal(0, SIGF_CTRL_F) & SIGF_CTRL_F != 0;
    if signalled && !exec::task::find_task(Some("r3-forbid-caller")).is_null() {
        // It got through (the test fails below) and waits to be ended.
        // SAFETY: the task is live (found just now) and waits for CTRL_E.
        unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    }
    ensure!(!signalled, "the task held Forbid for 2 s of long calls and went on");
    ensure_eq!(crate::gate::FORBID_OVERRUNS.load(core::sync::atomic::Ordering::SeqCst), overruns + 1);
    Ok(())
}

// --- device data ------------------------------------------------------------------------

/// The test device's data: longer than a handle's inline copy, and shorter.
const LONG: usize = 600;
const SHORT: usize = 16;

/// What the test device saw: the data address of each request, in order, and the sum of each
/// CMD_WRITE's bytes.
static DATA_SEEN: [core::sync::atomic::AtomicU64; 5] = [const { core::sync::atomic::AtomicU64::new(0) }; 5];
static SEEN_COUNT: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);
static WRITE_SUMS: [core::sync::atomic::AtomicU64; 5] = [const { core::sync::atomic::AtomicU64::new(0) }; 5];

/// A device for the test: CMD_READ fills the first half of the data with 0xA5 (`actual`: that
/// half); CMD_WRITE sums the data; any other command fills all of it with 0x5A (`actual` 0).
/// Each request completes at once.
static DATA_DEVICE: exec::global::Global<exec::device::Device> = exec::global::Global::new(exec::device::Device::new(
    "r3test-data.device",
    1,
    0,
    "r3test-data.device 1.0 (30.11.2026)",
    data_open,
    data_close,
    data_begin_io,
    data_abort_io,
)
.with_user_commands(&[exec::device::CMD_NONSTD]));

/// # Safety
/// As `Device::open`.
unsafe fn data_open(_: *mut exec::device::Device, _: u32, req: *mut exec::device::IoRequest, _: u32) -> i8 {
    // SAFETY: `req` is live (open_device's contract).
    unsafe { (*req).unit = 0 };
    0
}

/// # Safety
/// As `Device::close`.
unsafe fn data_close(_: *mut exec::device::IoRequest) {}

/// # Safety
/// As `Device::abort_io`: nothing is ever pending.
unsafe fn data_abort_io(_: *mut exec::device::IoRequest) {}

/// # Safety
/// As `Device::begin_io`: `io` is live, open and idle; `data` holds `length` bytes.
unsafe fn data_begin_io(io: *mut exec::device::IoRequest) {
    use core::sync::atomic::Ordering::SeqCst;
    use exec::device::{CMD_READ, CMD_WRITE};
    // SAFETY: per the contract.
    unsafe {
        let (data, len) = ((*io).data, (*io).length);
        let i = SEEN_COUNT.fetch_add(1, SeqCst);
        if let Some(seen) = DATA_SEEN.get(i) {
            seen.store(data as u64, SeqCst);
        }
        (*io).error = 0;
        match (*io).command {
            CMD_READ => {
                core::ptr::write_bytes(data, 0xa5, len / 2);
                (*io).actual = len / 2;
            }
            CMD_WRITE => {
                let sum = (0..len).map(|k| u64::from(*data.add(k))).sum();
                if let Some(s) = WRITE_SUMS.get(i) {
                    s.store(sum, SeqCst);
                }
                (*io).actual = len;
            }
            _ => {
                core::ptr::write_bytes(data, 0x5a, len);
                (*io).actual = 0;
            }
        }
        exec::device::term_io(io);
    }
}

/// The ring-3 user's block: its data buffers (in its own memory), and what it was answered.
#[repr(C)]
#[derive(Clone, Copy)]
struct DeviceData {
    parent: *mut Task,
    long: [u8; LONG],
    short: [u8; SHORT],
    opened: i8,
    errors: [i8; 5],
    read_actual: usize,
    /// check_io said done, and the read's bytes were there before wait_io.
    checked: bool,
    read_before_wait: bool,
    /// Where the last two requests' data was (on the task's stack).
    stack_data: u64,
    /// Three CMD_WRITEs right in all but their data: a range that wraps past the top of the
    /// address space, one running past the task's memory, and one the task may write whose
    /// kernel copy would take the family past its memory quota.
    refused: [i8; 3],
}

/// Ring 3: through the test device, a long CMD_WRITE (do_io), a long CMD_READ into data it
/// filled with 0x11, a short other command, a CMD_READ again (send_io, check_io, then
/// wait_io), and a long CMD_WRITE again (send_io, wait_io); then three CMD_WRITEs whose data
/// the kernel must refuse (see `DeviceData::refused`).
extern "C" fn data_user(block: u64) -> ! {
    use exec::device::{CMD_NONSTD, CMD_READ, CMD_WRITE, IoRequest};
    let d = block as *mut DeviceData;
    // SAFETY: our own block; the request lives on our stack until closed; calls go through the gate.
    unsafe {
        let mut io = IoRequest::new(core::ptr::null_mut(), size_of::<IoRequest>());
        (*d).opened = exec::sys::open_device("r3test-data.device", 0, &mut io, 0);
        for (i, b) in (*d).long.iter_mut().enumerate() {
            *b = pattern(i);
        }
        (io.command, io.data, io.length) = (CMD_WRITE, (*d).long.as_mut_ptr(), LONG);
        (*d).errors[0] = exec::sys::do_io(&mut io);
        (*d).long.fill(0x11);
        io.command = CMD_READ;
        (*d).errors[1] = exec::sys::do_io(&mut io);
        (*d).read_actual = io.actual;
        (io.command, io.data, io.length) = (CMD_NONSTD, (*d).short.as_mut_ptr(), SHORT);
        (*d).errors[2] = exec::sys::do_io(&mut io);
        let mut again = [0x22u8; LONG];
        (*d).stack_data = again.as_ptr() as u64;
        (io.command, io.data, io.length) = (CMD_READ, again.as_mut_ptr(), LONG);
        exec::sys::send_io(&mut io);
        (*d).checked = exec::sys::check_io(&mut io);
        (*d).read_before_wait = again[0] == 0xa5 && again[LONG - 1] == 0x22;
        (*d).errors[3] = exec::sys::wait_io(&mut io);
        again.fill(7);
        io.command = CMD_WRITE;
        exec::sys::send_io(&mut io);
        (*d).errors[4] = exec::sys::wait_io(&mut io);
        (io.data, io.length) = ((u64::MAX - 15) as *mut u8, 32);
        (*d).refused[0] = exec::sys::do_io(&mut io);
        (io.data, io.length) = ((*d).long.as_mut_ptr(), 1 << 30);
        (*d).refused[1] = exec::sys::do_io(&mut io);
        // More than half the family's quota, the task's own: a kernel copy as large again
        // cannot be charged.
        let half = (crate::policy::FAMILY_BYTES / 2 + (1 << 20)) as usize;
        let big = exec::sys::alloc_mem(half, exec::memory::MemFlags::PUBLIC);
        (*d).refused[2] = if big.is_null() {
            -99
        } else {
            (io.data, io.length) = (big, half);
            let e = exec::sys::do_io(&mut io);
            exec::sys::free_mem(big, half);
            e
        };
        exec::sys::close_device(&mut io);
        crate::ktests_sys::report_and_end((*d).parent)
    }
}

/// A device works on the kernel's copy of a ring-3 request's data: none of the data addresses
/// it is given is the task's; a CMD_WRITE sees the task's bytes, long or short, through
/// do_io and send_io; a CMD_READ's `actual` bytes come back, and only those, by the time
/// check_io says it is done; another command's whole data comes back.
fn devices_work_on_the_kernels_copy() -> TestResult {
    use core::sync::atomic::Ordering::SeqCst;
    static ADDED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    if !ADDED.swap(true, SeqCst) {
        // SAFETY: a static device base, on no list, added once for good.
        unsafe { exec::device::add_device(DATA_DEVICE.get()) };
    }
    SEEN_COUNT.store(0, SeqCst);
    let init = DeviceData {
        parent: me3(),
        long: [0; LONG],
        short: [0; SHORT],
        opened: -99,
        errors: [-99; 5],
        read_actual: 0,
        checked: false,
        read_before_wait: false,
        stack_data: 0,
        refused: [-99; 3],
    };
    let (t, block) = hostile("r3-device-data", 0, data_user, init)?;
    let got = exec::signal::wait(SIGF_CTRL_F);
    // SAFETY: written before the signal; the task waits (it is live) and its block is exec
    // memory the kernel reads.
    let d = unsafe { (block as *const DeviceData).read() };
    // SAFETY: live, waiting for CTRL_E.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    ensure!(gone("r3-device-data", 200));
    ensure_eq!(got, SIGF_CTRL_F);
    ensure_eq!((d.opened, d.errors), (0, [0; 5]), "(opened, the five requests' errors)");
    ensure_eq!(SEEN_COUNT.load(SeqCst), 5, "requests the device saw");
    let bad = exec::device::IOERR_BADADDRESS;
    ensure_eq!(d.refused[..2], [bad; 2], "data wrapping past the top, past the task's memory");
    // The quota case needs a block of more than half the quota (-99: not had, as on a machine
    // of 32 MiB, where it is only tried).
    let roomy = exec::memory::avail_mem(exec::memory::MemFlags::LARGEST) as u64 > crate::policy::FAMILY_BYTES + (4 << 20);
    ensure!(d.refused[2] == bad || (!roomy && d.refused[2] == -99), "data past the family's quota: {} (room for it: {roomy})", d.refused[2]);
    let task_data = [block + core::mem::offset_of!(DeviceData, long) as u64, block + core::mem::offset_of!(DeviceData, short) as u64, d.stack_data];
    ensure!(d.stack_data != 0);
    for (i, seen) in DATA_SEEN.iter().enumerate() {
        let at = seen.load(SeqCst);
        ensure!(at != 0 && !task_data.contains(&at), "request {i}: the device was given the task's own data at {at:#x}");
    }
    let sum: u64 = (0..LONG).map(|i| u64::from(pattern(i))).sum();
    ensure_eq!((WRITE_SUMS[0].load(SeqCst), WRITE_SUMS[4].load(SeqCst)), (sum, 7 * LONG as u64), "what the CMD_WRITEs saw");
    ensure_eq!((d.checked, d.read_before_wait), (true, true), "check_io: done, the read's bytes there before wait_io");
    ensure_eq!(d.read_actual, LONG / 2);
    ensure!(d.long[..LONG / 2].iter().all(|&b| b == 0xa5), "the read's actual bytes came back");
    ensure!(d.long[LONG / 2..].iter().all(|&b| b == 0x11), "past the read's actual bytes the task's data changed");
    ensure_eq!(d.short, [0x5a; SHORT], "another command's data came back whole");
    Ok(())
}

// --- devices through IoRequests ------------------------------------------------------------

#[repr(C)]
#[derive(Clone, Copy)]
struct IoResults {
    parent: *mut exec::task::Task,
    timer_open: i8,
    timer_error: i8,
    slept_tsc: u64,
    async_pending: bool,
    async_error: i8,
    serial_error: i8,
    written: usize,
    bad_data_error: i8,
    free_in_flight_refused: bool,
    /// A request's reply signalled the bit of the reply port the task named, and check_io
    /// then said it was done.
    reply_signalled: bool,
    /// A request naming its reply port by a handle with the wrong generation completed
    /// without signalling that port's bit.
    forged_reply_port_ignored: bool,
}

/// Ring 3: timer.device (do_io, and send_io/check_io/wait_io) and serial.device with
/// IoRequests in its own memory, as a ring-0 task would; then data in kernel memory.
extern "C" fn io_user(block: u64) -> ! {
    use devices::timer::{TR_ADDREQUEST, TimeRequest, UNIT_MICROHZ};
    let r = block as *mut IoResults;
    // SAFETY: our own block and requests; exec calls through the gate.
    unsafe {
        let reply = sys::create_port(None, 0);
        let mut tr = TimeRequest::new(reply);
        (*r).timer_open = sys::open_device("timer.device", UNIT_MICROHZ, &mut tr.io, 0);
        tr.io.command = TR_ADDREQUEST;
        tr.time.micro = 20_000;
        let t0 = exec::arch::x86_64::cpu::rdtsc();
        (*r).timer_error = sys::do_io(&mut tr.io);
        (*r).slept_tsc = exec::arch::x86_64::cpu::rdtsc() - t0;

        tr.time.micro = 30_000;
        sys::send_io(&mut tr.io);
        (*r).async_pending = !sys::check_io(&mut tr.io);
        (*r).async_error = sys::wait_io(&mut tr.io);

        // The reply signals the task's own reply port's bit (polled, at most 4e9 TSC ticks:
        // ring 3 cannot read the kernel's TSC rate). Its bit cleared first: only this reply counts.
        let mask = sys::port_signal(reply);
        tr.time.micro = 10_000;
        sys::set_signal(0, mask);
        sys::send_io(&mut tr.io);
        let t0 = exec::arch::x86_64::cpu::rdtsc();
        let mut seen = false;
        while !seen && exec::arch::x86_64::cpu::rdtsc() - t0 < 4_000_000_000 {
            seen = mask != 0 && sys::set_signal(0, 0) & mask != 0;
        }
        (*r).reply_signalled = seen && sys::check_io(&mut tr.io);
        sys::wait_io(&mut tr.io);
        sys::close_device(&mut tr.io);

        // A reply port named by its handle with the generation wrong (valid-looking, one
        // field off): not believed. The request still completes, on a bit of its own, and the
        // real port's bit stays clear.
        let forged = (reply as u64 ^ (1 << 32)) as *mut exec::port::MsgPort;
        let mut other = TimeRequest::new(forged);
        sys::set_signal(0, mask);
        let opened = sys::open_device("timer.device", UNIT_MICROHZ, &mut other.io, 0);
        other.io.command = TR_ADDREQUEST;
        other.time.micro = 1_000;
        // Sent, then asked until done (check_io takes a done request without waiting, so
        // nothing consumes a signal the reply gave): the real port's bit must still be clear.
        sys::send_io(&mut other.io);
        let t0 = exec::arch::x86_64::cpu::rdtsc();
        let mut done = false;
        while !done && exec::arch::x86_64::cpu::rdtsc() - t0 < 4_000_000_000 {
            done = sys::check_io(&mut other.io);
        }
        let error = sys::wait_io(&mut other.io);
        (*r).forged_reply_port_ignored = opened == 0 && done && error == 0 && sys::set_signal(0, 0) & mask == 0;
        sys::close_device(&mut other.io);

        let mut io = exec::device::IoRequest::new(reply, size_of::<exec::device::IoRequest>());
        sys::open_device("serial.device", 0, &mut io, 0);
        let text = alloc::vec::Vec::from(&b"(written from ring 3 with an IoRequest)\n"[..]);
        io.command = exec::device::CMD_WRITE;
        io.data = text.as_ptr() as *mut u8;
        io.length = text.len();
        (*r).serial_error = sys::do_io(&mut io);
        (*r).written = io.actual;

        // A read into a buffer of its own memory is in flight: the buffer may not be freed.
        let buf = sys::alloc_mem(4096, exec::memory::MemFlags::PUBLIC);
        io.command = exec::device::CMD_READ;
        io.data = buf;
        io.length = 1;
        sys::send_io(&mut io);
        sys::free_mem(buf, 4096); // refused: a read into it is in flight
        buf.write_volatile(1); // still ours (a fault here would remove this task)
        (*r).free_in_flight_refused = true;
        sys::abort_io(&mut io);
        sys::wait_io(&mut io);

        // Data in kernel memory (the parent task's structure): refused.
        io.command = exec::device::CMD_WRITE;
        io.data = (*r).parent as *mut u8;
        io.length = 8;
        (*r).bad_data_error = sys::do_io(&mut io);
        sys::close_device(&mut io);
        crate::ktests_sys::report_and_end((*r).parent)
    }
}

fn device_io_with_iorequests() -> TestResult {
    let bad = crate::gate::BAD_ALLEGATIONS.load(core::sync::atomic::Ordering::SeqCst);
    let init = IoResults {
        parent: me3(),
        timer_open: -99,
        timer_error: -99,
        slept_tsc: 0,
        async_pending: false,
        async_error: -99,
        serial_error: -99,
        written: 0,
        bad_data_error: 0,
        free_in_flight_refused: false,
        reply_signalled: false,
        forged_reply_port_ignored: false,
    };
    let r = crate::ktests_sys::run("r3-io", io_user, init)?;
    ensure_eq!((r.timer_open, r.timer_error), (0, 0));
    ensure!(r.slept_tsc >= exec::time::tsc_hz() / 50, "slept only {} TSC ticks", r.slept_tsc);
    ensure!(r.async_pending, "a 30 ms request was complete at once");
    ensure_eq!(r.async_error, 0);
    ensure_eq!((r.serial_error, r.written), (0, 40));
    ensure_eq!(r.bad_data_error, exec::device::IOERR_BADADDRESS);
    ensure!(r.free_in_flight_refused, "a buffer was freed under an in-flight read");
    ensure!(r.reply_signalled, "a request's reply did not signal its reply port's bit (or check_io then said not done)");
    ensure!(r.forged_reply_port_ignored, "a reply port handle with the wrong generation was believed (or its request failed)");
    ensure_eq!(crate::gate::BAD_ALLEGATIONS.load(core::sync::atomic::Ordering::SeqCst), bad + 2, "the free in flight and the kernel data");
    Ok(())
}
