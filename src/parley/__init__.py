"""Parley: end-to-end encrypted summits."""
