//! `wss://` on the device's link (`portico_ws::embassy`, feature `embassy-tls`): the
//! embedded-tls client on a simulated device stack with a simulated two-region heap,
//! against a rustls + tungstenite server on its own stack, in virtual time.
//!
//! The certificates are made here: a private CA, a server certificate it signs for the
//! upstream's address, and a second CA nobody trusts.

use std::sync::Arc;

use portico::placement::sim::SimHeap;
use portico::placement::Region;
use portico_sim::executor::RunEnd;
use portico_sim::link::{connected, now_ms, LinkSim, Setup, QUICK};
use portico_sim::net::LinkConfig;
use portico_sim::upstream::TestPki;
use portico_ws::embassy::{Config, LinkSettings, TlsOptions};
use portico_ws::{Settings, State};

const URL: &str = "wss://10.0.0.200:8080/link";
const HOST: &str = "10.0.0.200";

/// The link simulations' settings, with time for the TLS handshake.
const SETTINGS: Settings = Settings {
    connect_timeout_ms: 5_000,
    ..QUICK
};

/// The client's own blocks with the default sizes.
const WS_BYTES: usize = 4096 + 4096 + 1024;
/// The TLS record buffers with the default sizes.
const TLS_BYTES: usize = portico_ws::embassy::MAX_RECORD + 4096;

fn pki(name: &str) -> TestPki {
    TestPki::new(name)
}

type Sim = LinkSim;

/// The device trusts `trusted` (DER); the server presents `served`.
fn sim(seed: u64, heap: SimHeap, trusted: &[u8], served: Arc<rustls::ServerConfig>) -> Sim {
    let ca: &'static [u8] = Box::leak(trusted.to_vec().into_boxed_slice());
    LinkSim::new(Setup {
        seed,
        link: LinkConfig::lan(),
        heap,
        config: Config {
            settings: SETTINGS,
            tls: TlsOptions::with_ca(ca),
            ..Config::new(URL)
        },
        tls: Some(served),
        react: Box::new(|_, _| {}),
    })
}

/// Connects over TLS, echoes, and reports each block (the client's and the TLS
/// session's) in the region placement chose; returns the virtual milliseconds from
/// start to connected.
fn wss_echo(heap: SimHeap, region: Region) -> u64 {
    let pki = pki(HOST);
    let mut s = sim(1, heap, &pki.ca, pki.server.clone());
    s.handle().start();
    let started = now_ms();
    assert_eq!(
        s.run_until(10_000, connected),
        RunEnd::Done,
        "{}",
        s.report()
    );
    let handshake_ms = now_ms() - started;
    s.handle().try_send_text("hello over tls").unwrap();
    s.handle().try_send_binary(&[7; 3000]).unwrap();
    s.run_until(3_000, |v| v.client.handle().stats().messages_in == 2);
    assert_eq!(s.saw("data Text hello over tls"), 1, "{}", s.report());
    // Past a ping interval: ping and pong went through the TLS session too.
    s.run_until(1_500, |_| false);
    let st = s.stats();
    assert_eq!(st.state, State::Connected, "{}", s.report());
    assert_eq!((st.connects, st.messages_in), (1, 2), "{}", s.report());
    assert!(st.rtt_ms.is_some(), "{}", s.report());
    let blocks: Vec<_> = st.memory.iter().map(|b| b.block).collect();
    assert_eq!(
        blocks,
        ["rx", "tx", "message", "tls_session", "tls_rx", "tls_tx"]
    );
    let placed: Vec<_> = st.memory.iter().filter(|b| b.region.is_some()).collect();
    let sizes: Vec<_> = placed.iter().map(|b| (b.block, b.bytes)).collect();
    assert_eq!(
        sizes,
        [
            ("rx", 4096),
            ("tx", 4096),
            ("message", 1024),
            ("tls_rx", portico_ws::embassy::MAX_RECORD),
            ("tls_tx", 4096)
        ]
    );
    assert!(placed.iter().all(|b| b.region == Some(region)), "{st:?}");
    // The session's keys are boxed on the global heap, outside the policy: reported
    // with their size and no region.
    let session = st.memory.iter().find(|b| b.block == "tls_session").unwrap();
    assert_eq!(session.region, None);
    println!("TLS session state (global heap): {} B", session.bytes);
    // The report is the heap's truth.
    assert_eq!(s.used(region), WS_BYTES + TLS_BYTES);
    println!(
        "placed {region:?}: internal RAM held by the connected wss:// link: {} B \
         (of which TLS record buffers {} B), external {} B",
        s.used(Region::Internal),
        if region == Region::Internal {
            TLS_BYTES
        } else {
            0
        },
        s.used(Region::External)
    );
    assert_eq!(s.server.stats().upgraded, 1);
    assert_eq!(s.server.stats().text_in, 1);
    assert_eq!(s.server.stats().binary_in, 1);
    handshake_ms
}

#[test]
fn wss_handshake_and_echo_with_tls_buffers_in_psram() {
    let ms = wss_echo(SimHeap::new(320 * 1024, 8 << 20), Region::External);
    println!("wss connect (TCP + TLS 1.3 + upgrade), virtual time on a LAN link: {ms} ms");
}

#[test]
fn wss_without_psram_places_tls_buffers_in_sram() {
    wss_echo(SimHeap::new(320 * 1024, 0), Region::Internal);
}

#[test]
fn wss_with_psram_failing_falls_back_to_sram() {
    let heap = SimHeap::new(320 * 1024, 8 << 20);
    heap.fail_region(Region::External, true);
    wss_echo(heap, Region::Internal);
}

#[test]
fn wss_reconnects_after_the_server_drops_and_holds_no_tls_memory_in_between() {
    let pki = pki(HOST);
    let heap = SimHeap::new(320 * 1024, 8 << 20);
    let mut s = sim(3, heap, &pki.ca, pki.server.clone());
    s.start_and_connect();
    assert_eq!(s.used(Region::External), WS_BYTES + TLS_BYTES);
    s.server.drop_all();
    // In backoff: the TLS session and every block are gone.
    let end = s.run_until(5_000, |v| v.client.handle().stats().state == State::Backoff);
    assert_eq!(end, RunEnd::Done, "{}", s.report());
    let st = s.stats();
    assert!(st.memory.is_empty(), "{st:?}");
    assert_eq!(s.used(Region::External), 0, "{}", s.report());
    // And back, with a new session.
    let end = s.run_until(10_000, |v| {
        let st = v.client.handle().stats();
        st.state == State::Connected && st.reconnects == 1
    });
    assert_eq!(end, RunEnd::Done, "{}", s.report());
    assert_eq!(s.used(Region::External), WS_BYTES + TLS_BYTES);
    s.handle().try_send_text("again").unwrap();
    s.run_until(3_000, |v| v.client.handle().stats().messages_in == 1);
    assert_eq!(s.stats().messages_in, 1, "{}", s.report());
    assert_eq!(s.server.stats().upgraded, 2);
    // Stopped: every block back.
    s.handle().stop();
    s.run_until(2_000, |v| v.client.handle().live_runs() == 0);
    assert_eq!(s.used(Region::External) + s.used(Region::Internal), 0);
}

#[test]
fn a_certificate_from_another_ca_is_refused_with_a_clear_error() {
    let served = pki(HOST);
    let trusted = pki(HOST); // same host name, a CA the server's certificate is not from
    let heap = SimHeap::new(320 * 1024, 8 << 20);
    let mut s = sim(4, heap, &trusted.ca, served.server.clone());
    s.handle().start();
    let end = s.run_until(10_000, |v| {
        v.client.handle().stats().last_error.is_some()
            && v.client.handle().stats().state == State::Backoff
    });
    assert_eq!(end, RunEnd::Done, "{}", s.report());
    let st = s.stats();
    assert_eq!(
        st.last_error.as_deref(),
        Some("connect: server certificate refused (CA or host name)"),
        "{}",
        s.report()
    );
    assert_eq!(st.connects, 0);
    assert_eq!(s.server.stats().upgraded, 0);
    // Nothing of the failed session is held in backoff.
    assert!(st.memory.is_empty(), "{st:?}");
    assert_eq!(s.used(Region::External), 0, "{}", s.report());
}

#[test]
fn a_certificate_for_another_host_is_refused() {
    let pki = pki("other.example");
    let heap = SimHeap::new(320 * 1024, 8 << 20);
    let mut s = sim(5, heap, &pki.ca, pki.server.clone());
    s.handle().start();
    let end = s.run_until(10_000, |v| v.client.handle().stats().last_error.is_some());
    assert_eq!(end, RunEnd::Done, "{}", s.report());
    assert_eq!(
        s.stats().last_error.as_deref(),
        Some("connect: server certificate refused (CA or host name)"),
        "{}",
        s.report()
    );
    assert_eq!(s.server.stats().upgraded, 0);
}

#[test]
fn the_ca_and_url_set_at_run_time_reconnect_the_link() {
    let served = pki(HOST);
    let other = pki(HOST);
    let heap = SimHeap::new(320 * 1024, 8 << 20);
    // Built with a CA the server's certificate is not from: refused.
    let mut s = sim(6, heap, &other.ca, served.server.clone());
    s.handle().start();
    let end = s.run_until(10_000, |v| v.client.handle().stats().last_error.is_some());
    assert_eq!(end, RunEnd::Done, "{}", s.report());
    assert_eq!(s.stats().connects, 0);

    // The application's settings bring the right CA: the link reconnects with it.
    let mut settings = LinkSettings {
        url: URL.into(),
        ca: Some(served.ca.clone()),
        ..LinkSettings::default()
    };
    s.handle().reconfigure(settings.clone());
    assert_eq!(
        s.run_until(10_000, connected),
        RunEnd::Done,
        "{}",
        s.report()
    );
    assert_eq!((s.stats().connects, s.stats().url.as_str()), (1, URL));

    // Then a new URL and an Authorization header: a new connection, the new URL shown.
    const OTHER_URL: &str = "wss://10.0.0.200:8080/other";
    settings.url = OTHER_URL.into();
    settings.headers = vec![("Authorization".into(), "Bearer t0ken".into())];
    s.handle().reconfigure(settings.clone());
    let end = s.run_until(10_000, |v| {
        let st = v.client.handle().stats();
        st.state == State::Connected && st.connects == 2
    });
    assert_eq!(end, RunEnd::Done, "{}", s.report());
    assert_eq!(s.stats().url.as_str(), OTHER_URL);
    assert_eq!(s.server.stats().upgraded, 2, "{}", s.report());
    assert_eq!(
        s.server.stats().last_request,
        Some(("/other".to_owned(), Some("Bearer t0ken".to_owned())))
    );

    // The same settings again change nothing: no reconnect.
    s.handle().reconfigure(settings);
    s.run_until(3_000, |_| false);
    assert_eq!(s.stats().connects, 2, "{}", s.report());
    assert_eq!(s.stats().state, State::Connected);
}

#[test]
fn settings_set_while_stopped_are_used_at_the_next_start() {
    let served = pki(HOST);
    let heap = SimHeap::new(320 * 1024, 8 << 20);
    // Built with no usable CA at all (an empty one).
    let mut s = sim(8, heap, &[], served.server.clone());
    s.handle().reconfigure(LinkSettings {
        url: URL.into(),
        ca: Some(served.ca.clone()),
        ..LinkSettings::default()
    });
    assert_eq!(s.stats().state, State::Stopped);
    s.start_and_connect();
    assert_eq!(s.stats().connects, 1);
}
