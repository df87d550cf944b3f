"""Metrics: `masked` (masked multi-label metrics, intervals, bias AUCs, the local `evaluate` modules) and `decision`
(temperatures and thresholds). Nothing is imported here, so `tfgbv.metrics.decision` stays light for scoring."""
