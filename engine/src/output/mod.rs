//! EVE JSON output: record builders and the writer thread.
//!
//! Workers build each record once (serde_json, in Suricata's field order)
//! and send the finished line to the writer over a bounded channel. In
//! replay the channel back-pressures workers, so no record is lost.

mod applayer;
mod eve;

pub use applayer::{app_object, tx_enabled, tx_index, tx_record};
pub use eve::{alert_record, flow_record, stats_record, AlertInput, StatsInput};

use crossbeam_channel::{bounded, Receiver, Sender};
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

/// Where EVE lines go.
#[derive(Clone, Debug)]
pub enum EveTarget {
    /// Append to this file (created if missing).
    File(PathBuf),
    Stdout,
}

impl EveTarget {
    pub fn describe(&self) -> String {
        match self {
            EveTarget::File(p) => p.display().to_string(),
            EveTarget::Stdout => "stdout".to_string(),
        }
    }
}

/// Handle to the writer thread. Clone the sender for each worker.
pub struct EveWriter {
    pub tx: Sender<Vec<u8>>,
    handle: JoinHandle<io::Result<u64>>,
}

impl EveWriter {
    /// Open the target now (so a bad path fails before any packet is read)
    /// and start the writer thread.
    pub fn start(target: &EveTarget, queue: usize) -> io::Result<EveWriter> {
        let out: Box<dyn Write + Send> = match target {
            EveTarget::File(p) => Box::new(open_append(p)?),
            EveTarget::Stdout => Box::new(io::stdout()),
        };
        let (tx, rx) = bounded::<Vec<u8>>(queue.max(1));
        let handle = std::thread::Builder::new()
            .name("tapwatch-eve".into())
            .spawn(move || write_loop(rx, out))?;
        Ok(EveWriter { tx, handle })
    }

    /// Close the channel (all senders must be dropped) and wait for every
    /// record to be written and flushed. Returns the number of records.
    pub fn finish(self) -> io::Result<u64> {
        drop(self.tx);
        match self.handle.join() {
            Ok(r) => r,
            Err(_) => Err(io::Error::other("EVE writer thread panicked")),
        }
    }
}

fn open_append(p: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open EVE log {}: {e}", p.display())))
}

fn write_loop(rx: Receiver<Vec<u8>>, out: Box<dyn Write + Send>) -> io::Result<u64> {
    let mut w = BufWriter::with_capacity(256 * 1024, out);
    let mut n = 0u64;
    for line in rx {
        w.write_all(&line)?;
        n += 1;
    }
    w.flush()?;
    Ok(n)
}
