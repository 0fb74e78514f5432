//! What every Portico firmware on this board shares: the network bring-up (`board`)
//! and the heap's regions seen by the core's memory placement (`memory`). The dashboard
//! firmware (`src/main.rs`) and the examples (`examples/`) are built on it.
#![no_std]

pub mod board;
pub mod memory;
