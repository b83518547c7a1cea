"""Real recordings with transcripts only (no timings), prepared in MFA layout."""
