//! The board's network: Wi-Fi as a station (credentials from the build) with an
//! access-point fallback, and embassy-net on top of it — what every Portico firmware on
//! this board starts with, the dashboard and the examples alike.
//!
//! Wi-Fi credentials come from the build environment: `PORTICO_WIFI_SSID` and
//! `PORTICO_WIFI_PASSWORD` (empty password = open network). Without an SSID, or when
//! the station cannot connect, the device opens its own access point `portico`
//! (address 192.168.4.1; give the client a static address in 192.168.4.0/24).

use core::net::Ipv4Addr;

use embassy_executor::Spawner;
use embassy_net::{Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use embassy_time::{with_timeout, Duration, Timer};
use esp_hal::peripherals::WIFI;
use esp_hal::rng::Rng;
use esp_radio::wifi::ap::AccessPointConfig;
use esp_radio::wifi::sta::StationConfig;
use esp_radio::wifi::{
    AuthenticationMethodConfig, Config, ControllerConfig, Interface, WifiController,
};
use log::{info, warn};
use portico_embassy::{HeldSyn, ListenGate, SynGate};

const SSID: Option<&str> = option_env!("PORTICO_WIFI_SSID");
const PASSWORD: Option<&str> = option_env!("PORTICO_WIFI_PASSWORD");
const AP_SSID: &str = "portico";
/// The device's address on its own access point.
pub const AP_ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 168, 4, 1);
/// Station attempts before falling back to the access point.
const STATION_ATTEMPTS: u32 = 3;

/// The network the board is on.
pub struct Network {
    /// The embassy-net stack.
    pub stack: Stack<'static>,
    /// Its IPv4 address.
    pub address: Ipv4Addr,
    /// `"station"` or `"access_point"`.
    pub mode: &'static str,
}

/// Joins the configured Wi-Fi (or opens the access point), starts embassy-net on it with
/// `resources`, and waits for an address. A SYN that finds no listening socket of
/// `gate` waits in `syn_backlog` until one listens (past it, it is dropped and the
/// browser retransmits), never reset.
pub async fn start<const N: usize>(
    spawner: &Spawner,
    wifi: WIFI<'static>,
    resources: &'static mut StackResources<N>,
    gate: &'static ListenGate,
    syn_backlog: &'static mut [HeldSyn],
    rng: &Rng,
) -> Network {
    let mut controller =
        WifiController::new(wifi, ControllerConfig::default()).expect("Wi-Fi init");
    let station = match SSID {
        Some(ssid) if !ssid.is_empty() => join(&mut controller, ssid).await,
        _ => false,
    };
    let (device, net, mode) = if station {
        (
            Interface::station(),
            embassy_net::Config::dhcpv4(Default::default()),
            "station",
        )
    } else {
        open_access_point(&mut controller);
        let net = embassy_net::Config::ipv4_static(StaticConfigV4 {
            address: Ipv4Cidr::new(AP_ADDRESS, 24),
            gateway: Some(AP_ADDRESS),
            dns_servers: Default::default(),
        });
        (Interface::access_point(), net, "access_point")
    };
    let seed = (u64::from(rng.random()) << 32) | u64::from(rng.random());
    let device = SynGate::with_backlog(device, gate, syn_backlog);
    let (stack, runner) = embassy_net::new(device, net, resources, seed);
    spawner.spawn(net_task(runner).expect("net task"));
    if station {
        spawner.spawn(keep_station(controller).expect("wifi task"));
    } else {
        core::mem::forget(controller);
    }
    stack.wait_config_up().await;
    let address = stack
        .config_v4()
        .map(|c| c.address.address())
        .unwrap_or(AP_ADDRESS);
    Network {
        stack,
        address,
        mode,
    }
}

/// Joins the configured network; false after `STATION_ATTEMPTS` failures.
async fn join(controller: &mut WifiController<'static>, ssid: &str) -> bool {
    let Ok(ssid) = ssid.try_into() else {
        warn!("PORTICO_WIFI_SSID is too long");
        return false;
    };
    let auth = match PASSWORD {
        Some(p) if !p.is_empty() => match p.try_into() {
            Ok(p) => AuthenticationMethodConfig::Wpa2Personal(p),
            Err(_) => {
                warn!("PORTICO_WIFI_PASSWORD is too long");
                return false;
            }
        },
        _ => AuthenticationMethodConfig::Open,
    };
    let config = Config::Station(
        StationConfig::default()
            .with_ssid(ssid)
            .with_authentication(auth),
    );
    if let Err(e) = controller.set_config(&config) {
        warn!("station config refused: {e:?}");
        return false;
    }
    for attempt in 1..=STATION_ATTEMPTS {
        match with_timeout(Duration::from_secs(15), controller.connect_async()).await {
            Ok(Ok(_)) => return true,
            Ok(Err(e)) => warn!("station attempt {attempt}: {e:?}"),
            Err(_) => warn!("station attempt {attempt}: timed out"),
        }
        Timer::after(Duration::from_secs(2)).await;
    }
    false
}

fn open_access_point(controller: &mut WifiController<'static>) {
    let ap = AccessPointConfig::default().with_ssid(AP_SSID.try_into().expect("short SSID"));
    if let Err(e) = controller.set_config(&Config::AccessPoint(ap)) {
        warn!("access point config refused: {e:?}");
    }
    info!("portico: access point `{AP_SSID}` at {AP_ADDRESS}");
}

/// Rejoins after a disconnection.
#[embassy_executor::task]
async fn keep_station(mut controller: WifiController<'static>) {
    loop {
        let _ = controller.wait_for_disconnect_async().await;
        warn!("station disconnected; rejoining");
        Timer::after(Duration::from_secs(2)).await;
        let _ = controller.connect_async().await;
    }
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, SynGate<'static, Interface>>) {
    runner.run().await
}
