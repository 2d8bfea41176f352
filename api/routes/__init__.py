"""The HTTP routes of /api/v1, one module per area of the contract."""

# Positions, cursors and tree sizes are stored as 64-bit integers: a larger one is bad input (422),
# never a database error.
MAX_INT64 = 2**63 - 1
