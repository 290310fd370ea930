//! `tapwatch run`: live inspection of mirrored traffic received over UDP.
//!
//! The packet path is the engine's ([`tapwatch_engine::live`]); this file
//! reads the `live.*` and `mirror.*` settings, and runs the control plane
//! on a small tokio runtime: the HTTP health/metrics endpoint, an optional
//! plain TCP health port, SIGHUP (rule reload) and SIGTERM/SIGINT (drain).

use crate::config::{self, Node};
use crate::{load_rules, Log};
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tapwatch_engine::decode::Encap;
use tapwatch_engine::live::{Cidr, Listener, Live, LiveConfig, LiveShared};
use tapwatch_engine::EngineConfig;

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    common: crate::CommonArgs,
}

/// Settings of the control plane.
#[derive(Debug, Clone)]
pub struct Control {
    pub http: Option<SocketAddr>,
    pub health_tcp: Option<SocketAddr>,
    pub drain_timeout: Duration,
    /// After SIGTERM, keep receiving this long while /healthz answers 503,
    /// so the load balancer marks the target unhealthy and stops sending.
    pub shutdown_grace: Duration,
}

/// Values given as a YAML list, or as a `--set` scalar `[a, b]` / `a,b`.
fn list_at(root: &Node, path: &str) -> Option<Vec<String>> {
    match root.get(path)? {
        Node::List(l) => Some(
            l.iter()
                .filter_map(|n| match n {
                    Node::Scalar(s) => Some(s.trim().to_string()),
                    _ => None,
                })
                .collect(),
        ),
        Node::Scalar(s) => Some(
            s.trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split(',')
                .map(|x| x.trim().trim_matches('"').to_string())
                .filter(|x| !x.is_empty())
                .collect(),
        ),
        _ => None,
    }
}

fn off(s: &str) -> bool {
    config::truthy(s) == Some(false) || s.trim().is_empty()
}

fn addr(s: &str, path: &str) -> Result<SocketAddr> {
    let s = s.trim();
    // ":8080" means every address, as Go and Prometheus write it.
    let full = if s.starts_with(':') {
        format!("0.0.0.0{s}")
    } else {
        s.to_string()
    };
    full.parse()
        .map_err(|_| anyhow!("{path}: '{s}' is not an address:port"))
}

fn secs_at(root: &Node, path: &str, default: u64) -> Result<u64> {
    match root.str(path) {
        None => Ok(default),
        Some(s) => s
            .trim()
            .trim_end_matches('s')
            .parse()
            .map_err(|_| anyhow!("{path}: expected seconds, got '{s}'")),
    }
}

/// Read `live.*` and `mirror.*` (allow-lists) into the live settings.
pub fn live_settings(root: &Node) -> Result<(LiveConfig, Control)> {
    let mut lc = LiveConfig::default();
    lc.listeners.clear();
    for (key, encap, default) in [
        ("live.vxlan-listen", Encap::Vxlan, "0.0.0.0:4789"),
        ("live.geneve-listen", Encap::Geneve, "0.0.0.0:6081"),
    ] {
        let items = list_at(root, key).unwrap_or_else(|| vec![default.to_string()]);
        for it in items {
            if off(&it) {
                continue;
            }
            lc.listeners.push(Listener {
                addr: addr(&it, key)?,
                encap,
            });
        }
    }
    if lc.listeners.is_empty() {
        bail!("live.vxlan-listen and live.geneve-listen are both off: nothing to receive");
    }
    if let Some(s) = root.str("live.sockets-per-port") {
        lc.sockets_per_port = s
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=64).contains(n))
            .ok_or_else(|| anyhow!("live.sockets-per-port: expected 1..64, got '{s}'"))?;
    }
    if let Some(s) = root.str("live.recv-buffer") {
        let n = config::size(s).ok_or_else(|| anyhow!("live.recv-buffer: bad size '{s}'"))?;
        lc.recv_buffer = usize::try_from(n.min(1 << 31)).unwrap_or(1 << 31);
    }
    if let Some(s) = root.str("live.queue-depth") {
        lc.queue_depth = s
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=65536).contains(n))
            .ok_or_else(|| anyhow!("live.queue-depth: expected 1..65536, got '{s}'"))?;
    }
    let stats = secs_at(root, "live.stats-interval", 30)?;
    lc.stats_interval = (stats > 0).then(|| Duration::from_secs(stats));
    for c in list_at(root, "mirror.allow-sources").unwrap_or_default() {
        lc.allow_sources.push(
            c.parse::<Cidr>()
                .map_err(|e| anyhow!("mirror.allow-sources: {e}"))?,
        );
    }
    for v in list_at(root, "mirror.allow-vnis").unwrap_or_default() {
        let vni = v
            .parse::<u32>()
            .ok()
            .filter(|n| *n < 1 << 24)
            .ok_or_else(|| anyhow!("mirror.allow-vnis: '{v}' is not a VNI (0..16777215)"))?;
        lc.allow_vnis.push(vni);
    }
    let http = match root.str("live.http-listen") {
        None => Some(addr("0.0.0.0:8080", "live.http-listen")?),
        Some(s) if off(s) => None,
        Some(s) => Some(addr(s, "live.http-listen")?),
    };
    let health_tcp = match root.str("live.health-tcp-listen") {
        None => None,
        Some(s) if off(s) => None,
        Some(s) => Some(addr(s, "live.health-tcp-listen")?),
    };
    let drain_timeout = Duration::from_secs(secs_at(root, "live.drain-timeout", 30)?.max(1));
    let shutdown_grace = Duration::from_secs(secs_at(root, "live.shutdown-grace", 0)?);
    Ok((
        lc,
        Control {
            http,
            health_tcp,
            drain_timeout,
            shutdown_grace,
        },
    ))
}

/// Everything a reload needs to build the ruleset again.
pub struct RuleSource {
    pub cli: Vec<PathBuf>,
    pub app: config::AppConfig,
    /// Rules that failed to load in the running set.
    pub failed: usize,
}

impl RuleSource {
    /// Build a new ruleset from the same sources. A reload is refused when
    /// a source cannot be read or more rules fail than in the running set
    /// (a typo must not silently remove a rule).
    pub fn rebuild(&mut self) -> Result<tapwatch_rules::RuleSet> {
        let (rules, report) = load_rules(&self.cli, &self.app)?;
        if report.failed > self.failed {
            let first = report.errors.first().map(|e| e.to_string()).unwrap_or_default();
            bail!(
                "{} rule(s) fail to load (running set: {}); first: {first}",
                report.failed,
                self.failed
            );
        }
        self.failed = report.failed;
        Ok(rules)
    }
}

pub fn run(a: RunArgs) -> Result<ExitCode> {
    let a = a.common;
    let log = a.log();
    let mut ec = EngineConfig::default();
    // Live defaults: sessions already open when tapwatch starts (or when a
    // mirror session is created) must still be inspected, and behind an NLB
    // a target may see only one direction of a connection.
    ec.stream.midstream = true;
    ec.stream.async_oneside = true;
    let (tree, app) = a.load_config(&mut ec, &log)?;
    let (lc, control) = live_settings(&tree)?;

    let (rules, report) = load_rules(&a.rules, &app)?;
    log.skipped_rules(&report.errors);
    log.info(format!(
        "{} rules loaded, {} failed",
        report.loaded, report.failed
    ));
    let rules = Arc::new(rules);

    let eve = crate::eve_outputs(a.log_dir.as_ref(), a.eve.as_deref(), &app, &tree)?;
    let sessions = ec.eve.sessions.clone();
    let live = Live::start(&ec, &lc, rules, &eve).context("cannot start live ingress")?;
    for w in &live.warnings {
        log.warn(w);
    }
    for (l, b) in lc.listeners.iter().zip(&live.bound) {
        log.info(format!("listening on udp {b} ({})", l.encap.as_str()));
    }
    let source = RuleSource {
        cli: a.rules.clone(),
        app,
        failed: report.failed,
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the control-plane runtime")?;
    rt.block_on(control_plane(live, source, control, sessions, log))
}

async fn control_plane(
    live: Live,
    mut source: RuleSource,
    control: Control,
    sessions: std::collections::BTreeMap<u32, String>,
    log: Log,
) -> Result<ExitCode> {
    use tokio::signal::unix::{signal, SignalKind};
    let shared: Arc<LiveShared> = live.shared.clone();
    let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;

    let state = Arc::new(crate::http::State {
        shared: shared.clone(),
        sessions,
    });
    if let Some(addr) = control.http {
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for HTTP on {addr}"))?;
        log.info(format!(
            "health and metrics on http://{}/healthz and /metrics",
            l.local_addr().unwrap_or(addr)
        ));
        tokio::spawn(crate::http::serve(l, state.clone()));
    }
    let tcp_health = match control.health_tcp {
        Some(addr) => {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for TCP health checks on {addr}"))?;
            log.info(format!("TCP health check on {addr}"));
            let sh = shared.clone();
            Some(tokio::spawn(async move {
                loop {
                    // An accepted connection is the answer; closing it is fine.
                    if let Ok((s, _)) = l.accept().await {
                        if !sh.healthy() {
                            break;
                        }
                        drop(s);
                    }
                }
            }))
        }
        None => None,
    };

    loop {
        tokio::select! {
            _ = hup.recv() => {
                log.info("SIGHUP: reloading rules");
                let built = tokio::task::block_in_place(|| source.rebuild());
                match built {
                    Ok(rules) => {
                        let n = rules.len();
                        shared.swap_rules(Arc::new(rules));
                        log.info(format!("rules reloaded: {n} rules"));
                    }
                    Err(e) => {
                        shared.reload_failures.fetch_add(1, Relaxed);
                        log.warn(format!("rule reload failed, keeping the running rules: {e:#}"));
                    }
                }
            }
            _ = term.recv() => { log.info("SIGTERM: draining"); break; }
            _ = int.recv() => { log.info("SIGINT: draining"); break; }
        }
    }

    shared.draining.store(true, Relaxed);
    if let Some(t) = tcp_health {
        t.abort();
    }
    if !control.shutdown_grace.is_zero() {
        log.info(format!(
            "unhealthy for {}s before stopping (live.shutdown-grace)",
            control.shutdown_grace.as_secs()
        ));
        tokio::time::sleep(control.shutdown_grace).await;
    }
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("tapwatch-drain".into())
        .spawn(move || {
            let _ = done_tx.send(live.drain());
        })
        .context("cannot start drain")?;
    match tokio::time::timeout(control.drain_timeout, done_rx).await {
        Ok(Ok(Ok(s))) => {
            log.info(format!(
                "drained: {} datagrams received, {} processed, {} alerts, {} EVE records",
                s.received, s.stats.decode.packets, s.stats.alerts, s.records_written
            ));
            if s.records_lost > 0 || s.worker_failures > 0 {
                eprintln!(
                    "tapwatch: error: {} EVE records lost, {} threads failed",
                    s.records_lost, s.worker_failures
                );
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(Ok(Err(e))) => Err(anyhow!("EVE output failed while draining: {e}")),
        Ok(Err(_)) => Err(anyhow!("drain thread failed")),
        Err(_) => {
            eprintln!(
                "tapwatch: error: drain did not finish within {}s (live.drain-timeout)",
                control.drain_timeout.as_secs()
            );
            Ok(ExitCode::from(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let root = Node::Map(Vec::new());
        let (lc, c) = live_settings(&root).unwrap();
        assert_eq!(lc.listeners.len(), 2);
        assert_eq!(lc.listeners[0].addr, "0.0.0.0:4789".parse().unwrap());
        assert_eq!(lc.listeners[1].encap, Encap::Geneve);
        assert_eq!(c.http, Some("0.0.0.0:8080".parse().unwrap()));
        assert!(c.health_tcp.is_none());

        let mut root = config::parse_text(
            "live:\n  vxlan-listen: [\"127.0.0.1:4000\", \"127.0.0.1:4001\"]\n  http-listen: \":9090\"\nmirror:\n  allow-sources:\n    - 10.0.0.0/16\n  allow-vnis: [7, 8]\n",
            "t",
        )
        .unwrap();
        config::apply_set(&mut root, "live.geneve-listen=off").unwrap();
        config::apply_set(&mut root, "live.recv-buffer=8mb").unwrap();
        let (lc, c) = live_settings(&root).unwrap();
        assert_eq!(lc.listeners.len(), 2);
        assert!(lc.listeners.iter().all(|l| l.encap == Encap::Vxlan));
        assert_eq!(lc.recv_buffer, 8 << 20);
        assert_eq!(lc.allow_vnis, vec![7, 8]);
        assert_eq!(lc.allow_sources.len(), 1);
        assert_eq!(c.http, Some("0.0.0.0:9090".parse().unwrap()));
        config::apply_set(&mut root, "mirror.allow-sources=[10.0.0.0/8, 192.168.1.1]").unwrap();
        let (lc, _) = live_settings(&root).unwrap();
        assert_eq!(lc.allow_sources.len(), 2);
    }

    #[test]
    fn bad_values_are_errors() {
        for set in [
            "live.vxlan-listen=nowhere",
            "live.recv-buffer=lots",
            "mirror.allow-vnis=[99999999]",
            "mirror.allow-sources=[10.0.0.0/40]",
            "live.sockets-per-port=0",
            "live.drain-timeout=soon",
        ] {
            let mut root = Node::Map(Vec::new());
            config::apply_set(&mut root, set).unwrap();
            assert!(live_settings(&root).is_err(), "{set}");
        }
        let mut root = Node::Map(Vec::new());
        config::apply_set(&mut root, "live.vxlan-listen=off").unwrap();
        config::apply_set(&mut root, "live.geneve-listen=no").unwrap();
        assert!(live_settings(&root).is_err());
    }
}
