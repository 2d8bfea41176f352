"""Adapters to the world outside the ledger: secrets and keys on disk, API tokens, the tree-head
signer, VietQR payloads, bank-statement formats and spreadsheet cells."""
