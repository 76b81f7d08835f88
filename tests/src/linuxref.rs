//! The outside reference: the same ping-pongs between two Linux processes pinned to one CPU,
//! timed with the monotonic clock (nanoseconds of wall-clock time).
#![allow(unsafe_code)]

use crate::report::Reference;

fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Pins the process (and the children it forks) to CPU 0. Result: whether the affinity read
/// back is CPU 0 alone and the process runs there.
fn pin_to_cpu0() -> bool {
    // SAFETY: zeroed cpu_set_t values passed by reference to the affinity calls.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        if libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) != 0 {
            return false;
        }
        let mut got: libc::cpu_set_t = std::mem::zeroed();
        libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut got) == 0 && libc::CPU_COUNT(&got) == 1 && libc::CPU_ISSET(0, &got) && libc::sched_getcpu() == 0
    }
}

/// The calling process's voluntary context switches so far (each a sleep in the kernel).
fn voluntary_switches() -> i64 {
    // SAFETY: getrusage writes the struct we pass.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u.ru_nvcsw
    }
}

fn stats(name: &str, mut v: Vec<u64>) -> Reference {
    v.sort_unstable();
    Reference { name: name.into(), median_ns: v[v.len() / 2], p99_ns: v[v.len() * 99 / 100] }
}

fn read_full(fd: i32, buf: &mut [u8]) {
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: reading into the unfilled part of our buffer.
        let n = unsafe { libc::read(fd, buf[got..].as_mut_ptr().cast(), buf.len() - got) };
        assert!(n > 0, "pipe read failed");
        got += n as usize;
    }
}

fn write_full(fd: i32, buf: &[u8]) {
    let mut put = 0;
    while put < buf.len() {
        // SAFETY: writing from our buffer.
        let n = unsafe { libc::write(fd, buf[put..].as_ptr().cast(), buf.len() - put) };
        assert!(n > 0, "pipe write failed");
        put += n as usize;
    }
}

/// Round trips of `size` bytes through two pipes between a parent and a child process.
fn pipe_round_trip(size: usize, iterations: usize) -> Vec<u64> {
    let (mut a, mut b) = ([0i32; 2], [0i32; 2]);
    // SAFETY: plain pipe/fork/exit system calls; the child only reads and writes its pipes.
    unsafe {
        assert!(libc::pipe(a.as_mut_ptr()) == 0 && libc::pipe(b.as_mut_ptr()) == 0);
        let pid = libc::fork();
        assert!(pid >= 0, "fork failed");
        let mut buf = vec![0u8; size];
        if pid == 0 {
            for _ in 0..iterations + iterations / 10 {
                read_full(a[0], &mut buf);
                write_full(b[1], &buf);
            }
            libc::_exit(0);
        }
        let mut samples = Vec::with_capacity(iterations);
        for i in 0..iterations + iterations / 10 {
            let t0 = now_ns();
            write_full(a[1], &buf);
            read_full(b[0], &mut buf);
            if i >= iterations / 10 {
                samples.push(now_ns() - t0);
            }
        }
        libc::waitpid(pid, std::ptr::null_mut(), 0);
        for fd in [a[0], a[1], b[0], b[1]] {
            libc::close(fd);
        }
        samples
    }
}

fn futex(word: *mut u32, op: i32, val: u32) {
    // SAFETY: `word` points into a shared mapping both processes keep for the whole run.
    unsafe { libc::syscall(libc::SYS_futex, word, op, val, std::ptr::null::<libc::timespec>(), 0, 0) };
}

/// Ping-pong through a futex word in shared memory: 1 = parent's turn done, 2 = child's.
/// Result: the samples, and the share of round trips in which the parent slept (a voluntary
/// context switch: its FUTEX_WAIT put it to sleep rather than finding the answer there).
fn futex_round_trip(iterations: usize) -> (Vec<u64>, f64) {
    // SAFETY: an anonymous shared mapping of one page, unmapped at the end; fork shares it.
    unsafe {
        let p = libc::mmap(std::ptr::null_mut(), 4096, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED | libc::MAP_ANONYMOUS, -1, 0);
        assert!(p != libc::MAP_FAILED);
        let word = p as *mut u32;
        let atomic = &*(word as *const std::sync::atomic::AtomicU32);
        atomic.store(0, std::sync::atomic::Ordering::SeqCst);
        let total = iterations + iterations / 10;
        let pid = libc::fork();
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            for _ in 0..total {
                while atomic.load(std::sync::atomic::Ordering::SeqCst) != 1 {
                    futex(word, libc::FUTEX_WAIT, 0);
                }
                atomic.store(2, std::sync::atomic::Ordering::SeqCst);
                futex(word, libc::FUTEX_WAKE, 1);
            }
            libc::_exit(0);
        }
        let mut samples = Vec::with_capacity(iterations);
        let slept0 = voluntary_switches();
        for i in 0..total {
            let t0 = now_ns();
            atomic.store(1, std::sync::atomic::Ordering::SeqCst);
            futex(word, libc::FUTEX_WAKE, 1);
            while atomic.load(std::sync::atomic::Ordering::SeqCst) != 2 {
                futex(word, libc::FUTEX_WAIT, 1);
            }
            atomic.store(0, std::sync::atomic::Ordering::SeqCst);
            if i >= iterations / 10 {
                samples.push(now_ns() - t0);
            }
        }
        let slept = (voluntary_switches() - slept0) as f64 / total as f64;
        libc::waitpid(pid, std::ptr::null_mut(), 0);
        libc::munmap(p, 4096);
        (samples, slept)
    }
}

/// Runs the Linux reference: pipe ping-pong (1 B, 4 KiB, 64 KiB) and futex ping-pong. Each
/// row's name says what was checked: a run that could not pin itself to CPU 0 says so, and the
/// futex row says in how many round trips the waiter really slept (a futex that spun instead
/// would measure something else).
pub fn run() -> Vec<Reference> {
    let pinned = pin_to_cpu0();
    let tag = |name: &str| if pinned { name.to_string() } else { format!("{name} (NOT pinned to one CPU)") };
    let (futex, slept) = futex_round_trip(20_000);
    vec![
        stats(&tag("pipe ping-pong 1 B"), pipe_round_trip(1, 20_000)),
        stats(&tag(&format!("futex ping-pong (the waiter slept in {:.0}% of round trips)", slept * 100.0)), futex),
        stats(&tag("pipe round trip 4 KiB"), pipe_round_trip(4096, 5_000)),
        stats(&tag("pipe round trip 64 KiB"), pipe_round_trip(65536, 1_000)),
    ]
}
