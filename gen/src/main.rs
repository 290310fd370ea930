//! `mirrorgen`: writes tapwatch's sample capture or a large seeded workload.
//!
//! ```text
//! mirrorgen sample <out.pcap>
//! mirrorgen walk <in.pcap>
//! mirrorgen workload --size 100M [--seed N] [--truncate 128] [--geneve]
//!                    [--reorder P] [--attacks P] [--in-flight N] [--nanos] <out.pcap>
//! ```
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use tapwatch_gen::{sample, workload, PcapWriter, WorkloadOpts, LINKTYPE_ETHERNET};

const USAGE: &str = "usage:
  mirrorgen sample <out.pcap>
  mirrorgen walk <in.pcap>      (the benchmark floor: walk the records, nothing else)
  mirrorgen workload --size SIZE [--seed N] [--truncate BYTES] [--geneve]
                     [--reorder PERMILLE] [--attacks PERMILLE] [--in-flight N] [--nanos] <out.pcap>

SIZE takes a K, M or G suffix (powers of 1024): 100M, 1G.
--reorder/--attacks are per mille (0..=1000).";

/// Parses `100M`, `1G`, `512K`, `12345`.
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                _ => return Err(format!("bad size suffix in {s:?}")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    let n: u64 = num.parse().map_err(|_| format!("bad size {s:?}"))?;
    n.checked_mul(mult).ok_or_else(|| format!("size {s:?} too large"))
}

fn parse_num<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
    let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
    v.parse().map_err(|_| format!("bad value for {flag}: {v:?}"))
}

enum Cmd {
    Sample(PathBuf),
    Walk(PathBuf),
    Workload(WorkloadOpts, bool, PathBuf),
}

fn parse(args: Vec<String>) -> Result<Cmd, String> {
    let mut it = args.into_iter();
    match it.next().as_deref() {
        Some("sample") => {
            let out = it.next().ok_or("sample needs an output path")?;
            if let Some(extra) = it.next() {
                return Err(format!("unexpected argument {extra:?}"));
            }
            Ok(Cmd::Sample(out.into()))
        }
        Some("walk") => {
            let path = it.next().ok_or("walk needs a capture path")?;
            Ok(Cmd::Walk(path.into()))
        }
        Some("workload") => {
            let mut o = WorkloadOpts::default();
            let mut size = None;
            let mut out = None;
            let mut nanos = false;
            while let Some(a) = it.next() {
                match a.as_str() {
                    "--size" => size = Some(parse_size(&it.next().ok_or("--size needs a value")?)?),
                    "--seed" => o.seed = parse_num("--seed", it.next())?,
                    "--truncate" => o.truncate = Some(parse_num("--truncate", it.next())?),
                    "--geneve" => o.geneve = true,
                    "--reorder" => o.reorder_permille = parse_num("--reorder", it.next())?,
                    "--attacks" => o.attack_permille = parse_num("--attacks", it.next())?,
                    "--in-flight" => o.connections_in_flight = parse_num("--in-flight", it.next())?,
                    "--nanos" => nanos = true,
                    s if s.starts_with('-') => return Err(format!("unknown option {s:?}")),
                    _ if out.is_none() => out = Some(PathBuf::from(a)),
                    _ => return Err(format!("unexpected argument {a:?}")),
                }
            }
            if o.reorder_permille > 1000 || o.attack_permille > 1000 {
                return Err("--reorder and --attacks are per mille (0..=1000)".into());
            }
            if o.truncate == Some(0) {
                return Err("--truncate must be at least 1".into());
            }
            o.target_bytes = size.ok_or("workload needs --size")?;
            Ok(Cmd::Workload(
                o,
                nanos,
                out.ok_or("workload needs an output path")?,
            ))
        }
        Some("-h" | "--help" | "help") => Err(String::new()),
        Some(other) => Err(format!("unknown command {other:?}")),
        None => Err(String::new()),
    }
}

/// Walks the records of a classic pcap (either byte order): reads it in
/// large blocks and steps from record header to record header, touching
/// one byte of each frame. The floor any capture reader sits above.
fn walk(path: &std::path::Path) -> std::io::Result<(u64, u64)> {
    use std::io::{Error, ErrorKind, Read};
    let bad = |m: &str| Error::new(ErrorKind::InvalidData, m.to_string());
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 8 << 20];
    let mut have = 0;
    let mut at = 24; // past the global header
    let mut swap = None;
    let (mut packets, mut sum) = (0u64, 0u64);
    loop {
        let n = f.read(&mut buf[have..])?;
        have += n;
        if swap.is_none() {
            if have < 24 {
                if n == 0 {
                    return Err(bad("not a pcap file"));
                }
                continue;
            }
            swap = Some(match buf[..4] {
                [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => false,
                [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => true,
                _ => return Err(bad("not a classic pcap file")),
            });
        }
        let be = swap == Some(true);
        while at + 16 <= have {
            let l = [buf[at + 8], buf[at + 9], buf[at + 10], buf[at + 11]];
            let caplen = if be {
                u32::from_be_bytes(l)
            } else {
                u32::from_le_bytes(l)
            } as usize;
            if caplen > buf.len() - 16 {
                return Err(bad("record larger than the walk buffer"));
            }
            if at + 16 + caplen > have {
                break;
            }
            sum += u64::from(*buf.get(at + 16).unwrap_or(&0));
            packets += 1;
            at += 16 + caplen;
        }
        if n == 0 {
            return Ok((packets, sum));
        }
        buf.copy_within(at..have, 0);
        have -= at;
        at = 0;
    }
}

fn run(cmd: Cmd) -> std::io::Result<()> {
    match cmd {
        Cmd::Walk(path) => {
            let t = std::time::Instant::now();
            let (packets, sum) = walk(&path)?;
            let secs = t.elapsed().as_secs_f64();
            println!(
                "walked {packets} packets in {secs:.3}s: {:.0} packets/s (checksum {sum})",
                packets as f64 / secs.max(1e-9)
            );
        }
        Cmd::Sample(path) => {
            let frames = sample();
            tapwatch_gen::write_pcap(&path, &frames)?;
            let size = std::fs::metadata(&path)?.len();
            eprintln!(
                "wrote {} frames, {size} bytes to {}",
                frames.len(),
                path.display()
            );
        }
        Cmd::Workload(opts, nanos, path) => {
            let file = BufWriter::with_capacity(1 << 20, File::create(&path)?);
            let mut w = PcapWriter::new(file, LINKTYPE_ETHERNET, nanos)?;
            let mut gen = workload(&opts);
            for f in gen.by_ref() {
                w.write_frame(&f)?;
            }
            w.into_inner()?.flush()?;
            let s = gen.stats();
            eprintln!(
                "wrote {} frames, {} bytes to {}",
                s.frames,
                s.bytes,
                path.display()
            );
            eprintln!("sessions: {:?}; http requests: {}", s.sessions, s.http_requests);
            if !s.attacks.is_empty() {
                eprintln!("attacks injected (sid: count): {:?}", s.attacks);
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match parse(std::env::args().skip(1).collect()) {
        Ok(cmd) => match run(cmd) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mirrorgen: {e}");
                ExitCode::FAILURE
            }
        },
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("mirrorgen: {msg}");
            }
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn walk_counts_the_records_of_a_written_capture() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.pcap");
        let frames = sample();
        tapwatch_gen::write_pcap(&path, &frames).unwrap();
        assert_eq!(walk(&path).unwrap().0, frames.len() as u64);
        std::fs::write(&path, b"not a capture at all, no").unwrap();
        assert!(walk(&path).is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100M"), Ok(100 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("1234"), Ok(1234));
        assert!(parse_size("12X").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }

    #[test]
    fn workload_args() {
        let Ok(Cmd::Workload(o, nanos, out)) = parse(args(
            "workload --size 2M --seed 7 --truncate 128 --geneve --reorder 5 --attacks 10 out.pcap",
        )) else {
            panic!("did not parse");
        };
        assert_eq!(o.target_bytes, 2 << 20);
        assert_eq!(
            (
                o.seed,
                o.truncate,
                o.geneve,
                o.reorder_permille,
                o.attack_permille
            ),
            (7, Some(128), true, 5, 10)
        );
        assert!(!nanos);
        assert_eq!(out, PathBuf::from("out.pcap"));
        assert!(parse(args("workload out.pcap")).is_err(), "size is required");
        assert!(parse(args("workload --size 1M --reorder 2000 o.pcap")).is_err());
        assert!(parse(args("workload --size 1M --bogus o.pcap")).is_err());
        assert!(parse(args("sample")).is_err());
        assert!(matches!(parse(args("sample x.pcap")), Ok(Cmd::Sample(_))));
    }
}
