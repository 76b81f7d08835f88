//! `make bench`: boots both builds headless with `-append bench`, collects their figures, runs
//! the Linux reference on the host, and writes `bench/results/<date>.{json,md,svg}`; prints
//! the Markdown table at the end.
//!
//! `BENCH_ACCEL=tcg` (default): QEMU TCG with `-icount shift=0`, where the TSC counts guest
//! instructions: deterministic, the figures to track. `BENCH_ACCEL=kvm`: hardware
//! virtualisation (`-enable-kvm -cpu host`), real cycles; refused without vmx/svm and /dev/kvm.

use std::path::PathBuf;
use std::time::Duration;

use lorraine_tests::report::{Report, parse};
use lorraine_tests::{Boot, Mode, ShellSession, linuxref};
use workbench_shell::scenarios::Scenario;

/// Runs CRASHTEST `name` on a booted shell and says what happened.
fn crash(s: &mut ShellSession, name: &str) -> String {
    let mark = s.mark();
    s.machine.type_text(&format!("crashtest {name}\r"));
    match s.expect_since(mark, "Result: ", Duration::from_secs(20)) {
        Ok(_) => {
            let out = s.expect_since(mark, "\n1.SYS:> ", Duration::from_secs(20)).unwrap_or_default();
            if out.contains("Result: contained") && out.contains("The task is removed") {
                "contained: culprit removed, victim and shell go on".into()
            } else if out.contains("Result: contained") && out.contains("Recoverable Alert") {
                "caught by exec's own check (recoverable alert), system goes on".into()
            } else if out.contains("Result: contained") {
                "contained: the call was refused, victim and shell go on".into()
            } else if out.contains("OVERWRITTEN") {
                "not contained: memory overwritten".into()
            } else {
                "not contained: ran unchecked".into()
            }
        }
        Err(out) if out.contains("Guru Meditation") => "not contained: the machine halted (Guru Meditation)".into(),
        Err(_) => "not contained: the machine stopped answering".into(),
    }
}

fn containment() -> Vec<(String, String, String)> {
    let mut flat = ShellSession::start(&Boot::new(Mode::Flat));
    let mut mmu = ShellSession::start(&Boot::new(Mode::Mmu));
    Scenario::ALL
        .iter()
        .map(|sc| {
            let name = sc.name();
            let f = if !sc.alone_in_flat() {
                crash(&mut flat, name)
            } else {
                crash(&mut ShellSession::start(&Boot::new(Mode::Flat)), name)
            };
            (name.to_string(), f, crash(&mut mmu, name))
        })
        .collect()
}

fn today() -> String {
    let out = std::process::Command::new("date").arg("-u").arg("+%Y-%m-%d").output();
    out.ok().and_then(|o| String::from_utf8(o.stdout).ok()).map(|s| s.trim().to_string()).unwrap_or_else(|| "undated".into())
}

fn main() {
    let accel = std::env::var("BENCH_ACCEL").unwrap_or_else(|_| "tcg".into());
    let (flags, unit) = match accel.as_str() {
        "tcg" => ("-icount shift=0", "guest instructions (QEMU TCG with -icount shift=0: the TSC counts instructions)"),
        "kvm" => {
            let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
            if !(cpuinfo.contains(" vmx") || cpuinfo.contains(" svm")) || !std::path::Path::new("/dev/kvm").exists() {
                eprintln!("bench: BENCH_ACCEL=kvm needs hardware virtualisation (vmx/svm) and /dev/kvm");
                std::process::exit(2);
            }
            ("-enable-kvm -cpu host", "CPU cycles (KVM with hardware virtualisation: the TSC counts real cycles)")
        }
        other => {
            eprintln!("bench: BENCH_ACCEL must be tcg or kvm, not {other}");
            std::process::exit(2);
        }
    };
    let mut figures = Vec::new();
    for mode in Mode::BOTH {
        eprintln!("bench: booting the {} build ({accel}) ...", mode.name());
        let end = Boot::new(mode).flags(flags).append("bench").start().wait(Duration::from_secs(900));
        if end.status != Some(lorraine_tests::EXIT_SUCCESS) || !end.transcript.contains("bench end") {
            eprintln!("bench: the {} build did not finish its benchmarks:\n{}", mode.name(), end.transcript);
            std::process::exit(1);
        }
        let missing = lorraine_tests::report::missing(&end.transcript);
        if !missing.is_empty() {
            eprintln!("bench: the {} build could not run these rows: {}", mode.name(), missing.join("; "));
            std::process::exit(1);
        }
        figures.push(parse(&end.transcript));
    }
    eprintln!("bench: Linux reference (pipe and futex ping-pong, pinned to CPU 0) ...");
    let linux = linuxref::run();
    eprintln!("bench: CRASHTEST in both builds ...");
    let containment = containment();
    let mut mmu = figures.pop().unwrap();
    let mut flat = figures.pop().unwrap();
    let overhead = (lorraine_tests::report::subtract_overhead(&mut flat), lorraine_tests::report::subtract_overhead(&mut mmu));
    let report = Report {
        overhead,
        date: today(),
        unit: unit.into(),
        flat,
        mmu,
        linux,
        mmu_note: "The mmu column of the shared rows is the same ring-0 path in the mmu build (exec's own \
                   tasks run in ring 0 there); the protected figures are the rows the mmu build alone has: \
                   msg_round_trip_copy and msg_round_trip_transfer, two ring-3 tasks in their own page tables \
                   passing the message through the gate (four gate calls: put, wait-and-get; the server's \
                   wait-and-get, reply), compared with the flat pointer round trip; their _combined rows \
                   make the same exchange with do_msg and reply_wait (two gate calls), compared with \
                   msg_round_trip_combined, and their _sys rows through exec::sys as a program calls \
                   exec (put_msg, wait_port, get_msg; wait_port, get_msg, reply_msg: six gate calls). \
                   msg_round_trip is the classic Exec sequence (put_msg, wait_port, get_msg; the server's \
                   wait_port, get_msg, reply_msg: six calls); msg_round_trip_combined the same exchange \
                   with the combined calls (the client's do_msg, the server's reply_wait: two calls). \
                   dos_read (one 64-byte Read through the RAM: handler, a packet round trip) and dos_copy \
                   (a 1 MiB COPY within RAM:, 16 KiB per packet) are file work: the client is a ring-0 \
                   task in both builds; RAM: runs in ring 0 in the flat build and follows the client's \
                   pointers, in ring 3 in the mmu build, where each packet is copied into RAM:'s memory \
                   and back, and its data with it below 512 bytes (dos_read), while larger data is lent \
                   and copied once, between the file and the client's buffer, through the kernel \
                   (dos_copy's 16 KiB): the mmu column is the cost of that protection on real work. \
                   dos_read_ring3 (mmu only) is dos_read with a ring-3 client, where programs run: its \
                   Read goes through dos.library's table (a gate call for the entry) and the packet \
                   crosses protection both ways, compared with dos_read's ring-0 client in the flat build."
            .into(),
        containment_note: "Crash containment: each CRASHTEST scenario run through the shell of each build (the \
                           flat build's fatal ones each in a fresh boot)."
            .into(),
        containment,
    };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench/results");
    std::fs::create_dir_all(&dir).expect("cannot create bench/results");
    let base = dir.join(&report.date);
    for (ext, text) in [("json", report.json()), ("md", report.markdown()), ("svg", report.svg())] {
        let path = base.with_extension(ext);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        eprintln!("bench: wrote {}", path.display());
    }
    println!("{}", report.markdown());
}
