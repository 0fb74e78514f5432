//! Who the device is on its network: its mDNS name, the `Host` names it answers to, and
//! its password's hash — all fixed at build time by `build.rs` (`PORTICO_MDNS_NAME`,
//! default `portico`; `PORTICO_PASSWORD` with the feature `auth`, none by default).
//! A settings flow that changes them at run time is another issue.

// Without `auth` the password's hash (always `None` then) is not read.
#![cfg_attr(not(feature = "auth"), allow(dead_code))]

include!(concat!(env!("OUT_DIR"), "/identity.rs"));
