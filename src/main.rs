//! tapwatch: a streaming network IDS for mirrored traffic.

#![forbid(unsafe_code)]

mod config;
mod http;
mod run;
mod send;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use tapwatch_engine::output::{EveTarget, OutputConfig, SinkKind};
use tapwatch_engine::{EngineConfig, ReplaySummary};
use tapwatch_rules::{Classifications, LoadReport, RuleSet, RuleSetBuilder, Vars};

/// The default ruleset, built into the binary so `tapwatch replay` works
/// from any directory.
const BUNDLED_RULES: &str = include_str!("../etc/tapwatch.rules");

#[derive(Parser, Debug)]
#[command(
    name = "tapwatch",
    version,
    about = "Streaming network IDS for mirrored traffic (VXLAN/GENEVE, pcap)"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Replay pcap/pcapng captures through the engine and write EVE JSON.
    Replay(Box<ReplayArgs>),
    /// Receive mirrored traffic (VXLAN/GENEVE over UDP) and inspect it live.
    Run(Box<run::RunArgs>),
    /// Send a capture's packets as mirror datagrams (VXLAN over UDP).
    Send(send::SendArgs),
    /// Rule tools.
    #[command(subcommand)]
    Rules(RulesCommand),
}

#[derive(Subcommand, Debug)]
enum RulesCommand {
    /// Parse and compile rules without traffic: every error as
    /// `file:line:col: message`, then a summary. Exit status 1 when a rule
    /// has a syntax error.
    Check(CheckArgs),
}

#[derive(Args, Debug)]
struct CheckArgs {
    /// Rule files, or directories whose *.rules are loaded.
    #[arg(value_name = "FILE|DIR", required = true)]
    paths: Vec<PathBuf>,
    /// Machine-readable summary (one JSON object) instead of text.
    #[arg(long)]
    json: bool,
    /// Also list the rules that run a pcre on the backtracking engine.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Also check a threshold.config file (its errors make the exit status 1).
    #[arg(long, value_name = "FILE")]
    threshold_file: Option<PathBuf>,
}

/// Options every engine command takes: config, rules, output, threads.
#[derive(Args, Debug)]
pub(crate) struct CommonArgs {
    /// Config file in suricata.yaml's shape (see etc/tapwatch.yaml).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Override a config value with Suricata's dotted names, e.g.
    /// `--set vars.address-groups.HOME_NET=[10.0.0.0/8]`,
    /// `--set live.vxlan-listen=10.0.1.5:4789`; repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub(crate) set: Vec<String>,
    /// Rules file, or a directory whose *.rules are loaded; repeatable.
    /// Without it: the config's rule-files, else the bundled rules.
    #[arg(short = 'S', long = "rules", value_name = "FILE|DIR")]
    pub(crate) rules: Vec<PathBuf>,
    /// Directory for eve.json (default: the config's default-log-dir, else
    /// the current directory).
    #[arg(short = 'l', long = "log-dir", value_name = "DIR")]
    pub(crate) log_dir: Option<PathBuf>,
    /// Where EVE goes: a file name (relative to the log dir) or `-` for stdout.
    #[arg(long = "eve", value_name = "FILE|-")]
    pub(crate) eve: Option<String>,
    /// Worker threads (default: number of cores).
    #[arg(long = "workers", value_name = "N")]
    pub(crate) workers: Option<usize>,
    /// More output (repeat for more).
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Only errors.
    #[arg(short = 'q')]
    pub(crate) quiet: bool,
}

impl CommonArgs {
    pub(crate) fn log(&self) -> Log {
        Log {
            quiet: self.quiet,
            verbose: self.verbose,
        }
    }

    /// Read the config file and `--set` overrides into `ec` (which holds
    /// the command's own defaults), warn once about keys not acted on, and
    /// apply `--workers`.
    pub(crate) fn load_config(
        &self,
        ec: &mut EngineConfig,
        log: &Log,
    ) -> Result<(config::Node, config::AppConfig)> {
        let mut tree = match &self.config {
            Some(p) => config::load_file(p)?,
            None => config::Node::Map(Vec::new()),
        };
        for kv in &self.set {
            config::apply_set(&mut tree, kv)?;
        }
        let app = config::extract(&tree, ec)?;
        let ignored = config::unimplemented_keys(&tree);
        if !ignored.is_empty() {
            log.warn(format!(
                "config keys not implemented yet, ignored: {}",
                ignored.join(", ")
            ));
        }
        for w in &app.warnings {
            log.warn(w);
        }
        if let Some(w) = self.workers {
            if w == 0 || w > 1024 {
                bail!("--workers must be between 1 and 1024");
            }
            ec.workers = w;
        }
        Ok((tree, app))
    }
}

#[derive(Args, Debug)]
struct ReplayArgs {
    /// Captures to replay, in order, as one stream.
    #[arg(value_name = "PCAP")]
    pcaps: Vec<PathBuf>,
    /// Capture to replay (as `suricata -r`); may be repeated.
    #[arg(short = 'r', value_name = "PCAP")]
    read: Vec<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
    /// Checksum checks: `all` validates IP/TCP/UDP/ICMP checksums and
    /// ignores packets that fail; `none` (the default for replay) skips them.
    #[arg(short = 'k', value_name = "none|all")]
    checksum: Option<String>,
    /// Accepted for Suricata compatibility. tapwatch always runs its own
    /// workers model (a reader feeding --workers flow-sharded workers).
    #[arg(long = "runmode", value_name = "MODE")]
    runmode: Option<String>,
    /// Accepted for Suricata compatibility. tapwatch inspects mirrored
    /// copies and never drops traffic; rules with `drop` alert as "allowed".
    #[arg(long = "simulate-ips")]
    simulate_ips: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.cmd {
        Command::Replay(a) => run_replay(*a),
        Command::Run(a) => run::run(*a),
        Command::Send(a) => send::send(a),
        Command::Rules(RulesCommand::Check(a)) => run_rules_check(a),
    };
    match res {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tapwatch: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

pub(crate) struct Log {
    pub(crate) quiet: bool,
    pub(crate) verbose: u8,
}

impl Log {
    pub(crate) fn info(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("tapwatch: {}", msg.as_ref());
        }
    }
    pub(crate) fn warn(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("tapwatch: warning: {}", msg.as_ref());
        }
    }
    /// Report skipped rules: every one with -v, else the first few and a
    /// pointer to `tapwatch rules check` (a large ruleset skips hundreds).
    pub(crate) fn skipped_rules(&self, errors: &[tapwatch_rules::LoadError]) {
        const SHOWN: usize = 20;
        let limit = if self.verbose > 0 { usize::MAX } else { SHOWN };
        for e in errors.iter().take(limit) {
            self.warn(format!("rule skipped: {e}"));
        }
        if errors.len() > limit {
            self.warn(format!(
                "... and {} more skipped rules (all of them with -v or `tapwatch rules check`)",
                errors.len() - limit
            ));
        }
    }
    pub(crate) fn debug(&self, msg: impl AsRef<str>) {
        if self.verbose > 0 && !self.quiet {
            eprintln!("{}", msg.as_ref());
        }
    }
}

fn run_replay(a: ReplayArgs) -> Result<ExitCode> {
    let log = a.common.log();
    let mut pcaps = a.read.clone();
    pcaps.extend(a.pcaps.iter().cloned());
    if pcaps.is_empty() {
        bail!("no capture given: tapwatch replay <PCAP>... (or -r <PCAP>)");
    }

    // Configuration: file, includes, --set.
    let mut ec = EngineConfig::default();
    let (tree, app) = a.common.load_config(&mut ec, &log)?;
    match a.checksum.as_deref() {
        None => {}
        Some("all") => ec.decode.checksum_validate = true,
        Some("none") => ec.decode.checksum_validate = false,
        Some(other) => bail!("-k expects none or all, got '{other}'"),
    }
    if let Some(m) = &a.runmode {
        log.debug(format!(
            "--runmode {m}: tapwatch always runs flow-sharded workers"
        ));
    }
    if a.simulate_ips {
        log.debug("--simulate-ips: accepted; tapwatch only inspects mirrored copies");
    }

    // Rules.
    let t0 = Instant::now();
    let (rules, report) = load_rules(&a.common.rules, &app)?;
    let load_time = t0.elapsed();
    log.skipped_rules(&report.errors);
    let rules = Arc::new(rules);

    // Output.
    let eve = eve_outputs(a.common.log_dir.as_ref(), a.common.eve.as_deref(), &app, &tree)?;

    let total_bytes: u64 = pcaps
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let bar = if std::io::stderr().is_terminal() && !a.common.quiet {
        let b = ProgressBar::new(total_bytes);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {bytes}/{total_bytes} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let progress = |pkts: u64, bytes: u64| {
        if let Some(b) = &bar {
            b.set_position(bytes);
            b.set_message(format!("{pkts} packets"));
        }
    };
    let summary = tapwatch_engine::replay(&pcaps, &ec, rules.clone(), &eve, Some(&progress))?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if !a.common.quiet {
        print_summary(&summary, &report, load_time, &rules, &eve);
    }
    if let Some(e) = &summary.input_error {
        eprintln!("tapwatch: error: {e}");
        return Ok(ExitCode::from(1));
    }
    if summary.interrupted {
        eprintln!(
            "tapwatch: interrupted after {} packets; everything read was inspected and its records written or spooled",
            summary.packets
        );
        return Ok(ExitCode::from(130));
    }
    for sk in &summary.sinks {
        if sk.dropped > 0 {
            log.warn(format!(
                "EVE output {} ({}) dropped {} records",
                sk.name, sk.target, sk.dropped
            ));
        }
        if sk.spool_records > 0 {
            log.warn(format!(
                "EVE output {} ({}): {} records left in the spool for the next start",
                sk.name, sk.target, sk.spool_records
            ));
        }
        if let Some(e) = &sk.error {
            log.warn(format!("EVE output {} ({}): {e}", sk.name, sk.target));
        }
    }
    if summary.records_lost > 0 {
        eprintln!(
            "tapwatch: error: {} EVE records could not be written",
            summary.records_lost
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Where EVE goes: `--eve` (a file under the log dir, or `-`), else the
/// config's eve-log outputs (one sink each), else `eve.json`. Network sinks
/// spool under `<log dir>/spool`. Directories of file sinks are created.
pub(crate) fn eve_outputs(
    log_dir: Option<&PathBuf>,
    eve: Option<&str>,
    app: &config::AppConfig,
    tree: &config::Node,
) -> Result<OutputConfig> {
    let log_dir = log_dir
        .cloned()
        .or(app.default_log_dir.clone())
        .unwrap_or_else(|| PathBuf::from("."));
    let out = match eve {
        Some("-") => OutputConfig::from(&EveTarget::Stdout),
        Some(f) => OutputConfig::from(&EveTarget::File(log_dir.join(f))),
        None => {
            let sinks = config::eve_sinks(tree, &log_dir)?;
            if sinks.is_empty() {
                OutputConfig::from(&EveTarget::File(
                    log_dir.join(app.eve.filename.as_deref().unwrap_or("eve.json")),
                ))
            } else {
                OutputConfig {
                    sinks,
                    ..Default::default()
                }
            }
        }
    };
    for s in &out.sinks {
        let path = match &s.kind {
            SinkKind::File { path, .. } => path,
            _ => continue,
        };
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() && !dir.exists() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create log directory {}", dir.display()))?;
            }
        }
    }
    Ok(OutputConfig {
        spool_dir: log_dir.join("spool"),
        ..out
    })
}

pub(crate) fn load_rules(cli_rules: &[PathBuf], app: &config::AppConfig) -> Result<(RuleSet, LoadReport)> {
    let mut vars = Vars::default();
    for (k, v) in &app.address_vars {
        vars.set_address(k, v);
    }
    for (k, v) in &app.port_vars {
        vars.set_port(k, v);
    }
    let classes = match &app.classification_file {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(text) => Classifications::parse(&text).map_err(|e| anyhow!("{}: {e}", p.display()))?,
            // Suricata warns and goes on with no classes when the file is
            // missing; rules then fail on unknown classtypes. Use ours.
            Err(_) => Classifications::bundled(),
        },
        None => Classifications::bundled(),
    };
    let mut b = RuleSetBuilder::new(vars, classes);
    let sources: &[PathBuf] = if !cli_rules.is_empty() {
        cli_rules
    } else {
        &app.rule_files
    };
    if sources.is_empty() {
        b.add_text("<bundled>/tapwatch.rules", BUNDLED_RULES);
    }
    for p in sources {
        add_rules(&mut b, p)?;
    }
    if let Some(p) = &app.threshold_file {
        // As Suricata: a missing file or a bad line is a warning.
        match b.add_threshold_file(p) {
            Ok(errors) => {
                for e in errors {
                    eprintln!("warning: {e}");
                }
            }
            Err(e) => eprintln!("warning: threshold-file {}: {e}", p.display()),
        }
    }
    Ok(b.build())
}

fn add_rules(b: &mut RuleSetBuilder, p: &Path) -> Result<()> {
    b.add_path(p)
        .with_context(|| format!("cannot read rules from {}", p.display()))
}

fn print_summary(
    s: &ReplaySummary,
    report: &LoadReport,
    load_time: std::time::Duration,
    rules: &RuleSet,
    eve: &OutputConfig,
) {
    let st = &s.stats;
    let d = &st.decode;
    eprintln!("tapwatch replay summary");
    eprintln!(
        "  rules:    {} loaded, {} failed in {:.3}s",
        report.loaded,
        report.failed,
        load_time.as_secs_f64()
    );
    for (reason, n) in &report.by_reason {
        eprintln!("            {n} failed: {reason}");
    }
    eprintln!(
        "  input:    {} file(s), {} packets, {} bytes",
        s.files, s.packets, s.bytes
    );
    eprintln!(
        "  decoder:  ipv4 {} ipv6 {} tcp {} udp {} icmp {} vlan {} | vxlan {} geneve {} | truncated {} malformed {} non-ip {} too-deep {}",
        d.ipv4,
        d.ipv6,
        d.tcp,
        d.udp,
        d.icmpv4 + d.icmpv6,
        d.vlan,
        d.vxlan,
        d.geneve,
        d.truncated,
        d.malformed,
        d.non_ip,
        d.too_deep
    );
    let f = &st.flows;
    eprintln!(
        "  flows:    {} (tcp {} udp {} icmp {}), timed out {}, evicted {}, table-full {}",
        f.total,
        f.tcp,
        f.udp,
        f.icmpv4 + f.icmpv6,
        f.timed_out,
        f.evicted,
        f.memcap
    );
    eprintln!(
        "  tcp:      sessions {} syn {} synack {} rst {} gaps {} midstream {}",
        st.tcp.sessions, st.tcp.syn, st.tcp.synack, st.tcp.rst, st.tcp.stream.gaps, st.tcp.midstream_pickups
    );
    let r = &st.tcp.stream;
    eprintln!(
        "  stream:   overlaps {} (different data {}) gap bytes {} not held {} depth {} memory peak {}",
        r.overlaps,
        r.overlap_diff_data,
        r.gap_bytes,
        r.memcap_drops,
        r.depth_reached,
        st.tcp.reassembly_memuse_peak
    );
    let d = &st.defrag;
    if d.ipv4_fragments + d.ipv6_fragments > 0 {
        eprintln!(
            "  defrag:   fragments {} reassembled {} timeouts {} overlaps {}",
            d.ipv4_fragments + d.ipv6_fragments,
            d.ipv4_reassembled + d.ipv6_reassembled,
            d.ipv4_timeouts + d.ipv6_timeouts,
            d.ipv4_overlap + d.ipv6_overlap
        );
    }
    if st.mirror_duplicates > 0 {
        eprintln!("  mirror:   duplicate copies dropped {}", st.mirror_duplicates);
    }
    eprintln!("  alerts:   {}", st.alerts);
    let mut by: Vec<(u64, u32)> = st
        .alerts_by_rule
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(i, &n)| (n, i as u32))
        .collect();
    by.sort_by(|a, b| b.0.cmp(&a.0).then(rules.meta(a.1).sid.cmp(&rules.meta(b.1).sid)));
    for (n, i) in by.iter().take(10) {
        let m = rules.meta(*i);
        eprintln!("  {n:>9}  [{}:{}:{}] {}", m.gid, m.sid, m.rev, m.msg);
    }
    eprintln!(
        "  time:     {:.3}s packet processing, {:.0} packets/s, {:.3} Gbit/s",
        s.elapsed.as_secs_f64(),
        s.packets_per_sec(),
        s.gbit_per_sec()
    );
    eprintln!("  eve:      {} records -> {}", s.records_written, eve.describe());
    if eve.sinks.iter().any(|k| k.kind.is_network()) || s.sinks.len() > 1 {
        for k in &s.sinks {
            eprintln!(
                "  sink:     {} {}: written {} spooled {} resent {} dropped {} reconnects {} queue {} spool-left {}",
                k.name,
                k.target,
                k.written,
                k.spooled,
                k.resent,
                k.dropped,
                k.reconnects,
                k.queue_depth,
                k.spool_records
            );
        }
    }
}

/// Peak resident memory of this process in KiB (Linux `VmHWM`).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn run_rules_check(a: CheckArgs) -> Result<ExitCode> {
    let t0 = Instant::now();
    let mut b = RuleSetBuilder::new(Vars::default(), Classifications::bundled());
    for p in &a.paths {
        b.add_path(p)
            .with_context(|| format!("cannot read rules from {}", p.display()))?;
    }
    let threshold_errors = match &a.threshold_file {
        Some(p) => b
            .add_threshold_file(p)
            .with_context(|| format!("cannot read {}", p.display()))?,
        None => Vec::new(),
    };
    let parse_time = t0.elapsed();
    let t1 = Instant::now();
    let (set, report) = b.build();
    let compile_time = t1.elapsed();
    let peak = peak_rss_kib();
    let syntax_errors = report.errors.iter().filter(|e| e.reason == "syntax").count();
    let total = report.loaded + report.failed;
    // Rules whose pcre runs on PCRE2 (backreferences, lookaround, ...).
    let backtracking: Vec<&tapwatch_rules::RuleMeta> = (0..u32::try_from(set.len()).unwrap_or(u32::MAX))
        .filter(|&i| set.uses_backtracking(i))
        .filter_map(|i| set.get(i))
        .collect();
    if a.json {
        let errors: Vec<serde_json::Value> = report
            .errors
            .iter()
            .map(|e| {
                serde_json::json!({
                    "file": e.file, "line": e.line, "column": e.column,
                    "reason": e.reason, "message": e.message,
                })
            })
            .collect();
        let v = serde_json::json!({
            "loaded": report.loaded,
            "failed": report.failed,
            "total": total,
            "by_reason": report.by_reason,
            "by_keyword": report.by_keyword,
            "parse_ms": parse_time.as_secs_f64() * 1e3,
            "compile_ms": compile_time.as_secs_f64() * 1e3,
            "peak_rss_kib": peak,
            "backtracking_fallback": backtracking.len(),
            "backtracking_rules": backtracking
                .iter()
                .map(|m| serde_json::json!({"gid": m.gid, "sid": m.sid, "file": m.source, "line": m.line}))
                .collect::<Vec<_>>(),
            "errors": errors,
            "threshold_errors": threshold_errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        });
        println!("{v}");
    } else {
        for e in report.errors.iter().chain(&threshold_errors) {
            println!("{e}");
        }
        let pct = if total == 0 {
            100.0
        } else {
            report.loaded as f64 * 100.0 / total as f64
        };
        println!();
        println!(
            "rules: {} loaded, {} skipped, of {} ({pct:.2}% loaded); {} in the set",
            report.loaded,
            report.failed,
            total,
            set.len()
        );
        if !report.by_reason.is_empty() {
            println!("skipped by reason:");
            let mut r: Vec<_> = report.by_reason.iter().collect();
            r.sort_by(|x, y| y.1.cmp(x.1));
            for (k, n) in r {
                println!("  {k:<28} {n:>7}");
            }
        }
        if !report.by_keyword.is_empty() {
            println!("skipped by keyword (unsupported/unknown):");
            let mut r: Vec<_> = report.by_keyword.iter().collect();
            r.sort_by(|x, y| y.1.cmp(x.1));
            for (k, n) in r {
                println!("  {k:<28} {n:>7}");
            }
        }
        println!(
            "pcre on the backtracking engine (PCRE2{}, match limit 3500): {} rules{}",
            if tapwatch_rules::pcre_jit_available() {
                " JIT"
            } else {
                ", no JIT"
            },
            backtracking.len(),
            if a.verbose { "" } else { " (-v lists them)" }
        );
        if a.verbose {
            for m in &backtracking {
                println!("  {}:{}: [{}:{}] {}", m.source, m.line, m.gid, m.sid, m.msg);
            }
        }
        println!(
            "time: parse {:.0} ms, compile {:.0} ms; peak memory {}",
            parse_time.as_secs_f64() * 1e3,
            compile_time.as_secs_f64() * 1e3,
            peak.map_or("unknown".to_string(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
        );
    }
    Ok(if syntax_errors > 0 || !threshold_errors.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
