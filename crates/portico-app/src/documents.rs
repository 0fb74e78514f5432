//! The JSON documents of `/api/*`. Their shapes are a public interface: scripts and the
//! dashboard read them, from the host provider and from the firmware alike.

use portico::conn::{ConnState, Counters};
use portico::placement::Region;

use crate::device::{ConnTable, Device};
use crate::json::{JsonWriter, Text};

/// Which document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// `/api/status`: version, uptime, settings (and port-specific members).
    Status,
    /// `/api/connections`: the table, its counters and recent evictions.
    Connections,
    /// `/api/pool`: the request buffer pool.
    Pool,
    /// `/api/memory`: usage per region.
    Memory,
    /// `/api/link`: the upstream WebSocket link.
    Link,
    /// The live-updates event: all of the above in one object.
    Snapshot,
}

impl Document {
    /// Writes the document.
    pub fn write<D: Device>(self, device: &D, w: &mut JsonWriter<'_>) {
        match self {
            Document::Status => status(device, w),
            Document::Connections => connections(device, w),
            Document::Pool => pool(device, w),
            Document::Memory => memory(device, w),
            Document::Link => link(device, w),
            Document::Snapshot => {
                w.begin_object();
                for (name, doc) in [
                    ("status", Document::Status),
                    ("connections", Document::Connections),
                    ("pool", Document::Pool),
                    ("memory", Document::Memory),
                    ("link", Document::Link),
                ] {
                    w.key(name);
                    doc.write(device, w);
                }
                w.end_object();
            }
        }
    }
}

fn status<D: Device>(d: &D, w: &mut JsonWriter<'_>) {
    let c = d.config();
    w.begin_object()
        .field("version", env!("CARGO_PKG_VERSION"))
        .field("uptime_ms", d.now().as_millis());
    w.key("config")
        .begin_object()
        .field("bind", Text(c.bind))
        .field("max_sockets", c.max_sockets)
        .field("stack_sockets", c.stack_sockets)
        .field("backlog", c.backlog)
        .field("reserved_sockets", c.reserved_sockets)
        .field("lru_purge", c.lru_purge)
        .field("evict_streams", c.evict_streams)
        .field("per_peer_cap", c.per_peer_cap)
        .field("pool_buffers", c.pool_buffers)
        .field("pool_chunk", c.pool_chunk)
        .field("internal_ram", c.internal_ram)
        .field("psram", c.psram)
        .field("upstream", c.upstream)
        .field("api_delay_ms", c.api_delay.as_millis())
        .field("head_timeout_ms", c.head_timeout.as_millis())
        .field("idle_timeout_ms", c.idle_timeout.as_millis())
        .field("queue_timeout_ms", c.queue_timeout.as_millis())
        .end_object();
    d.status_extra(w);
    w.end_object();
}

fn connections<D: Device>(d: &D, w: &mut JsonWriter<'_>) {
    let now = d.now();
    let parked = d.parked();
    d.with_table(|t| {
        let open = t.open();
        let idle = t.count(ConnState::Idle);
        let streams = t.count(ConnState::Stream);
        w.begin_object()
            .field("open", open)
            .field("cap", t.cap())
            .field("idle", idle)
            .field("active", open.saturating_sub(idle + streams))
            .field("streams", streams)
            .field("pending", t.pending())
            .field("parked", parked);
        w.key("counters");
        counters(&t.counters(), w);
        w.key("connections").begin_array();
        for c in t.connections(now) {
            w.begin_object()
                .field("id", Text(c.id))
                .field("peer", Text(c.peer))
                .field("state", c.state.name())
                .field("age_ms", c.age.as_millis())
                .field("idle_ms", c.idle.as_millis())
                .field("requests", c.requests)
                .end_object();
        }
        w.end_array();
        w.key("recent_evictions").begin_array();
        for e in t.recent_evictions() {
            w.begin_object()
                .field("id", Text(e.id))
                .field("peer", Text(e.peer))
                .field("reason", e.reason.name())
                .field("at_ms", e.at.as_millis())
                .end_object();
        }
        w.end_array().end_object();
    });
}

/// Written member by member rather than through `Counters`' serde impl: the firmware
/// then carries no serde serializer at all. `tests` checks the members against serde's.
pub(crate) fn counters(c: &Counters, w: &mut JsonWriter<'_>) {
    w.begin_object()
        .field("accepted", c.accepted)
        .field("evicted_idle", c.evicted_idle)
        .field("evicted_silent", c.evicted_silent)
        .field("evicted_peer_cap", c.evicted_peer_cap)
        .field("evicted_stream", c.evicted_stream)
        .field("evicted_slow", c.evicted_slow)
        .field("refused_503", c.refused_503)
        .field("timeout_head", c.timeout_head)
        .field("timeout_body", c.timeout_body)
        .field("timeout_send", c.timeout_send)
        .field("timeout_idle", c.timeout_idle)
        .field("closed", c.closed)
        .field("requests", c.requests)
        .end_object();
}

fn pool<D: Device>(d: &D, w: &mut JsonWriter<'_>) {
    let (s, placement) = d.pool();
    w.begin_object()
        .field("chunks", s.chunks)
        .field("chunk_size", s.chunk_size)
        .field("allocated", s.allocated)
        .field("leased", s.leased)
        .field("high_water", s.high_water)
        .field("waits", s.waits)
        .field("timeouts", s.timeouts)
        .field("alloc_failures", s.alloc_failures)
        .field("in_internal", s.in_internal)
        .field("in_external", s.in_external)
        .field("leases", s.leases)
        .field("placement", placement.name())
        .end_object();
}

fn memory<D: Device>(d: &D, w: &mut JsonWriter<'_>) {
    w.begin_object().key("regions").begin_array();
    for r in [Region::Internal, Region::External] {
        let s = d.region(r);
        w.begin_object()
            .field("name", r.name())
            .field("capacity", s.capacity)
            .field("used", s.used)
            .field("peak", s.peak)
            .field("free", s.free)
            .field("failures", s.failures)
            .end_object();
    }
    w.end_array().end_object();
}

fn link<D: Device>(d: &D, w: &mut JsonWriter<'_>) {
    let upstream = d.config().upstream;
    d.with_link(|link| {
        w.begin_object();
        let Some(l) = link else {
            w.field("configured", false)
                .field("url", upstream)
                .field("state", "disabled")
                .field("connects", 0u64)
                .field("reconnects", 0u64)
                .field("last_error", Option::<&str>::None)
                .field("rtt_ms", Option::<u64>::None)
                .field("messages_in", 0u64);
            w.key("memory").begin_array().end_array();
            w.end_object();
            return;
        };
        w.field("configured", true)
            .field("url", l.url)
            .field("state", l.state.name())
            .field("connects", l.connects)
            .field("reconnects", l.reconnects)
            .field("last_error", l.last_error)
            .field("rtt_ms", l.rtt_ms)
            .field("messages_in", l.messages_in);
        w.key("memory").begin_array();
        for b in l.memory {
            w.begin_object()
                .field("block", b.block)
                .field("bytes", b.bytes)
                .field("region", b.region.map_or(unplaced(b.block), |r| r.name()))
                .end_object();
        }
        w.end_array().end_object();
    });
}

/// What `/api/link` says for a block no placement put anywhere: the run task's own state
/// (`"task"`, the executor's), or a block from the global heap (`"heap"`: a device TLS
/// session's keys).
fn unplaced(block: &str) -> &'static str {
    if block == "task" {
        "task"
    } else {
        "heap"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_have_the_members_serde_gives_them() {
        let c = Counters {
            accepted: 1,
            evicted_idle: 2,
            evicted_silent: 12,
            evicted_peer_cap: 3,
            evicted_stream: 4,
            evicted_slow: 5,
            refused_503: 6,
            timeout_head: 7,
            timeout_body: 8,
            timeout_send: 9,
            timeout_idle: 10,
            closed: 11,
            requests: u64::MAX,
        };
        let mut buf = [0u8; 512];
        let mut w = JsonWriter::new(&mut buf);
        counters(&c, &mut w);
        let n = w.finish().unwrap();
        let ours: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        assert_eq!(ours, serde_json::to_value(c).unwrap());
    }
}
