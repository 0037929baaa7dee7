"""WeCom (企业微信): the self-built app's callback, its API client, crypto and markdown, and group robots."""
