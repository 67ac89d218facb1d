"""Chapter 6, the ledger: every claim, check, deviation, scale gap and audit of the official code of
the book, read from the committed results records (``results/<chapter>-full.json``) and the chapters'
declared records; it runs no experiment."""
