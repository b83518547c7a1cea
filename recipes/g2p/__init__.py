"""Training recipe for the shipped G2P model (see docs/g2p.md)."""
