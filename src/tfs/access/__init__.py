"""Who may call: credentials, signatures, nonces, rate limits."""
