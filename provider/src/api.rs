//! JSON documents of the `/api/*` endpoints. Their shapes are a public interface.

use portico::placement::{MemoryRegions, Region};
use portico_tokio::Shared;
use serde_json::{json, Value};

use crate::cli::Settings;
use crate::link::Link;

pub fn status(s: &Shared, settings: &Settings) -> Value {
    let o = &s.options;
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_ms": s.now(),
        "config": {
            "bind": settings.bind.to_string(),
            "max_sockets": o.budget.max_sockets,
            "stack_sockets": o.budget.stack_sockets,
            "backlog": o.budget.backlog,
            "reserved_sockets": o.budget.reserved,
            "lru_purge": o.policy.lru_purge,
            "evict_streams": o.policy.evict_streams,
            "per_peer_cap": o.policy.per_peer_cap,
            "pool_buffers": o.pool.chunks,
            "pool_chunk": o.pool.chunk_size,
            "internal_ram": o.internal_ram,
            "psram": o.psram,
            "upstream": settings.upstream,
            "api_delay_ms": settings.api_delay_ms,
            "head_timeout_ms": o.server.head_timeout_ms,
            "idle_timeout_ms": o.server.idle_timeout_ms,
            "queue_timeout_ms": o.policy.queue_timeout_ms,
        }
    })
}

pub fn connections(s: &Shared) -> Value {
    let snap = s.snapshot();
    let c = snap.counters;
    json!({
        "open": snap.open,
        "cap": snap.cap,
        "idle": snap.idle,
        "active": snap.active,
        "streams": snap.streams,
        "pending": snap.pending,
        "parked": s.parked(),
        "counters": c,
        "connections": snap.connections.iter().map(|c| json!({
            "id": c.id.to_string(),
            "peer": c.peer.to_string(),
            "state": c.state.name(),
            "age_ms": c.age_ms,
            "idle_ms": c.idle_ms,
            "requests": c.requests,
        })).collect::<Vec<_>>(),
        "recent_evictions": snap.evictions.iter().map(|e| json!({
            "id": e.id.to_string(),
            "peer": e.peer.to_string(),
            "reason": e.reason.name(),
            "at_ms": e.at_ms,
        })).collect::<Vec<_>>(),
    })
}

pub fn pool(s: &Shared) -> Value {
    let mut v = serde_json::to_value(s.pool.stats()).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("placement".into(), json!(s.pool.config().placement.name()));
    }
    v
}

pub fn memory(s: &Shared) -> Value {
    let regions: Vec<Value> = [Region::Internal, Region::External]
        .into_iter()
        .map(|r| {
            let st = s.heap.stats(r);
            json!({
                "name": r.name(),
                "capacity": st.capacity,
                "used": st.used,
                "peak": st.peak,
                "free": st.free,
                "failures": st.failures,
            })
        })
        .collect();
    json!({ "regions": regions })
}

pub fn link(settings: &Settings, link: Option<&Link>) -> Value {
    let Some(link) = link else {
        return json!({
            "configured": false,
            "url": settings.upstream,
            "state": "disabled",
            "connects": 0,
            "reconnects": 0,
            "last_error": null,
            "rtt_ms": null,
            "messages_in": 0,
            "memory": [],
        });
    };
    let st = link.handle.stats();
    let memory: Vec<Value> = st
        .memory
        .iter()
        .map(|b| {
            json!({
                "block": b.block,
                "bytes": b.bytes,
                "region": b.region.map(|r| r.name()).unwrap_or("task"),
            })
        })
        .collect();
    json!({
        "configured": true,
        "url": st.url,
        "state": st.state,
        "connects": st.connects,
        "reconnects": st.reconnects,
        "last_error": st.last_error,
        "rtt_ms": st.rtt_ms,
        "messages_in": link.messages_in(),
        "memory": memory,
    })
}

pub fn snapshot(s: &Shared, settings: &Settings, upstream: Option<&Link>) -> Value {
    json!({
        "status": status(s, settings),
        "connections": connections(s),
        "pool": pool(s),
        "memory": memory(s),
        "link": link(settings, upstream),
    })
}
