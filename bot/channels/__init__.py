"""Chat channels (Telegram, WeCom, console) that carry the core's messages."""
