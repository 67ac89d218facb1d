"""Chapter 6, the ledger: every claim, deviation, scale gap and audit of the official code, computed."""
