"""Evaluation: a small daytime classifier and the metrics, reports and paired comparisons that
use it (the paper's Table 2 with this classifier standing in for Inception)."""
