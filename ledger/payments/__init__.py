"""The payment gateway: the port Ledgerline charges through, and a faithful simulator of it."""
