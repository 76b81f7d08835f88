//! Everything that touches the machine directly: assembly, port I/O, descriptor tables, MSRs.
//! The rest of exec reaches the CPU only through this module.

pub mod x86_64;
