"""RFC 9457 problem responses: every error leaves the API as `application/problem+json`.

`model` holds the problem's shape and the stable codes, `responses` builds a problem response,
`handlers` maps every error to one, and `documented` describes them in the OpenAPI document."""
