//! The health and metrics endpoint of `tapwatch run`: `/healthz` for a
//! load balancer's HTTP health check and `/metrics` in Prometheus text
//! format.

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tapwatch_engine::live::LiveShared;

pub struct State {
    pub shared: Arc<LiveShared>,
    pub sessions: BTreeMap<u32, String>,
}

/// Accept connections until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let st = state.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(req, st.clone()));
            let conn = http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), svc);
            let _ = tokio::time::timeout(Duration::from_secs(30), conn).await;
        });
    }
}

fn reply(code: StatusCode, ctype: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = code;
    if let Ok(v) = hyper::header::HeaderValue::from_str(ctype) {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

async fn handle(req: Request<Incoming>, st: Arc<State>) -> Result<Response<Full<Bytes>>, Infallible> {
    let sh = &st.shared;
    Ok(match req.uri().path() {
        "/healthz" | "/health" => {
            if sh.draining.load(Relaxed) {
                reply(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "draining\n".into())
            } else if sh.healthy() {
                reply(StatusCode::OK, "text/plain", "ok\n".into())
            } else {
                reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    "workers down\n".into(),
                )
            }
        }
        "/metrics" => reply(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            render(&st),
        ),
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
    })
}

type Labels = Vec<(String, String)>;

fn counter_family(reg: &mut Registry, name: &str, help: &str, rows: &[(Labels, u64)]) {
    let fam = Family::<Labels, Counter>::default();
    for (l, v) in rows {
        fam.get_or_create(l).inc_by(*v);
    }
    reg.register(name, help, fam);
}

fn counter(reg: &mut Registry, name: &str, help: &str, v: u64) {
    let c = Counter::<u64>::default();
    c.inc_by(v);
    reg.register(name, help, c);
}

fn gauge(reg: &mut Registry, name: &str, help: &str, v: u64) {
    let g = Gauge::<i64>::default();
    g.set(i64::try_from(v).unwrap_or(i64::MAX));
    reg.register(name, help, g);
}

fn l(pairs: &[(&str, String)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// The metrics text, built fresh from the counters at each scrape.
pub fn render(st: &State) -> String {
    let sh = &st.shared;
    let mut reg = Registry::with_prefix("tapwatch");
    let m = sh.merged();

    let mut ports: Vec<(Labels, u64)> = Vec::new();
    let mut bytes: Vec<(Labels, u64)> = Vec::new();
    for p in &sh.ports {
        let labels = l(&[
            ("listener", p.addr.to_string()),
            ("encap", p.encap.as_str().to_string()),
        ]);
        ports.push((labels.clone(), p.packets.load(Relaxed)));
        bytes.push((labels, p.bytes.load(Relaxed)));
    }
    counter_family(
        &mut reg,
        "received_packets",
        "Datagrams received per listener",
        &ports,
    );
    counter_family(
        &mut reg,
        "received_bytes",
        "Datagram payload bytes received per listener",
        &bytes,
    );

    let vnis: BTreeMap<u32, (u64, u64)> = sh.vnis.lock().map(|m| m.clone()).unwrap_or_default();
    let vlabels = |vni: u32| {
        let mut v = l(&[("vni", vni.to_string())]);
        if let Some(s) = st.sessions.get(&vni) {
            v.push(("session".into(), s.clone()));
        }
        v
    };
    let vp: Vec<(Labels, u64)> = vnis.iter().map(|(k, (p, _))| (vlabels(*k), *p)).collect();
    let vb: Vec<(Labels, u64)> = vnis.iter().map(|(k, (_, b))| (vlabels(*k), *b)).collect();
    counter_family(&mut reg, "vni_packets", "Datagrams accepted per mirror VNI", &vp);
    counter_family(
        &mut reg,
        "vni_bytes",
        "Datagram payload bytes accepted per mirror VNI",
        &vb,
    );
    counter(
        &mut reg,
        "vni_overflow_packets",
        "Datagrams of VNIs beyond the 4096 counted one by one",
        sh.vni_overflow.load(Relaxed),
    );

    let d = &sh.drops;
    let mut drops = vec![
        (l(&[("cause", "queue_full".into())]), d.queue_full.load(Relaxed)),
        (
            l(&[("cause", "source_denied".into())]),
            d.source_denied.load(Relaxed),
        ),
        (l(&[("cause", "vni_denied".into())]), d.vni_denied.load(Relaxed)),
        (l(&[("cause", "not_tunnel".into())]), d.not_tunnel.load(Relaxed)),
        (
            l(&[("cause", "mirror_duplicate".into())]),
            d.mirror_duplicate.load(Relaxed),
        ),
    ];
    if let Some(k) = sh.kernel_drops() {
        drops.push((l(&[("cause", "kernel".into())]), k));
    }
    counter_family(
        &mut reg,
        "dropped_packets",
        "Datagrams dropped before detection, by cause",
        &drops,
    );
    counter(
        &mut reg,
        "processed_packets",
        "Packets inspected by the workers",
        m.stats.decode.packets,
    );
    counter(&mut reg, "flows", "Flows created", m.stats.flows.total);
    gauge(&mut reg, "flows_active", "Flows held now", m.flows_active);
    counter(
        &mut reg,
        "flow_memcap_drops",
        "Packets inspected without a flow because the flow table was full",
        m.stats.flows.memcap,
    );
    let sev: Vec<(Labels, u64)> = m
        .by_severity
        .iter()
        .map(|(s, n)| (l(&[("severity", s.to_string())]), *n))
        .collect();
    counter_family(&mut reg, "alerts", "Alerts raised, by severity", &sev);
    counter(
        &mut reg,
        "rule_reloads",
        "Rule reloads applied",
        sh.reloads.load(Relaxed),
    );
    counter(
        &mut reg,
        "rule_reload_failures",
        "Rule reloads refused (the running rules were kept)",
        sh.reload_failures.load(Relaxed),
    );
    gauge(
        &mut reg,
        "rules_loaded",
        "Rules in the running set",
        sh.rules.load().len() as u64,
    );
    gauge(
        &mut reg,
        "output_queue_depth",
        "EVE records waiting for the writer",
        sh.output_queue.load(Relaxed) as u64,
    );
    if let Some(probes) = sh.sinks.get() {
        let reports: Vec<_> = probes.iter().map(|p| p.report()).collect();
        let rows = |f: fn(&tapwatch_engine::output::SinkReport) -> u64| -> Vec<(Labels, u64)> {
            reports
                .iter()
                .map(|r| (l(&[("sink", r.name.clone()), ("target", r.target.clone())]), f(r)))
                .collect()
        };
        counter_family(
            &mut reg,
            "sink_written",
            "EVE records delivered per sink",
            &rows(|r| r.written),
        );
        counter_family(
            &mut reg,
            "sink_spooled",
            "EVE records spilled to the disk spool per sink",
            &rows(|r| r.spooled),
        );
        counter_family(
            &mut reg,
            "sink_resent",
            "EVE records sent again after a reconnect or from the spool",
            &rows(|r| r.resent),
        );
        counter_family(
            &mut reg,
            "sink_dropped",
            "EVE records dropped per sink (queue and spool full)",
            &rows(|r| r.dropped),
        );
        counter_family(
            &mut reg,
            "sink_reconnects",
            "Reconnections per network sink",
            &rows(|r| r.reconnects),
        );
        let spool = Family::<Labels, Gauge>::default();
        for (labels, v) in rows(|r| r.spool_records) {
            spool
                .get_or_create(&labels)
                .set(i64::try_from(v).unwrap_or(i64::MAX));
        }
        reg.register(
            "sink_spool_records",
            "EVE records waiting in the disk spool per sink",
            spool,
        );
    }
    counter(
        &mut reg,
        "eve_records_lost",
        "EVE records that could not be written",
        sh.records_lost.load(Relaxed),
    );
    gauge(
        &mut reg,
        "workers_alive",
        "Worker threads running",
        sh.workers_alive.load(Relaxed) as u64,
    );
    gauge(
        &mut reg,
        "draining",
        "1 while shutting down",
        u64::from(sh.draining.load(Relaxed)),
    );
    gauge(
        &mut reg,
        "uptime_seconds",
        "Seconds since start",
        sh.started.elapsed().as_secs(),
    );

    let mut out = String::new();
    if encode(&mut out, &reg).is_err() {
        out.clear();
    }
    out
}
