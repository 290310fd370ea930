use super::*;
use proptest::prelude::*;

fn c(p: &[u8]) -> Content {
    Content::plain(p)
}

/// Modifier setters for readable test chains.
trait Mods: Sized {
    fn offset(self, n: u32) -> Self;
    fn depth(self, n: u32) -> Self;
    fn distance(self, n: i32) -> Self;
    fn within(self, n: u32) -> Self;
    fn nocase(self) -> Self;
    fn not(self) -> Self;
}

impl Mods for Content {
    fn offset(mut self, n: u32) -> Self {
        self.offset = Some(n);
        self
    }
    fn depth(mut self, n: u32) -> Self {
        self.depth = Some(n);
        self
    }
    fn distance(mut self, n: i32) -> Self {
        self.distance = Some(n);
        self
    }
    fn within(mut self, n: u32) -> Self {
        self.within = Some(n);
        self
    }
    fn nocase(mut self) -> Self {
        self.nocase = true;
        self
    }
    fn not(mut self) -> Self {
        self.negated = true;
        self
    }
}

fn m(items: Vec<Content>, buf: &[u8]) -> bool {
    Chain::new(items).matches(buf, 0)
}

fn mn(items: Vec<Content>, buf: &[u8], new_from: usize) -> bool {
    Chain::new(items).matches(buf, new_from)
}

#[test]
fn offset_and_depth_are_absolute() {
    assert!(m(vec![c(b"cd").offset(2).depth(2)], b"abcdef"));
    assert!(!m(vec![c(b"cd").offset(3)], b"abcdef"));
    assert!(!m(vec![c(b"cd").depth(3)], b"abcdef"));
    assert!(m(vec![c(b"cd").depth(4)], b"abcdef"));
    // depth counts from offset
    assert!(m(vec![c(b"ef").offset(3).depth(3)], b"abcdef"));
    assert!(!m(vec![c(b"ef").offset(3).depth(2)], b"abcdef"));
    // an absolute content after a relative chain is still absolute
    assert!(m(vec![c(b"e"), c(b"a").depth(1)], b"abcdef"));
}

#[test]
fn distance_and_within_are_relative() {
    assert!(m(vec![c(b"a"), c(b"c").distance(1).within(1)], b"abc"));
    assert!(!m(vec![c(b"a"), c(b"c").distance(1).within(1)], b"abbc"));
    assert!(m(vec![c(b"a"), c(b"c").distance(2)], b"abbc"));
    assert!(!m(vec![c(b"a"), c(b"c").distance(3)], b"abbc"));
    assert!(m(vec![c(b"b"), c(b"c").within(2)], b"abcd"));
    assert!(!m(vec![c(b"b"), c(b"d").within(1)], b"abcd"));
    // negative distance looks back
    assert!(m(vec![c(b"cd"), c(b"bc").distance(-3).within(2)], b"abcd"));
    assert!(!m(vec![c(b"cd"), c(b"ab").distance(-3).within(2)], b"abcd"));
    // within on the first content counts from the buffer start
    assert!(m(vec![c(b"ab").within(3)], b"xabc"));
    assert!(!m(vec![c(b"ab").within(2)], b"xabc"));
    // relative to the previous match, not the previous search
    assert!(m(
        vec![c(b"x"), c(b"y").distance(0), c(b"z").distance(0).within(1)],
        b"x--yz"
    ));
}

#[test]
fn negated_contents() {
    assert!(m(vec![c(b"x").not()], b"abc"));
    assert!(!m(vec![c(b"b").not()], b"abc"));
    assert!(m(vec![c(b"c").not().depth(2)], b"abc"));
    assert!(
        m(vec![c(b"a"), c(b"b").not().within(1)], b"ab ac"),
        "second 'a' is not followed by 'b'"
    );
    assert!(!m(vec![c(b"a"), c(b"b").not().within(1)], b"abab"));
    assert!(!m(vec![c(b"a"), c(b"b").not().distance(0)], b"a b"));
    // a negated content does not move the relative anchor
    assert!(m(
        vec![c(b"a"), c(b"q").not(), c(b"b").distance(0).within(1)],
        b"ab"
    ));
}

#[test]
fn nocase() {
    assert!(m(vec![c(b"GET").nocase()], b"get /"));
    assert!(!m(vec![c(b"GET")], b"get /"));
    assert!(m(
        vec![c(b"Host:").nocase(), c(b"EVIL").nocase().distance(0)],
        b"HOST: evil"
    ));
    assert!(!m(vec![c(b"x").nocase().not()], b"X"));
}

#[test]
fn backtracking_retries_earlier_contents() {
    assert!(m(vec![c(b"a"), c(b"b").distance(0).within(2)], b"a...ab"));
    assert!(m(
        vec![
            c(b"ab"),
            c(b"ab").distance(0).within(3),
            c(b"!").distance(0).within(1)
        ],
        b"ab-ab-ab!"
    ));
    assert!(!m(
        vec![
            c(b"ab"),
            c(b"ab").distance(0).within(3),
            c(b"!").distance(0).within(1)
        ],
        b"ab-ab-ab"
    ));
}

#[test]
fn step_budget_bounds_pathological_chains() {
    let buf = vec![b'a'; 20_000];
    let items = vec![
        c(b"a"),
        c(b"a").distance(0),
        c(b"a").distance(0),
        c(b"b").distance(0),
    ];
    let t = std::time::Instant::now();
    assert!(!m(items, &buf));
    assert!(t.elapsed().as_secs() < 5);
}

#[test]
fn empty_buffer_never_matches_contents() {
    assert!(!m(vec![c(b"a")], b""));
    assert!(!m(vec![c(b"a").not()], b""));
    assert!(m(vec![], b""));
}

#[test]
fn new_from_requires_the_last_positive_match_to_be_new() {
    assert!(mn(vec![c(b"abc")], b"abcabc", 3));
    assert!(!mn(vec![c(b"abc")], b"abcxyz", 3));
    assert!(
        mn(vec![c(b"abc")], b"xabcyz", 3),
        "straddling the boundary is new"
    );
    assert!(!mn(vec![c(b"abc")], b"abcabc", 6));
    // the last content must be new, an earlier one may be old
    assert!(mn(vec![c(b"GET"), c(b"evil").distance(0)], b"GET /x evil", 5));
    assert!(!mn(vec![c(b"GET"), c(b"/x").distance(0)], b"GET /x evil", 7));
    // backtracking finds a later, new occurrence of the last content
    assert!(mn(vec![c(b"k"), c(b"v").distance(0)], b"k v v", 4));
    // only negated contents: new_from does not apply
    assert!(mn(vec![c(b"z").not()], b"abc", 2));
}

// ---- Model: exhaustive search over every placement, no pruning, no budget.

#[derive(Clone, Debug)]
struct Spec {
    pat: Vec<u8>,
    neg: bool,
    nocase: bool,
    abs: Option<(Option<u32>, Option<u32>)>,
    rel: Option<(Option<i32>, Option<u32>)>,
}

fn to_content(s: &Spec) -> Content {
    let mut x = c(&s.pat);
    x.negated = s.neg;
    x.nocase = s.nocase;
    if let Some((o, d)) = s.abs {
        x.offset = o;
        x.depth = d;
    }
    if let Some((d, w)) = s.rel {
        x.distance = d;
        x.within = w;
    }
    x
}

fn occurs_at(buf: &[u8], p: usize, s: &Spec) -> bool {
    match buf.get(p..p + s.pat.len()) {
        Some(w) if s.nocase => w.eq_ignore_ascii_case(&s.pat),
        Some(w) => w == s.pat.as_slice(),
        None => false,
    }
}

fn model_window(s: &Spec, prev: usize, len: usize) -> (i64, i64) {
    match s.rel {
        Some((d, w)) => {
            let lo = prev as i64 + i64::from(d.unwrap_or(0));
            (lo, w.map_or(len as i64, |w| lo + i64::from(w)))
        }
        None => {
            let (o, d) = s.abs.unwrap_or((None, None));
            let lo = i64::from(o.unwrap_or(0));
            (lo, d.map_or(len as i64, |d| lo + i64::from(d)))
        }
    }
}

fn model(specs: &[Spec], buf: &[u8], new_from: usize) -> bool {
    if specs.is_empty() {
        return true;
    }
    if buf.is_empty() {
        return false;
    }
    let last_pos = specs.iter().rposition(|s| !s.neg);
    fn rec(specs: &[Spec], i: usize, prev: usize, buf: &[u8], nf: usize, last: Option<usize>) -> bool {
        let Some(s) = specs.get(i) else { return true };
        let (lo, hi) = model_window(s, prev, buf.len());
        let fits = |p: usize| (p as i64) >= lo && (p + s.pat.len()) as i64 <= hi && occurs_at(buf, p, s);
        if s.neg {
            return !(0..buf.len()).any(fits) && rec(specs, i + 1, prev, buf, nf, last);
        }
        (0..buf.len()).filter(|&p| fits(p)).any(|p| {
            let end = p + s.pat.len();
            (nf == 0 || last != Some(i) || end > nf) && rec(specs, i + 1, end, buf, nf, last)
        })
    }
    rec(specs, 0, 0, buf, new_from, last_pos)
}

fn spec() -> impl Strategy<Value = Spec> {
    let pat = prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'A']), 1..3);
    let abs = (prop::option::of(0u32..6), prop::option::of(2u32..8));
    let rel = (prop::option::of(-4i32..5), prop::option::of(2u32..8));
    (pat, any::<bool>(), any::<bool>(), 0u8..3, abs, rel).prop_map(|(pat, neg, nocase, kind, abs, rel)| {
        Spec {
            pat,
            neg: neg && kind != 1,
            nocase,
            abs: (kind == 1).then_some(abs),
            // relative means at least one of distance/within
            rel: (kind == 2).then_some(match rel {
                (None, None) => (Some(0), None),
                r => r,
            }),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    #[test]
    fn chain_agrees_with_exhaustive_model(
        specs in prop::collection::vec(spec(), 1..4),
        buf in prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'A', b'x']), 0..14),
        nf in 0usize..16,
    ) {
        let nf = nf.min(buf.len());
        let items: Vec<Content> = specs.iter().map(to_content).collect();
        // depth/within shorter than the pattern are rejected by the parser
        prop_assume!(items.iter().all(|c| c.depth.is_none_or(|d| d as usize >= c.pattern.len())
            && c.within.is_none_or(|w| w as usize >= c.pattern.len())));
        prop_assert_eq!(Chain::new(items).matches(&buf, nf), model(&specs, &buf, nf));
    }
}
