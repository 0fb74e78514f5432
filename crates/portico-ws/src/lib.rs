//! WebSocket client (placeholder; see the WebSocket issue).
#![no_std]
