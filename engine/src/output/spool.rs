//! On-disk spool of one network sink: append-only segment files of EVE
//! lines under `<log dir>/spool/<sink>/`, read back in order and deleted
//! once sent. Bounded by `max_bytes`; a record that does not fit is refused
//! (the caller counts it dropped). Survives restarts: a `cursor` file keeps
//! how far the oldest segment was sent, and a torn last line is cut off.
//!
//! Segments are named by the sequence number of their first record, so a
//! segment written at shutdown with records older than the spool (those in
//! memory when delivery stopped) sorts first.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Segment {
    path: PathBuf,
    bytes: u64,
}

pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    seg_bytes: u64,
    segs: VecDeque<Segment>,
    /// Appends go to the last segment while this is open.
    writer: Option<BufWriter<File>>,
    /// Reading the first segment: reader and its offset.
    reader: Option<(BufReader<File>, u64)>,
    /// Bytes of all segments on disk (read or not).
    total: u64,
    /// Records not yet read.
    records: u64,
    /// Lowest name a new segment may take.
    next_name: u64,
    /// Where a previous run stopped reading: segment and offset.
    resume: Option<(PathBuf, u64)>,
}

fn seg_name(seq: u64) -> String {
    format!("{seq:020}.seg")
}

impl Spool {
    /// Open (creating) the spool directory and take up what a previous run
    /// left there.
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<Spool> {
        fs::create_dir_all(dir)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot create spool {}: {e}", dir.display())))?;
        let mut names: Vec<PathBuf> = fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "seg"))
            .collect();
        names.sort();
        let cursor = fs::read_to_string(dir.join("cursor")).ok().and_then(|t| {
            let (name, off) = t.trim().split_once(' ')?;
            Some((name.to_string(), off.parse::<u64>().ok()?))
        });
        let mut sp = Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            seg_bytes: (max_bytes / 8).clamp(4096, 8 << 20),
            segs: VecDeque::new(),
            writer: None,
            reader: None,
            total: 0,
            records: 0,
            next_name: 0,
            resume: None,
        };
        for path in names {
            let (bytes, lines, skip_lines) = repair(&path, cursor.as_ref())?;
            if lines <= skip_lines {
                fs::remove_file(&path)?;
                continue;
            }
            let first: u64 = path
                .file_stem()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split('.').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            sp.next_name = sp.next_name.max(first.saturating_add(1));
            sp.total += bytes;
            sp.records += lines - skip_lines;
            sp.segs.push_back(Segment { path, bytes });
        }
        sp.resume = cursor.map(|(name, off)| (dir.join(name), off));
        let _ = fs::remove_file(dir.join("cursor"));
        Ok(sp)
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }
    /// Records waiting.
    pub fn len(&self) -> u64 {
        self.records
    }
    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.total
    }

    /// Append one line (with its '\n'). `Ok(false)`: the spool is full.
    pub fn append(&mut self, line: &[u8], seq: u64) -> io::Result<bool> {
        let len = line.len() as u64;
        if self.total.saturating_add(len) > self.max_bytes {
            return Ok(false);
        }
        let need_new = match (&self.writer, self.segs.back()) {
            (Some(_), Some(s)) => s.bytes >= self.seg_bytes,
            _ => true,
        };
        if need_new {
            if let Some(mut w) = self.writer.take() {
                w.flush()?;
            }
            // Names keep increasing even if sequencing is off (seq 0).
            let name = seq.max(self.next_name);
            self.next_name = name.saturating_add(1);
            let path = self.dir.join(seg_name(name));
            let f = OpenOptions::new().create(true).append(true).open(&path)?;
            self.segs.push_back(Segment { path, bytes: 0 });
            self.writer = Some(BufWriter::with_capacity(64 * 1024, f));
        }
        if let (Some(w), Some(s)) = (self.writer.as_mut(), self.segs.back_mut()) {
            w.write_all(line)?;
            s.bytes += len;
        }
        self.total += len;
        self.records += 1;
        Ok(true)
    }

    /// Take up to `max` lines, oldest first.
    pub fn read_batch(&mut self, max: usize, out: &mut Vec<Arc<[u8]>>) -> io::Result<()> {
        let mut buf = Vec::with_capacity(1024);
        while out.len() < max && self.records > 0 {
            let Some(front) = self.segs.front() else {
                self.records = 0;
                break;
            };
            let is_writing = self.segs.len() == 1 && self.writer.is_some();
            if is_writing {
                if let Some(w) = self.writer.as_mut() {
                    w.flush()?;
                }
            }
            if self.reader.is_none() {
                let mut f = File::open(&front.path)?;
                let mut off = 0;
                if let Some((p, o)) = &self.resume {
                    if *p == front.path {
                        off = f.seek(SeekFrom::Start(*o))?;
                        self.resume = None;
                    }
                }
                self.reader = Some((BufReader::new(f), off));
            }
            let Some((r, off)) = self.reader.as_mut() else {
                break;
            };
            buf.clear();
            let n = r.read_until(b'\n', &mut buf)?;
            if n > 0 && buf.last() == Some(&b'\n') {
                *off += n as u64;
                self.records = self.records.saturating_sub(1);
                out.push(Arc::from(&buf[..]));
                if !(is_writing && self.records == 0) {
                    continue;
                }
            } else if is_writing {
                // Nothing more was written than was counted.
                self.records = 0;
            }
            // End of this segment (a torn line at the end is dropped).
            self.reader = None;
            if is_writing {
                self.writer = None;
            }
            if let Some(s) = self.segs.pop_front() {
                self.total = self.total.saturating_sub(s.bytes);
                fs::remove_file(&s.path)?;
            }
        }
        Ok(())
    }

    fn save_cursor(&self) -> io::Result<()> {
        let at = match (&self.reader, self.segs.front(), &self.resume) {
            (Some((_, off)), Some(s), _) => Some((s.path.clone(), *off)),
            (None, _, Some((p, off))) => Some((p.clone(), *off)),
            _ => None,
        };
        if let Some((path, off)) = at {
            if let Some(name) = path.file_name() {
                fs::write(
                    self.dir.join("cursor"),
                    format!("{} {off}\n", name.to_string_lossy()),
                )?;
            }
        }
        Ok(())
    }

    /// Flush, record how far the oldest segment was read, and keep
    /// `older` (records older than everything spooled: those in memory when
    /// delivery stopped) in a segment of their own that the next start
    /// reads first, as many as fit. Returns how many did not fit.
    pub fn close(&mut self, older: &[Arc<[u8]>], first_seq: u64) -> io::Result<u64> {
        if let Some(mut w) = self.writer.take() {
            w.flush()?;
        }
        self.save_cursor()?;
        let mut room = self.max_bytes.saturating_sub(self.total);
        let fit = older
            .iter()
            .take_while(|l| {
                let ok = l.len() as u64 <= room;
                room = room.saturating_sub(l.len() as u64);
                ok
            })
            .count();
        let (older, rest) = older.split_at(fit);
        if older.is_empty() {
            return Ok(rest.len() as u64);
        }
        let mut path = self.dir.join(seg_name(first_seq));
        if self.segs.iter().any(|s| s.path == path) {
            // Sorts before the segment of the same name.
            path = self.dir.join(format!("{first_seq:020}.0.seg"));
        }
        let mut w = BufWriter::new(File::create(&path)?);
        for l in older {
            w.write_all(l)?;
            self.total += l.len() as u64;
            self.records += 1;
        }
        w.flush()?;
        Ok(rest.len() as u64)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        match self.writer.as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

/// Cut a torn last line; count lines and the lines before the cursor.
fn repair(path: &Path, cursor: Option<&(String, u64)>) -> io::Result<(u64, u64, u64)> {
    let mut data = Vec::new();
    File::open(path)?.read_to_end(&mut data)?;
    let keep = data.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    if keep < data.len() {
        OpenOptions::new().write(true).open(path)?.set_len(keep as u64)?;
    }
    let lines = memchr::memchr_iter(b'\n', data.get(..keep).unwrap_or_default()).count() as u64;
    let skip = match cursor {
        Some((name, off)) if path.file_name().is_some_and(|n| n == name.as_str()) => {
            let off = (*off as usize).min(keep);
            memchr::memchr_iter(b'\n', data.get(..off).unwrap_or_default()).count() as u64
        }
        _ => 0,
    };
    Ok((keep as u64, lines, skip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(i: u64) -> Vec<u8> {
        format!("{{\"n\":{i}}}\n").into_bytes()
    }

    fn drain(sp: &mut Spool) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let mut b = Vec::new();
            sp.read_batch(7, &mut b).unwrap();
            if b.is_empty() {
                break;
            }
            out.extend(b.iter().map(|l| String::from_utf8_lossy(l).trim().to_string()));
        }
        out
    }

    #[test]
    fn in_order_across_segments_and_deleted_after() {
        let dir = tempfile::tempdir().unwrap();
        let mut sp = Spool::open(dir.path(), 100_000).unwrap();
        for i in 0..2000 {
            assert!(sp.append(&line(i), i).unwrap());
        }
        let got = drain(&mut sp);
        assert_eq!(got.len(), 2000);
        for (i, g) in got.iter().enumerate() {
            assert_eq!(g, &format!("{{\"n\":{i}}}"));
        }
        assert!(sp.is_empty());
        assert_eq!(sp.bytes(), 0);
        let left = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(left, 0, "segments deleted once sent");
    }

    #[test]
    fn bounded_and_interleaved() {
        let dir = tempfile::tempdir().unwrap();
        let mut sp = Spool::open(dir.path(), 10_000).unwrap();
        let mut accepted = 0;
        for i in 0..2000 {
            if sp.append(&line(i), i).unwrap() {
                accepted += 1;
            }
        }
        assert!(sp.bytes() <= 10_000);
        assert!(accepted < 2000 && accepted > 500);
        // Read some, append more, order holds.
        let mut b = Vec::new();
        sp.read_batch(10, &mut b).unwrap();
        assert_eq!(&b[0][..], &line(0)[..]);
        let got = drain(&mut sp);
        assert_eq!(got.len() + 10, accepted);
        assert!(sp.append(&line(5000), 5000).unwrap());
        assert_eq!(drain(&mut sp), vec!["{\"n\":5000}".to_string()]);
    }

    #[test]
    fn resumes_after_restart_with_cursor_and_prepend() {
        let dir = tempfile::tempdir().unwrap();
        let mut sp = Spool::open(dir.path(), 1 << 20).unwrap();
        for i in 10..110 {
            sp.append(&line(i), i).unwrap();
        }
        let mut b = Vec::new();
        sp.read_batch(30, &mut b).unwrap();
        // 5..9 were in memory when delivery stopped.
        let older: Vec<Arc<[u8]>> = (5..10).map(|i| Arc::from(&line(i)[..])).collect();
        assert_eq!(sp.close(&older, 5).unwrap(), 0);
        // A torn line from a crash is cut off.
        let seg = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "seg"))
            .max()
            .unwrap();
        OpenOptions::new()
            .append(true)
            .open(&seg)
            .unwrap()
            .write_all(b"{\"torn")
            .unwrap();
        let mut sp = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(sp.len(), 75);
        let got = drain(&mut sp);
        let want: Vec<String> = (5..10).chain(40..110).map(|i| format!("{{\"n\":{i}}}")).collect();
        assert_eq!(got, want);
    }
}
