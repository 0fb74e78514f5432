//! A subscriber: a cursor into the hub's ring, and the `Last-Event-ID` it resumes from.
//!
//! Why a cursor and not a queue: a queue per subscriber multiplies memory by the number
//! of browsers and makes the publisher wait or copy. Here a subscriber is two numbers.
//! Its "queue" is the distance between its cursor and the newest event, bounded by the
//! ring: once the ring has moved past the cursor, the subscriber skips to the oldest
//! event still held and the events it missed are counted as dropped, never buffered.

use crate::http::RequestHead;

/// One subscriber's place in the hub's event sequence. Plain data (`Copy`, no borrow),
/// so a handler can make it from the request and hand it to the stream in its
/// [`Reply::Upgrade`](crate::server::Reply::Upgrade).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscriber {
    /// The id of the next event to send.
    pub(super) next: u64,
    /// Events this subscriber missed: lagged past the ring, or asked to resume from an
    /// id the ring no longer holds.
    pub(super) dropped: u64,
}

impl Subscriber {
    /// The id of the next event this subscriber will be sent.
    pub const fn next_id(&self) -> u64 {
        self.next
    }

    /// Events this subscriber missed so far.
    pub const fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// The `Last-Event-ID` a reconnecting `EventSource` sends: the id of the last event it
/// received. Anything but a plain decimal number (empty, signs, spaces inside, overflow)
/// is `None`: the client then gets only new events, as on a first connection.
pub fn last_event_id(head: &RequestHead<'_>) -> Option<u64> {
    parse_event_id(head.header("Last-Event-ID")?)
}

/// [`last_event_id`] on a header value.
pub fn parse_event_id(value: &str) -> Option<u64> {
    let v = value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HeadLimits;

    #[test]
    fn only_a_plain_decimal_id_counts() {
        assert_eq!(parse_event_id("42"), Some(42));
        assert_eq!(parse_event_id(" 7 "), Some(7));
        for bad in [
            "",
            " ",
            "-1",
            "+1",
            "1 2",
            "0x10",
            "abc",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_event_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn read_from_the_request_head() {
        let raw = b"GET /events HTTP/1.1\r\nHost: a\r\nlast-event-id: 17\r\n\r\n";
        let head = RequestHead::parse(raw, &HeadLimits::default())
            .unwrap()
            .unwrap();
        assert_eq!(last_event_id(&head), Some(17));
        let raw = b"GET /events HTTP/1.1\r\nHost: a\r\n\r\n";
        let head = RequestHead::parse(raw, &HeadLimits::default())
            .unwrap()
            .unwrap();
        assert_eq!(last_event_id(&head), None);
    }
}
