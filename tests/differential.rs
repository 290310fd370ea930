//! Differential tests: the same capture and rules through tapwatch and
//! through Suricata 7.0.10 (`suricata -r x.pcap -S x.rules -l out -k none`),
//! whose alerts are recorded below as expected data. Set
//! `TAPWATCH_DIFF_KEEP=<dir>` to keep the capture and rules for re-running
//! Suricata.

use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use tapwatch_gen::{udp_frame, write_pcap, Frame};

const T0: u64 = 1_768_471_200_000_000_000; // 2026-01-15T10:00:00Z

const RULES: &str = r#"alert udp any any -> any 5000 (msg:"dist within"; content:"HDR"; content:"KEY"; distance:2; within:5; sid:100;)
alert udp any any -> any 5000 (msg:"byte_extract then byte_test"; content:"LEN"; byte_extract:1,0,len,relative; byte_test:1,=,len,1,relative; sid:101;)
alert udp any any -> any 5000 (msg:"byte_jump then content"; content:"J"; byte_jump:1,0,relative; content:"END"; within:3; sid:102;)
alert udp any any -> any 5000 (msg:"pcre relative"; content:"user="; pcre:"/^[a-z]{3,}\d/R"; sid:103;)
alert udp any any -> any 5000 (msg:"login seen"; content:"LOGIN"; flowbits:set,tw.login; flowbits:noalert; sid:104;)
alert udp any any -> any 5000 (msg:"cmd after login"; content:"CMD"; flowbits:isset,tw.login; sid:105;)
alert udp any any -> any 5000 (msg:"cmd without login"; content:"CMD"; flowbits:isnotset,tw.login; sid:106;)
alert udp any any -> any 5000 (msg:"limit 1"; content:"PING"; threshold:type limit, track by_src, count 1, seconds 60; sid:107;)
alert udp any any -> any 5000 (msg:"every 2nd"; content:"PING"; threshold:type threshold, track by_src, count 2, seconds 60; sid:108;)
alert udp any any -> any 5000 (msg:"isdataat negated"; content:"TAIL"; isdataat:!1,relative; sid:109;)
"#;

/// Payloads, one UDP packet each, in order (client 10.0.0.1:40000 -> 10.0.0.2:5000).
const PAYLOADS: &[&[u8]] = &[
    b"HDRxxKEY",     // 1: 100 (KEY at distance 2)
    b"HDRxxxxxxKEY", // 2: no 100 (outside within)
    b"LEN\x05x\x05", // 3: 101 (byte_extract moves past the byte it read)
    b"LEN\x05\x05",  // 4: no 101
    b"J\x02abEND",   // 5: 102
    b"J\x03abEND",   // 6: no 102
    b"user=admin1",  // 7: 103
    b"user=ab1",     // 8: no 103
    b"CMD",          // 9: 106
    b"LOGIN",        // 10: none (noalert)
    b"CMD",          // 11: 105
    b"PING",         // 12: 107
    b"PING",         // 13: 108
    b"PING",         // 14: -
    b"PING",         // 15: 108
    b"xTAIL",        // 16: 109
    b"xTAILx",       // 17: -
];

/// (packet number, sid) of every alert Suricata 7.0.10 raised on the
/// capture above with the rules above.
const SURICATA_7_0_10: &[(u64, u64)] = &[
    (1, 100),
    (3, 101),
    (5, 102),
    (7, 103),
    (9, 106),
    (11, 105),
    (12, 107),
    (13, 108),
    (15, 108),
    (16, 109),
];

fn alerts(eve: &str) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = eve
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["event_type"] == "alert")
        .map(|r| {
            (
                r["pcap_cnt"].as_u64().unwrap_or(0),
                r["alert"]["signature_id"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn keywords_alert_as_suricata_does() {
    let dir = tempfile::tempdir().unwrap();
    let keep = std::env::var_os("TAPWATCH_DIFF_KEEP");
    let base = keep.as_deref().map(Path::new).unwrap_or(dir.path());
    std::fs::create_dir_all(base).unwrap();
    let src: SocketAddr = "10.0.0.1:40000".parse().unwrap();
    let dst: SocketAddr = "10.0.0.2:5000".parse().unwrap();
    let frames: Vec<Frame> = PAYLOADS
        .iter()
        .enumerate()
        .map(|(i, p)| udp_frame(src, dst, T0 + i as u64 * 1_000_000, p))
        .collect();
    let pcap = base.join("diff.pcap");
    let rules = base.join("diff.rules");
    write_pcap(&pcap, &frames).unwrap();
    std::fs::write(&rules, RULES).unwrap();
    let out = base.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let _ = std::fs::remove_file(out.join("eve.json"));
    let res = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args(["replay", "-r"])
        .arg(&pcap)
        .arg("-S")
        .arg(&rules)
        .arg("-l")
        .arg(&out)
        .args(["-k", "none", "--workers", "1"])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let eve = std::fs::read_to_string(out.join("eve.json")).unwrap();
    assert_eq!(alerts(&eve), SURICATA_7_0_10);
}
