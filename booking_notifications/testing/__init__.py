"""Test doubles for what lives outside this machine (the fake Bot API); imports nothing else of ours.

Shipped so users can try the product too.

``fake_telegram``: a local Bot API server that behaves like Telegram (``booking-notify
fake-telegram``). Product code never imports this package.
"""
