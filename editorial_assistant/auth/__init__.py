"""Who is calling and what they may do: Cloudflare Access, API keys, local accounts, roles,
rate limits."""
