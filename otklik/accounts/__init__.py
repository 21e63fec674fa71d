"""Accounts by noun: passwords, one-time codes, sessions, login throttling and the key that
encrypts TOTP secrets. `otklik.api.auth` is the service that combines them."""
