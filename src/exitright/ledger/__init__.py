"""The tamper-evident ledger: an append-only, hash-chained record of events, pseudonymous only."""
