"""Request and response schemas of the HTTP API: `common` for what every resource shares, and
a module per resource."""
