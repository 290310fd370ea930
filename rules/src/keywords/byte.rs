//! `byte_test`, `byte_jump`, `byte_extract` and `byte_math`: read a number
//! (binary big/little endian, or ASCII `string` in hex/dec/oct) at an
//! offset, absolute or relative to the previous match, and test it, jump
//! by it, or keep it in a rule variable that later byte keywords (and
//! `byte_test` values) use by name.

use super::Opt;
use crate::error::{reason, SpanError};

/// Variables one rule may define (`byte_extract`/`byte_math` results).
pub(crate) const MAX_VARS: usize = 8;

/// Values of a rule's variables during one chain evaluation.
pub(crate) type VarSlots = [u64; MAX_VARS];

/// A literal or a variable slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Val {
    Lit(i64),
    Var(u8),
}

impl Val {
    pub fn get(self, vars: &VarSlots) -> i64 {
        match self {
            Val::Lit(v) => v,
            Val::Var(k) => vars.get(k as usize).map_or(0, |&v| v as i64),
        }
    }

    fn is_var(self) -> bool {
        matches!(self, Val::Var(_))
    }
}

/// How the bytes are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Read {
    pub nbytes: u8,
    pub offset: Val,
    pub relative: bool,
    pub little: bool,
    /// `string` with base 16, 10 or 8.
    pub string: Option<u32>,
    pub bitmask: Option<u64>,
}

impl Read {
    /// The value and the position just after the bytes read.
    fn read(&self, buf: &[u8], prev_end: usize, vars: &VarSlots) -> Option<(u64, usize)> {
        let base = if self.relative { prev_end as i64 } else { 0 };
        let start = base.checked_add(self.offset.get(vars))?;
        let start = usize::try_from(start).ok()?;
        // 0 bytes: the rest of the buffer (as a string), or nothing.
        let end = match (self.nbytes, self.string) {
            (0, Some(_)) => buf.len(),
            _ => start.checked_add(self.nbytes as usize)?,
        };
        let bytes = buf.get(start..end)?;
        let mut v: u64 = match self.string {
            Some(radix) => {
                let s = std::str::from_utf8(bytes).ok()?;
                let digits: &str = s
                    .get(..s.find(|c: char| !c.is_digit(radix)).unwrap_or(s.len()))
                    .unwrap_or_default();
                if digits.is_empty() {
                    return None;
                }
                u64::from_str_radix(digits, radix).ok()?
            }
            None => {
                let mut v: u64 = 0;
                if self.little {
                    for &b in bytes.iter().rev() {
                        v = v << 8 | u64::from(b);
                    }
                } else {
                    for &b in bytes {
                        v = v << 8 | u64::from(b);
                    }
                }
                v
            }
        };
        if let Some(m) = self.bitmask {
            v &= m;
            if m != 0 {
                v >>= m.trailing_zeros();
            }
        }
        Some((v, end))
    }

    fn depends_on_earlier(&self) -> bool {
        self.relative || self.offset.is_var()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Lt,
    Gt,
    Eq,
    Le,
    Ge,
    And,
    Xor,
}

/// `byte_test`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ByteTest {
    pub read: Read,
    pub negated: bool,
    pub op: Op,
    pub value: Val,
}

impl ByteTest {
    pub fn matches(&self, buf: &[u8], prev_end: usize, vars: &VarSlots) -> bool {
        let Some((v, _)) = self.read.read(buf, prev_end, vars) else {
            return false;
        };
        let t = self.value.get(vars) as u64;
        let r = match self.op {
            Op::Lt => v < t,
            Op::Gt => v > t,
            Op::Eq => v == t,
            Op::Le => v <= t,
            Op::Ge => v >= t,
            Op::And => v & t != 0,
            Op::Xor => v ^ t != 0,
        };
        r != self.negated
    }

    pub fn depends_on_earlier(&self) -> bool {
        self.read.depends_on_earlier() || self.value.is_var()
    }
}

/// `byte_jump`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ByteJump {
    pub read: Read,
    pub multiplier: u64,
    pub align: bool,
    pub from_beginning: bool,
    pub from_end: bool,
    pub post_offset: i64,
}

impl ByteJump {
    /// The new position, if inside the buffer.
    pub fn jump(&self, buf: &[u8], prev_end: usize, vars: &VarSlots) -> Option<usize> {
        let (v, after) = self.read.read(buf, prev_end, vars)?;
        let mut v = v.checked_mul(self.multiplier)?;
        if self.align {
            v = v.checked_add(3)? & !3;
        }
        let from = if self.from_beginning {
            0
        } else if self.from_end {
            buf.len()
        } else {
            after
        };
        let to = (from as i64)
            .checked_add(i64::try_from(v).ok()?)?
            .checked_add(self.post_offset)?;
        let to = usize::try_from(to).ok()?;
        (to <= buf.len()).then_some(to)
    }

    pub fn depends_on_earlier(&self) -> bool {
        self.read.depends_on_earlier()
    }
}

/// `byte_extract`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ByteExtract {
    pub read: Read,
    pub relative: bool,
    pub multiplier: u64,
    pub align: u8,
    pub slot: u8,
}

impl ByteExtract {
    /// Store the value; returns the position after the bytes read.
    pub fn extract(&self, buf: &[u8], prev_end: usize, vars: &mut VarSlots) -> Option<usize> {
        let (v, after) = self.read.read(buf, prev_end, vars)?;
        let mut v = v.checked_mul(self.multiplier)?;
        if self.align > 1 {
            let a = u64::from(self.align);
            v = v.checked_add(a - 1)? / a * a;
        }
        *vars.get_mut(self.slot as usize)? = v;
        Some(after)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MathOp {
    Add,
    Sub,
    Mul,
    Div,
    Shl,
    Shr,
}

/// `byte_math`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ByteMath {
    pub read: Read,
    pub op: MathOp,
    pub rvalue: Val,
    pub slot: u8,
}

impl ByteMath {
    pub fn compute(&self, buf: &[u8], prev_end: usize, vars: &mut VarSlots) -> bool {
        let Some((v, _)) = self.read.read(buf, prev_end, vars) else {
            return false;
        };
        let r = self.rvalue.get(vars) as u64;
        let out = match self.op {
            MathOp::Add => v.checked_add(r),
            MathOp::Sub => v.checked_sub(r),
            MathOp::Mul => v.checked_mul(r),
            MathOp::Div => v.checked_div(r),
            MathOp::Shl => u32::try_from(r).ok().and_then(|r| v.checked_shl(r)),
            MathOp::Shr => u32::try_from(r).ok().and_then(|r| v.checked_shr(r)),
        };
        match (out, vars.get_mut(self.slot as usize)) {
            (Some(o), Some(s)) => {
                *s = o;
                true
            }
            _ => false,
        }
    }

    pub fn depends_on_earlier(&self) -> bool {
        self.read.depends_on_earlier() || self.rvalue.is_var()
    }
}

/// Rule-wide variable names, in slot order.
pub(crate) type VarNames = Vec<String>;

struct Args<'a> {
    opt: &'a Opt<'a>,
    parts: Vec<(usize, &'a str)>,
}

impl<'a> Args<'a> {
    fn new(opt: &'a Opt<'a>) -> Result<Self, SpanError> {
        let v = opt.value()?;
        let mut parts = Vec::new();
        let mut at = 0;
        for p in v.split(',') {
            let lead = p.len() - p.trim_start().len();
            parts.push((at + lead, p.trim()));
            at += p.len() + 1;
        }
        Ok(Args { opt, parts })
    }

    fn err(&self, at: usize, m: impl Into<String>) -> SpanError {
        self.opt.err_value(at, reason::BAD_VALUE, m)
    }

    fn get(&self, k: usize, what: &str) -> Result<(usize, &'a str), SpanError> {
        self.parts
            .get(k)
            .copied()
            .ok_or_else(|| self.err(0, format!("{} needs {what}", self.opt.name)))
    }
}

fn num(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => i64::from_str_radix(h, 16).ok()?,
        None => s.parse::<i64>().ok()?,
    };
    Some(if neg { -v } else { v })
}

/// A number or the name of a variable defined earlier in the rule.
pub(crate) fn value_or_var(s: &str, names: &VarNames) -> Option<Val> {
    if let Some(n) = num(s) {
        return Some(Val::Lit(n));
    }
    names.iter().position(|n| n == s).map(|k| Val::Var(k as u8))
}

fn val(a: &Args<'_>, at: usize, s: &str, names: &VarNames) -> Result<Val, SpanError> {
    if let Some(n) = num(s) {
        return Ok(Val::Lit(n));
    }
    match names.iter().position(|n| n == s) {
        Some(k) => Ok(Val::Var(k as u8)),
        None => Err(a.err(
            at,
            format!("'{s}' is neither a number nor a byte_extract variable"),
        )),
    }
}

fn new_var(a: &Args<'_>, at: usize, s: &str, names: &mut VarNames) -> Result<u8, SpanError> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(a.err(at, format!("bad variable name '{s}'")));
    }
    if let Some(k) = names.iter().position(|n| n == s) {
        return Ok(k as u8);
    }
    if names.len() >= MAX_VARS {
        return Err(a.err(at, format!("more than {MAX_VARS} byte variables in one rule")));
    }
    names.push(s.to_string());
    Ok((names.len() - 1) as u8)
}

fn nbytes(a: &Args<'_>, at: usize, s: &str) -> Result<u8, SpanError> {
    match s.parse::<u8>() {
        Ok(n @ 0..=10) => Ok(n),
        _ => Err(a.err(at, format!("number of bytes '{s}' must be 0-10"))),
    }
}

/// Common trailing options; returns the ones a keyword handles itself.
struct Common {
    relative: bool,
    little: bool,
    string: Option<u32>,
    bitmask: Option<u64>,
}

fn common<'a>(
    a: &Args<'a>,
    from: usize,
    mut other: impl FnMut(usize, &'a str) -> Result<bool, SpanError>,
) -> Result<Common, SpanError> {
    let mut c = Common {
        relative: false,
        little: false,
        string: None,
        bitmask: None,
    };
    let mut k = from;
    while let Some(&(at, p)) = a.parts.get(k) {
        k += 1;
        let (word, arg) = match p.split_once(char::is_whitespace) {
            Some((w, r)) => (w, Some(r.trim())),
            None => (p, None),
        };
        match (word, arg) {
            ("relative", None) => c.relative = true,
            ("big", None) => c.little = false,
            ("little", None) | ("dce", None) => c.little = true,
            ("endian", Some("big")) => c.little = false,
            ("endian", Some("little")) => c.little = true,
            ("string", base) => {
                let base = match base {
                    Some(b) => Some(b),
                    None => match a.parts.get(k) {
                        Some(&(_, b @ ("hex" | "dec" | "oct"))) => {
                            k += 1;
                            Some(b)
                        }
                        _ => None,
                    },
                };
                c.string = Some(match base {
                    None | Some("dec") => 10,
                    Some("hex") => 16,
                    Some("oct") => 8,
                    Some(b) => return Err(a.err(at, format!("bad string base '{b}'"))),
                });
            }
            ("hex", None) => c.string = Some(16),
            ("dec", None) => c.string = Some(10),
            ("oct", None) => c.string = Some(8),
            ("bitmask", Some(m)) => {
                c.bitmask = Some(
                    num(m)
                        .and_then(|v| u64::try_from(v).ok())
                        .ok_or_else(|| a.err(at, format!("bad bitmask '{m}'")))?,
                )
            }
            _ => {
                if !other(at, p)? {
                    return Err(a.err(at, format!("unknown {} option '{p}'", a.opt.name)));
                }
            }
        }
    }
    Ok(c)
}

impl Common {
    fn read(&self, nbytes: u8, offset: Val) -> Read {
        Read {
            nbytes,
            offset,
            relative: self.relative,
            little: self.little,
            string: self.string,
            bitmask: self.bitmask,
        }
    }
}

fn check_width(a: &Args<'_>, n: u8, c: &Common) -> Result<(), SpanError> {
    if c.string.is_none() && n > 8 {
        return Err(a.err(0, format!("{n} bytes is more than 8 without 'string'")));
    }
    Ok(())
}

/// `byte_test:nbytes, [!]op, value, offset [, options]`.
pub(crate) fn byte_test(opt: &Opt<'_>, names: &VarNames) -> Result<ByteTest, SpanError> {
    let a = Args::new(opt)?;
    let (at, n) = a.get(0, "a number of bytes")?;
    let n = nbytes(&a, at, n)?;
    let (at, op) = a.get(1, "an operator")?;
    let (negated, op) = match op.strip_prefix('!') {
        Some(r) => (true, r.trim()),
        None => (false, op),
    };
    let (negated, op) = match op {
        "<" => (negated, Op::Lt),
        ">" => (negated, Op::Gt),
        "=" => (negated, Op::Eq),
        "" if negated => (true, Op::Eq),
        "<=" => (negated, Op::Le),
        ">=" => (negated, Op::Ge),
        "&" => (negated, Op::And),
        "^" => (negated, Op::Xor),
        _ => return Err(a.err(at, format!("unknown byte_test operator '{op}'"))),
    };
    let (at, v) = a.get(2, "a value")?;
    let value = val(&a, at, v, names)?;
    let (at, o) = a.get(3, "an offset")?;
    let offset = val(&a, at, o, names)?;
    let c = common(&a, 4, |_, _| Ok(false))?;
    check_width(&a, n, &c)?;
    Ok(ByteTest {
        read: c.read(n, offset),
        negated,
        op,
        value,
    })
}

/// `byte_jump:nbytes, offset [, options]`.
pub(crate) fn byte_jump(opt: &Opt<'_>, names: &VarNames) -> Result<ByteJump, SpanError> {
    let a = Args::new(opt)?;
    let (at, n) = a.get(0, "a number of bytes")?;
    let n = nbytes(&a, at, n)?;
    let (at, o) = a.get(1, "an offset")?;
    let offset = val(&a, at, o, names)?;
    let mut j = ByteJump {
        read: Read {
            nbytes: n,
            offset,
            relative: false,
            little: false,
            string: None,
            bitmask: None,
        },
        multiplier: 1,
        align: false,
        from_beginning: false,
        from_end: false,
        post_offset: 0,
    };
    let c = common(&a, 2, |at, p| {
        let (w, arg) = match p.split_once(char::is_whitespace) {
            Some((w, r)) => (w, Some(r.trim())),
            None => (p, None),
        };
        let n = |s: Option<&str>| {
            s.and_then(num)
                .ok_or_else(|| a.err(at, format!("bad value in '{p}'")))
        };
        match w {
            "align" => j.align = true,
            "from_beginning" => j.from_beginning = true,
            "from_end" => j.from_end = true,
            "multiplier" => {
                j.multiplier = u64::try_from(n(arg)?).map_err(|_| a.err(at, "negative multiplier"))?
            }
            "post_offset" => j.post_offset = n(arg)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    check_width(&a, n, &c)?;
    j.read.relative = c.relative;
    j.read.little = c.little;
    j.read.string = c.string;
    j.read.bitmask = c.bitmask;
    Ok(j)
}

/// `byte_extract:nbytes, offset, name [, options]`.
pub(crate) fn byte_extract(opt: &Opt<'_>, names: &mut VarNames) -> Result<ByteExtract, SpanError> {
    let a = Args::new(opt)?;
    let (at, n) = a.get(0, "a number of bytes")?;
    let n = nbytes(&a, at, n)?;
    let (at, o) = a.get(1, "an offset")?;
    let offset = Val::Lit(num(o).ok_or_else(|| a.err(at, format!("bad offset '{o}'")))?);
    let (name_at, name) = a.get(2, "a variable name")?;
    let mut multiplier = 1;
    let mut align = 0;
    let c = common(&a, 3, |at, p| {
        let (w, arg) = match p.split_once(char::is_whitespace) {
            Some((w, r)) => (w, r.trim()),
            None => (p, ""),
        };
        let n = num(arg).and_then(|v| u64::try_from(v).ok());
        match (w, n) {
            ("multiplier", Some(m)) => multiplier = m,
            ("align", Some(al @ (2 | 4))) => align = al as u8,
            ("multiplier" | "align", _) => return Err(a.err(at, format!("bad value in '{p}'"))),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    check_width(&a, n, &c)?;
    let slot = new_var(&a, name_at, name, names)?;
    Ok(ByteExtract {
        read: c.read(n, offset),
        relative: c.relative,
        multiplier,
        align,
        slot,
    })
}

/// `byte_math:bytes N, offset O, oper OP, rvalue V, result NAME [, options]`.
pub(crate) fn byte_math(opt: &Opt<'_>, names: &mut VarNames) -> Result<ByteMath, SpanError> {
    let a = Args::new(opt)?;
    let mut nb = None;
    let mut offset = None;
    let mut op = None;
    let mut rvalue = None;
    let mut result = None;
    let c = common(&a, 0, |at, p| {
        let Some((w, arg)) = p.split_once(char::is_whitespace) else {
            return Ok(false);
        };
        let arg = arg.trim();
        match w {
            "bytes" => nb = Some(nbytes(&a, at, arg)?),
            "offset" => {
                offset = Some(Val::Lit(
                    num(arg).ok_or_else(|| a.err(at, format!("bad offset '{arg}'")))?,
                ))
            }
            "oper" => {
                op = Some(match arg {
                    "+" => MathOp::Add,
                    "-" => MathOp::Sub,
                    "*" => MathOp::Mul,
                    "/" => MathOp::Div,
                    "<<" => MathOp::Shl,
                    ">>" => MathOp::Shr,
                    _ => return Err(a.err(at, format!("unknown byte_math operator '{arg}'"))),
                })
            }
            "rvalue" => rvalue = Some(val(&a, at, arg, names)?),
            "result" => result = Some((at, arg)),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let missing = |w: &str| a.err(0, format!("byte_math needs '{w}'"));
    let n = nb.ok_or_else(|| missing("bytes"))?;
    check_width(&a, n, &c)?;
    let (rat, rname) = result.ok_or_else(|| missing("result"))?;
    let (offset, op, rvalue) = (
        offset.ok_or_else(|| missing("offset"))?,
        op.ok_or_else(|| missing("oper"))?,
        rvalue.ok_or_else(|| missing("rvalue"))?,
    );
    let slot = new_var(&a, rat, rname, names)?;
    Ok(ByteMath {
        read: c.read(n, offset),
        op,
        rvalue,
        slot,
    })
}
