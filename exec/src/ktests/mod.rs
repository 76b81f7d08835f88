//! exec's in-kernel tests (see `ktest`).

use crate::ktest::Test;

/// Every in-kernel test of the exec crate, in the order they run.
pub static TESTS: &[Test] = &[];
