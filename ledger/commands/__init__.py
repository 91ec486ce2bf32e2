"""One command class per thing a user (or the billing clock) can ask the ledger to do."""
