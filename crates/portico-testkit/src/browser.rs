//! The browser's retry rule, written once for every simulated browser (the provider's
//! end-to-end tests, the newcomer bench, the device simulation).
//!
//! A request that dies before any response byte on a connection that was already open
//! — a keep-alive that carried earlier requests, or one opened ahead (preconnect) and
//! left idle — may simply have met the server's close of an idle connection, so the
//! browser sends it again, once, on a new connection. Chromium does exactly this for a
//! connection taken from its idle pool (`HttpNetworkTransaction::ShouldResendRequest`).
//! A connection opened for the request itself gets no second chance: its failure is
//! the server's answer. This is why evicting an *idle* keep-alive costs a browser
//! nothing but a round trip, and why Portico may evict them.

/// Where the connection a request went out on came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// Opened for this request.
    Fresh,
    /// Already open and idle: reused after earlier requests, or preconnected.
    Idle,
}

/// Whether a browser sends the request again on a new connection.
/// `closed_before_response`: the connection closed (or was reset) before any response
/// byte; `retries`: how often this request was already sent again.
pub fn retry(closed_before_response: bool, connection: Connection, retries: u32) -> bool {
    closed_before_response && connection == Connection::Idle && retries == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_and_only_on_an_idle_connection_closed_early() {
        assert!(retry(true, Connection::Idle, 0));
        assert!(!retry(true, Connection::Idle, 1));
        assert!(!retry(true, Connection::Fresh, 0));
        assert!(!retry(false, Connection::Idle, 0));
    }
}
