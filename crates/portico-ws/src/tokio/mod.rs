//! Host port.
