//! DOS in the mmu build: a handler in ring 3 that ends while clients wait on it.

use alloc::format;

use exec::ktest::{Test, TestResult};
use exec::ktest_util::spawn;
use exec::{ensure, ensure_eq};
use libraries::dos::{close, end_process, open};
use libraries::dosdefs::{MODE_NEWFILE, error};
use libraries::handlers::ram::{Mount, entry_mount};

pub static TESTS: &[Test] = &[
    Test::new("mmu.sys.dos_library_from_ring3", dos_library_from_ring3),
    Test::new("mmu.dos.handler_ends_mid_operation", handler_ends_mid_operation),
    Test::new("mmu.dos.spare_copy_block_is_the_kernels", spare_copy_block_is_the_kernels),
    Test::new("mmu.dos.ring3_client_ends_with_a_file_open", ring3_client_ends_with_a_file_open),
    Test::new("mmu.dos.ram_starts_again_after_it_ends", ram_starts_again_after_it_ends),
    Test::new("mmu.ring3_add_task_honours_the_stack_size", ring3_add_task_honours_the_stack_size),
];

/// What each client saw: the error that stopped it (0 while it runs).
static SEEN: [core::sync::atomic::AtomicI64; 3] = [const { core::sync::atomic::AtomicI64::new(0) }; 3];

/// A client that writes to RAMT: until a packet fails.
fn client(i: usize) {
    let e = match open(&format!("RAMT:c{i}"), MODE_NEWFILE) {
        Ok(mut f) => loop {
            if let Err(e) = f.write(&[i as u8; 512]).and_then(|_| f.seek(0, libraries::dosdefs::OFFSET_BEGINNING).map(|_| 0)) {
                let _ = close(f);
                break e;
            }
        },
        Err(e) => e,
    };
    SEEN[i].store(e, core::sync::atomic::Ordering::SeqCst);
    end_process();
}

/// A second RAM: disk (RAMT:) in ring 3, with three clients writing to it, is ended while
/// they wait on it, as a fault would end it: every client's packet comes back with an error
/// (none waits for ever), later packets are refused without following the port that went,
/// and the real RAM: goes on.
fn handler_ends_mid_operation() -> TestResult {
    let mut mount = Mount { name: [0; 16], len: 4, disk: 1 << 20 };
    mount.name[..4].copy_from_slice(b"RAMT");
    let (t, _) = crate::user::add_user_task_with("RAMT", 0, entry_mount, mount).ok_or("RAMT did not start")?;
    let mut waited = 0;
    while exec::port::find_port("RAMT").is_null() {
        ensure!(waited < 200, "RAMT never opened its port");
        exec::time::wait_ticks(1);
        waited += 1;
    }
    for s in &SEEN {
        s.store(0, core::sync::atomic::Ordering::SeqCst);
    }
    let clients = [spawn("ramt-0", 0, client, 0)?, spawn("ramt-1", 0, client, 1)?, spawn("ramt-2", 0, client, 2)?];
    exec::time::wait_ticks(5);
    for s in &SEEN {
        ensure_eq!(s.load(core::sync::atomic::Ordering::SeqCst), 0, "a client stopped before RAMT ended");
    }
    // SAFETY: a live ring-3 task we started; ring 0 may end it (as a fault would).
    unsafe { exec::task::rem_task(t) };
    for c in clients {
        c.join();
    }
    for (i, s) in SEEN.iter().enumerate() {
        let e = s.load(core::sync::atomic::Ordering::SeqCst);
        ensure_eq!(e, error::DEVICE_NOT_MOUNTED, "client {i}");
    }
    ensure!(exec::port::find_port("RAMT").is_null(), "RAMT's port outlived it");
    // The real RAM: is untouched.
    let f = open("RAM:t.after", MODE_NEWFILE).map_err(|e| format!("RAM: after RAMT: {e}"))?;
    ensure_eq!(close(f), Ok(()));
    ensure_eq!(libraries::dos::delete_file("RAM:t.after"), Ok(()));
    end_process();
    Ok(())
}

/// RAM: ended as a fault would end it: the watcher starts a new one (a new task, the same
/// port name, an empty disk), reached by its device and its volume name alike.
fn ram_starts_again_after_it_ends() -> TestResult {
    let f = open("RAM:t.before", MODE_NEWFILE).map_err(|e| format!("RAM: before: {e}"))?;
    ensure_eq!(close(f), Ok(()));
    let old = exec::task::find_task(Some("RAM"));
    ensure!(!old.is_null(), "no RAM task");
    // SAFETY: a live task (found just now).
    let old_id = unsafe { (*old).id() };
    // SAFETY: a live ring-3 task; ring 0 may end it (as a fault would).
    unsafe { exec::task::rem_task(old) };
    let mut waited = 0;
    loop {
        let t = exec::task::find_task(Some("RAM"));
        // SAFETY: a live task (found just now, under no Forbid: only its number is read, at once).
        if !t.is_null() && unsafe { (*t).id() } != old_id && !exec::port::find_port("RAM").is_null() {
            break;
        }
        ensure!(waited < 200, "RAM: did not start again");
        exec::time::wait_ticks(1);
        waited += 1;
    }
    ensure_eq!(open("RAM:t.before", libraries::dosdefs::MODE_OLDFILE).err(), Some(error::OBJECT_NOT_FOUND), "the old files went with the old RAM:");
    let f = open("Ram Disk:t.after", MODE_NEWFILE).map_err(|e| format!("the new RAM: by its volume: {e}"))?;
    ensure_eq!(close(f), Ok(()));
    ensure_eq!(libraries::dos::delete_file("RAM:t.after"), Ok(()));
    end_process();
    Ok(())
}

// --- the spare block of ring-0 messages' copies -------------------------------------------

#[repr(C)]
#[derive(Clone, Copy)]
struct Spare {
    parent: *mut exec::task::Task,
    views: [u64; 2],
    /// What the gate answered to a transfer of the first view after its reply.
    transfer: u64,
    seen: [u8; 8],
}

#[repr(C)]
struct Letter {
    msg: exec::port::Message,
    body: [u8; 8],
}

/// Ring 3: takes a ring-0 message and replies it; then tries to free and to send by transfer
/// the block its copy was in (the kernel's spare now); then takes a second message.
extern "C" fn spare_receiver(block: u64) -> ! {
    use exec::signal::{SIGF_CTRL_E, SIGF_CTRL_F};
    let b = block as *mut Spare;
    // SAFETY: our own block; the parent is alleged to the gate; the views are ours while held.
    unsafe {
        let port = exec::sys::create_port(Some("r3.spare"), 0) as u64;
        exec::sys::signal((*b).parent, SIGF_CTRL_F);
        let v1 = crate::user::wait_get(port);
        (*b).views[0] = v1;
        crate::user::reply_msg(v1);
        exec::sys::signal((*b).parent, SIGF_CTRL_F);
        exec::sys::wait(SIGF_CTRL_E);
        exec::sys::free_mem(v1 as *mut u8, 4096);
        (*b).transfer = crate::user::put_msg(port, v1, crate::msg::PUT_TRANSFER);
        exec::sys::signal((*b).parent, SIGF_CTRL_F);
        let v2 = crate::user::wait_get(port);
        (*b).views[1] = v2;
        (*b).seen = (*(v2 as *const Letter)).body;
        crate::user::reply_msg(v2);
        exec::sys::signal((*b).parent, SIGF_CTRL_F);
        exec::sys::wait(SIGF_CTRL_E);
    }
    crate::user::exit()
}

/// The block a ring-0 message's copy used is kept for the next copy, closed to the receiver:
/// the receiver can neither free it nor send it by transfer, and the next message's copy
/// lands in it.
fn spare_copy_block_is_the_kernels() -> TestResult {
    use exec::memory::MemFlags;
    use exec::signal::{SIGF_CTRL_E, SIGF_CTRL_F};
    let me = exec::task::find_task(None);
    let (t, block) = crate::user::add_user_task_with("r3-spare", 0, spare_receiver, Spare { parent: crate::user::ring3_name(me), views: [0; 2], transfer: 0, seen: [0; 8] })
        .ok_or("no memory for the receiver")?;
    let s = block as *const Spare;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    let port = exec::port::find_port("r3.spare");
    ensure!(!port.is_null(), "no port r3.spare");
    let reply = exec::port::create_msg_port();
    let mut first = Letter { msg: exec::port::Message::new(reply, size_of::<Letter>()), body: *b"first..." };
    let mut second = Letter { msg: exec::port::Message::new(reply, size_of::<Letter>()), body: *b"second.." };
    // SAFETY: live ports; the letters live on this frame until they are back.
    unsafe { exec::port::put_msg(port, &mut first.msg) };
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: our reply port.
    ensure!(unsafe { core::ptr::eq(exec::port::get_msg(reply), &first.msg) }, "the first letter did not come back");
    let mem = exec::memory::avail_mem(MemFlags::ANY);
    // SAFETY: the receiver waits for CTRL_E.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem, "the receiver freed the kernel's spare");
    // SAFETY: written before the signal; the receiver waits at its port.
    ensure!(unsafe { (*s).transfer } != 0, "the spare went by transfer");
    // SAFETY: as above.
    unsafe { exec::port::put_msg(port, &mut second.msg) };
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: our reply port; written before the signal.
    unsafe {
        ensure!(core::ptr::eq(exec::port::get_msg(reply), &second.msg), "the second letter did not come back");
        ensure_eq!((*s).views[1], (*s).views[0], "the second copy is not in the spare");
        ensure_eq!(&(*s).seen, b"second..");
        exec::port::delete_msg_port(reply);
        exec::signal::signal(t, SIGF_CTRL_E);
    }
    for _ in 0..100 {
        if !exec::task::is_live(t) {
            return Ok(());
        }
        exec::time::wait_ticks(1);
    }
    Err("the receiver did not end".into())
}

// --- a ring-3 client that ends with a file open ---------------------------------------------

/// Ring 3: opens a RAM: file for itself alone and ends without closing it or ending its
/// process, as a command that faults would.
extern "C" fn r3_holder(_: u64) -> ! {
    // DOS calls from ring 3 go through dos.library's vectors, which answer only a task that
    // has it open; the task ends without closing it (its end closes it).
    if !exec::sys::open_library("dos.library", libraries::dos::DOS_VERSION).is_null()
        && let Ok(f) = open("RAM:t.r3held", MODE_NEWFILE)
    {
        core::mem::forget(f);
    }
    crate::user::exit()
}

/// RAM: (in ring 3) frees what a ring-3 client that ended left open: the kernel tells it the
/// client's task number with each packet, and exec whether that task is still there.
fn ring3_client_ends_with_a_file_open() -> TestResult {
    let t = crate::user::add_user_task("r3-holder", 0, r3_holder, 0);
    ensure!(!t.is_null(), "no memory for the holder");
    for _ in 0..200 {
        if !exec::task::is_live(t) {
            break;
        }
        exec::time::wait_ticks(1);
    }
    ensure!(!exec::task::is_live(t), "the holder did not end");
    // Its open (for it alone) is in the way; RAM: finds its client gone and frees it.
    ensure_eq!(libraries::dos::delete_file("RAM:t.r3held"), Ok(()));
    end_process();
    Ok(())
}

// --- a ring-3 process's stack size -------------------------------------------------------

/// A child that needs about 96 KiB of stack, then signals the ring-0 task `parent` (its
/// family's origin).
fn deep_child(parent: usize) {
    let buf = core::hint::black_box([7u8; 96 * 1024]);
    if buf[1234] == 7 {
        // SAFETY: the family's ring-0 origin, alleged to the gate.
        unsafe { exec::sys::signal(parent as *mut exec::task::Task, exec::signal::SIGF_CTRL_F) };
    }
}

/// Ring 3: starts `deep_child` with the stack size asked for in its block.
extern "C" fn stack_parent(block: u64) -> ! {
    // SAFETY: our own block, written before we started.
    let (parent, stack) = unsafe { *(block as *const (usize, usize)) };
    exec::sys::add_task("deep-child", 0, deep_child, parent, stack);
    crate::user::exit()
}

/// A ring-3 process asks for a stack (DOS's processes do): a child that needs 96 KiB of stack
/// runs to its end when 256 KiB were asked for, and faults (contained) when the standard
/// 16 KiB was. A hostile size is held to the bounds: all the bits set gives 1 MiB (the
/// child runs), none gives 16 KiB (it faults); neither disturbs the priority packed beside it.
fn ring3_add_task_honours_the_stack_size() -> TestResult {
    let me = crate::user::ring3_name(exec::task::find_task(None)) as usize;
    for (stack, ends) in [(256 * 1024, true), (16 * 1024, false), (usize::MAX, true), (0, false)] {
        exec::signal::set_signal(0, exec::signal::SIGF_CTRL_F);
        crate::user::add_user_task_with("stack-parent", 0, stack_parent, (me, stack)).ok_or("no memory")?;
        let mut got = false;
        for _ in 0..100 {
            if exec::signal::set_signal(0, 0) & exec::signal::SIGF_CTRL_F != 0 {
                got = true;
                break;
            }
            exec::time::wait_ticks(1);
        }
        ensure_eq!(got, ends, "a child that asked for {stack:#x} bytes of stack");
        exec::signal::set_signal(0, exec::signal::SIGF_CTRL_F);
    }
    Ok(())
}

// --- dos.library from ring 3 --------------------------------------------------------------

#[repr(C)]
#[derive(Clone, Copy)]
struct DosResults {
    parent: *mut exec::task::Task,
    parsed: bool,
    formatted: bool,
    /// What a file written and read back through dos.library's vectors held.
    read_back: [u8; 8],
    /// IoErr after a Lock of a name that is not there.
    io_err: i64,
}

/// Ring 3: dos.library's ReadArgs and formatting, run in ring 3 on this task's heap, and a
/// file written, read back and deleted, each call through the library's vectors.
extern "C" fn dos_user(block: u64) -> ! {
    use libraries::readargs::ArgValue;
    let b = block as *mut DosResults;
    // SAFETY: our own block; calls through dos.library, which we open.
    unsafe {
        let lib = exec::sys::open_library("dos.library", libraries::dos::DOS_VERSION);
        if lib.is_null() {
            // No DOS call without the library (one would end this task): the checks fail.
            crate::ktests_sys::report_and_end((*b).parent)
        }
        let args = libraries::dos::read_args("NAME/A,COUNT/N,ALL/S", "disk 12 ALL");
        (*b).parsed = args == Ok(alloc::vec![ArgValue::Str("disk".into()), ArgValue::Num(12), ArgValue::Switch(true)]);
        (*b).formatted = libraries::dos::format_bytes(4096) == "4.0 KiB";
        let mut back = [0u8; 8];
        let _ = libraries::dos::open("RAM:t.r3dos", libraries::dosdefs::MODE_NEWFILE).and_then(|mut f| {
            f.write(b"ring 3")?;
            f.seek(0, libraries::dosdefs::OFFSET_BEGINNING)?;
            f.read(&mut back)?;
            libraries::dos::close(f)
        });
        (*b).read_back = back;
        let _ = libraries::dos::delete_file("RAM:t.r3dos");
        let _ = libraries::dos::lock("RAM:t.not-there", libraries::dosdefs::SHARED_LOCK);
        (*b).io_err = libraries::dos::io_err();
        libraries::dos::end_process();
        exec::sys::close_library(lib);
        crate::ktests_sys::report_and_end((*b).parent)
    }
}

fn dos_library_from_ring3() -> TestResult {
    let r = crate::ktests_sys::run("r3-dos-user", dos_user, DosResults { parent: crate::ktests_attacks::me3(), parsed: false, formatted: false, read_back: [0; 8], io_err: 0 })?;
    ensure!(r.parsed, "ReadArgs from ring 3");
    ensure!(r.formatted, "format_bytes from ring 3");
    ensure_eq!(&r.read_back, b"ring 3\0\0", "a file through dos.library's vectors from ring 3");
    ensure_eq!(r.io_err, libraries::dosdefs::error::OBJECT_NOT_FOUND, "IoErr from ring 3");
    Ok(())
}
