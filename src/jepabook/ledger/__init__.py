"""Chapter 6, the ledger: every claim, check, deviation and scale gap of the book, read from the
committed results records (``results/<chapter>-<profile>.json``); it runs no experiment."""
