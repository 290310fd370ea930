//! Configuration in suricata.yaml's shape.
//!
//! The file is read into a small tree ([`Node`]), `include` files are
//! merged, `--set key=value` overrides are applied with Suricata's dotted
//! names (list items by index: `outputs.0.eve-log.enabled`), and then the
//! keys tapwatch implements are turned into an [`EngineConfig`]. Keys it
//! does not implement yet are reported once.

use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tapwatch_engine::config::{AnomalyTypes, Timeouts};
use tapwatch_engine::output::sink::{facility, severity};
use tapwatch_engine::output::{RedisMode, SinkConfig, SinkKind, SyslogProto};
use tapwatch_engine::EngineConfig;
use yaml_rust2::{Yaml, YamlLoader};

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Map(Vec<(String, Node)>),
    List(Vec<Node>),
    Scalar(String),
    Null,
}

impl Node {
    fn from_yaml(y: &Yaml) -> Node {
        match y {
            Yaml::Hash(h) => Node::Map(
                h.iter()
                    .map(|(k, v)| (scalar_string(k).unwrap_or_default(), Node::from_yaml(v)))
                    .collect(),
            ),
            Yaml::Array(a) => Node::List(a.iter().map(Node::from_yaml).collect()),
            Yaml::Null | Yaml::BadValue | Yaml::Alias(_) => Node::Null,
            other => Node::Scalar(scalar_string(other).unwrap_or_default()),
        }
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        let mut cur = self;
        for part in path.split('.') {
            cur = match cur {
                Node::Map(m) => &m.iter().find(|(k, _)| k == part)?.1,
                Node::List(l) => {
                    let i: usize = part.parse().ok()?;
                    // Suricata addresses `outputs.0.eve-log`: the list item is
                    // a one-key map.
                    l.get(i)?
                }
                _ => return None,
            };
        }
        Some(cur)
    }

    pub fn str(&self, path: &str) -> Option<&str> {
        match self.get(path)? {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// Set a dotted path, creating maps on the way.
    pub fn set(&mut self, path: &str, value: Node) -> Result<()> {
        let mut cur = self;
        let parts: Vec<&str> = path.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            if matches!(cur, Node::Null | Node::Scalar(_)) {
                *cur = Node::Map(Vec::new());
            }
            cur = match cur {
                Node::Map(m) => {
                    let pos = match m.iter().position(|(k, _)| k == part) {
                        Some(p) => p,
                        None => {
                            m.push((part.to_string(), Node::Null));
                            m.len() - 1
                        }
                    };
                    &mut m[pos].1
                }
                Node::List(l) => {
                    let idx: usize = part
                        .parse()
                        .map_err(|_| anyhow!("'{part}' in '{path}' must be a list index"))?;
                    if idx > l.len() {
                        bail!("index {idx} in '{path}' is past the end of the list");
                    }
                    if idx == l.len() {
                        l.push(Node::Null);
                    }
                    &mut l[idx]
                }
                _ => unreachable!("replaced above"),
            };
            if last {
                *cur = value;
                return Ok(());
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: Node) {
        match (self, other) {
            (Node::Map(a), Node::Map(b)) => {
                for (k, v) in b {
                    match a.iter_mut().find(|(ak, _)| *ak == k) {
                        Some((_, av)) => av.merge(v),
                        None => a.push((k, v)),
                    }
                }
            }
            (s, o) => *s = o,
        }
    }

    fn keys(&self) -> Vec<&str> {
        match self {
            Node::Map(m) => m.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        }
    }
}

fn scalar_string(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(if *b { "yes".into() } else { "no".into() }),
        _ => None,
    }
}

/// Parse config text (with or without the `%YAML 1.1` header).
pub fn parse_text(text: &str, origin: &str) -> Result<Node> {
    // Suricata's files start with "%YAML 1.1" and "---"; the YAML reader
    // here wants neither the 1.1 directive nor an empty document.
    let cleaned: String = text
        .lines()
        .map(|l| if l.starts_with("%YAML") { "" } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    let docs = YamlLoader::load_from_str(&cleaned).map_err(|e| {
        anyhow!(
            "{origin}:{}:{}: {}",
            e.marker().line(),
            e.marker().col() + 1,
            e.info()
        )
    })?;
    Ok(docs.first().map(Node::from_yaml).unwrap_or(Node::Map(Vec::new())))
}

/// Load a config file and everything it includes.
pub fn load_file(path: &Path) -> Result<Node> {
    load_file_depth(path, 0)
}

fn load_file_depth(path: &Path, depth: usize) -> Result<Node> {
    if depth > 8 {
        bail!("{}: include nesting deeper than 8", path.display());
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let mut root = parse_text(&text, &path.display().to_string())?;
    let includes: Vec<String> = match root.get("include") {
        Some(Node::Scalar(s)) => vec![s.clone()],
        Some(Node::List(l)) => l
            .iter()
            .filter_map(|n| {
                if let Node::Scalar(s) = n {
                    Some(s.clone())
                } else {
                    None
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    let base = path.parent().unwrap_or(Path::new("."));
    for inc in includes {
        let p = base.join(&inc);
        let sub = load_file_depth(&p, depth + 1)?;
        root.merge(sub);
    }
    Ok(root)
}

/// Apply one `--set key=value`.
pub fn apply_set(root: &mut Node, kv: &str) -> Result<()> {
    let (k, v) = kv
        .split_once('=')
        .ok_or_else(|| anyhow!("--set expects key=value, got '{kv}'"))?;
    let k = k.trim();
    if k.is_empty() {
        bail!("--set expects key=value, got '{kv}'");
    }
    root.set(k, Node::Scalar(v.trim().to_string()))
}

/// Top-level keys this version acts on.
const IMPLEMENTED: &[&str] = &[
    "vars",
    "decoder",
    "stream",
    "defrag",
    "flow",
    "flow-timeouts",
    "outputs",
    "classification-file",
    "threshold-file",
    "default-log-dir",
    "default-rule-path",
    "rule-files",
    "pcap-file",
    "mirror",
    "include",
    "reference-config-file",
    "threading",
    "live",
    "app-layer",
];

/// Keys that are present but not acted on, for the one warning.
pub fn unimplemented_keys(root: &Node) -> Vec<String> {
    root.keys()
        .into_iter()
        .filter(|k| !IMPLEMENTED.contains(k))
        .map(String::from)
        .collect()
}

pub fn truthy(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" | "enabled" => Some(true),
        "no" | "false" | "off" | "0" | "disabled" => Some(false),
        _ => None,
    }
}

fn bool_at(root: &Node, path: &str) -> Result<Option<bool>> {
    match root.str(path) {
        None => Ok(None),
        Some(s) => truthy(s)
            .map(Some)
            .ok_or_else(|| anyhow!("{path}: expected yes/no, got '{s}'")),
    }
}

fn u64_at(root: &Node, path: &str) -> Result<Option<u64>> {
    match root.str(path) {
        None => Ok(None),
        Some(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| anyhow!("{path}: expected a number, got '{s}'")),
    }
}

/// Port list as Suricata writes it for decoders: "4789", "[4789, 8472]".
fn ports(s: &str, path: &str) -> Result<Vec<u16>> {
    s.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u16>().map_err(|_| anyhow!("{path}: bad port '{p}'")))
        .collect()
}

/// Sizes like "128mb", "1gb", "4096".
pub fn size(s: &str) -> Option<u64> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mul) = if let Some(n) = t.strip_suffix("gb") {
        (n, 1u64 << 30)
    } else if let Some(n) = t.strip_suffix("mb") {
        (n, 1 << 20)
    } else if let Some(n) = t.strip_suffix("kb") {
        (n, 1 << 10)
    } else {
        (t.as_str(), 1)
    };
    num.trim().parse::<u64>().ok()?.checked_mul(mul)
}

/// The EVE log settings found in `outputs` (the first enabled eve-log).
#[derive(Debug, Default, Clone)]
pub struct EveOutput {
    pub filename: Option<String>,
    pub types: Option<Vec<String>>,
}

fn eve_logs(root: &Node) -> Vec<&Node> {
    let Some(Node::List(outs)) = root.get("outputs") else {
        return Vec::new();
    };
    outs.iter()
        .filter_map(|o| o.get("eve-log"))
        .filter(|e| e.str("enabled").and_then(truthy) != Some(false))
        .collect()
}

fn find_eve(root: &Node) -> Option<&Node> {
    eve_logs(root).into_iter().next()
}

/// Event type names of an eve-log's `types` list, and the alert options.
fn type_names(e: &Node) -> (Option<Vec<String>>, Option<&Node>) {
    let Some(Node::List(types)) = e.get("types") else {
        return (None, None);
    };
    let mut names = Vec::new();
    let mut alert_opts: Option<&Node> = None;
    for t in types {
        match t {
            Node::Scalar(s) => names.push(s.clone()),
            Node::Map(m) => {
                for (k, v) in m {
                    names.push(k.clone());
                    if k == "alert" {
                        alert_opts = Some(v);
                    }
                }
            }
            _ => {}
        }
    }
    (Some(names), alert_opts)
}

/// An eve-log's `name` entry in `types` (`anomaly`, `http`, ...):
/// `Some(None)` when listed without options, `None` when not listed.
fn type_opts<'a>(e: &'a Node, name: &str) -> Option<Option<&'a Node>> {
    let Some(Node::List(types)) = e.get("types") else {
        return None;
    };
    types.iter().find_map(|t| match t {
        Node::Scalar(s) if s == name => Some(None),
        Node::Map(m) => m
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| Some(v).filter(|v| !matches!(v, Node::Null))),
        _ => None,
    })
}

/// Which anomaly kinds an `anomaly` entry enables, as Suricata reads it:
/// `enabled: no` turns it off; `types` is a map of `decode`, `stream` and
/// `applayer` to yes/no (missing: decode and stream no, applayer yes), or a
/// list of the kinds wanted.
fn anomaly_types(opts: Option<&Node>) -> Result<AnomalyTypes> {
    let Some(o) = opts else {
        return Ok(AnomalyTypes::default());
    };
    if let Some(s) = o.str("enabled") {
        if truthy(s) == Some(false) {
            return Ok(AnomalyTypes::NONE);
        }
    }
    match o.get("types") {
        Some(Node::List(l)) => {
            let mut t = AnomalyTypes::NONE;
            for n in l {
                match n {
                    Node::Scalar(k) if k == "decode" => t.decode = true,
                    Node::Scalar(k) if k == "stream" => t.stream = true,
                    Node::Scalar(k) if k == "applayer" => t.applayer = true,
                    other => bail!("anomaly.types: unknown anomaly type {other:?}"),
                }
            }
            Ok(t)
        }
        Some(Node::Map(_)) => {
            let mut t = AnomalyTypes::default();
            for (k, slot) in [
                ("decode", &mut t.decode),
                ("stream", &mut t.stream),
                ("applayer", &mut t.applayer),
            ] {
                if let Some(v) = bool_at(o, &format!("types.{k}"))? {
                    *slot = v;
                }
            }
            Ok(t)
        }
        _ => Ok(AnomalyTypes::default()),
    }
}

/// The EVE outputs as sinks, with relative file and socket names under
/// `log_dir` (as Suricata's `filename`). `filetype` is one of `regular`
/// (or `file`), `unix_stream`, `unix_dgram`, `syslog`, `redis`, and
/// tapwatch's `tcp`. Delivery settings per output: `queue-size`,
/// `spool.max-size`, `flush-timeout` (seconds), `resend-window` (size),
/// `reconnect-max` and `write-timeout` (seconds); files take `rotate-size` and `rotate-count`.
pub fn eve_sinks(root: &Node, log_dir: &Path) -> Result<Vec<SinkConfig>> {
    let mut out = Vec::new();
    let Some(Node::List(outs)) = root.get("outputs") else {
        return Ok(out);
    };
    for (i, o) in outs.iter().enumerate() {
        let Some(e) = o.get("eve-log") else { continue };
        if e.str("enabled").and_then(truthy) == Some(false) {
            continue;
        }
        let at = |k: &str| format!("outputs.{i}.eve-log.{k}");
        let filetype = e.str("filetype").unwrap_or("regular").to_ascii_lowercase();
        let file = |default: &str| -> PathBuf {
            let f = PathBuf::from(e.str("filename").unwrap_or(default));
            if f.is_absolute() {
                f
            } else {
                log_dir.join(f)
            }
        };
        // `server`/`port` at the output or under the filetype's own key
        // (Suricata's `redis: {server, port}`).
        let host = |ft: &str, def_port: u16| -> Result<String> {
            let server = e
                .str(&format!("{ft}.server"))
                .or(e.str("server"))
                .unwrap_or("127.0.0.1");
            let port = match e.str(&format!("{ft}.port")).or(e.str("port")) {
                Some(p) => p
                    .trim()
                    .parse::<u16>()
                    .map_err(|_| anyhow!("{}: bad port '{p}'", at("port")))?,
                None => def_port,
            };
            Ok(if server.contains(':') && !server.starts_with('[') {
                format!("[{server}]:{port}")
            } else {
                format!("{server}:{port}")
            })
        };
        let kind = match filetype.as_str() {
            "regular" | "file" => {
                let rotate_size = match e.str("rotate-size") {
                    Some(v) => Some(size(v).ok_or_else(|| anyhow!("{}: bad size '{v}'", at("rotate-size")))?),
                    None => None,
                };
                SinkKind::File {
                    path: file("eve.json"),
                    rotate_size,
                    rotate_count: u64_at(e, "rotate-count")?.unwrap_or(5).min(1000) as usize,
                }
            }
            "stdout" => SinkKind::Stdout,
            "unix_stream" => SinkKind::UnixStream(file("eve.sock")),
            "unix_dgram" => SinkKind::UnixDgram(file("eve.sock")),
            "tcp" => SinkKind::Tcp(host("tcp", 5140)?),
            "syslog" => {
                let proto = match e
                    .str("protocol")
                    .or(e.str("syslog.protocol"))
                    .unwrap_or("udp")
                    .to_ascii_lowercase()
                    .as_str()
                {
                    "udp" => SyslogProto::Udp,
                    "tcp" => SyslogProto::Tcp,
                    p => bail!("{}: expected udp or tcp, got '{p}'", at("protocol")),
                };
                let fac = e.str("facility").unwrap_or("local5");
                let lvl = e.str("level").unwrap_or("info");
                SinkKind::Syslog {
                    addr: host("syslog", 514)?,
                    proto,
                    facility: facility(fac)
                        .ok_or_else(|| anyhow!("{}: unknown facility '{fac}'", at("facility")))?,
                    level: severity(lvl).ok_or_else(|| anyhow!("{}: unknown level '{lvl}'", at("level")))?,
                    ident: e.str("identity").unwrap_or("tapwatch").to_string(),
                }
            }
            "redis" => {
                let mode = e.str("redis.mode").or(e.str("mode")).unwrap_or("list");
                SinkKind::Redis {
                    addr: host("redis", 6379)?,
                    mode: RedisMode::parse(mode).ok_or_else(|| {
                        anyhow!(
                            "{}: expected list, lpush, rpush, channel or publish, got '{mode}'",
                            at("redis.mode")
                        )
                    })?,
                    key: e
                        .str("redis.key")
                        .or(e.str("key"))
                        .unwrap_or("suricata")
                        .to_string(),
                }
            }
            other => bail!(
                "{}: unknown filetype '{other}' (regular, unix_stream, unix_dgram, syslog, redis, tcp)",
                at("filetype")
            ),
        };
        let mut sink = SinkConfig::new(format!("{i}-{filetype}"), kind);
        sink.types = type_names(e).0;
        let d = &mut sink.delivery;
        if let Some(q) = u64_at(e, "queue-size")? {
            d.queue = q.clamp(1, 1 << 24) as usize;
        }
        if let Some(m) = e.str("spool.max-size") {
            d.spool_max = size(m).ok_or_else(|| anyhow!("{}: bad size '{m}'", at("spool.max-size")))?;
        }
        if let Some(t) = u64_at(e, "flush-timeout")? {
            d.flush_timeout = Duration::from_secs(t.min(86_400));
        }
        if let Some(w) = e.str("resend-window") {
            d.resend_window = size(w).ok_or_else(|| anyhow!("{}: bad size '{w}'", at("resend-window")))?;
        }
        if let Some(t) = e.str("write-timeout") {
            let secs: f64 = t
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v > 0.0 && *v <= 3600.0)
                .ok_or_else(|| anyhow!("{}: expected seconds, got '{t}'", at("write-timeout")))?;
            d.net.write_timeout = Duration::from_secs_f64(secs);
            d.net.connect_timeout = Duration::from_secs_f64(secs);
        }
        if let Some(t) = u64_at(e, "reconnect-max")? {
            d.backoff_max = Duration::from_secs(t.clamp(1, 3600));
        }
        out.push(sink);
    }
    Ok(out)
}

/// Settings the binary needs beyond the engine's.
#[derive(Debug, Default)]
pub struct AppConfig {
    pub eve: EveOutput,
    pub classification_file: Option<PathBuf>,
    /// `threshold-file` (threshold.config: suppress, threshold, event_filter, rate_filter).
    pub threshold_file: Option<PathBuf>,
    pub default_log_dir: Option<PathBuf>,
    pub rule_files: Vec<PathBuf>,
    pub address_vars: BTreeMap<String, String>,
    pub port_vars: BTreeMap<String, String>,
    pub warnings: Vec<String>,
}

/// Fill `ec` and an [`AppConfig`] from the tree.
pub fn extract(root: &Node, ec: &mut EngineConfig) -> Result<AppConfig> {
    let mut app = AppConfig::default();
    if let Some(Node::Map(m)) = root.get("vars.address-groups") {
        for (k, v) in m {
            if let Node::Scalar(s) = v {
                app.address_vars.insert(k.clone(), s.clone());
            }
        }
    }
    if let Some(Node::Map(m)) = root.get("vars.port-groups") {
        for (k, v) in m {
            if let Node::Scalar(s) = v {
                app.port_vars.insert(k.clone(), s.clone());
            }
        }
    }
    // Decoder: tunnel ports.
    if bool_at(root, "decoder.vxlan.enabled")? == Some(false) {
        ec.decode.vxlan_ports.clear();
    } else if let Some(p) = root.str("decoder.vxlan.ports") {
        ec.decode.vxlan_ports = ports(p, "decoder.vxlan.ports")?;
    }
    if bool_at(root, "decoder.geneve.enabled")? == Some(false) {
        ec.decode.geneve_ports.clear();
    } else if let Some(p) = root.str("decoder.geneve.ports") {
        ec.decode.geneve_ports = ports(p, "decoder.geneve.ports")?;
    }
    if let Some(d) = u64_at(root, "decoder.max-layers")? {
        ec.decode.max_tunnel_depth = d.clamp(1, 16) as usize;
    }
    // Checksums: pcap-file.checksum-checks and stream.checksum-validation.
    if let Some(c) = root.str("pcap-file.checksum-checks") {
        ec.decode.checksum_validate = truthy(c) == Some(true);
    }
    // Stream.
    if let Some(b) = bool_at(root, "stream.midstream")? {
        ec.stream.midstream = b;
    }
    if let Some(b) = bool_at(root, "stream.async-oneside")? {
        ec.stream.async_oneside = b;
    }
    if let Some(d) = root.str("stream.reassembly.depth") {
        ec.stream.depth = size(d).ok_or_else(|| anyhow!("stream.reassembly.depth: bad size '{d}'"))?;
    }
    if let Some(m) = root.str("stream.reassembly.memcap") {
        ec.stream.memcap = size(m).ok_or_else(|| anyhow!("stream.reassembly.memcap: bad size '{m}'"))?;
    }
    if let Some(p) = root.str("stream.reassembly.policy") {
        ec.stream.policy = p.parse().map_err(|e| anyhow!("stream.reassembly.policy: {e}"))?;
    }
    if let Some(n) = u64_at(root, "stream.reassembly.max-held-segments")? {
        ec.stream.max_held_segments = n.clamp(1, 1 << 16) as usize;
    }
    if let Some(m) = root.str("stream.reassembly.max-held-bytes") {
        let b = size(m).ok_or_else(|| anyhow!("stream.reassembly.max-held-bytes: bad size '{m}'"))?;
        ec.stream.max_held_bytes = b.clamp(1, 1 << 30) as usize;
    }
    if let Some(e) = root.str("app-layer.protocols.tls.encryption-handling") {
        ec.tls_encryption = e
            .parse()
            .map_err(|m| anyhow!("app-layer.protocols.tls.encryption-handling: {m}"))?;
    }
    // Defragmentation.
    if let Some(b) = bool_at(root, "defrag.enabled")? {
        ec.defrag.enabled = b;
    }
    if let Some(m) = root.str("defrag.memcap") {
        let b = size(m).ok_or_else(|| anyhow!("defrag.memcap: bad size '{m}'"))?;
        ec.defrag.memcap = b.min(1 << 34) as usize;
    }
    if let Some(n) = u64_at(root, "defrag.trackers")? {
        ec.defrag.max_trackers = n.clamp(1, 1 << 24) as usize;
    }
    if let Some(n) = u64_at(root, "defrag.max-frags")? {
        ec.defrag.max_frags = n.clamp(1, 1 << 16) as usize;
    }
    if let Some(n) = u64_at(root, "defrag.timeout")? {
        ec.defrag.timeout_secs = n;
    }
    if let Some(p) = root.str("defrag.policy") {
        ec.defrag.policy = p.parse().map_err(|e| anyhow!("defrag.policy: {e}"))?;
    }
    // Flow table size: Suricata gives a memcap in bytes; one flow costs
    // about 1 KiB here with its stream windows.
    if let Some(m) = root.str("flow.memcap") {
        let bytes = size(m).ok_or_else(|| anyhow!("flow.memcap: bad size '{m}'"))?;
        ec.flow.max_flows = ((bytes / 1024) as usize).max(1024);
    }
    for (proto, t) in [
        ("tcp", &mut ec.flow.tcp),
        ("udp", &mut ec.flow.udp),
        ("icmp", &mut ec.flow.icmp),
        ("default", &mut ec.flow.other),
    ] {
        let apply = |field: &str, slot: &mut u64| -> Result<()> {
            if let Some(v) = u64_at(root, &format!("flow-timeouts.{proto}.{field}"))? {
                *slot = v;
            }
            Ok(())
        };
        let Timeouts {
            new,
            established,
            closed,
        } = t;
        apply("new", new)?;
        apply("established", established)?;
        apply("closed", closed)?;
    }
    if let Some(b) = bool_at(root, "mirror.tunnel-flows")? {
        ec.tunnel_flows = b;
    }
    if let Some(b) = bool_at(root, "mirror.dedup")? {
        ec.dedup.enabled = b;
    }
    if let Some(ms) = u64_at(root, "mirror.dedup-window")? {
        ec.dedup.window_ms = ms;
    }
    // Mirror sessions: VNI → name.
    if let Some(Node::Map(m)) = root.get("mirror.sessions") {
        for (k, v) in m {
            let vni: u32 = k
                .parse()
                .map_err(|_| anyhow!("mirror.sessions: '{k}' is not a VNI"))?;
            if let Node::Scalar(s) = v {
                ec.eve.sessions.insert(vni, s.clone());
            }
        }
    }
    // EVE output: the record types any enabled eve-log carries.
    if let Some(e) = find_eve(root) {
        app.eve.filename = e.str("filename").map(String::from);
        app.eve.types = type_names(e).0;
    }
    let logs = eve_logs(root);
    if !logs.is_empty() {
        let mut all: Vec<String> = Vec::new();
        let mut every = false;
        let mut alert_opts = None;
        for e in &logs {
            let (names, opts) = type_names(e);
            match names {
                Some(n) => all.extend(n),
                None => every = true,
            }
            alert_opts = alert_opts.or(opts);
        }
        // An output without `types` carries everything.
        ec.eve.alert = every || all.iter().any(|n| n == "alert");
        ec.eve.flow = every || all.iter().any(|n| n == "flow");
        ec.eve.stats = every || all.iter().any(|n| n == "stats");
        ec.eve.http = every || all.iter().any(|n| n == "http");
        ec.eve.tls = every || all.iter().any(|n| n == "tls");
        ec.eve.dns = every || all.iter().any(|n| n == "dns");
        ec.eve.pgsql = every || all.iter().any(|n| n == "pgsql");
        ec.eve.anomaly = AnomalyTypes::NONE;
        for e in &logs {
            match type_opts(e, "anomaly") {
                Some(opts) => {
                    let t = anomaly_types(opts)?;
                    ec.eve.anomaly.decode |= t.decode;
                    ec.eve.anomaly.stream |= t.stream;
                    ec.eve.anomaly.applayer |= t.applayer;
                }
                None if type_names(e).0.is_none() => ec.eve.anomaly = AnomalyTypes::default(),
                None => {}
            }
        }
        for e in &logs {
            if let Some(Some(o)) = type_opts(e, "http") {
                if let Some(v) = o.str("dump-all-headers") {
                    ec.eve.http_headers = tapwatch_engine::output::DumpHeaders::from_config(v).ok_or_else(|| {
                        anyhow!("outputs.eve-log.types.http.dump-all-headers: '{v}' is not none, request, response or both")
                    })?;
                }
            }
        }
        if let Some(o) = alert_opts {
            let flag = |k: &str| o.str(k).and_then(truthy);
            ec.eve.payload = flag("payload").unwrap_or(false);
            ec.eve.payload_printable = flag("payload-printable").unwrap_or(false);
            ec.eve.packet = flag("packet").unwrap_or(false);
            ec.eve.metadata = flag("metadata").unwrap_or(true);
        }
    }
    app.classification_file = root.str("classification-file").map(PathBuf::from);
    app.default_log_dir = root.str("default-log-dir").map(PathBuf::from);
    if let Some(Node::List(files)) = root.get("rule-files") {
        let base = root.str("default-rule-path").map(PathBuf::from);
        for f in files {
            if let Node::Scalar(s) = f {
                let p = PathBuf::from(s);
                app.rule_files.push(match (&base, p.is_absolute()) {
                    (Some(b), false) => b.join(p),
                    _ => p,
                });
            }
        }
    }
    app.threshold_file = root.str("threshold-file").map(PathBuf::from);
    Ok(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dump_all_headers() {
        let read = |http: &str| {
            let text = format!("%YAML 1.1\n---\noutputs:\n  - eve-log:\n      enabled: yes\n      types:\n        - alert\n{http}");
            let root = parse_text(&text, "t.yaml").unwrap();
            let mut ec = EngineConfig::default();
            extract(&root, &mut ec).map(|_| ec.eve.http_headers)
        };
        use tapwatch_engine::output::DumpHeaders;
        assert_eq!(read("        - http\n").unwrap(), DumpHeaders::None);
        assert_eq!(
            read("        - http:\n            extended: yes\n            dump-all-headers: both\n").unwrap(),
            DumpHeaders::Both
        );
        assert_eq!(
            read("        - http:\n            dump-all-headers: request\n").unwrap(),
            DumpHeaders::Request
        );
        let e = read("        - http:\n            dump-all-headers: all\n").unwrap_err();
        assert!(e.to_string().contains("dump-all-headers"), "{e}");
    }

    #[test]
    fn anomaly_types_read_like_suricata() {
        let yaml = |types: &str| {
            format!("%YAML 1.1\n---\noutputs:\n  - eve-log:\n      enabled: yes\n      types:\n        - alert\n{types}")
        };
        let read = |text: &str| {
            let root = parse_text(text, "t.yaml").unwrap();
            let mut ec = EngineConfig::default();
            extract(&root, &mut ec).map(|_| ec.eve.anomaly)
        };
        // Not listed: none. Listed bare: Suricata's defaults (applayer only).
        assert_eq!(read(&yaml("")).unwrap(), AnomalyTypes::NONE);
        assert_eq!(
            read(&yaml("        - anomaly\n")).unwrap(),
            AnomalyTypes::default()
        );
        // suricata.yaml's map of yes/no; missing keys keep the defaults.
        let t = read(&yaml("        - anomaly:\n            enabled: yes\n            types:\n              decode: yes\n              stream: yes\n")).unwrap();
        assert!(t.decode && t.stream && t.applayer);
        let t = read(&yaml(
            "        - anomaly:\n            types:\n              applayer: no\n",
        ))
        .unwrap();
        assert_eq!(t, AnomalyTypes::NONE);
        // A list of kinds.
        let t = read(&yaml("        - anomaly:\n            types: [decode, stream]\n")).unwrap();
        assert!(t.decode && t.stream && !t.applayer);
        assert_eq!(
            read(&yaml("        - anomaly:\n            enabled: no\n")).unwrap(),
            AnomalyTypes::NONE
        );
        assert!(read(&yaml("        - anomaly:\n            types: [bogus]\n")).is_err());
        assert!(read(&yaml(
            "        - anomaly:\n            types:\n              decode: maybe\n"
        ))
        .is_err());
    }

    #[test]
    fn parses_suricata_header_and_sets_dotted_keys() {
        let text = "%YAML 1.1\n---\nvars:\n  address-groups:\n    HOME_NET: \"[10.0.0.0/8]\"\nstream:\n  midstream: false\noutputs:\n  - eve-log:\n      enabled: yes\n      filename: eve.json\n      types:\n        - alert:\n            payload: yes\n        - flow\n";
        let mut root = parse_text(text, "t.yaml").unwrap();
        assert_eq!(root.str("vars.address-groups.HOME_NET"), Some("[10.0.0.0/8]"));
        apply_set(&mut root, "stream.midstream=true").unwrap();
        apply_set(&mut root, "stream.async-oneside=yes").unwrap();
        apply_set(&mut root, "stream.reassembly.policy=linux").unwrap();
        apply_set(&mut root, "stream.reassembly.depth=2mb").unwrap();
        apply_set(&mut root, "defrag.policy=first").unwrap();
        apply_set(&mut root, "defrag.timeout=30").unwrap();
        apply_set(&mut root, "vars.address-groups.HOME_NET=[192.168.0.0/16]").unwrap();
        apply_set(&mut root, "outputs.0.eve-log.filename=x.json").unwrap();
        let mut ec = EngineConfig::default();
        let app = extract(&root, &mut ec).unwrap();
        assert!(ec.stream.midstream);
        assert!(ec.stream.async_oneside);
        assert_eq!(ec.stream.policy, tapwatch_engine::stream::OverlapPolicy::Linux);
        assert_eq!(ec.stream.depth, 2 << 20);
        assert_eq!(ec.defrag.policy, tapwatch_engine::stream::OverlapPolicy::First);
        assert_eq!(ec.defrag.timeout_secs, 30);
        assert!(ec.eve.payload && ec.eve.alert && ec.eve.flow && !ec.eve.stats);
        assert_eq!(app.eve.filename.as_deref(), Some("x.json"));
        assert_eq!(
            app.address_vars.get("HOME_NET").map(String::as_str),
            Some("[192.168.0.0/16]")
        );
    }

    #[test]
    fn several_outputs_become_sinks() {
        let text = "outputs:\n  - eve-log:\n      filename: eve.json\n      types: [alert]\n  - eve-log:\n      filetype: redis\n      redis:\n        server: 127.0.0.1\n        port: 6380\n        mode: rpush\n        key: ids\n      spool:\n        max-size: 1mb\n      types:\n        - flow\n  - eve-log:\n      filetype: syslog\n      server: 10.0.0.1\n      protocol: tcp\n      facility: local3\n  - eve-log:\n      enabled: no\n      filetype: tcp\n  - eve-log:\n      filetype: unix_dgram\n      filename: /run/eve.sock\n      types: [stats]\n";
        let root = parse_text(text, "t").unwrap();
        let sinks = eve_sinks(&root, Path::new("/var/log/tapwatch")).unwrap();
        assert_eq!(sinks.len(), 4);
        assert!(
            matches!(&sinks[0].kind, SinkKind::File { path, .. } if path == Path::new("/var/log/tapwatch/eve.json"))
        );
        assert_eq!(sinks[0].types.as_deref(), Some(&["alert".to_string()][..]));
        match &sinks[1].kind {
            SinkKind::Redis { addr, mode, key } => {
                assert_eq!(
                    (addr.as_str(), *mode, key.as_str()),
                    ("127.0.0.1:6380", RedisMode::Rpush, "ids")
                );
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(sinks[1].delivery.spool_max, 1 << 20);
        match &sinks[2].kind {
            SinkKind::Syslog {
                addr,
                proto,
                facility,
                level,
                ..
            } => {
                assert_eq!(
                    (addr.as_str(), *proto, *facility, *level),
                    ("10.0.0.1:514", SyslogProto::Tcp, 19, 6)
                );
            }
            k => panic!("{k:?}"),
        }
        assert!(sinks[2].types.is_none());
        assert!(matches!(&sinks[3].kind, SinkKind::UnixDgram(p) if p == Path::new("/run/eve.sock")));
        // The engine produces the union of the types.
        let mut ec = EngineConfig::default();
        ec.eve.alert = false;
        extract(&root, &mut ec).unwrap();
        assert!(ec.eve.alert && ec.eve.flow && ec.eve.stats);
        let bad = parse_text("outputs:\n  - eve-log:\n      filetype: kafka\n", "t").unwrap();
        assert!(eve_sinks(&bad, Path::new(".")).is_err());
        let bad = parse_text(
            "outputs:\n  - eve-log:\n      filetype: redis\n      port: 99999\n",
            "t",
        )
        .unwrap();
        assert!(eve_sinks(&bad, Path::new(".")).is_err());
    }

    #[test]
    fn errors_carry_line_and_column() {
        let err = parse_text("a: [1, 2\nb: c\n", "bad.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("bad.yaml:"), "{err}");
    }

    #[test]
    fn bad_values_are_errors_not_panics() {
        let mut root = parse_text("decoder:\n  vxlan:\n    ports: \"[4789, x]\"\n", "c").unwrap();
        assert!(extract(&root, &mut EngineConfig::default()).is_err());
        root = parse_text("flow:\n  memcap: lots\n", "c").unwrap();
        assert!(extract(&root, &mut EngineConfig::default()).is_err());
        assert!(apply_set(&mut root, "novalue").is_err());
        assert!(apply_set(&mut root, "=x").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(size("128mb"), Some(128 << 20));
        assert_eq!(size("1gb"), Some(1 << 30));
        assert_eq!(size("4096"), Some(4096));
        assert_eq!(size("99999999999999999gb"), None);
    }

    #[test]
    fn include_merges() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("inc.yaml"), "stream:\n  midstream: true\n").unwrap();
        std::fs::write(
            dir.path().join("main.yaml"),
            "%YAML 1.1\n---\ninclude: inc.yaml\nflow:\n  memcap: 64mb\n",
        )
        .unwrap();
        let root = load_file(&dir.path().join("main.yaml")).unwrap();
        assert_eq!(root.str("stream.midstream"), Some("yes"));
        assert_eq!(root.str("flow.memcap"), Some("64mb"));
    }

    #[test]
    fn threshold_file_from_config_and_set() {
        let mut root = parse_text("threshold-file: /etc/suricata/threshold.config\n", "t.yaml").unwrap();
        assert!(unimplemented_keys(&root).is_empty());
        let app = extract(&root, &mut EngineConfig::default()).unwrap();
        assert_eq!(
            app.threshold_file,
            Some(PathBuf::from("/etc/suricata/threshold.config"))
        );
        apply_set(&mut root, "threshold-file=/tmp/t.config").unwrap();
        let app = extract(&root, &mut EngineConfig::default()).unwrap();
        assert_eq!(app.threshold_file, Some(PathBuf::from("/tmp/t.config")));
        assert!(app.warnings.is_empty());
    }
}
