//! What a long-running worker needs beyond replay: a rule swap between
//! batches, idle-flow sweeps without traffic, and live counters.

use super::Worker;
use crate::flow::FlowCounters;
use std::sync::Arc;
use tapwatch_rules::RuleSet;

impl Worker {
    /// Switch to a new ruleset. Flow and stream state are kept; per-rule
    /// alert counters start over (rule indices change with the set). The
    /// one place that derives the worker's state from its rules (a new
    /// worker starts here too).
    pub fn set_rules(&mut self, rules: Arc<RuleSet>) {
        self.scratch = rules.new_scratch();
        self.stats.alerts_by_rule.clear();
        self.stats.alerts_by_rule.resize(rules.len(), 0);
        // What transactions build (and the HTTP bodies the app layer
        // keeps) follows the new rules.
        self.tx_bufs = super::app::TxBufs::new(&rules);
        self.stream = super::stream_config(&self.cfg, &rules);
        self.rules = rules;
    }

    /// The ruleset this worker matches with.
    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    /// End flows idle past their timeout at `now_ns` and log them (on
    /// packet time, and in live mode also when no packet has come for a
    /// while).
    pub fn sweep(&mut self, now_ns: u64) {
        let mut ended = Vec::new();
        self.flows.sweep(now_ns, &mut ended);
        for (f, r) in ended {
            self.log_flow(f, r);
        }
    }

    /// Flow counters so far (replay reads them from [`Worker::finish`]).
    pub fn flow_counters(&self) -> &FlowCounters {
        &self.flows.counters
    }

    /// This worker's xbits (held, and dropped when full).
    pub fn xbits(&self) -> &tapwatch_rules::XbitState {
        &self.xbits
    }

    /// Flows currently held.
    pub fn active_flows(&self) -> usize {
        self.flows.len()
    }
}
