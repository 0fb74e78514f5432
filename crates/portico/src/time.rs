//! Time as a plain number, because the core never reads a clock.

/// Milliseconds since some port-defined epoch (boot on the device, start on the host).
///
/// A plain `u64` is enough: 584 million years of milliseconds, cheap to copy, and it keeps
/// the policy code free of any clock type.
pub type Millis = u64;
