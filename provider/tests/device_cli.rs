//! `provider --stack device` refuses bad settings at start-up with a clear message and
//! exit status 2, before it touches any interface (so these run without root or a TAP).

use std::process::Command;

fn refused(args: &[&str], says: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_provider"))
        .args(["--stack", "device"])
        .args(args)
        .output()
        .expect("run provider");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(says), "{args:?}: {err}");
}

#[test]
fn bad_device_settings_are_refused_with_a_reason() {
    refused(&["--device-addr", "10.42.0.2"], "--device-addr");
    refused(&["--device-addr", "10.42.0.2/33"], "--device-addr");
    refused(&["--device-addr", "nonsense/24"], "--device-addr");
    refused(&["--link-loss", "150"], "--link-loss");
    refused(&["--bind", "192.0.2.1:8080"], "--bind");
    refused(&["--bind", "10.42.0.2:0"], "fixed port");
    refused(&["--profile", "esp8266"], "esp8266");
    refused(&["--upstream", "http://192.0.2.1/x"], "--upstream");
    // The device carries no root store: a `wss://` upstream needs its CA named.
    refused(&["--upstream", "wss://192.0.2.1/x"], "--upstream-ca");
    let empty = std::env::temp_dir().join(format!("portico-no-cert-{}", std::process::id()));
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let empty = empty.to_str().unwrap();
    refused(
        &["--upstream", "wss://192.0.2.1/x", "--upstream-ca", empty],
        "malformed or empty",
    );
    refused(&["--upstream-ca", empty], "--upstream");
}
