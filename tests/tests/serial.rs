//! serial.device end to end: bytes typed at the host arrive complete, and an aborted read
//! returns what had arrived.

use std::time::Duration;

use lorraine_tests::{Boot, Mode, judge};

const T: Duration = Duration::from_secs(30);

/// 10 KiB sent as fast as QEMU takes them all arrive, in order (the kernel prints a checksum
/// of what it read, and how many bytes overflowed: none may).
#[test]
fn ten_kib_typed_quickly_arrive_complete() {
    let data: Vec<u8> = (0..10 * 1024u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let sum = data.iter().fold(0u32, |a, &b| a.wrapping_mul(31).wrapping_add(b as u32));
    for mode in Mode::BOTH {
        let mut m = Boot::new(mode).append("test=e2e.serial.bulk").start();
        m.expect("send 10240 bytes:", T).unwrap();
        m.send_fast(&data);
        m.expect(&format!("received 10240 bytes, checksum {sum:08x}, overflows 0"), T).unwrap();
        let end = m.wait(T);
        assert!(judge(&end.transcript, end.status).ok(), "{}", end.transcript);
    }
}

#[test]
fn aborted_read_returns_what_arrived() {
    for mode in Mode::BOTH {
        let mut m = Boot::new(mode).append("test=e2e.serial.abort_mid_read").start();
        m.expect("type 5 bytes:", T).unwrap();
        m.type_text("hello");
        m.expect("aborted with 5 bytes: hello", T).unwrap();
        let end = m.wait(T);
        assert!(judge(&end.transcript, end.status).ok(), "{}", end.transcript);
    }
}

/// More bytes than the receive ring holds, with nobody reading: the ring fills and the sender
/// is held back (RTS off, the UART left undrained), nothing lost; the rest arrives once the
/// ring is emptied.
#[test]
fn full_ring_holds_the_sender_back() {
    let mut m = Boot::new(Mode::Flat).append("test=e2e.serial.full_ring_holds_back").start();
    m.expect("flood now:", T).unwrap();
    m.send_fast(&vec![b'x'; 5000]);
    m.expect("waiting 4096, overflows 0", T).unwrap();
    m.expect("after clearing: waiting 904, overflows 0", T).unwrap();
    let end = m.wait(T);
    assert!(judge(&end.transcript, end.status).ok(), "{}", end.transcript);
}
