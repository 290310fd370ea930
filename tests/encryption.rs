//! TLS `encryption-handling` (Suricata's `app-layer.protocols.tls.
//! encryption-handling`): once a TLS session is past its handshake, raw
//! content rules stop reading the ciphertext by default, `full` keeps them
//! reading it, and `bypass` stops parsing the flow. `tls.*` rules fire in
//! every mode since the handshake was seen. Suricata 7.0.10 on the capture
//! this test writes gives the same alerts for `default` and `full`.

use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use tapwatch_gen::app::tls;
use tapwatch_gen::rng::Rng;
use tapwatch_gen::{write_pcap, Frame, TcpConn};

const T0: u64 = 1_768_471_200_000_000_000; // 2026-01-15T10:00:00Z

const RULES: &str = r#"alert tcp any any -> any any (msg:"marker in ciphertext"; flow:established,to_server; content:"CIPHERTEXT-MARKER"; sid:1; rev:1;)
alert tls any any -> any any (msg:"sni"; tls.sni; content:"shop.example.org"; sid:2; rev:1;)
alert tcp any any -> any any (msg:"marker in client hello"; flow:to_server; content:"shop.example"; sid:3; rev:1;)
"#;

/// A TLS 1.2 session whose client application data (as seen on the wire)
/// contains a marker string.
fn capture() -> Vec<Frame> {
    let mut rng = Rng::new(7);
    let client: SocketAddr = "10.0.0.5:50000".parse().unwrap();
    let server: SocketAddr = "198.51.100.7:443".parse().unwrap();
    let sid = rng.array32();
    let mut c = TcpConn::new(client, server, T0);
    c.handshake();
    c.client_send(&tls::client_hello(&rng.array32(), &sid, "shop.example.org", &[]));
    let mut flight = tls::server_hello(&rng.array32(), &sid, tls::ECDHE_RSA_AES128_GCM_SHA256, None);
    flight.extend(tls::change_cipher_spec());
    flight.extend(tls::encrypted_finished(&mut rng));
    c.server_send(&flight);
    let mut fin = tls::change_cipher_spec();
    fin.extend(tls::encrypted_finished(&mut rng));
    c.client_send(&fin);
    let mut data = rng.bytes(40);
    data.extend_from_slice(b"CIPHERTEXT-MARKER");
    data.extend(rng.bytes(40));
    c.client_send(&tls::record(0x17, 0x0303, &data));
    c.server_send(&tls::application_data(&mut rng, 200));
    c.close();
    c.into_frames()
}

fn alert_sids(dir: &Path, mode: Option<&str>) -> Vec<u64> {
    let pcap = dir.join("tls.pcap");
    write_pcap(&pcap, &capture()).unwrap();
    let rules = dir.join("test.rules");
    std::fs::write(&rules, RULES).unwrap();
    let log = dir.join(mode.unwrap_or("unset"));
    std::fs::create_dir_all(&log).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tapwatch"));
    cmd.args(["replay", "-q", "-r"])
        .arg(&pcap)
        .arg("-S")
        .arg(&rules)
        .arg("-l")
        .arg(&log);
    if let Some(m) = mode {
        cmd.arg("--set")
            .arg(format!("app-layer.protocols.tls.encryption-handling={m}"));
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let eve = std::fs::read_to_string(log.join("eve.json")).unwrap();
    let mut sids: Vec<u64> = eve
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["event_type"] == "alert")
        .map(|r| r["alert"]["signature_id"].as_u64().unwrap())
        .collect();
    sids.sort_unstable();
    sids
}

#[test]
fn default_mode_stops_raw_content_on_ciphertext() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(alert_sids(dir.path(), None), vec![2, 3]);
    assert_eq!(alert_sids(dir.path(), Some("default")), vec![2, 3]);
}

#[test]
fn full_mode_inspects_ciphertext() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(alert_sids(dir.path(), Some("full")), vec![1, 2, 3]);
}

#[test]
fn bypass_keeps_handshake_alerts_and_bad_values_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(alert_sids(dir.path(), Some("bypass")), vec![2, 3]);
    let out = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args([
            "replay",
            "-q",
            "--set",
            "app-layer.protocols.tls.encryption-handling=sometimes",
            "-r",
        ])
        .arg(dir.path().join("tls.pcap"))
        .arg("-l")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("encryption-handling"));
}
