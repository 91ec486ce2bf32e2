"""What the business decides: aggregates, value objects and pure rules, with no I/O."""
