//! A device settings page on Portico: `GET`/`PUT /api/settings` with the JSON document
//! `{"device_name": …, "brightness": …, "led": …}`, validated field by field, persisted,
//! and pushed to every open browser over server-sent events (`GET /api/events`, event
//! `settings`).
//!
//! The application ([`SettingsApp`]) is `no_std` and allocation-free: the same code runs
//! on the host (settings in a file, or in an emulated flash) and on an ESP32 (settings in
//! flash through `sequential-storage`). Only the [`Store`] differs.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod app;
#[cfg(feature = "std")]
mod file_store;
mod flash_store;
mod ram_flash;
mod settings;
mod store;

pub use app::{SettingsApp, EVENT};
#[cfg(feature = "std")]
pub use file_store::FileStore;
pub use flash_store::FlashStore;
pub use ram_flash::RamFlash;
pub use settings::Settings;
pub use store::{Store, StoreError};
