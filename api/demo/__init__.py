"""The demo: a deterministic scenario of every source article, sent through the API's own
routes on test clocks (`ledgerline demo`, and `make run`'s first start; docs/operations.md,
The demo). `loader` runs it and makes keys; `usd`, `rub` and `pln` are the three clocks'
stories; `driver` and `asgi` send the requests."""
