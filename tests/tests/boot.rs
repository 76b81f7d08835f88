//! End to end: boot each build as a person would and check what they would see.

use std::time::Duration;

use lorraine_tests::{Boot, Mode, run_suite};

const BOOT_TIMEOUT: Duration = Duration::from_secs(20);
/// The whole in-kernel suite of one build on one machine: the mmu suite takes about 20 s under
/// TCG by itself (its fuzz and attack tests), more on a loaded machine.
const SUITE_TIMEOUT: Duration = Duration::from_secs(90);

#[test]
fn banner_names_version_and_mode() {
    for mode in Mode::BOTH {
        let mut m = Boot::new(mode).start();
        let banner = format!("Lorraine {} ({}) - an Exec for x86_64", env!("CARGO_PKG_VERSION"), mode.name());
        let at = m.expect(&banner, BOOT_TIMEOUT).unwrap();
        m.expect("MiB found, kernel heap", BOOT_TIMEOUT).unwrap();
        m.expect("CPU: ", BOOT_TIMEOUT).unwrap();
        // Not a speed assertion: a guard against a boot that stalls for seconds.
        assert!(at < Duration::from_secs(10), "{mode:?}: banner after {at:?}");
        println!("{}: banner {} ms after QEMU started", mode.name(), at.as_millis());
    }
}

/// The machines and memory sizes the issue names: the kernel boots on each, in both builds, and
/// the whole in-kernel suite passes there (the tick needs the LAPIC fix on microvm, the heap
/// follows the memory size, extra CPUs stay parked).
#[test]
fn boots_on_every_machine() {
    let configs = ["-M microvm", "-M q35", "-m 32M", "-m 4G", "-cpu max", "-smp 2"];
    let mut failures = Vec::new();
    for mode in Mode::BOTH {
        for flags in configs {
            let (v, transcript) = run_suite(&Boot::new(mode).flags(flags).append("test"), SUITE_TIMEOUT);
            if !v.ok() || !transcript.contains(&format!("({})", mode.name())) {
                failures.push(format!("{} {flags}: {v:?}\n{transcript}", mode.name()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn memory_found_follows_the_machine() {
    for (flags, at_least_mib, at_most_mib) in [("-m 32M", 28, 32), ("-m 4G", 4000, 4096)] {
        let mut m = Boot::new(Mode::Flat).flags(flags).start();
        m.expect("kernel heap", BOOT_TIMEOUT).unwrap();
        let t = m.transcript();
        let line = t.lines().find(|l| l.starts_with("Memory: ")).unwrap();
        let mib: u64 = line["Memory: ".len()..].split(' ').next().unwrap().parse().unwrap();
        assert!((at_least_mib..=at_most_mib).contains(&mib), "{flags}: {line}");
    }
}

/// Typing reaches the kernel: a test reads a line through serial.device and echoes it reversed.
#[test]
fn typed_input_reaches_the_kernel() {
    for mode in Mode::BOTH {
        let mut m = Boot::new(mode).append("test=e2e.serial.echo").start();
        m.expect("type a line:", BOOT_TIMEOUT).unwrap();
        m.type_text("hello lorraine\r");
        m.expect("echo: eniarrol olleh", BOOT_TIMEOUT).unwrap();
        let end = m.wait(BOOT_TIMEOUT);
        assert!(lorraine_tests::judge(&end.transcript, end.status).ok(), "{}", end.transcript);
    }
}

/// Bad command lines are reported, not fatal, and never hang.
#[test]
fn bad_command_line_is_reported() {
    let mut m = Boot::new(Mode::Flat).append("bogus timeout=never").start();
    m.expect("unknown command line word 'bogus' ignored", BOOT_TIMEOUT).unwrap();
    m.expect("bad value in 'timeout=never' ignored", BOOT_TIMEOUT).unwrap();
    m.expect("Lorraine", BOOT_TIMEOUT).unwrap();

    let (v, t) = run_suite(&Boot::new(Mode::Flat).append("test=no.such.test"), BOOT_TIMEOUT);
    assert!(!v.ok());
    assert!(t.contains("No in-kernel test matches 'no.such.test'"), "{t}");
}

/// The benchmark mode runs its entries and exits cleanly (what it measures is not asserted).
#[test]
fn bench_mode_reports_every_entry() {
    for mode in Mode::BOTH {
        // The whole of `make bench`'s kernel side under plain TCG: about 55 s for the mmu build
        // on an idle machine. The limit says "it ends", not how fast: room for a loaded one.
        let end = Boot::new(mode).append("bench").start().wait(Duration::from_secs(240));
        assert_eq!(end.status, Some(lorraine_tests::EXIT_SUCCESS), "{}", end.transcript);
        for name in ["msg_own_port size=64", "msg_round_trip size=1048576 touch=1", "signal_ping_pong", "null_call", "timer_do_io", "serial_do_io"] {
            assert!(end.transcript.contains(&format!("bench name={name}")), "{name} missing:\n{}", end.transcript);
        }
    }
}
