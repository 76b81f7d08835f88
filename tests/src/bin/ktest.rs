//! Runs the in-kernel test suite of one build and judges it.
//!
//! Usage: `ktest <flat|mmu> [kernel command line]` (default `test`). `$QEMUFLAGS` is appended
//! to QEMU's arguments, `$KTEST_TIMEOUT` (seconds, default 120) bounds the whole run.
//! Prints the kernel's output, then `in-kernel (<mode>): N passed, N failed, N skipped`; exits 1
//! on failure.
#![forbid(unsafe_code)]

use std::time::Duration;

use lorraine_tests::{Boot, Mode, run_suite};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = args.first().and_then(|m| Mode::parse(m)) else {
        eprintln!("usage: ktest <flat|mmu> [kernel command line]");
        std::process::exit(2);
    };
    let append = if args.len() > 1 { args[1..].join(" ") } else { "test".to_string() };
    let secs = std::env::var("KTEST_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(120);
    let (verdict, transcript) = run_suite(&Boot::new(mode).append(&append), Duration::from_secs(secs));
    print!("{transcript}");
    if let Some(problem) = &verdict.problem {
        println!("\nin-kernel ({}): {problem}", mode.name());
    }
    if !verdict.failures.is_empty() {
        println!("in-kernel ({}): failed: {}", mode.name(), verdict.failures.join(", "));
    }
    println!(
        "in-kernel ({}): {} passed, {} failed, {} skipped",
        mode.name(),
        verdict.passed,
        verdict.failed.max(!verdict.ok() as usize),
        verdict.skipped
    );
    std::process::exit(if verdict.ok() { 0 } else { 1 });
}
