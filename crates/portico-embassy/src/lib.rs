//! Device port (placeholder; see the device port issue).
#![no_std]
