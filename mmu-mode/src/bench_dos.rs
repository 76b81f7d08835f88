//! mmu-mode's DOS row with a ring-3 client: `dos_read_ring3`, one 64-byte `Read()` by a ring-3
//! process from a RAM: file, RAM: in ring 3 as well, each in its own address space. Every
//! operation crosses protection twice, both ways: the call into dos.library's table (a gate
//! call for the entry, which only a task with the library open gets), the packet's put and
//! wait through the gate, RAM:'s reply-and-wait, and the copies into RAM:'s memory and back.
//! `dos_read` (libraries' bench) has the boot task, in ring 0, as its client in both builds;
//! this row is its mmu counterpart with the client where a program runs.

use exec::bench::report_checked;
use libraries::dos::bench::{holds, word_at};

use crate::bench::{Window, rdtsc, words_of};
use crate::user::{add_user_task_with, alloc_mem, exit};

/// The file the client reads: [`FILE_LEN`] bytes, each 8-byte word its own offset.
const FILE: &str = "RAM:bench.ring3";
const FILE_LEN: usize = 64 * 1024;
/// Bytes per Read.
const READ: usize = 64;

/// The client's block: the parent's name and the number of samples in, the samples' address
/// and the count of wrong reads (or 1 for a setup that failed) out.
#[repr(C)]
#[derive(Clone, Copy)]
struct Reader {
    parent: u64,
    n: u64,
    samples: u64,
    wrong: u64,
}

/// Ring 3: opens dos.library, writes the file, then times `n` Reads (and a tenth more, first,
/// to warm up) of [`READ`] bytes, from the start again before the end of the file; checks
/// each outside the timed part.
extern "C" fn reader(block: u64) -> ! {
    use libraries::dosdefs::{MODE_NEWFILE, OFFSET_BEGINNING};
    let b = block as *mut Reader;
    // SAFETY: our own block, set up before we started; the samples are our own memory.
    unsafe {
        let r = b.read();
        let lib = exec::sys::open_library("dos.library", libraries::dos::DOS_VERSION);
        let samples = alloc_mem(r.n * 8) as *mut u64;
        let mut file = None;
        let mut made = false;
        if !lib.is_null() && !samples.is_null() {
            let mut words = alloc::vec![0u8; FILE_LEN];
            for (i, w) in words.chunks_exact_mut(8).enumerate() {
                w.copy_from_slice(&word_at(i * 8));
            }
            file = libraries::dos::open(FILE, MODE_NEWFILE).ok();
            made = file.is_some();
            if let Some(f) = file.as_mut()
                && (f.write(&words) != Ok(FILE_LEN) || f.seek(0, OFFSET_BEGINNING).is_err())
            {
                file = None;
            }
        }
        let mut wrong = u64::from(file.is_none());
        crate::bench::start_window(r.parent);
        if let Some(f) = file.as_mut() {
            let mut buf = [0u8; READ];
            let mut at = 0;
            for i in 0..r.n + r.n / 10 {
                // At the end of the file: from the start again (not timed), so that every
                // timed Read reads 64 bytes.
                if at == FILE_LEN {
                    at = 0;
                    wrong += u64::from(f.seek(0, OFFSET_BEGINNING).is_err());
                }
                let t0 = rdtsc();
                let got = f.read(&mut buf);
                let t = rdtsc() - t0;
                match got {
                    Ok(READ) if holds(&buf, at) => at += READ,
                    _ => wrong += 1,
                }
                if i >= r.n / 10 {
                    samples.add((i - r.n / 10) as usize).write(t);
                }
            }
        }
        (*b).samples = samples as u64;
        (*b).wrong = wrong;
        crate::bench::end_window(r.parent);
        // DOS calls only with the library open: in ring 3 a call without it ends the task.
        if !lib.is_null() {
            if let Some(f) = file {
                let _ = libraries::dos::close(f);
            }
            if made {
                let _ = libraries::dos::delete_file(FILE);
            }
            libraries::dos::end_process();
            exec::sys::close_library(lib);
        }
    }
    exit()
}

/// Runs the row: starts the client, counts the events of its timed loop, and reports its
/// samples (or that it could not run).
pub fn run() {
    let name = "dos_read_ring3";
    let me = crate::user::ring3_name(exec::task::find_task(None)) as u64;
    let n = exec::bench::count(10_000) as u64;
    exec::signal::set_signal(0, exec::signal::SIGF_CTRL_F | exec::signal::SIGF_CTRL_E);
    let Some((task, block)) = add_user_task_with("bench-dos-reader", 0, reader, Reader { parent: me, n, samples: 0, wrong: 0 }) else {
        exec::kprintln!("bench missing name={name} size={READ}: its task did not start");
        return;
    };
    let window = Window::open(task);
    let events = window.close();
    let words = words_of(task, block, 4).unwrap_or_default();
    let (at, wrong) = (words.get(2).copied().unwrap_or(0), words.get(3).copied().unwrap_or(1));
    let samples = words_of(task, at, n as usize);
    window.release();
    match samples {
        Some(mut samples) => report_checked(name, READ, false, &mut samples, events, wrong),
        None => exec::kprintln!("bench missing name={name} size={READ}: its samples could not be read"),
    }
    exec::time::wait_ticks(1);
}
