//! In-kernel tests of DOS: packets to RAM:, NIL: and CON:, every action code for its effect, garbage
//! packets, two processes on one file, and the clean-up of a process's files at its end.

use alloc::format;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use exec::ktest::{Test, TestResult};
use exec::ktest_util::spawn;
use exec::{ensure, ensure_eq};

use super::file::{self, close, open};
use super::lock::{self, create_dir, delete_file, dup_lock, entries, examine, lock, name_from_lock, parent_dir, rename, unlock};
use super::packet::{Attach, PacketData, do_pkt, do_pkt_with};
use super::process::{end_process, fault, io_err};
use crate::dosdefs::*;

pub static TESTS: &[Test] = &[
    Test::new("libraries.dos.read_args_through_library", super::through_library),
    Test::new("libraries.dos.calls_go_through_the_vector_table", super::ktests_vectors::calls_go_through_the_vector_table),
    Test::new("libraries.dos.packets_round_trip", packets_round_trip),
    Test::new("libraries.dos.files", files),
    Test::new("libraries.dos.locks_and_names", locks_and_names),
    Test::new("libraries.dos.errors", errors),
    Test::new("libraries.dos.garbage_packets", garbage_packets),
    Test::new("libraries.dos.two_processes_one_file", two_processes_one_file),
    Test::new("libraries.dos.ended_process_files_closed", ended_process_files_closed),
    Test::new("libraries.dos.one_mib_file", one_mib_file),
    Test::new("libraries.dos.nil", nil),
    Test::new("libraries.dos.con", con),
    Test::new("libraries.dos.volumes", volumes),
];

fn port(name: &str) -> Result<*mut exec::port::MsgPort, alloc::string::String> {
    let p = exec::sys::find_port(name);
    ensure!(!p.is_null(), "no {name} handler");
    Ok(p)
}

/// Runs `body` as a process, then ends the process (its files closed, its record freed).
fn as_process(body: impl FnOnce() -> TestResult) -> TestResult {
    let r = body();
    end_process();
    r
}

fn packets_round_trip() -> TestResult {
    as_process(|| {
        let ram = port("RAM")?;
        // SAFETY: the handler's port; no pointers in the arguments.
        ensure_eq!(unsafe { do_pkt(ram, action::IS_FILESYSTEM, &[]) }, (DOSTRUE, 0));
        // SAFETY: as above.
        ensure_eq!(unsafe { do_pkt(ram, 4242, &[]) }, (DOSFALSE, error::ACTION_NOT_KNOWN));
        let info = disk_info(ram);
        ensure_eq!(info.0, (DOSTRUE, 0));
        let info = info.1;
        ensure!(info.num_blocks > 0 && info.bytes_per_block == 512 && info.disk_state == ID_VALIDATED, "{info:?}");
        Ok(())
    })
}

/// DISK_INFO from `port`: the answer and the InfoData.
fn disk_info(port: *mut exec::port::MsgPort) -> ((i64, i64), InfoData) {
    let mut info = InfoData::default();
    // SAFETY: the handler's port; the InfoData is an attachment.
    let r = unsafe { do_pkt_with(port, action::DISK_INFO, &[], &mut [(0, Attach::InOut(info.bytes_mut()))]) };
    (r, info)
}

fn write_file(name: &str, data: &[u8]) -> TestResult {
    let mut f = open(name, MODE_NEWFILE).map_err(|e| format!("open {name}: {e}"))?;
    ensure_eq!(f.write(data), Ok(data.len()));
    ensure_eq!(close(f), Ok(()));
    Ok(())
}

fn read_file(name: &str) -> Result<Vec<u8>, alloc::string::String> {
    let mut f = open(name, MODE_OLDFILE).map_err(|e| format!("open {name}: {e}"))?;
    let mut out = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("read {name}: {e}")),
        }
    }
    close(f).map_err(|e| format!("close {name}: {e}"))?;
    Ok(out)
}

/// FINDINPUT, FINDOUTPUT, FINDUPDATE, READ, WRITE, SEEK, SET_FILE_SIZE, END, and the
/// buffered calls.
fn files() -> TestResult {
    as_process(|| {
        write_file("RAM:t.files", b"hello, world")?;
        ensure_eq!(read_file("ram:T.FILES")?, b"hello, world");
        let mut f = open("RAM:t.files", MODE_READWRITE).map_err(|e| format!("{e}"))?;
        ensure_eq!(f.seek(7, OFFSET_BEGINNING), Ok(0));
        ensure_eq!(f.write(b"there"), Ok(5));
        ensure_eq!(f.seek(-5, OFFSET_END), Ok(12));
        let mut b = [0u8; 8];
        ensure_eq!(f.read(&mut b), Ok(5));
        ensure_eq!(&b[..5], b"there");
        ensure_eq!(f.set_size(5, OFFSET_BEGINNING), Ok(5));
        ensure_eq!(f.seek(0, OFFSET_END), Ok(5));
        // Buffered: lines out, lines in.
        ensure_eq!(f.put_s(b"\nline two\n"), Ok(()));
        core::fmt::Write::write_fmt(&mut *f, format_args!("n={}\n", 42)).map_err(|_| "printf")?;
        ensure_eq!(f.seek(0, OFFSET_BEGINNING), Ok(20));
        let mut line = Vec::new();
        ensure_eq!(f.get_s(&mut line), Ok(true));
        ensure_eq!(line, b"hello\n");
        ensure_eq!(f.get_c(), Ok(Some(b'l')));
        ensure_eq!(f.get_s(&mut line), Ok(true));
        ensure_eq!(line, b"ine two\n");
        ensure_eq!(f.get_s(&mut line), Ok(true));
        ensure_eq!(line, b"n=42\n");
        ensure_eq!(f.get_s(&mut line), Ok(false));
        ensure_eq!(close(f), Ok(()));
        ensure_eq!(delete_file("RAM:t.files"), Ok(()));
        Ok(())
    })
}

/// LOCATE_OBJECT, FREE_LOCK, COPY_DIR, PARENT, EXAMINE_OBJECT, EXAMINE_NEXT, CREATE_DIR,
/// RENAME_OBJECT, DELETE_OBJECT, SET_PROTECT, INFO.
fn locks_and_names() -> TestResult {
    as_process(|| {
        let d = create_dir("RAM:t.dir").map_err(|e| format!("create_dir: {e}"))?;
        ensure_eq!(unlock(d), Ok(()));
        write_file("RAM:t.dir/a", b"A")?;
        write_file("RAM:t.dir/b", b"BB")?;
        let l = lock("RAM:t.dir", SHARED_LOCK).map_err(|e| format!("lock: {e}"))?;
        let names: Vec<_> = entries(&l).map_err(|e| format!("entries: {e}"))?.iter().map(|f| (alloc::string::String::from(f.name()), f.size)).collect();
        ensure_eq!(names, alloc::vec![("a".into(), 1), ("b".into(), 2)]);
        let mut fib = FileInfoBlock::default();
        ensure_eq!(examine(&l, &mut fib), Ok(()));
        ensure!(fib.is_dir() && fib.name() == "t.dir");
        let copy = dup_lock(&l).map_err(|e| format!("dup_lock: {e}"))?;
        let parent = parent_dir(&copy).map_err(|e| format!("parent: {e}"))?.ok_or("no parent")?;
        ensure_eq!(examine(&parent, &mut fib), Ok(()));
        ensure_eq!(fib.dir_entry_type, ST_ROOT);
        ensure_eq!(parent_dir(&parent), Ok(None));
        // CurrentDir: relative names go there.
        let old = lock::current_dir(Some(copy));
        ensure_eq!(read_file("b")?, b"BB");
        ensure_eq!(name_from_lock(&l), Ok("Ram Disk:t.dir".into()), "the volume's name, as AmigaDOS gives it");
        let copy = lock::current_dir(old).ok_or("no current dir")?;
        ensure_eq!(rename("RAM:t.dir/a", "RAM:t.dir/c"), Ok(()));
        ensure_eq!(read_file("RAM:t.dir/c")?, b"A");
        let mut info = InfoData::default();
        ensure_eq!(lock::info(&l, &mut info), Ok(()));
        ensure!(info.num_blocks_used > 0 && info.in_use >= 3, "{info:?}");
        ensure_eq!(lock::set_protection("RAM:t.dir/c", prot::DELETE), Ok(()));
        ensure_eq!(delete_file("RAM:t.dir/c"), Err(error::DELETE_PROTECTED));
        ensure_eq!(lock::set_protection("RAM:t.dir/c", 0), Ok(()));
        for x in [parent, copy, l] {
            ensure_eq!(unlock(x), Ok(()));
        }
        for n in ["RAM:t.dir/b", "RAM:t.dir/c", "RAM:t.dir"] {
            ensure_eq!(delete_file(n), Ok(()), "{n}");
        }
        Ok(())
    })
}

fn errors() -> TestResult {
    as_process(|| {
        ensure_eq!(open("RAM:t.none", MODE_OLDFILE).err(), Some(error::OBJECT_NOT_FOUND));
        ensure_eq!(io_err(), error::OBJECT_NOT_FOUND);
        ensure_eq!(fault(io_err(), "t.none"), "t.none: Object not found");
        // PrintFault writes to Output().
        let out = open("RAM:t.out", MODE_NEWFILE).map_err(|e| format!("{e}"))?;
        let raw = alloc::boxed::Box::into_raw(out);
        let old = super::process::select_output(raw);
        ensure!(super::process::print_fault(error::DISK_FULL, "copy"), "PrintFault wrote nothing");
        super::process::select_output(old);
        // SAFETY: the box made above, no longer selected.
        ensure_eq!(close(unsafe { alloc::boxed::Box::from_raw(raw) }), Ok(()));
        ensure_eq!(read_file("RAM:t.out")?, b"copy: Disk full\n");
        ensure_eq!(delete_file("RAM:t.out"), Ok(()));
        ensure_eq!(open("NOSUCH:x", MODE_OLDFILE).err(), Some(error::DEVICE_NOT_MOUNTED));
        let d = create_dir("RAM:t.err").map_err(|e| format!("{e}"))?;
        ensure_eq!(create_dir("RAM:t.err").err(), Some(error::OBJECT_EXISTS));
        ensure_eq!(delete_file("RAM:t.err"), Err(error::OBJECT_IN_USE), "locked");
        ensure_eq!(unlock(d), Ok(()));
        write_file("RAM:t.err/f", b"x")?;
        ensure_eq!(delete_file("RAM:t.err"), Err(error::DIRECTORY_NOT_EMPTY));
        ensure_eq!(open("RAM:t.err", MODE_OLDFILE).err(), Some(error::OBJECT_WRONG_TYPE), "a directory read as a file");
        ensure_eq!(lock("RAM:t.err/f/g", SHARED_LOCK).err(), Some(error::OBJECT_WRONG_TYPE), "a path through a file");
        ensure_eq!(rename("RAM:t.err", "RAM:t.err/inside"), Err(error::OBJECT_IN_USE), "a directory into itself");
        ensure_eq!(rename("RAM:t.err/f", "NIL:f"), Err(error::RENAME_ACROSS_DEVICES));
        let long = "n".repeat(108);
        ensure_eq!(open(&format!("RAM:{long}"), MODE_NEWFILE).err(), Some(error::INVALID_COMPONENT_NAME));
        let f = open("RAM:t.err/f", MODE_OLDFILE).map_err(|e| format!("{e}"))?;
        ensure_eq!(delete_file("RAM:t.err/f"), Err(error::OBJECT_IN_USE), "an open file");
        ensure_eq!(close(f), Ok(()));
        ensure_eq!(delete_file("RAM:t.err/f"), Ok(()));
        ensure_eq!(delete_file("RAM:t.err"), Ok(()));
        Ok(())
    })
}

/// Packets a careless or hostile client might send: each is refused with its error, counted,
/// and the handler goes on serving.
fn garbage_packets() -> TestResult {
    as_process(|| {
        let ram = port("RAM")?;
        let before = disk_info(ram).1.num_soft_errors;
        let mut buf = [0u8; 16];
        let mut fib = FileInfoBlock::default();
        let bad = b"\xff\xfe";
        // (action, arguments, an attachment, the error)
        let cases: [(i64, [i64; 6], Option<usize>, i64); 9] = [
            (9999, [0; 6], None, error::ACTION_NOT_KNOWN),
            (action::READ, [0x1234_5678, 0, 16, 0, 0, 0], Some(1), error::INVALID_LOCK),
            (action::READ, [1, 0, -5, 0, 0, 0], Some(1), error::BAD_NUMBER),
            (action::WRITE, [1, 0, 16, 0, 0, 0], None, error::REQUIRED_ARG_MISSING),
            (action::FREE_LOCK, [u64::MAX as i64, 0, 0, 0, 0, 0], None, error::INVALID_LOCK),
            (action::EXAMINE_OBJECT, [0, 0, 0, 0, 0, 0], None, error::REQUIRED_ARG_MISSING),
            (action::FINDINPUT, [0, 0, 0, 4, 0, 0], None, error::REQUIRED_ARG_MISSING),
            (action::LOCATE_OBJECT, [0, 0, 1, 77, 0, 0], Some(1), error::BAD_NUMBER),
            (action::EXAMINE_NEXT, [0xdead_0000_0001, 0, 0, 0, 0, 0], Some(1), error::INVALID_LOCK),
        ];
        for (kind, args, attach, want) in cases {
            let mut with: alloc::vec::Vec<(usize, Attach<'_>)> = alloc::vec::Vec::new();
            if let Some(i) = attach {
                with.push((i, if kind == action::EXAMINE_NEXT { Attach::InOut(fib.bytes_mut()) } else { Attach::InOut(&mut buf) }));
            }
            // SAFETY: the handler's port; every pointer is an attachment or null.
            let (_, res2) = unsafe { do_pkt_with(ram, kind, &args, &mut with) };
            ensure_eq!(res2, want, "action {kind} {args:?}");
        }
        // A message too short to be a packet (its header alone, in a valid packet's block)
        // goes back untouched from every handler and the DOS server: nothing past its end is
        // read as a packet or written as an answer.
        for name in ["RAM", "CON", "NIL", "dos.list"] {
            let mut sp = super::packet::StandardPacket::new(super::process::packet_port(), action::FINDINPUT, &[]);
            sp.pkt.res1 = 0x5151;
            sp.msg.length = size_of::<exec::port::Message>();
            // SAFETY: a live handler's port (found just now; they never end here); our reply
            // port; the message lives on this frame until it is back.
            let back = unsafe { exec::sys::do_msg(port(name)?, &mut sp.msg) };
            ensure!(core::ptr::eq(back, &sp.msg), "{name}: the short message back");
            ensure_eq!(sp.pkt.res1, 0x5151, "{name}: a short message answered as a packet");
        }
        // A name that is not UTF-8 is not a name.
        // SAFETY: as above.
        let r = unsafe { do_pkt_with(ram, action::FINDINPUT, &[0, 0, 0, 2], &mut [(2, Attach::In(bad))]) };
        ensure_eq!(r, (DOSFALSE, error::INVALID_COMPONENT_NAME));
        // In the mmu build an attachment is an offset into the handler's copy of the packet:
        // one outside it is refused (the flat build follows pointers, as the Amiga does).
        #[cfg(feature = "mmu")]
        for off in [1i64, 64, 1 << 40, -8, i64::MAX] {
            // SAFETY: as above: in the mmu build the handler never follows these.
            let (_, res2) = unsafe { do_pkt_with(ram, action::READ, &[1, off, 8], &mut []) };
            ensure_eq!(res2, error::REQUIRED_ARG_MISSING, "offset {off:#x}");
        }
        // Data lent that is not there, or lent the other way, is refused: the handler asks the
        // kernel, which checks the message's lends (here a ring-0 sender's registration).
        #[cfg(feature = "mmu")]
        {
            write_file("RAM:t.lend", b"0123456789")?;
            let name = b"t.lend";
            // SAFETY: as above.
            let (fh, _) = unsafe { do_pkt_with(ram, action::FINDUPDATE, &[0, 0, 0, name.len() as i64], &mut [(2, Attach::In(name))]) };
            ensure!(fh > 0, "FINDUPDATE t.lend");
            for arg in [-1i64, -2, -4] {
                // SAFETY: as above: nothing is lent.
                let (_, res2) = unsafe { do_pkt_with(ram, action::READ, &[fh, arg, 8], &mut []) };
                ensure_eq!(res2, error::REQUIRED_ARG_MISSING, "lend {arg} of none");
            }
            // A WRITE whose data is lent only to be written, a READ whose buffer only to be read
            // (big enough to be lent, not carried inline).
            let mut wrong = alloc::vec![b'x'; super::packet::LEND_MIN];
            // SAFETY: as above; the buffer is lent until the answer.
            let (_, res2) = unsafe { do_pkt_with(ram, action::WRITE, &[fh, 0, wrong.len() as i64], &mut [(1, Attach::LentOut(&mut wrong))]) };
            ensure_eq!(res2, error::REQUIRED_ARG_MISSING, "WRITE of data lent to be written");
            // SAFETY: as above.
            let (_, res2) = unsafe { do_pkt_with(ram, action::READ, &[fh, 0, wrong.len() as i64], &mut [(1, Attach::LentIn(&wrong))]) };
            ensure_eq!(res2, error::REQUIRED_ARG_MISSING, "READ into a buffer lent to be read");
            // And lent the right way, from where the refused ones left the file.
            let mut got = alloc::vec![0u8; super::packet::LEND_MIN];
            // SAFETY: as above.
            let r = unsafe { do_pkt_with(ram, action::READ, &[fh, 0, got.len() as i64], &mut [(1, Attach::LentOut(&mut got))]) };
            ensure_eq!((r.0, &got[..10]), (10, &b"0123456789"[..]), "nothing read or written by the refused ones");
            // SAFETY: as above.
            unsafe { do_pkt(ram, action::END, &[fh]) };
            ensure_eq!(read_file("RAM:t.lend")?, b"0123456789");
            ensure_eq!(delete_file("RAM:t.lend"), Ok(()));
        }
        let after = disk_info(ram).1.num_soft_errors;
        ensure!(after >= before + 8, "refusals counted: {before} -> {after}");
        // And the handler still serves.
        write_file("RAM:t.garbage", b"ok")?;
        ensure_eq!(read_file("RAM:t.garbage")?, b"ok");
        ensure_eq!(delete_file("RAM:t.garbage"), Ok(()));
        Ok(())
    })
}

fn writer(tag: usize) {
    let line = [b'0' + tag as u8; 8];
    // Both have the file open at once; each writes its own half, 8 bytes per packet, and
    // reads back what it wrote (the other's packets come between).
    if let Ok(mut f) = open("RAM:t.shared", MODE_READWRITE) {
        for i in 0..50 {
            let at = ((tag - 1) * 400 + i * 8) as i64;
            let _ = f.seek(at, OFFSET_BEGINNING);
            let _ = f.write(&line);
            let mut back = [0u8; 8];
            let _ = f.seek(at, OFFSET_BEGINNING);
            if f.read(&mut back) != Ok(8) || back != line {
                break;
            }
            exec::sys::forbid();
            exec::sys::permit();
        }
        let _ = close(f);
    }
    end_process();
}

/// Two processes read and write one file at once: every write lands, none is torn or lost.
fn two_processes_one_file() -> TestResult {
    as_process(|| {
        write_file("RAM:t.shared", &[b'.'; 800])?;
        let a = spawn("dos-a", 0, writer, 1)?;
        let b = spawn("dos-b", 0, writer, 2)?;
        a.join();
        b.join();
        let data = read_file("RAM:t.shared")?;
        ensure_eq!(data.len(), 800);
        ensure!(data[..400].iter().all(|&c| c == b'1') && data[400..].iter().all(|&c| c == b'2'), "{:?}", core::str::from_utf8(&data));
        ensure_eq!(delete_file("RAM:t.shared"), Ok(()));
        Ok(())
    })
}

fn holder(ends_cleanly: usize) {
    let f = open("RAM:t.held", MODE_NEWFILE);
    let l = lock("RAM:", SHARED_LOCK);
    core::mem::forget(f);
    // A FileLock has no Drop: dropping it leaves the handler's lock held, as forgetting UnLock does.
    drop(l);
    if ends_cleanly == 1 {
        end_process();
    }
}

/// A process that ends with a file open and a lock held has them freed: through
/// end_process, or, when it never called it, by RAM: once they are in its way (in both
/// builds: in the mmu build RAM: learns the client's task number from the kernel).
fn ended_process_files_closed() -> TestResult {
    as_process(|| {
        for clean in [1, 0] {
            spawn("dos-holder", 0, holder, clean)?.join();
            exec::time::wait_ticks(2);
            // The holder's exclusive open would refuse this if it were still open.
            ensure_eq!(delete_file("RAM:t.held"), Ok(()), "ended {}", if clean == 1 { "cleanly" } else { "without end_process" });
        }
        let mut info = InfoData::default();
        let root = lock("RAM:", SHARED_LOCK).map_err(|e| format!("{e}"))?;
        ensure_eq!(lock::info(&root, &mut info), Ok(()));
        ensure_eq!(unlock(root), Ok(()));
        ensure_eq!(info.in_use, 1, "only the lock of INFO itself is left: the handler freed what the unclean holder left");
        Ok(())
    })
}

/// A 1 MiB file written in 4 KiB blocks and read back, checksummed.
fn one_mib_file() -> TestResult {
    as_process(|| {
        let block: Vec<u8> = (0..4096u32).map(|i| (i * 7 + i / 256) as u8).collect();
        let sum = |d: &[u8]| d.iter().fold(0u32, |s, &b| s.rotate_left(5) ^ b as u32);
        let mut f = open("RAM:t.big", MODE_NEWFILE).map_err(|e| format!("{e}"))?;
        let mut want = 0u32;
        for _ in 0..256 {
            ensure_eq!(f.write(&block), Ok(4096));
            want = block.iter().fold(want, |s, &b| s.rotate_left(5) ^ b as u32);
        }
        ensure_eq!(close(f), Ok(()));
        let data = read_file("RAM:t.big")?;
        ensure_eq!(data.len(), 1 << 20);
        ensure_eq!(sum(&data), want);
        ensure_eq!(delete_file("RAM:t.big"), Ok(()));
        Ok(())
    })
}

fn nil() -> TestResult {
    as_process(|| {
        let mut f = file::open("NIL:", MODE_NEWFILE).map_err(|e| format!("{e}"))?;
        ensure_eq!(f.write(b"gone"), Ok(4));
        ensure_eq!(f.read(&mut [0; 4]), Ok(0), "end of file");
        ensure_eq!(close(f), Ok(()));
        let nil = port("NIL")?;
        // SAFETY: the handler's port; no pointers.
        ensure_eq!(unsafe { do_pkt(nil, action::LOCATE_OBJECT, &[]) }, (DOSFALSE, error::ACTION_NOT_KNOWN));
        Ok(())
    })
}

/// RAM:'s volume, named at boot: a name for RAM:'s root that ASSIGN can neither take, replace
/// nor remove; a second volume of a taken name, or on no device, is refused.
fn volumes() -> TestResult {
    use super::assign::{add_volume, assign_lock, assign_path, volumes};
    as_process(|| {
        let list = volumes();
        ensure!(list.iter().any(|(n, d)| n == "Ram Disk" && d == "RAM:"), "{list:?}");
        write_file("Ram Disk:vol.t", b"through the volume")?;
        ensure_eq!(read_file("RAM:vol.t")?, b"through the volume".to_vec());
        ensure_eq!(read_file("ram disk:vol.t")?, b"through the volume".to_vec(), "any case");
        ensure_eq!(delete_file("Ram Disk:vol.t"), Ok(()));
        ensure_eq!(assign_path("Ram Disk", "RAM:"), Err(error::OBJECT_EXISTS));
        ensure_eq!(assign_lock("Ram Disk", None), Err(error::OBJECT_WRONG_TYPE));
        ensure_eq!(add_volume("ram disk", "NIL"), Err(error::OBJECT_EXISTS));
        ensure_eq!(add_volume("Lost", "NOSUCH"), Err(error::DEVICE_NOT_MOUNTED));
        ensure_eq!(add_volume("NIL", "RAM"), Err(error::OBJECT_EXISTS), "a device's name");
        ensure_eq!(add_volume("a/b", "RAM"), Err(error::INVALID_COMPONENT_NAME));
        ensure_eq!(assign_path("VOLTEST", "RAM:"), Ok(()));
        ensure_eq!(add_volume("VOLTEST", "NIL"), Err(error::OBJECT_EXISTS), "an assign's name");
        ensure_eq!(assign_lock("VOLTEST", None), Ok(()));
        // Past dos.library, straight to the server: a target that is no device's root, and a
        // device's name; each refused there.
        for (name, target, want) in [(&b"Raw"[..], &b"RAM:sub"[..], error::DEVICE_NOT_MOUNTED), (b"CON", b"RAM:", error::OBJECT_EXISTS)] {
            let args = [0, name.len() as i64, 0, target.len() as i64];
            // SAFETY: the DOS server's port; the attachments are borrowed until the answer.
            let r = unsafe { do_pkt_with(port("dos.list")?, super::server::ACTION_VOLUME_ADD, &args, &mut [(0, Attach::In(name)), (2, Attach::In(target))]) };
            ensure_eq!(r.1, want, "VOLUME_ADD {name:?} {target:?}");
        }
        ensure_eq!(volumes().len(), list.len(), "nothing added by the refusals");
        Ok(())
    })
}

static STRANGER_KEY: AtomicU64 = AtomicU64::new(0);
static STRANGER_GOT: AtomicI64 = AtomicI64::new(0);

/// Another task: tries to close a CON: handle it did not open.
fn stranger(_: usize) {
    let Ok(con) = port("CON") else { return };
    // SAFETY: the handler's port; no pointers.
    let (_, res2) = unsafe { do_pkt(con, action::END, &[STRANGER_KEY.load(Ordering::SeqCst) as i64]) };
    STRANGER_GOT.store(res2, Ordering::SeqCst);
    end_process();
}

/// CON: writes what it is given; a READ with nothing typed (the suite types nothing) waits
/// while CON: goes on serving, up to `WAITING_MAX` of them, and ends when its handle closes;
/// a bad handle or length is refused.
fn con() -> TestResult {
    use crate::coninput::{Mode, WAITING_MAX};
    use super::console::ConsoleReader;
    as_process(|| {
        let opened = |mode| open("CON:", mode).map_err(|e| format!("CON: did not open: {e}"));
        let mut f = opened(MODE_NEWFILE)?;
        ensure_eq!(f.write(b"(CON: test line)\r\n"), Ok(18));
        ensure_eq!(f.read(&mut []), Ok(0), "a READ of nothing is answered at once");
        ensure_eq!(f.set_mode(Mode::Raw), Ok(()));
        ensure_eq!(close(f), Ok(()));
        let mut readers = Vec::new();
        for _ in 0..WAITING_MAX {
            let mut r = ConsoleReader::new(opened(MODE_OLDFILE)?, 8).ok_or("no memory")?;
            ensure_eq!(r.send(), Ok(()));
            readers.push(r);
        }
        let mut w = opened(MODE_NEWFILE)?;
        ensure_eq!(w.write(b"(CON: writes while reads wait)\r\n"), Ok(32));
        let mut extra = ConsoleReader::new(opened(MODE_OLDFILE)?, 8).ok_or("no memory")?;
        ensure_eq!(extra.send(), Ok(()));
        let mut got = Vec::new();
        let answer = loop {
            if let Some(a) = extra.take(&mut got) {
                break a;
            }
            exec::sys::wait(extra.signal_mask());
        };
        ensure_eq!(answer, Err(error::OBJECT_IN_USE), "one READ more than may wait");
        for r in readers.iter_mut() {
            ensure!(r.take(&mut got).is_none(), "a READ was answered with nothing typed: {got:?}");
        }
        let con = port("CON")?;
        // One waiting READ per handle: a second on the same handle is refused at once.
        let mut buf = [0u8; 4];
        // SAFETY: the handler's port; the buffer is an attachment.
        let second = unsafe { do_pkt_with(con, action::READ, &[readers[0].key() as i64, 0, 4], &mut [(1, Attach::Out(&mut buf))]) };
        ensure_eq!(second, (-1, error::OBJECT_IN_USE));
        // Another task may not use (or close) our handle.
        STRANGER_KEY.store(readers[0].key(), Ordering::SeqCst);
        spawn("con-stranger", 0, stranger, 0)?.join();
        ensure_eq!(STRANGER_GOT.load(Ordering::SeqCst), error::INVALID_LOCK, "a stranger closed our handle");
        ensure!(readers[0].take(&mut got).is_none(), "our READ is still out: {got:?}");
        // Each handle closes as its reader drops; CON: answers the READ, which the drop waits for.
        drop(readers);
        ensure_eq!(w.write(b"(CON: still serves)\r\n"), Ok(21));
        // SAFETY: the handler's port; no pointers (a READ of -1 bytes is refused before its
        // buffer is looked at).
        unsafe {
            ensure_eq!(do_pkt(con, action::READ, &[w.key as i64, 0, -1]), (-1, error::BAD_NUMBER));
            ensure_eq!(do_pkt(con, action::READ, &[0x7777, 0, 4]), (-1, error::INVALID_LOCK));
            ensure_eq!(do_pkt(con, action::SCREEN_MODE, &[0x7777, 1]), (DOSFALSE, error::INVALID_LOCK));
            ensure_eq!(do_pkt(con, action::WRITE, &[0x7777, 0, 0]), (-1, error::INVALID_LOCK));
            ensure_eq!(do_pkt(con, action::END, &[0x7777]), (DOSFALSE, error::INVALID_LOCK));
            ensure_eq!(do_pkt(con, action::LOCATE_OBJECT, &[]), (DOSFALSE, error::ACTION_NOT_KNOWN));
        }
        // A client that opens without end is refused, and nothing breaks.
        let mut many = Vec::new();
        let refused = loop {
            match opened(MODE_OLDFILE) {
                Ok(f) if many.len() < 100 => many.push(f),
                Ok(_) => break 0,
                Err(_) => break io_err(),
            }
        };
        ensure_eq!(refused, error::OBJECT_IN_USE, "after {} handles", many.len());
        drop(many);
        ensure!(opened(MODE_OLDFILE).is_ok(), "CON: opens again once they are closed");
        ensure_eq!(close(w), Ok(()));
        Ok(())
    })
}
