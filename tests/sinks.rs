//! EVE sinks end to end: `tapwatch replay` delivering to real servers
//! (redis-server, rsyslogd, collectors in the test), through outages.
//!
//! Tests that need a server binary print why and return when it is not
//! installed; `.ci/run` installs them, so in CI they run.

use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tapwatch_gen::{udp_frame, vxlan_wrap, write_pcap, Frame, Mirror};

const T0: u64 = 1_768_471_200_000_000_000;
/// Flows in the outage captures: about 52,000 EVE records.
const OUTAGE_FLOWS: u32 = 38_000;

/// The outage tests each push 50,000+ records through a real server while
/// stopping it; run them one at a time so a loaded 2-core machine does not
/// turn their reconnect windows into timeouts.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tapwatch")
}

const RULES: &str =
    "alert udp any any -> any any (msg:\"marked datagram\"; content:\"ALERTME\"; sid:7001; rev:1; priority:1;)\n";

/// `flows` one-datagram UDP flows, 1 ms apart (so flows time out during
/// the replay), every other one mirrored in VXLAN, every tenth alerting.
fn capture(dir: &Path, flows: u32) -> PathBuf {
    let m = Mirror {
        vni: 4242,
        source_ip: Ipv4Addr::new(10, 0, 1, 5),
        target_ip: Ipv4Addr::new(10, 0, 9, 9),
    };
    let frames: Vec<Frame> = (0..flows)
        .map(|i| {
            let src = SocketAddr::from((
                Ipv4Addr::new(10, 1, (i >> 8) as u8, i as u8),
                10_000 + (i % 50_000) as u16,
            ));
            let dst = SocketAddr::from((Ipv4Addr::new(10, 2, 0, 1 + (i % 200) as u8), 53));
            let payload: &[u8] = if i % 10 == 0 { b"xxALERTMExx" } else { b"plain" };
            let f = udp_frame(src, dst, T0 + u64::from(i) * 1_000_000, payload);
            if i % 2 == 0 {
                vxlan_wrap(&f, &m)
            } else {
                f
            }
        })
        .collect();
    let p = dir.join(format!("flows-{flows}.pcap"));
    write_pcap(&p, &frames).unwrap();
    p
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether the server binary a test needs is installed; says why not.
fn need(cmd: &str, package: &str) -> bool {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        println!("skipping: {cmd} is not installed (apt-get install {package})");
    }
    ok
}

/// Config with a reference file sink (`ref.json`) plus `extra` outputs.
fn config(dir: &Path, extra: &str) -> PathBuf {
    let text = format!(
        "%YAML 1.1\n---\noutputs:\n  - eve-log:\n      filename: ref.json\n      types: [alert, flow, stats]\n{extra}"
    );
    let p = dir.join("tapwatch.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

fn spawn_replay(dir: &Path, pcap: &Path, cfg: &Path) -> Child {
    let rules = dir.join("t.rules");
    std::fs::write(&rules, RULES).unwrap();
    Command::new(bin())
        .args(["replay", "--workers", "2", "-r"])
        .arg(pcap)
        .arg("-S")
        .arg(&rules)
        .arg("-c")
        .arg(cfg)
        .arg("-l")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A replay of `flows` flows run to its end; the reference records.
fn replay_to_end(dir: &Path, flows: u32, extra: &str) -> Vec<String> {
    let pcap = capture(dir, flows);
    finish(spawn_replay(dir, &pcap, &config(dir, extra)));
    read_lines(&dir.join("ref.json"))
}

fn finish(child: Child) -> Output {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The counters of the sink whose name ends with `suffix`, from the summary.
fn sink_line(out: &Output, suffix: &str) -> Counters {
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.trim_start().starts_with("sink:") && l.contains(suffix))
        .unwrap_or_else(|| panic!("no sink line for {suffix} in {err}"));
    let num = |k: &str| -> u64 {
        let rest = &line[line.find(&format!(" {k} ")).unwrap() + k.len() + 2..];
        rest.split_whitespace().next().unwrap().parse().unwrap()
    };
    Counters {
        written: num("written"),
        spooled: num("spooled"),
        resent: num("resent"),
        dropped: num("dropped"),
        reconnects: num("reconnects"),
        spool_left: num("spool-left"),
    }
}

#[derive(Debug)]
struct Counters {
    written: u64,
    spooled: u64,
    resent: u64,
    dropped: u64,
    reconnects: u64,
    spool_left: u64,
}

fn read_lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

fn seq_of(v: &Value) -> u64 {
    v["mirror"]["seq"].as_u64().expect("record carries mirror.seq")
}

/// De-duplicate by sequence number (first arrival wins) and check that
/// what is left is in order and is exactly the reference file's records.
fn check_exactly_once(reference: &[String], got: &[Value]) -> Vec<u64> {
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    for v in got {
        let s = seq_of(v);
        if seen.insert(s) {
            order.push(s);
        }
    }
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "records arrive in order after de-duplication"
    );
    let want: Vec<u64> = reference
        .iter()
        .map(|l| seq_of(&serde_json::from_str(l).unwrap()))
        .collect();
    assert_eq!(order.len(), want.len(), "every record arrives exactly once");
    assert_eq!(order, want);
    order
}

/// Keep what a sink delivered for EVE schema validation: when
/// `TAPWATCH_EVE_DUMP` names a folder, the records go to `<folder>/<name>.json`
/// and `.ci/run` validates every file there with the shared validator (the
/// tests themselves read nothing outside the repo).
fn keep_for_validation(lines: &[String], name: &str) {
    let Some(out) = std::env::var_os("TAPWATCH_EVE_DUMP") else {
        return;
    };
    let out = PathBuf::from(out);
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join(format!("sink-{name}.json")), lines.join("\n") + "\n").unwrap();
}

fn parse_all(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {e}: {l}")))
        .collect()
}

fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < timeout {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

// ------------------------------------------------------------ collectors

/// A newline-JSON collector (TCP or unix stream) that can be stopped,
/// dropping whatever it had not read yet, and started again.
struct Collector {
    lines: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

enum Listen {
    Tcp(u16),
    Unix(PathBuf),
}

impl Collector {
    fn start(at: &Listen, lines: Arc<Mutex<Vec<String>>>) -> Collector {
        Collector::start_until(at, lines, usize::MAX)
    }

    /// A collector that goes away by itself, unread data and all, once
    /// `limit` records have arrived: the outage then always falls in the
    /// middle of the run, however fast the machine is.
    fn start_until(at: &Listen, lines: Arc<Mutex<Vec<String>>>, limit: usize) -> Collector {
        let stop = Arc::new(AtomicBool::new(false));
        let st = stop.clone();
        let l2 = lines.clone();
        let thread = match at {
            Listen::Tcp(port) => {
                let l = TcpListener::bind(("127.0.0.1", *port)).unwrap();
                l.set_nonblocking(true).unwrap();
                std::thread::spawn(move || {
                    serve(&st, &l2, limit, || {
                        l.accept().ok().map(|(s, _)| {
                            s.set_nonblocking(false).unwrap();
                            Box::new(s) as Box<dyn ReadTimeout>
                        })
                    })
                })
            }
            Listen::Unix(p) => {
                let _ = std::fs::remove_file(p);
                let l = UnixListener::bind(p).unwrap();
                l.set_nonblocking(true).unwrap();
                std::thread::spawn(move || {
                    serve(&st, &l2, limit, || {
                        l.accept().ok().map(|(s, _)| {
                            s.set_nonblocking(false).unwrap();
                            Box::new(s) as Box<dyn ReadTimeout>
                        })
                    })
                })
            }
        };
        Collector {
            lines,
            stop,
            thread: Some(thread),
        }
    }

    fn count(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

trait ReadTimeout: Read + Send {
    fn timeout(&self, d: Duration);
}
impl ReadTimeout for TcpStream {
    fn timeout(&self, d: Duration) {
        self.set_read_timeout(Some(d)).unwrap();
    }
}
impl ReadTimeout for std::os::unix::net::UnixStream {
    fn timeout(&self, d: Duration) {
        self.set_read_timeout(Some(d)).unwrap();
    }
}

fn serve(
    stop: &AtomicBool,
    lines: &Mutex<Vec<String>>,
    limit: usize,
    mut accept: impl FnMut() -> Option<Box<dyn ReadTimeout>>,
) {
    let mut conns: Vec<BufReader<Box<dyn ReadTimeout>>> = Vec::new();
    let mut partial: Vec<Vec<u8>> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        if let Some(s) = accept() {
            s.timeout(Duration::from_millis(10));
            conns.push(BufReader::new(s));
            partial.push(Vec::new());
        }
        let mut idle = true;
        for (c, buf) in conns.iter_mut().zip(partial.iter_mut()) {
            loop {
                match c.read_until(b'\n', buf) {
                    Ok(0) => break,
                    Ok(_) if buf.last() == Some(&b'\n') => {
                        idle = false;
                        let mut all = lines.lock().unwrap();
                        all.push(String::from_utf8_lossy(&buf[..buf.len() - 1]).into_owned());
                        buf.clear();
                        if all.len() >= limit {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }
        if idle {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    // Dropping the connections discards what the kernel still holds.
}

/// Run a replay of `flows` flows into a stream collector, stop the
/// collector mid-run for `outage`, start it again; check exactly-once.
fn stream_outage(name: &str, at: Listen, extra: &str) {
    let dir = tempfile::tempdir().unwrap();
    let pcap = capture(dir.path(), OUTAGE_FLOWS);
    let cfg = config(dir.path(), extra);
    let lines = Arc::new(Mutex::new(Vec::new()));
    let col = Collector::start_until(&at, lines.clone(), 2_000);
    let child = spawn_replay(dir.path(), &pcap, &cfg);
    assert!(
        wait_until(Duration::from_secs(60), || col.count() >= 2_000),
        "{name}: records arrive"
    );
    col.stop();
    let down_at = lines.lock().unwrap().len();
    std::thread::sleep(Duration::from_secs(3));
    let col = Collector::start(&at, lines.clone());
    let out = finish(child);
    let reference = read_lines(&dir.path().join("ref.json"));
    // The replay waited (flush-timeout) until everything was sent.
    assert!(wait_until(Duration::from_secs(30), || {
        let got = parse_all(&lines.lock().unwrap());
        let seqs: BTreeSet<u64> = got.iter().map(seq_of).collect();
        seqs.len() >= reference.len()
    }));
    col.stop();
    let got = parse_all(&lines.lock().unwrap());
    assert!(reference.len() >= 50_000, "{name}: {} records", reference.len());
    check_exactly_once(&reference, &got);
    let c = sink_line(&out, name);
    println!(
        "{name}: {} records, collector down after {down_at}, {} arrivals, counters {c:?}",
        reference.len(),
        got.len()
    );
    assert!(
        c.spooled > 0 || c.resent > 0,
        "{name}: the outage shows in the counters: {c:?}"
    );
    assert!(c.reconnects >= 1, "{name}: {c:?}");
    assert_eq!(c.dropped, 0);
    assert_eq!(c.spool_left, 0);
    let text: Vec<String> = lines.lock().unwrap().clone();
    keep_for_validation(&text, name);
}

const NET_OPTS: &str = "      flush-timeout: 60\n      reconnect-max: 1\n";

#[test]
fn tcp_collector_outage_exactly_once_in_order() {
    let _serial = heavy();
    let port = free_port();
    stream_outage(
        "tcp",
        Listen::Tcp(port),
        &format!(
            "  - eve-log:\n      filetype: tcp\n      server: 127.0.0.1\n      port: {port}\n{NET_OPTS}"
        ),
    );
}

#[test]
fn unix_stream_outage_exactly_once_in_order() {
    let _serial = heavy();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("eve.sock");
    stream_outage(
        "unix_stream",
        Listen::Unix(sock.clone()),
        &format!(
            "  - eve-log:\n      filetype: unix_stream\n      filename: {}\n{NET_OPTS}",
            sock.display()
        ),
    );
}

#[test]
fn unix_dgram_delivers_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("eve.dgram");
    let rx = UnixDatagram::bind(&sock).unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let pcap = capture(dir.path(), 2_000);
    let cfg = config(
        dir.path(),
        &format!(
            "  - eve-log:\n      filetype: unix_dgram\n      filename: {}\n{NET_OPTS}",
            sock.display()
        ),
    );
    let child = spawn_replay(dir.path(), &pcap, &cfg);
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while let Ok(n) = rx.recv(&mut buf) {
        got.push(String::from_utf8_lossy(&buf[..n]).trim_end().to_string());
    }
    finish(child);
    let reference = read_lines(&dir.path().join("ref.json"));
    check_exactly_once(&reference, &parse_all(&got));
    keep_for_validation(&got, "unix_dgram");
}

// ----------------------------------------------------------------- redis

struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start(dir: &Path, port: u16) -> Redis {
        // Append-only with fsync per write: what Redis acknowledged
        // survives the kill, as in a deployment that persists.
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
            ])
            .args(["--appendfsync", "always", "--dir"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let r = Redis { child, port };
        assert!(
            wait_until(Duration::from_secs(10), || r.cmd(&["PING"]).is_some()),
            "redis starts"
        );
        r
    }

    /// One command; the raw reply.
    fn cmd(&self, args: &[&str]) -> Option<Vec<u8>> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        s.write_all(req.as_bytes()).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let mut r = BufReader::new(s);
        if r.fill_buf().ok()?.first() != Some(&b'*') {
            let mut line = Vec::new();
            r.read_until(b'\n', &mut line).ok()?;
            return (!line.is_empty()).then_some(line);
        }
        let mut out = Vec::new();
        for item in read_array(&mut r)? {
            out.extend_from_slice(item.as_bytes());
            out.push(b'\n');
        }
        Some(out)
    }

    fn list(&self, key: &str) -> Vec<String> {
        let raw = self.cmd(&["LRANGE", key, "0", "-1"]).unwrap_or_default();
        String::from_utf8_lossy(&raw).lines().map(String::from).collect()
    }

    fn kill(self) {}
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn redis_list_outage_exactly_once_in_order() {
    let _serial = heavy();
    if !need("redis-server", "redis-server") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("redis");
    std::fs::create_dir_all(&data).unwrap();
    let port = free_port();
    let redis = Redis::start(&data, port);
    let pcap = capture(dir.path(), OUTAGE_FLOWS);
    let cfg = config(
        dir.path(),
        &format!("  - eve-log:\n      filetype: redis\n      redis:\n        server: 127.0.0.1\n        port: {port}\n        mode: rpush\n        key: tapwatch\n{NET_OPTS}"),
    );
    let child = spawn_replay(dir.path(), &pcap, &cfg);
    let len = |r: &Redis| -> usize {
        r.cmd(&["LLEN", "tapwatch"])
            .and_then(|b| String::from_utf8_lossy(&b[1..]).trim().parse().ok())
            .unwrap_or(0)
    };
    assert!(wait_until(Duration::from_secs(60), || len(&redis) >= 2_000));
    redis.kill();
    std::thread::sleep(Duration::from_secs(3));
    let redis = Redis::start(&data, port);
    let out = finish(child);
    let reference = read_lines(&dir.path().join("ref.json"));
    let got = redis.list("tapwatch");
    redis.kill();
    assert!(reference.len() >= 50_000);
    check_exactly_once(&reference, &parse_all(&got));
    let c = sink_line(&out, "redis");
    println!(
        "redis: {} records, {} in the list, counters {c:?}",
        reference.len(),
        got.len()
    );
    assert!(c.spooled > 0 && c.reconnects >= 1, "{c:?}");
    assert_eq!(c.dropped, 0);
    keep_for_validation(&got, "redis");
}

/// One RESP array reply (bulk strings and integers as text).
fn read_array(r: &mut impl BufRead) -> Option<Vec<String>> {
    let mut h = Vec::new();
    r.read_until(b'\n', &mut h).ok()?;
    let n: usize = String::from_utf8_lossy(h.get(1..)?).trim().parse().ok()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut e = Vec::new();
        r.read_until(b'\n', &mut e).ok()?;
        match e.first() {
            Some(b'$') => {
                let len: usize = String::from_utf8_lossy(&e[1..]).trim().parse().ok()?;
                let mut v = vec![0u8; len + 2];
                r.read_exact(&mut v).ok()?;
                out.push(String::from_utf8_lossy(&v[..len]).into_owned());
            }
            _ => out.push(String::from_utf8_lossy(e.get(1..)?).trim().to_string()),
        }
    }
    Some(out)
}

#[test]
fn redis_lpush_and_publish() {
    if !need("redis-server", "redis-server") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let redis = Redis::start(dir.path(), port);
    // A subscriber on the channel, subscribed before the replay starts.
    let mut sub = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sub.write_all(b"*2\r\n$9\r\nSUBSCRIBE\r\n$7\r\nevechan\r\n")
        .unwrap();
    let mut sub = BufReader::new(sub);
    assert_eq!(read_array(&mut sub).unwrap()[0], "subscribe");
    let published = Arc::new(Mutex::new(Vec::new()));
    let p2 = published.clone();
    sub.get_ref()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let reader = std::thread::spawn(move || {
        while let Some(m) = read_array(&mut sub) {
            if m.len() == 3 && m[0] == "message" {
                p2.lock().unwrap().push(m[2].clone());
            }
        }
    });
    let reference = replay_to_end(
        dir.path(),
        300,
        &format!("  - eve-log:\n      filetype: redis\n      server: 127.0.0.1\n      port: {port}\n      redis:\n        mode: list\n  - eve-log:\n      filetype: redis\n      port: {port}\n      redis:\n        mode: channel\n        key: evechan\n      types: [alert]\n"),
    );
    let mut listed = redis.list("suricata");
    listed.reverse(); // LPUSH puts the newest first
    check_exactly_once(&reference, &parse_all(&listed));
    // The channel carried the alerts only.
    let alerts: Vec<&String> = reference
        .iter()
        .filter(|l| l.contains("\"event_type\":\"alert\""))
        .collect();
    assert_eq!(alerts.len(), 30);
    assert!(wait_until(Duration::from_secs(5), || published
        .lock()
        .unwrap()
        .len()
        >= alerts.len()));
    redis.kill();
    reader.join().unwrap();
    let published = published.lock().unwrap().clone();
    assert_eq!(published.len(), alerts.len(), "every alert published");
    let want: Vec<u64> = alerts
        .iter()
        .map(|l| seq_of(&serde_json::from_str(l).unwrap()))
        .collect();
    let got: Vec<u64> = parse_all(&published).iter().map(seq_of).collect();
    assert_eq!(got, want);
    keep_for_validation(&listed, "redis-list");
    keep_for_validation(&published, "redis-channel");
}

// ---------------------------------------------------------------- syslog

struct Rsyslog {
    child: Child,
}

fn rsyslog_conf(dir: &Path, tcp: u16, udp: u16) -> PathBuf {
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            "global(workDirectory=\"{d}\" maxMessageSize=\"64k\")\n\
             module(load=\"imtcp\")\nmodule(load=\"imudp\")\n\
             input(type=\"imtcp\" port=\"{tcp}\" address=\"127.0.0.1\")\n\
             input(type=\"imudp\" port=\"{udp}\" address=\"127.0.0.1\")\n\
             template(name=\"tw\" type=\"string\" string=\"%syslogfacility% %syslogseverity% %msgid% %structured-data% %msg%\\n\")\n\
             *.* action(type=\"omfile\" file=\"{d}/out.log\" template=\"tw\")\n",
            d = dir.display()
        ),
    )
    .unwrap();
    conf
}

impl Rsyslog {
    fn start(dir: &Path, conf: &Path, tcp: u16) -> Rsyslog {
        let child = Command::new("rsyslogd")
            .args(["-n", "-f"])
            .arg(conf)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        assert!(
            wait_until(Duration::from_secs(10), || TcpStream::connect(("127.0.0.1", tcp))
                .is_ok()),
            "rsyslogd listens"
        );
        Rsyslog { child }
    }

    /// SIGTERM, as a service manager stops it; rsyslogd writes out what it
    /// had queued.
    fn stop(self) {}
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

/// Lines of rsyslog's file: (facility, severity, msgid, structured data seq, JSON).
fn syslog_records(dir: &Path) -> Vec<(u32, u32, String, u64, String)> {
    read_lines(&dir.join("out.log"))
        .into_iter()
        .filter_map(|l| {
            let mut it = l.splitn(4, ' ');
            let fac = it.next()?.parse().ok()?;
            let sev = it.next()?.parse().ok()?;
            let msgid = it.next()?.to_string();
            // `[tapwatch@32473 seq="N"] {json}`
            let (sd, json) = it.next()?.split_once("] ")?;
            let seq = sd.split("seq=\"").nth(1)?.split('"').next()?.parse().ok()?;
            Some((fac, sev, msgid, seq, json.trim().to_string()))
        })
        .collect()
}

#[test]
fn syslog_tcp_outage_and_udp_delivery() {
    let _serial = heavy();
    if !need("rsyslogd", "rsyslog") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (tcp, udp) = (free_port(), free_port());
    let conf = rsyslog_conf(dir.path(), tcp, udp);
    let rs = Rsyslog::start(dir.path(), &conf, tcp);
    let pcap = capture(dir.path(), OUTAGE_FLOWS);
    let cfg = config(
        dir.path(),
        &format!("  - eve-log:\n      filetype: syslog\n      server: 127.0.0.1\n      port: {tcp}\n      protocol: tcp\n      facility: local3\n{NET_OPTS}"),
    );
    let child = spawn_replay(dir.path(), &pcap, &cfg);
    assert!(wait_until(Duration::from_secs(60), || syslog_records(dir.path())
        .len()
        >= 2_000));
    rs.stop();
    std::thread::sleep(Duration::from_secs(3));
    let rs = Rsyslog::start(dir.path(), &conf, tcp);
    let out = finish(child);
    let reference = read_lines(&dir.path().join("ref.json"));
    assert!(wait_until(Duration::from_secs(30), || {
        let seqs: BTreeSet<u64> = syslog_records(dir.path()).iter().map(|r| r.3).collect();
        seqs.len() >= reference.len()
    }));
    let recs = syslog_records(dir.path());
    let json: Vec<String> = recs.iter().map(|r| r.4.clone()).collect();
    let parsed = parse_all(&json);
    check_exactly_once(&reference, &parsed);
    for (r, v) in recs.iter().zip(&parsed) {
        assert_eq!(r.0, 19, "facility local3");
        assert_eq!(r.3, seq_of(v), "structured data carries the same seq");
        assert_eq!(r.2, v["event_type"].as_str().unwrap(), "msgid is the event type");
        let want = if v["event_type"] == "alert" { 2 } else { 6 };
        assert_eq!(r.1, want, "severity from alert severity 1 (crit), else info");
    }
    let c = sink_line(&out, "syslog");
    println!(
        "syslog: {} records, {} lines, counters {c:?}",
        reference.len(),
        recs.len()
    );
    assert!(c.reconnects >= 1 && (c.spooled > 0 || c.resent > 0), "{c:?}");
    keep_for_validation(&json, "syslog");

    // UDP: a small replay, read back from the same file.
    rs.stop();
    let _ = std::fs::remove_file(dir.path().join("out.log"));
    let rs = Rsyslog::start(dir.path(), &conf, tcp);
    // The UDP input has no handshake to wait for; give it a moment. UDP
    // has no delivery guarantee: a small run that fits socket buffers.
    std::thread::sleep(Duration::from_secs(1));
    let small = tempfile::tempdir().unwrap();
    let reference = replay_to_end(
        small.path(),
        60,
        &format!("  - eve-log:\n      filetype: syslog\n      server: 127.0.0.1\n      port: {udp}\n      level: notice\n"),
    );
    assert!(wait_until(Duration::from_secs(10), || syslog_records(dir.path())
        .len()
        >= reference.len()));
    rs.stop();
    let recs = syslog_records(dir.path());
    assert!(recs.iter().all(|r| r.0 == 21), "default facility local5");
    assert!(
        recs.iter().filter(|r| r.2 == "flow").all(|r| r.1 == 5),
        "level notice"
    );
    let json: Vec<String> = recs.iter().map(|r| r.4.clone()).collect();
    check_exactly_once(&reference, &parse_all(&json));
}

// ------------------------------------------------- spool limits, restart

#[test]
fn tiny_spool_drops_are_counted_and_the_spool_resumes_next_start() {
    let _serial = heavy();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let pcap = capture(dir.path(), 5_000);
    // No collector: everything goes to a 64 KiB spool or is dropped; the
    // replay does not wait (flush-timeout 0).
    let extra = format!("  - eve-log:\n      filetype: tcp\n      port: {port}\n      flush-timeout: 0\n      spool:\n        max-size: 64kb\n");
    let cfg = config(dir.path(), &extra);
    let out = finish(spawn_replay(dir.path(), &pcap, &cfg));
    let first = read_lines(&dir.path().join("ref.json"));
    let c1 = sink_line(&out, "tcp");
    assert!(c1.dropped > 0, "{c1:?}");
    assert_eq!(c1.written, 0);
    assert_eq!(c1.spooled, c1.spool_left);
    assert_eq!(c1.spooled + c1.dropped, first.len() as u64, "{c1:?}");
    let spool_bytes: u64 = walk(&dir.path().join("spool"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .map(|p| p.metadata().unwrap().len())
        .sum();
    assert!(spool_bytes <= 64 * 1024, "{spool_bytes}");

    // Next start, collector up: the spool goes first, then the new run.
    let lines = Arc::new(Mutex::new(Vec::new()));
    let col = Collector::start(&Listen::Tcp(port), lines.clone());
    let small = capture(dir.path(), 100);
    std::fs::rename(dir.path().join("ref.json"), dir.path().join("ref1.json")).unwrap();
    let extra = format!("  - eve-log:\n      filetype: tcp\n      port: {port}\n      flush-timeout: 30\n      spool:\n        max-size: 64kb\n");
    let cfg = config(dir.path(), &extra);
    let out = finish(spawn_replay(dir.path(), &small, &cfg));
    let second = read_lines(&dir.path().join("ref.json"));
    assert!(wait_until(Duration::from_secs(10), || col.count() as u64
        >= c1.spooled + second.len() as u64));
    col.stop();
    let got = parse_all(&lines.lock().unwrap());
    let c2 = sink_line(&out, "tcp");
    assert!(c2.resent >= c1.spooled, "{c2:?}");
    assert_eq!(c2.spool_left, 0);
    let first_seqs: BTreeSet<u64> = first
        .iter()
        .map(|l| seq_of(&serde_json::from_str(l).unwrap()))
        .collect();
    let arrived_first = got.iter().filter(|v| first_seqs.contains(&seq_of(v))).count() as u64;
    assert_eq!(
        first.len() as u64 - arrived_first,
        c1.dropped,
        "the drop counter is what did not arrive"
    );
    // The new run's records follow, all of them, after the old ones.
    let seqs: Vec<u64> = got.iter().map(seq_of).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(got.len() as u64, arrived_first + second.len() as u64);
}

fn walk(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

fn elapsed_secs(out: &Output) -> f64 {
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err.lines().find(|l| l.trim_start().starts_with("time:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches('s')
        .parse()
        .unwrap()
}

#[test]
fn stalled_sink_does_not_slow_inspection() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = capture(dir.path(), 20_000);
    // A listener that never accepts: connections sit in its backlog and
    // writes stall once the buffers fill.
    let stalled = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = stalled.local_addr().unwrap().port();
    let base = tempfile::tempdir().unwrap();
    let out_base = finish(spawn_replay(base.path(), &pcap, &config(base.path(), "")));
    let with = tempfile::tempdir().unwrap();
    let extra = format!("  - eve-log:\n      filetype: tcp\n      port: {port}\n      flush-timeout: 0\n      write-timeout: 0.2\n      spool:\n        max-size: 2mb\n");
    let out_with = finish(spawn_replay(with.path(), &pcap, &config(with.path(), &extra)));
    let (a, b) = (elapsed_secs(&out_base), elapsed_secs(&out_with));
    let c = sink_line(&out_with, "tcp");
    println!(
        "stalled sink: replay {a:.3}s without it, {b:.3}s with it: throughput ratio {:.3}; counters {c:?}",
        a / b
    );
    // Nothing was lost on the file sink.
    assert_eq!(
        read_lines(&base.path().join("ref.json")).len(),
        read_lines(&with.path().join("ref.json")).len()
    );
    assert!(c.spooled + c.dropped + c.written > 0);
    drop(stalled);
}

// ------------------------------------------------------------- file sink

#[test]
fn file_rename_and_sighup_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = capture(dir.path(), 20_000);
    let extra = "  - eve-log:\n      filename: rotated.json\n";
    let cfg = config(dir.path(), extra);
    let child = spawn_replay(dir.path(), &pcap, &cfg);
    let live = dir.path().join("rotated.json");
    assert!(wait_until(Duration::from_secs(60), || read_lines(&live).len() >= 1_000));
    std::fs::rename(&live, dir.path().join("rotated.json.1")).unwrap();
    let ok = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    finish(child);
    let reference = read_lines(&dir.path().join("ref.json"));
    let old = read_lines(&dir.path().join("rotated.json.1"));
    let new = read_lines(&live);
    assert!(!old.is_empty());
    println!("rotated: {} before the HUP, {} after", old.len(), new.len());
    let mut all = old;
    all.extend(new);
    assert_eq!(all, reference, "nothing lost or repeated across the reopen");
    keep_for_validation(&all, "file");
}
