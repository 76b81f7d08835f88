//! DOS in the mmu build: a handler in ring 3 that ends while clients wait on it.

use alloc::format;

use exec::ktest::{Test, TestResult};
use exec::ktest_util::spawn;
use exec::{ensure, ensure_eq};
use libraries::dos::file::{close, open};
use libraries::dos::process::end_process;
use libraries::dosdefs::{MODE_NEWFILE, error};
use libraries::handlers::ram::{Mount, entry_mount};

pub static TESTS: &[Test] = &[Test::new("mmu.dos.handler_ends_mid_operation", handler_ends_mid_operation)];

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
    ensure_eq!(libraries::dos::lock::delete_file("RAM:t.after"), Ok(()));
    end_process();
    Ok(())
}
