//! Engine settings. The binary fills these from a suricata.yaml-shaped config
//! file and `--set`; the engine never parses config text itself.

use crate::decode::DecodeConfig;
use std::collections::BTreeMap;

/// Per-protocol flow timeouts in seconds, as Suricata's `flow-timeouts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub new: u64,
    pub established: u64,
    pub closed: u64,
}

#[derive(Clone, Debug)]
pub struct FlowConfig {
    /// Maximum number of flows held at once (all workers together).
    pub max_flows: usize,
    pub tcp: Timeouts,
    pub udp: Timeouts,
    pub icmp: Timeouts,
    pub other: Timeouts,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: 512 * 1024,
            tcp: Timeouts {
                new: 60,
                established: 600,
                closed: 60,
            },
            udp: Timeouts {
                new: 30,
                established: 300,
                closed: 0,
            },
            icmp: Timeouts {
                new: 30,
                established: 300,
                closed: 0,
            },
            other: Timeouts {
                new: 30,
                established: 300,
                closed: 0,
            },
        }
    }
}

#[derive(Clone, Debug)]
pub struct StreamConfig {
    /// Pick up TCP sessions whose handshake was not seen (`stream.midstream`).
    pub midstream: bool,
    /// Consider a session established when only one direction is seen
    /// (`stream.async-oneside`): SYN then ACK from the client, or SYN/ACK
    /// then data from the server.
    pub async_oneside: bool,
    /// Bytes of already-inspected stream data kept before new data, so a
    /// pattern split across segments still matches.
    pub window: usize,
    /// Overlapping segments with different bytes (`stream.reassembly.policy`).
    pub policy: crate::stream::OverlapPolicy,
    /// Stream bytes inspected per direction; 0 = unlimited
    /// (`stream.reassembly.depth`).
    pub depth: u64,
    /// Out-of-order bytes held by all workers together; 0 = unlimited
    /// (`stream.reassembly.memcap`).
    pub memcap: u64,
    /// Most out-of-order span held per direction (bytes from the first hole).
    pub max_held_bytes: usize,
    /// Most out-of-order segments held per direction.
    pub max_held_segments: usize,
    /// A hole the peer acknowledged becomes a gap after this much packet time.
    pub gap_wait_ms: u64,
    /// Any hole becomes a gap after this much packet time.
    pub hole_timeout_ms: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            midstream: false,
            async_oneside: false,
            window: 4096,
            policy: crate::stream::OverlapPolicy::Bsd,
            depth: 1 << 20,
            memcap: 256 << 20,
            max_held_bytes: 1 << 20,
            max_held_segments: 1024,
            gap_wait_ms: 50,
            hole_timeout_ms: 5_000,
        }
    }
}

/// What the EVE writer includes.
#[derive(Clone, Debug)]
pub struct EveConfig {
    pub alert: bool,
    pub flow: bool,
    pub stats: bool,
    /// alert.payload (base64) / payload_printable / packet (base64).
    pub payload: bool,
    pub payload_printable: bool,
    pub packet: bool,
    pub metadata: bool,
    /// App-layer records: `http`, `tls`, `dns`, `pgsql` event types.
    pub http: bool,
    pub tls: bool,
    pub dns: bool,
    pub pgsql: bool,
    /// `anomaly` records, by kind (Suricata's `anomaly.types`: decode and
    /// stream off, applayer on in its stock configuration).
    pub anomaly: AnomalyTypes,
    /// `request_headers`/`response_headers` in `http` objects
    /// (`types: - http: dump-all-headers: both`).
    pub http_headers: crate::output::DumpHeaders,
    /// VNI → mirror session name, for `mirror.session`.
    pub sessions: BTreeMap<u32, String>,
}

impl Default for EveConfig {
    fn default() -> Self {
        EveConfig {
            alert: true,
            flow: true,
            stats: true,
            payload: false,
            payload_printable: false,
            packet: false,
            metadata: true,
            http: true,
            tls: true,
            dns: true,
            pgsql: true,
            anomaly: AnomalyTypes::default(),
            http_headers: crate::output::DumpHeaders::None,
            sessions: BTreeMap::new(),
        }
    }
}

/// Which anomaly kinds become `anomaly` EVE records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnomalyTypes {
    /// Decoder and defragmentation events (`decode`).
    pub decode: bool,
    /// TCP stream events (`stream`).
    pub stream: bool,
    /// Application-layer events (`applayer`).
    pub applayer: bool,
}

impl Default for AnomalyTypes {
    /// As Suricata's stock suricata.yaml: only application-layer anomalies.
    fn default() -> Self {
        AnomalyTypes {
            decode: false,
            stream: false,
            applayer: true,
        }
    }
}

impl AnomalyTypes {
    /// No anomaly records at all.
    pub const NONE: AnomalyTypes = AnomalyTypes {
        decode: false,
        stream: false,
        applayer: false,
    };

    /// Records of `kind` are wanted.
    pub fn wants(&self, kind: tapwatch_rules::EventKind) -> bool {
        match kind {
            tapwatch_rules::EventKind::Decode => self.decode,
            tapwatch_rules::EventKind::Stream => self.stream,
            tapwatch_rules::EventKind::AppLayer => self.applayer,
        }
    }
}

#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub decode: DecodeConfig,
    pub flow: FlowConfig,
    pub stream: StreamConfig,
    pub defrag: crate::defrag::DefragConfig,
    /// Both-ends mirroring duplicate suppression (`mirror.dedup`).
    pub dedup: crate::dedup::DedupConfig,
    pub eve: EveConfig,
    pub workers: usize,
    /// Frames per batch handed to a worker.
    pub batch_frames: usize,
    /// Batches queued per worker before the reader waits (replay) or drops.
    /// Mirrored traffic comes in runs of one flow, so one worker's queue
    /// fills while another's empties; 32 batches of slack keep both busy
    /// (with 8, a core sat idle about 9% of a no-rules replay).
    pub queue_depth: usize,
    /// Also track and log the flows of the tunnel transport (outer UDP
    /// 4789/6081), as Suricata does (`mirror.tunnel-flows`).
    pub tunnel_flows: bool,
    /// What happens to a TLS flow once its records are encrypted
    /// (`app-layer.protocols.tls.encryption-handling`).
    pub tls_encryption: EncryptionHandling,
}

/// Suricata's `encryption-handling` for TLS sessions past the handshake.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EncryptionHandling {
    /// Keep tracking TLS and inspecting `tls.*` buffers; raw payload rules
    /// no longer see the flow's encrypted bytes (Suricata's default).
    #[default]
    Default,
    /// Raw payload rules keep inspecting the encrypted bytes too.
    Full,
    /// Stop parsing and inspecting the flow (flow records still count it).
    Bypass,
}

impl std::str::FromStr for EncryptionHandling {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "default" => Ok(EncryptionHandling::Default),
            "full" => Ok(EncryptionHandling::Full),
            "bypass" => Ok(EncryptionHandling::Bypass),
            _ => Err(format!("'{s}' is not one of default, full, bypass")),
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            decode: DecodeConfig::default(),
            flow: FlowConfig::default(),
            stream: StreamConfig::default(),
            defrag: crate::defrag::DefragConfig::default(),
            dedup: crate::dedup::DedupConfig::default(),
            eve: EveConfig::default(),
            workers: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            batch_frames: 128,
            queue_depth: 32,
            tunnel_flows: true,
            tls_encryption: EncryptionHandling::Default,
        }
    }
}
