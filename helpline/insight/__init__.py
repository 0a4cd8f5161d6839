"""Insight for supervisors: recurring contact reasons and their spikes, knowledge gaps, the weekly report."""
