//! Every row of `make bench` runs, in both builds: the kernel's benchmarks with a few samples
//! each (`bench=quick`, plain TCG: a check that each row runs and reports its events, not a
//! measurement). A row whose tasks do not start says `bench missing`, which fails here.

use std::time::Duration;

use lorraine_tests::report::{EVENTS, missing, parse};
use lorraine_tests::{Boot, EXIT_SUCCESS, Mode};

const SIZES: [u64; 6] = [0, 64, 1024, 4096, 65536, 1 << 20];

/// The rows `make bench` reports for `mode`: (name, size, receiver reads the body).
fn expected(mode: Mode) -> Vec<(String, u64, bool)> {
    let mut rows = vec![("empty".to_string(), 0, false)];
    let mut add = |name: &str, size: u64, touch: bool| rows.push((name.to_string(), size, touch));
    for size in SIZES {
        add("msg_own_port", size, false);
        for touch in [false, true] {
            add("msg_round_trip", size, touch);
            add("msg_round_trip_combined", size, touch);
        }
    }
    for name in ["signal_ping_pong", "null_call", "timer_do_io", "serial_do_io"] {
        add(name, 0, false);
    }
    add("dos_read", 64, false);
    add("dos_copy", 1 << 20, false);
    for level in [0, 10, 100, 1000] {
        add("scale_round_trip", level, false);
        add("scale_round_trip_combined", level, false);
    }
    if mode == Mode::Mmu {
        for level in [0, 10, 100, 1000] {
            add("scale_round_trip_copy_combined", level, false);
            add("scale_round_trip_transfer_combined", level, false);
        }
        add("null_call_gate", 0, false);
        add("null_call_sys_ring3", 0, false);
        for size in SIZES {
            for name in ["msg_round_trip_copy", "msg_round_trip_transfer"] {
                add(name, size, false);
                add(name, size, true);
            }
            add("msg_round_trip_copy_combined", size, false);
            add("msg_round_trip_transfer_combined", size, false);
            add("msg_round_trip_copy_sys", size, false);
            add("msg_round_trip_transfer_sys", size, false);
            add("msg_own_port_copy", size, false);
            add("msg_own_port_transfer", size, false);
        }
        add("msg_round_trip_copy_1000_blocks", 64, false);
        add("msg_round_trip_transfer_1000_blocks", 64, false);
        add("dos_read_ring3", 64, false);
    }
    rows
}

#[test]
fn every_bench_row_runs() {
    for mode in Mode::BOTH {
        let end = Boot::new(mode).append("bench=quick").start().wait(Duration::from_secs(120));
        let t = &end.transcript;
        assert!(end.status == Some(EXIT_SUCCESS) && t.contains("bench end"), "{mode:?}: the benchmarks did not finish:\n{t}");
        assert!(missing(t).is_empty(), "{mode:?}: rows that could not run: {:?}", missing(t));
        let figures = parse(t);
        let want = expected(mode);
        for (name, size, touch) in &want {
            let f = figures.iter().find(|f| &f.name == name && f.size == *size && f.touch == *touch);
            let Some(f) = f else { panic!("{mode:?}: no row {name} size={size} touch={touch}") };
            assert_eq!(f.events.len(), EVENTS.len(), "{mode:?}: {name} size={size} has no events: {:?}", f.events);
        }
        assert_eq!(figures.len(), want.len(), "{mode:?}: rows nobody expects: {figures:?}");
    }
}
